import { UserError } from '../errors.js';

/** What the SDK's errors carry; read defensively, since network errors have none of it. */
interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

function shape(err: unknown): SdkErrorShape {
  return typeof err === 'object' && err !== null ? (err as SdkErrorShape) : {};
}

export function httpStatus(err: unknown): number | undefined {
  return shape(err).$metadata?.httpStatusCode;
}

/** A missing object: HeadObject answers a bare 404 `NotFound`, GetObject `NoSuchKey`. */
export function isNoSuchKey(err: unknown): boolean {
  const { name } = shape(err);
  return name === 'NoSuchKey' || name === 'NotFound' || (httpStatus(err) === 404 && name !== 'NoSuchBucket');
}

/** `If-None-Match: *` lost: the object exists. */
export function isPreconditionFailed(err: unknown): boolean {
  return httpStatus(err) === 412 || shape(err).name === 'PreconditionFailed';
}

/** A conditional write raced another one still in flight; AWS says to retry. */
export function isConditionalConflict(err: unknown): boolean {
  return httpStatus(err) === 409 || shape(err).name === 'ConditionalRequestConflict';
}

/** Same shape as Node's error for a missing file, so callers can test `code === 'ENOENT'` on any backend. */
export function noSuchObject(objectUri: string, cause?: unknown): Error {
  return Object.assign(new Error(`no such object: ${objectUri}`, { cause }), { code: 'ENOENT' });
}

/** An operation failed for a reason other than the ones callers handle; keeps the SDK error as cause. */
export function s3Failure(operation: string, objectUri: string, err: unknown): Error {
  return new Error(`S3 ${operation} failed for ${objectUri}: ${describe(err)}`, { cause: err });
}

/** The one-line message `check()` gives for a root that cannot be used. */
export function unreachableRoot(uri: string, endpoint: string | undefined, err: unknown): UserError {
  const { name, code } = shape(err);
  const status = httpStatus(err);
  if (name === 'NoSuchBucket' || name === 'NotFound' || status === 404) return new UserError(`S3 bucket does not exist: ${uri}`);
  if (name === 'CredentialsProviderError') {
    return new UserError(`no AWS credentials found for ${uri} (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)`);
  }
  if (status === 403 || name === 'AccessDenied' || name === 'Forbidden') {
    return new UserError(`access denied to ${uri}: check the AWS credentials and their permissions`);
  }
  if (status === 301 || name === 'PermanentRedirect') return new UserError(`S3 bucket of ${uri} is in another region: set AWS_REGION`);
  const where = endpoint === undefined ? 'S3' : `S3 endpoint ${endpoint}`;
  if (code !== undefined || name === 'TimeoutError') return new UserError(`cannot reach ${where} for ${uri}: ${describe(err)}`);
  return new UserError(`cannot use ${uri}: ${describe(err)}`);
}

/** `Name: message` on one line, or the HTTP status when the SDK could not parse a body (HEAD requests have none). */
function describe(err: unknown): string {
  const { name, code, message } = shape(err);
  const status = httpStatus(err);
  let text = message !== undefined && message !== '' && message !== 'UnknownError' ? message : status !== undefined ? `HTTP ${status}` : String(err);
  if (code !== undefined && !text.includes(code)) text = `${code} ${text}`;
  if (name !== undefined && name !== 'Error' && name !== 'UnknownError' && !text.startsWith(name)) text = `${name}: ${text}`;
  return text.replace(/\s+/g, ' ').trim();
}
