import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { ObjectExistsError } from '../../src/storage/storage.js';
import { openStorage } from '../../src/storage/open-storage.js';
import { parseS3Uri } from '../../src/storage/s3-config.js';
import { supportsConditionalPut } from '../../src/storage/s3-exclusive.js';
import { S3Storage } from '../../src/storage/s3.js';
import { startS3Server, type S3Server } from '../helpers/s3-server.js';
import { collect, runStorageSuite } from './storage-suite.js';

const BUCKET = 'strata-suite';
let server: S3Server;
const saved = { ...process.env };

beforeAll(async () => {
  server = await startS3Server();
  await server.createBucket(BUCKET);
  // Credentials come from the SDK's default chain, that is, from these variables.
  Object.assign(process.env, server.env);
});

afterAll(async () => {
  process.env = saved;
  await server?.stop();
});

let roots = 0;

runStorageSuite(
  's3 (s3rver)',
  async () => {
    // A fresh prefix per test; the server's folder goes away in afterAll.
    const storage = S3Storage.fromUri(`s3://${BUCKET}/suite/t${++roots}-${randomBytes(3).toString('hex')}`);
    return { storage, cleanup: async () => undefined };
  },
  {
    missingRoot: async () => S3Storage.fromUri('s3://no-such-bucket/some/prefix'),
    manyObjects: 1100,
    bigFileBytes: 21 * 1024 * 1024,
    // s3rver limitations, not S3's: it writes objects in place, and lists by walking folders.
    atomicOverwrite: false,
    keyOrderAcrossFolders: false,
  },
);

