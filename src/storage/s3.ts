import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createS3Client, parseS3Uri, s3Settings, type S3Location, type S3Settings } from './s3-config.js';
import { isNoSuchKey, noSuchObject, s3Failure, unreachableRoot } from './s3-errors.js';
import { createWithClaims, INTERNAL_PREFIX, putIfNoneMatch, supportsConditionalPut } from './s3-exclusive.js';
import { assertSafeKey, ObjectExistsError, type ListOptions, type ObjectInfo, type Storage, type WriteOptions } from './storage.js';

/** Local temporary files (readFile) start with this, like LocalStorage's. */
const TEMP_PREFIX = '.strata-tmp-';
/** Parts of a multipart upload; files up to this size go up in one PUT. */
const PART_SIZE = 8 * 1024 * 1024;
/** Parts in flight at once (each buffered in memory). */
const PART_QUEUE = 4;

/**
 * A Storage on an S3 prefix (`s3://bucket/prefix`). A PUT is atomic on S3: readers see the old
 * object or the new one, never part of one. Settings come from the environment (s3-config.ts).
 */
export class S3Storage implements Storage {
  readonly #client: S3Client;
  readonly #location: S3Location;
  readonly #settings: S3Settings;
  /** `prefix/`, or '' for a whole bucket. */
  readonly #base: string;
  #conditionalPut: Promise<boolean> | undefined;

  /** `env` holds strata's own variables (STRATA_S3_*); the SDK reads its own from process.env. */
  static fromUri(uri: string, env: NodeJS.ProcessEnv = process.env): S3Storage {
    const settings = s3Settings(env);
    return new S3Storage(uri, parseS3Uri(uri), settings, createS3Client(settings, env));
  }

  private constructor(
    readonly uri: string,
    location: S3Location,
    settings: S3Settings,
    client: S3Client,
  ) {
    this.#location = location;
    this.#settings = settings;
    this.#client = client;
    this.#base = location.prefix === '' ? '' : `${location.prefix}/`;
  }

