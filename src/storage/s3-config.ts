import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { UserError } from '../errors.js';

/*
 * S3 settings (README):
 *
 *   A root written `s3://bucket/prefix` (both --bronze and --warehouse) is an S3 prefix; object keys
 *   are relative to it. Credentials come only from the AWS SDK's default chain (AWS_ACCESS_KEY_ID /
 *   AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, AWS_PROFILE and ~/.aws, SSO, web identity, ECS or
 *   EC2 roles); strata has no option for them and never prints them.
 *
 *   AWS_REGION                  region of the client (default us-east-1; a bucket in another
 *                               region is still found, the SDK follows S3's redirect).
 *   STRATA_S3_ENDPOINT          endpoint of an S3-compatible server (MinIO, s3rver, LocalStack...),
 *                               e.g. http://127.0.0.1:9000. The SDK's own AWS_ENDPOINT_URL_S3 and
 *                               AWS_ENDPOINT_URL work too; STRATA_S3_ENDPOINT wins over both.
 *   STRATA_S3_FORCE_PATH_STYLE  1 (or true) for http://host/bucket/key URLs instead of
 *                               http://bucket.host/key; most S3-compatible servers need it.
 *   AWS_MAX_ATTEMPTS, AWS_RETRY_MODE
 *                               the SDK's retries (strata's default: 5 attempts, standard mode,
 *                               exponential backoff with jitter).
 *
 *   With a custom endpoint, strata sends checksums only where S3 requires them (set
 *   AWS_REQUEST_CHECKSUM_CALCULATION=WHEN_SUPPORTED to change that). On its first exclusive write
 *   (a ledger commit) a process checks whether the server honours `If-None-Match: *` on PUT, as
 *   AWS S3 does; if not (s3rver), exclusive writes use a slower claim protocol (s3-exclusive.ts).
 */

export interface S3Location {
  readonly bucket: string;
  /** Key prefix without leading or trailing slash; '' for the whole bucket. */
  readonly prefix: string;
}

export interface S3Settings {
  readonly endpoint: string | undefined;
  readonly forcePathStyle: boolean;
  readonly region: string;
  /** An endpoint other than AWS's own was configured, through strata's variable or the SDK's. */
  readonly customEndpoint: boolean;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function parseS3Uri(uri: string): S3Location {
  const match = /^s3:\/\/([^/]*)\/?(.*)$/.exec(uri);
  const bucket = match?.[1] ?? '';
  if (!BUCKET_NAME.test(bucket)) throw new UserError(`not a valid S3 bucket name in ${uri} (expected s3://bucket/prefix)`);
  const prefix = (match?.[2] ?? '').split('/').filter((part) => part !== '');
  if (prefix.some((part) => part === '.' || part === '..')) throw new UserError(`S3 prefix may not contain '.' or '..': ${uri}`);
  return Object.freeze({ bucket, prefix: prefix.join('/') });
}

export function s3Settings(env: NodeJS.ProcessEnv): S3Settings {
  const endpoint = nonEmpty(env.STRATA_S3_ENDPOINT);
  if (endpoint !== undefined && !/^https?:\/\/[^/]+/.test(endpoint)) {
    throw new UserError(`STRATA_S3_ENDPOINT must be an http(s) URL, got ${JSON.stringify(endpoint)}`);
  }
  return Object.freeze({
    endpoint,
    forcePathStyle: /^(1|true|yes)$/i.test(env.STRATA_S3_FORCE_PATH_STYLE ?? ''),
    region: nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? 'us-east-1',
    customEndpoint: endpoint !== undefined || nonEmpty(env.AWS_ENDPOINT_URL_S3) !== undefined || nonEmpty(env.AWS_ENDPOINT_URL) !== undefined,
  });
}

export function createS3Client(settings: S3Settings, env: NodeJS.ProcessEnv): S3Client {
  // strata supports Node 20; the SDK's notice about its own future Node 22 requirement would
  // otherwise end up in every command's stderr.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const config: S3ClientConfig = {
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    followRegionRedirects: true,
    requestHandler: { connectionTimeout: 10_000 },
  };
  if (settings.endpoint !== undefined) config.endpoint = settings.endpoint;
  if (env.AWS_MAX_ATTEMPTS === undefined) config.maxAttempts = 5;
  if (env.AWS_RETRY_MODE === undefined) config.retryMode = 'standard';
  if (settings.customEndpoint) {
    // Streamed uploads with trailing checksums (aws-chunked) are not understood by many
    // S3-compatible servers, which would store the chunk framing as content.
    if (env.AWS_REQUEST_CHECKSUM_CALCULATION === undefined) config.requestChecksumCalculation = 'WHEN_REQUIRED';
    if (env.AWS_RESPONSE_CHECKSUM_VALIDATION === undefined) config.responseChecksumValidation = 'WHEN_REQUIRED';
  }
  return new S3Client(config);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
