import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isConditionalConflict, isNoSuchKey, isPreconditionFailed } from './s3-errors.js';
import { ObjectExistsError } from './storage.js';

/**
 * Exclusive create ("write only if no object has this key") on S3 and on servers that imitate it.
 *
 * AWS S3 honours `If-None-Match: *` on PutObject and CompleteMultipartUpload (since 2024): the
 * write fails with 412 when the key exists. Some S3-compatible servers, s3rver among them, ignore
 * the header and overwrite. For those, `createWithClaims` gives the same guarantee with plain
 * requests, relying only on S3's read-after-write consistency for PUT, LIST and HEAD.
 */

/**
 * Names of this backend's own bookkeeping objects (claims, the support probe) start with this.
 * S3Storage.list() hides them: they are not data, and not leftovers for callers to clean up either.
 */
export const INTERNAL_PREFIX = '.strata-s3-';

/** Does the server reject `If-None-Match: *` on an existing key? Asks once, with a throwaway object. */
export async function supportsConditionalPut(client: S3Client, bucket: string, probeKey: string): Promise<boolean> {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: probeKey, Body: Buffer.alloc(0) }));
  try {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: probeKey, Body: Buffer.alloc(0), IfNoneMatch: '*' }));
    return false;
  } catch (err) {
    if (isPreconditionFailed(err) || isConditionalConflict(err)) return true;
    // 501 NotImplemented or 400 from servers that know the header and refuse it.
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 501 || status === 400) return false;
    throw err;
  } finally {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: probeKey })).catch(() => undefined);
  }
}

/**
 * Runs a write sent with `If-None-Match: *`, mapping 412 to ObjectExistsError. A 409
 * (ConditionalRequestConflict: another conditional write to the key was in flight) is retried, as
 * AWS advises; the retry then either succeeds or meets the winner's object and gets 412.
 *
 * A 412 on a request the SDK had to resend may be our own first attempt having landed (its answer
 * lost on the way back); `isOurs` then tells whether the object there is the one we wrote.
 */
export async function putIfNoneMatch(key: string, put: () => Promise<unknown>, isOurs?: () => Promise<boolean>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await put();
      return;
    } catch (err) {
      if (isPreconditionFailed(err)) {
        const resent = ((err as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1) > 1 || attempt > 1;
        if (resent && isOurs !== undefined && (await isOurs())) return;
        throw new ObjectExistsError(key);
      }
      if (!isConditionalConflict(err)) throw err;
      if (attempt >= 5) throw new ObjectExistsError(key);
      await sleep(jitter(attempt));
    }
  }
}

/** A claim older than this (by the server's clock) belongs to a writer that died mid-create. */
const STALE_CLAIM_MS = 30_000;
/** Enough rounds to outlast a stale claim left by a crashed writer. */
const MAX_ROUNDS = 60;

/**
 * Exclusive create without server support. Each writer:
 *   1. PUTs a claim object of its own beside the key,
 *   2. LISTs the claims for the key; if any other live claim is there, it deletes its own, waits a
 *      random while and starts over,
 *   3. otherwise HEADs the key (exists: ObjectExistsError), PUTs it, and deletes its claim.
 * Two writers cannot both pass step 2: each LIST comes after its own claim PUT completed, so the
 * later of the two LISTs sees the other's claim. A writer that passes step 2 after another one
 * finished sees that one's object in step 3, because the claim is deleted only after the PUT.
 * Safe unless a writer stalls for longer than STALE_CLAIM_MS between steps 1 and 3.
 */
export async function createWithClaims(client: S3Client, bucket: string, fullKey: string, key: string, put: () => Promise<unknown>): Promise<void> {
  const slash = fullKey.lastIndexOf('/');
  const claimPrefix = `${fullKey.slice(0, slash + 1)}${INTERNAL_PREFIX}claim-${createHash('sha256').update(fullKey).digest('hex').slice(0, 24)}-`;
  for (let round = 1; round <= MAX_ROUNDS; round++) {
    const claim = `${claimPrefix}${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: claim, Body: Buffer.alloc(0) }));
    try {
      if (!(await othersClaiming(client, bucket, claimPrefix, claim))) {
        if (await exists(client, bucket, fullKey)) throw new ObjectExistsError(key);
        await put();
        return;
      }
    } finally {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: claim })).catch(() => undefined);
    }
    await sleep(jitter(round));
  }
  throw new Error(`could not create ${key}: other writers kept claiming it for ${MAX_ROUNDS} rounds`);
}

async function othersClaiming(client: S3Client, bucket: string, claimPrefix: string, own: string): Promise<boolean> {
  const claims: { key: string; time: number }[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: claimPrefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) claims.push({ key: object.Key ?? '', time: object.LastModified?.getTime() ?? 0 });
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  const now = claims.find((c) => c.key === own)?.time ?? Date.now();
  let others = false;
  for (const c of claims) {
    if (c.key === own) continue;
    if (now - c.time > STALE_CLAIM_MS) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: c.key })).catch(() => undefined);
    } else {
      others = true;
    }
  }
  return others;
}

async function exists(client: S3Client, bucket: string, fullKey: string): Promise<boolean> {
  try {
    await client.send(new HeadObjectCommand({ Bucket: bucket, Key: fullKey }));
    return true;
  } catch (err) {
    if (isNoSuchKey(err)) return false;
    throw err;
  }
}

/** Exponential backoff with full jitter: 0..min(2 s, 25 ms * 2^n). */
function jitter(attempt: number): number {
  return Math.random() * Math.min(2_000, 25 * 2 ** attempt);
}
