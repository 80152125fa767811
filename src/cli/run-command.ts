import { UserError, errorMessage } from '../errors.js';

/**
 * Wraps a command's action: user mistakes become one line on stderr and a non-zero exit,
 * bugs keep their stack only with --verbose.
 */
export function runCommand<A extends unknown[]>(action: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (err) {
      const verbose = process.argv.includes('--verbose');
      const say = (text: string): boolean => process.stderr.write(`${redactSecrets(text)}\n`);
      if (err instanceof UserError) {
        say(`strata: ${err.message}`);
        if (verbose && err.stack) say(err.stack);
        process.exitCode = err.exitCode;
      } else {
        say(`strata: internal error: ${errorMessage(err).split('\n')[0]}`);
        if (verbose && err instanceof Error && err.stack) say(err.stack);
        process.exitCode = 1;
      }
    }
  };
}

/** Credentials a remote service might echo back in an error (S3 endpoints echo request headers). */
const SECRET_VARIABLES = ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_SECURITY_TOKEN'];

/** Never print a credential from the environment, whatever produced the message. */
export function redactSecrets(text: string, env: NodeJS.ProcessEnv = process.env): string {
  let out = text;
  for (const name of SECRET_VARIABLES) {
    const value = env[name];
    if (value && value.length >= 8) out = out.split(value).join('[redacted]');
  }
  return out;
}
