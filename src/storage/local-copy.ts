import { mkdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { Storage } from './storage.js';

/**
 * DuckDB reads only local files here (httpfs cannot be installed), so remote objects are
 * copied into a cache folder first. Keys of committed data never change content (new data gets
 * new names), so a cached copy stays valid; local stores are read in place.
 */
export async function localPaths(storage: Storage, keys: readonly string[], cacheDir = defaultCacheDir(storage)): Promise<string[]> {
  const out: string[] = [];
  for (const key of keys) {
    const direct = storage.localPath(key);
    if (direct !== undefined) {
      out.push(direct);
      continue;
    }
    const target = path.join(cacheDir, ...key.split('/'));
    const have = await stat(target).catch(() => undefined);
    if (!have) {
      await mkdir(path.dirname(target), { recursive: true });
      await storage.readFile(key, target);
    }
    out.push(target);
  }
  return out;
}

export function defaultCacheDir(storage: Storage): string {
  const base = process.env.STRATA_CACHE_DIR ?? path.join(os.tmpdir(), 'strata-cache');
  return path.join(base, createHash('sha256').update(storage.uri).digest('hex').slice(0, 16));
}
