import { describe, expect, it } from 'vitest';
import { redactSecrets } from '../src/cli/run-command.js';

describe('redactSecrets', () => {
  it('hides credentials from the environment wherever they appear in a message', () => {
    const env = { AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG', AWS_SESSION_TOKEN: 'FwoGZXIvYXdzEJr//////////token' };
    const text = `S3 put failed: echoed header x-amz-security-token: ${env.AWS_SESSION_TOKEN} and ${env.AWS_SECRET_ACCESS_KEY}`;
    const out = redactSecrets(text, env);
    expect(out).not.toContain(env.AWS_SESSION_TOKEN);
    expect(out).not.toContain(env.AWS_SECRET_ACCESS_KEY);
    expect(out).toBe('S3 put failed: echoed header x-amz-security-token: [redacted] and [redacted]');
  });

  it('leaves messages alone when there is nothing to hide', () => {
    expect(redactSecrets('strata: bad --from', {})).toBe('strata: bad --from');
  });
});
