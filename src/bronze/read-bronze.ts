import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { Storage } from '../storage/storage.js';

/** The file cannot be read to its end: SPEC §3 rejects it whole as `corrupt_file`. */
export class CorruptFileError extends Error {
  override readonly name = 'CorruptFileError';
  constructor(
    readonly key: string,
    readonly detail: string,
  ) {
    super(`${key}: corrupt_file (${detail})`);
  }
}

export interface BronzeContent {
  /** The decompressed bytes. */
  readonly data: Buffer;
  /** sha256 of the stored (compressed) bytes: tells a changed file from a touched one. */
  readonly sha256: string;
  readonly storedBytes: number;
}

/** Reads and decompresses one bronze file; zlib runs on libuv's pool, so two files go in parallel. */
export async function readBronze(storage: Storage, key: string): Promise<BronzeContent> {
  const hash = createHash('sha256');
  let storedBytes = 0;
  const chunks: Buffer[] = [];
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      storedBytes += chunk.length;
      done(null, chunk);
    },
  });
  const collect = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      size += chunk.length;
      done();
    },
  });
  const source = await storage.read(key);
  try {
    await pipeline(source, tap, createGunzip({ chunkSize: 1 << 20 }), collect);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'Z_BUF_ERROR' || code === 'Z_DATA_ERROR' || code === 'ERR_STREAM_PREMATURE_CLOSE' || /unexpected end|incorrect header|invalid/i.test(String(err))) {
      if (storedBytes === 0) return { data: Buffer.alloc(0), sha256: hash.digest('hex'), storedBytes };
      throw new CorruptFileError(key, (err as Error).message);
    }
    throw err;
  }
  return { data: Buffer.concat(chunks, size), sha256: hash.digest('hex'), storedBytes };
}

/** sha256 of a stored file without decompressing it, to confirm a suspected change. */
export async function hashStored(storage: Storage, key: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of await storage.read(key)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
