import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { Storage } from '../storage/storage.js';
import { prepareLines, type EarlyReject } from './prepare-lines.js';

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

/** One bronze file, decompressed and prepared (see prepare-lines.ts) into a local text file. */
export interface StagedText {
  /** sha256 of the stored (compressed) bytes: tells a changed file from a touched one. */
  readonly sha256: string;
  readonly storedBytes: number;
  /** Lines in the text, blank ones included: what a reader of the text file must find. */
  readonly lines: number;
  readonly earlyRejects: readonly EarlyReject[];
  readonly carriageReturns: ReadonlyMap<number, readonly number[]>;
}

const LF = 0x0a;
/**
 * Small output chunks, reused by the allocator, keep the whole file out of memory: on this
 * kind of machine touching fresh memory costs more than inflating into it (a 140 MB batch
 * gathered in one buffer spent ~0.5 s on page faults alone).
 */
const CHUNK_BYTES = 256 << 10;

/** A finished piece of a file's prepared text, ready for DuckDB. */
export interface TextPart {
  readonly path: string;
  /** Lines in this piece, blank ones included; pieces are cut after a newline. */
  readonly lines: number;
  /** No line of this piece is longer (bytes): lets the reader size its buffers. */
  readonly longestLine: number;
}

export interface StageOptions {
  /** Where piece `i` of the text goes. */
  readonly partPath: (i: number) => string;
  /** Called as each piece is complete, in order, while the rest of the file still inflates. */
  readonly onPart: (part: TextPart) => void;
  /** A piece is closed at the first line end after this many bytes. */
  readonly partBytes?: number;
}

/**
 * Streams one bronze file: stored bytes -> sha256 and gunzip -> prepared lines -> text pieces.
 * Each inflated chunk is cut after its last newline and prepared on its own, with absolute line
 * numbers; the part of a line that straddles two chunks waits for the rest. Pieces let DuckDB
 * start on the beginning of a file while the end is still being inflated.
 */
export async function stageBronze(storage: Storage, key: string, options: StageOptions): Promise<StagedText> {
  const partBytes = options.partBytes ?? 48 << 20;
  const hash = createHash('sha256');
  let storedBytes = 0;
  const earlyRejects: EarlyReject[] = [];
  const carriageReturns = new Map<number, readonly number[]>();
  let part: { handle: FileHandle; path: string; bytes: number; lines: number; longestLine: number } | undefined;
  let parts = 0;
  let totalLines = 0;
  const closePart = async (): Promise<void> => {
    if (!part) return;
    const done = part;
    part = undefined;
    await done.handle.close();
    options.onPart({ path: done.path, lines: done.lines, longestLine: done.longestLine });
  };
  const emit = async (block: Buffer, endsLine: boolean): Promise<void> => {
    if (block.length === 0) return;
    const prepared = prepareLines(block, totalLines + 1);
    earlyRejects.push(...prepared.earlyRejects);
    for (const [line, offsets] of prepared.carriageReturns) carriageReturns.set(line, offsets);
    const lines = countNewlines(block) + (endsLine ? 0 : 1);
    if (!part) {
      const path = options.partPath(parts++);
      part = { handle: await open(path, 'w'), path, bytes: 0, lines: 0, longestLine: 0 };
    }
    // A block holds whole lines, so its length bounds theirs.
    part.longestLine = Math.max(part.longestLine, prepared.text.length);
    await writeAll(part.handle, prepared.text);
    part.bytes += prepared.text.length;
    part.lines += lines;
    totalLines += lines;
    if (part.bytes >= partBytes) await closePart();
  };
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      storedBytes += chunk.length;
      done(null, chunk);
    },
  });
  let carry: Buffer[] = [];
  const consume = async (chunks: AsyncIterable<Buffer>): Promise<void> => {
    for await (const chunk of chunks) {
      const firstNewline = chunk.indexOf(LF);
      if (firstNewline === -1) {
        carry.push(chunk);
        continue;
      }
      // The line begun in earlier chunks ends here; then every whole line of this chunk.
      const lastNewline = chunk.lastIndexOf(LF);
      await emit(carry.length ? Buffer.concat([...carry, chunk.subarray(0, firstNewline + 1)]) : chunk.subarray(0, firstNewline + 1), true);
      await emit(chunk.subarray(firstNewline + 1, lastNewline + 1), true);
      carry = lastNewline + 1 < chunk.length ? [chunk.subarray(lastNewline + 1)] : [];
    }
  };
  let consuming: Promise<void> = Promise.resolve();
  try {
    const source = await storage.read(key);
    try {
      await pipeline(source, tap, createGunzip({ chunkSize: CHUNK_BYTES }), (chunks: AsyncIterable<Buffer>) => (consuming = consume(chunks)));
    } catch (err) {
      // A zero-byte file is a file with no lines (SPEC §3), not a truncated gzip stream.
      if (storedBytes === 0 && isZlibError(err)) return { sha256: hash.digest('hex'), storedBytes, lines: 0, earlyRejects, carriageReturns };
      if (isZlibError(err)) throw new CorruptFileError(key, (err as Error).message);
      throw err;
    }
    await emit(Buffer.concat(carry), false);
    await closePart();
    return { sha256: hash.digest('hex'), storedBytes, lines: totalLines, earlyRejects, carriageReturns };
  } finally {
    // pipeline() gives up on the consumer when the stream fails; it may still be opening a piece.
    await consuming.catch(() => undefined);
    await part?.handle.close();
  }
}

/** FileHandle#write may write part of a buffer (a filling disk): loop, so nothing is dropped silently. */
async function writeAll(handle: FileHandle, bytes: Buffer): Promise<void> {
  for (let at = 0; at < bytes.length; ) {
    const { bytesWritten } = await handle.write(bytes, at, bytes.length - at);
    if (bytesWritten <= 0) throw new Error('write made no progress');
    at += bytesWritten;
  }
}

/** zlib's own errors (truncated stream, bad header, bad data); a failing store is not one. */
function isZlibError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}

function countNewlines(bytes: Buffer): number {
  let n = 0;
  for (let at = bytes.indexOf(LF); at !== -1; at = bytes.indexOf(LF, at + 1)) n++;
  return n;
}

/** sha256 of a stored file without decompressing it, to confirm a suspected change. */
export async function hashStored(storage: Storage, key: string): Promise<string> {
  return sha256Of(await storage.read(key));
}

/** sha256 of a local copy of a stored file (the native reader's), read alongside. */
export function hashLocalFile(file: string): Promise<string> {
  return sha256Of(createReadStream(file, { highWaterMark: 1 << 20 }));
}

async function sha256Of(bytes: AsyncIterable<unknown>): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of bytes) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
