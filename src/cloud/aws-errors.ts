import { UserError } from '../errors.js';

interface SdkErrorShape {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

function shape(err: unknown): SdkErrorShape {
  return typeof err === 'object' && err !== null ? (err as SdkErrorShape) : {};
}

export function errorName(err: unknown): string | undefined {
  return shape(err).name;
}

/** The SDK speaks through `name` for service errors; `$metadata` says the service answered. */
function isServiceError(err: unknown): boolean {
  return shape(err).$metadata !== undefined;
}

/**
 * Turns what an AWS call threw into the one-line UserError the CLI prints, when it is the user's to
 * fix (credentials, permissions, a missing resource, a bad request); anything else is rethrown.
 * `action` names the call and its target: "glue:CreateTable strata_analytics.events".
 */
export function awsUserError(action: string, err: unknown): unknown {
  const { name = 'Error', message = '' } = shape(err);
  const line = message.split('\n')[0]?.trim() ?? '';
  const detail = line === '' ? name : `${name}: ${line}`;
  if (name === 'CredentialsProviderError') {
    return new UserError(`${action}: no AWS credentials found (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)`);
  }
  if (/AccessDenied|UnauthorizedOperation|NotAuthorized/.test(name) || shape(err).$metadata?.httpStatusCode === 403) {
    return new UserError(`${action}: access denied; the AWS identity in use lacks this permission (${detail})`);
  }
  if (name === 'UnrecognizedClientException' || name === 'InvalidSignatureException' || name === 'ExpiredTokenException') {
    return new UserError(`${action}: AWS rejected the credentials (${detail})`);
  }
  if (/Region is missing/i.test(message)) return new UserError(`${action}: no AWS region configured (set AWS_REGION or --region)`);
  if (isServiceError(err)) return new UserError(`${action}: ${detail}`);
  if (name === 'TimeoutError' || /ENOTFOUND|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN/.test(`${name} ${message}`)) {
    return new UserError(`${action}: cannot reach AWS (${detail})`);
  }
  return err;
}