  async check(): Promise<void> {
    try {
      await this.#client.send(new HeadBucketCommand({ Bucket: this.#location.bucket }));
    } catch (err) {
      throw unreachableRoot(this.uri, this.#settings.endpoint, err);
    }
  }

  localPath(): undefined {
    return undefined;
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectInfo> {
    const fullPrefix = this.#fullKey(prefix);
    const startAfter = options.startAfter === undefined ? undefined : this.#fullKey(options.startAfter);
    let token: string | undefined;
    do {
      const input = { Bucket: this.#location.bucket, Prefix: fullPrefix, ContinuationToken: token, StartAfter: token === undefined ? startAfter : undefined };
      const page = await this.#call('list', prefix, () => this.#client.send(new ListObjectsV2Command(input)));
      for (const object of page.Contents ?? []) {
        const key = (object.Key ?? '').slice(this.#base.length);
        // Folder placeholders ("a/") made by consoles are not objects; claims and probes are ours.
        if (key === '' || key.endsWith('/') || isInternalKey(key)) continue;
        yield { key, size: object.Size ?? 0, etag: stripQuotes(object.ETag), lastModified: object.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const input = { Bucket: this.#location.bucket, Key: this.#fullKey(key) };
    try {
      const head = await this.#client.send(new HeadObjectCommand(input));
      return { key, size: head.ContentLength ?? 0, etag: stripQuotes(head.ETag), lastModified: head.LastModified ?? new Date(0) };
    } catch (err) {
      if (isNoSuchKey(err)) return undefined;
      throw s3Failure('stat', this.#objectUri(key), err);
    }
  }

  async read(key: string): Promise<Readable> {
    return (await this.#get(key)).body;
  }

  async readBytes(key: string): Promise<Buffer> {
    const { body } = await this.#get(key);
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async write(key: string, body: Buffer | string, options: WriteOptions = {}): Promise<void> {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const fullKey = this.#fullKey(key);
    const put = (ifNoneMatch: boolean) =>
      this.#client.send(new PutObjectCommand({ Bucket: this.#location.bucket, Key: fullKey, Body: bytes, IfNoneMatch: ifNoneMatch ? '*' : undefined }));
    const isOurs = () => this.readBytes(key).then((there) => there.equals(bytes), () => false);
    await this.#put('write', key, put, options, isOurs);
  }

  async writeFile(key: string, localPath: string, options: WriteOptions = {}): Promise<void> {
    const fullKey = this.#fullKey(key);
    await stat(localPath); // a missing source fails here, before anything is sent
    // Upload sends one PUT for small files and a multipart upload above PART_SIZE; the object
    // appears only when the upload completes (and a failed one is aborted), so it stays atomic.
    // With ifNoneMatch, the condition rides on the PUT or on CompleteMultipartUpload.
    const upload = (ifNoneMatch: boolean) =>
      new Upload({
        client: this.#client,
        params: { Bucket: this.#location.bucket, Key: fullKey, Body: createReadStream(localPath), IfNoneMatch: ifNoneMatch ? '*' : undefined },
        partSize: PART_SIZE,
        queueSize: PART_QUEUE,
      }).done();
    await this.#put('upload', key, upload, options);
  }

  async readFile(key: string, localPath: string): Promise<void> {
    // Download beside the target and rename, so the target is never a partial file.
    const dir = path.dirname(localPath);
    await mkdir(dir, { recursive: true });
    const temp = path.join(dir, `${TEMP_PREFIX}${randomBytes(6).toString('hex')}`);
    try {
      const { body, length } = await this.#get(key);
      await pipeline(body, createWriteStream(temp));
      const written = (await stat(temp)).size;
      if (length !== undefined && written !== length) {
        throw new Error(`S3 download of ${this.#objectUri(key)} ended after ${written} of ${length} bytes`);
      }
      await rename(temp, localPath);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    const input = { Bucket: this.#location.bucket, Key: this.#fullKey(key) };
    await this.#call('delete', key, () => this.#client.send(new DeleteObjectCommand(input)));
  }

  /**
   * Copy, then delete: S3 has no rename. NOT atomic: for a moment both keys exist, and a crash in
   * between leaves both. Callers must not use move() to publish anything (commits are exclusive
   * writes to the ledger). Objects over 5 GB cannot be copied in one request and fail here.
   */
  async move(from: string, to: string): Promise<void> {
    const source = this.#fullKey(from);
    if (from === to) {
      if ((await this.stat(from)) === undefined) throw noSuchObject(this.#objectUri(from));
      return;
    }
    const input = { Bucket: this.#location.bucket, Key: this.#fullKey(to), CopySource: copySource(this.#location.bucket, source) };
    try {
      await this.#client.send(new CopyObjectCommand(input));
    } catch (err) {
      if (isNoSuchKey(err)) throw noSuchObject(this.#objectUri(from), err);
      throw s3Failure('move', this.#objectUri(from), err);
    }
    await this.delete(from);
  }

  async #get(key: string): Promise<{ body: Readable; length: number | undefined }> {
    try {
      const object = await this.#client.send(new GetObjectCommand({ Bucket: this.#location.bucket, Key: this.#fullKey(key) }));
      if (!(object.Body instanceof Readable)) throw new Error('S3 GetObject returned no Node.js stream');
      return { body: object.Body, length: object.ContentLength };
    } catch (err) {
      if (isNoSuchKey(err)) throw noSuchObject(this.#objectUri(key), err);
      throw s3Failure('read', this.#objectUri(key), err);
    }
  }

  /** A PUT or upload, made exclusive when asked: natively when the server can, with claims when not. */
  async #put(
    operation: string,
    key: string,
    put: (ifNoneMatch: boolean) => Promise<unknown>,
    options: WriteOptions,
    isOurs?: () => Promise<boolean>,
  ): Promise<void> {
    try {
      if (!options.ifNotExists) {
        await put(false);
      } else if (await this.#hasConditionalPut()) {
        await putIfNoneMatch(key, () => put(true), isOurs);
      } else {
        await createWithClaims(this.#client, this.#location.bucket, this.#fullKey(key), key, () => put(false));
      }
    } catch (err) {
      if (err instanceof ObjectExistsError) throw err;
      throw s3Failure(operation, this.#objectUri(key), err);
    }
  }

  /**
   * Asked once, on the first exclusive write, even of AWS (which has it since 2024): an endpoint
   * can also come from ~/.aws/config, and a server that ignores the header would silently lose
   * exclusivity. Three small requests per process.
   */
  #hasConditionalPut(): Promise<boolean> {
    this.#conditionalPut ??= supportsConditionalPut(
      this.#client,
      this.#location.bucket,
      `${this.#base}${INTERNAL_PREFIX}probe-${randomBytes(6).toString('hex')}`,
    ).catch((err: unknown) => {
      this.#conditionalPut = undefined; // ask again next time
      throw err;
    });
    return this.#conditionalPut;
  }

  async #call<T>(operation: string, key: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      throw s3Failure(operation, this.#objectUri(key), err);
    }
  }

  #fullKey(key: string): string {
    assertSafeKey(key);
    return `${this.#base}${key}`;
  }

  #objectUri(key: string): string {
    return `s3://${this.#location.bucket}/${this.#base}${key}`;
  }
}

function isInternalKey(key: string): boolean {
  return key.slice(key.lastIndexOf('/') + 1).startsWith(INTERNAL_PREFIX);
}

function stripQuotes(etag: string | undefined): string {
  return (etag ?? '').replace(/"/g, '');
}

/**
 * `bucket/key` for x-amz-copy-source, URL-encoded as S3 asks, but keeping `/` and `=` as they are:
 * both are legal there, and partition keys (`year=2024/...`) stay readable to servers that decode
 * the header with decodeURI (s3rver).
 */
function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map((part) => encodeURIComponent(part).replace(/%3D/g, '=')).join('/')}`;
}
