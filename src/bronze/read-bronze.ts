import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
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

const gunzipAsync = promisify(gunzip);

/**
 * Reads and decompresses one bronze file. zlib runs on libuv's pool, so two files go in
 * parallel; large output chunks matter: with zlib's default 16 KB chunks, assembling a
 * 140 MB batch costs more than inflating it.
 */
export async function readBronze(storage: Storage, key: string): Promise<BronzeContent> {
  const stored = await storage.readBytes(key);
  const sha256 = createHash('sha256').update(stored).digest('hex');
  if (stored.length === 0) return { data: Buffer.alloc(0), sha256, storedBytes: 0 };
  try {
    const data = await gunzipAsync(stored, { chunkSize: 8 << 20 });
    return { data, sha256, storedBytes: stored.length };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'Z_BUF_ERROR' || code === 'Z_DATA_ERROR' || code === 'Z_STREAM_ERROR' || /unexpected end|incorrect header|invalid/i.test(String(err))) {
      throw new CorruptFileError(key, (err as Error).message);
    }
    throw err;
  }
}

/** sha256 of a stored file without decompressing it, to confirm a suspected change. */
export async function hashStored(storage: Storage, key: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of await storage.read(key)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