describe('S3 specifics', () => {
  it('parses s3:// URIs', () => {
    expect(parseS3Uri('s3://bucket')).toEqual({ bucket: 'bucket', prefix: '' });
    expect(parseS3Uri('s3://bucket/')).toEqual({ bucket: 'bucket', prefix: '' });
    expect(parseS3Uri('s3://my.bucket-1/a/b/')).toEqual({ bucket: 'my.bucket-1', prefix: 'a/b' });
    expect(parseS3Uri('s3://bucket//a//b')).toEqual({ bucket: 'bucket', prefix: 'a/b' });
    for (const bad of ['s3://', 's3:///x', 's3://Bad_Bucket/x', 's3://bucket/../x']) expect(() => parseS3Uri(bad)).toThrow(UserError);
  });

  it('opens s3:// roots through openStorage and keeps keys relative to the prefix', async () => {
    const storage = await openStorage(`s3://${BUCKET}/opened/warehouse`);
    expect(storage).toBeInstanceOf(S3Storage);
    expect(storage.uri).toBe(`s3://${BUCKET}/opened/warehouse`);
    expect(storage.localPath('x')).toBeUndefined();
    await storage.check();
    await storage.write('k/v.json', '{}');
    const bucketRoot = await openStorage(`s3://${BUCKET}`);
    expect((await collect(bucketRoot.list('opened/'))).map((o) => o.key)).toEqual(['opened/warehouse/k/v.json']);
    // A sibling prefix that merely starts the same is not inside the root.
    await bucketRoot.write('opened/warehouse2/other', 'x');
    expect((await collect(storage.list(''))).map((o) => o.key)).toEqual(['k/v.json']);
  });

  it('finds the endpoint through the SDK variable AWS_ENDPOINT_URL_S3 too', async () => {
    // The SDK reads its own variables from process.env.
    delete process.env.STRATA_S3_ENDPOINT;
    process.env.AWS_ENDPOINT_URL_S3 = server.endpoint;
    try {
      const storage = S3Storage.fromUri(`s3://${BUCKET}/sdk-endpoint`);
      await storage.check();
      await storage.write('a', 'via AWS_ENDPOINT_URL_S3', { ifNotExists: true });
      await expect(storage.write('a', 'again', { ifNotExists: true })).rejects.toBeInstanceOf(ObjectExistsError);
      expect((await storage.readBytes('a')).toString()).toBe('via AWS_ENDPOINT_URL_S3');
    } finally {
      delete process.env.AWS_ENDPOINT_URL_S3;
      process.env.STRATA_S3_ENDPOINT = server.env.STRATA_S3_ENDPOINT;
    }
  });

  it('detects that s3rver ignores If-None-Match on PUT (so the claim protocol is used)', async () => {
    const { S3Client } = await import('@aws-sdk/client-s3');
    const client = new S3Client({ endpoint: server.endpoint, forcePathStyle: true, region: 'us-east-1' });
    expect(await supportsConditionalPut(client, BUCKET, `.strata-s3-probe-${randomBytes(4).toString('hex')}`)).toBe(false);
    client.destroy();
  });

  it('lets one of several writers with their own clients create a key (claim protocol)', async () => {
    const uri = `s3://${BUCKET}/clients-${randomBytes(3).toString('hex')}`;
    const writers = Array.from({ length: 4 }, () => S3Storage.fromUri(uri));
    const results = await Promise.allSettled(writers.map((w, i) => w.write('_log/00000000000000000001.json', `writer ${i}`, { ifNotExists: true })));
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ObjectExistsError);
    // Claims and probes are gone, and would be hidden anyway.
    const everything = await collect((await openStorage(`s3://${BUCKET}`)).list(uri.slice(`s3://${BUCKET}/`.length)));
    expect(everything.map((o) => o.key)).toEqual([`${uri.slice(`s3://${BUCKET}/`.length)}/_log/00000000000000000001.json`]);
  });

  it('hides its own bookkeeping objects from listings', async () => {
    const bucketRoot = S3Storage.fromUri(`s3://${BUCKET}`);
    await bucketRoot.write('hidden/_log/.strata-s3-claim-abc-1', '');
    await bucketRoot.write('hidden/_log/00000000000000000001.json', '{}');
    const storage = S3Storage.fromUri(`s3://${BUCKET}/hidden`);
    expect((await collect(storage.list(''))).map((o) => o.key)).toEqual(['_log/00000000000000000001.json']);
  });

  it('says in one line that a bucket does not exist', async () => {
    const storage = S3Storage.fromUri('s3://no-such-bucket/x');
    await expect(storage.check()).rejects.toThrow(new UserError('S3 bucket does not exist: s3://no-such-bucket/x'));
  });

  it('says in one line that the endpoint cannot be reached', async () => {
    const storage = S3Storage.fromUri(`s3://${BUCKET}/x`, { ...process.env, STRATA_S3_ENDPOINT: 'http://127.0.0.1:1', AWS_MAX_ATTEMPTS: '2' });
    const error = await storage.check().catch((err: unknown) => err as Error);
    expect(error).toBeInstanceOf(UserError);
    expect(error?.message).toMatch(/^cannot reach S3 endpoint http:\/\/127\.0\.0\.1:1 for s3:\/\/strata-suite\/x: .*ECONNREFUSED/);
    expect(error?.message).not.toContain('\n');
  });

  it('says access is denied for wrong credentials, without printing them', async () => {
    // s3rver checks the access key id (its only one is S3RVER), not the signature.
    process.env.AWS_ACCESS_KEY_ID = 'WRONGKEYID';
    process.env.AWS_SECRET_ACCESS_KEY = 'wrong-secret-value';
    try {
      const storage = S3Storage.fromUri(`s3://${BUCKET}/x`);
      const error = await storage.check().catch((err: unknown) => err as Error);
      expect(error).toBeInstanceOf(UserError);
      expect(error?.message).toBe(`access denied to s3://${BUCKET}/x: check the AWS credentials and their permissions`);
      const failed = await storage.write('k', 'x').catch((err: unknown) => err as Error);
      expect(failed?.message).toMatch(/^S3 write failed for s3:\/\/strata-suite\/x\/k: /);
      for (const message of [error?.message, failed?.message]) {
        expect(message).not.toContain('wrong-secret-value');
        expect(message).not.toContain('WRONGKEYID');
      }
    } finally {
      Object.assign(process.env, server.env);
    }
  });
});
