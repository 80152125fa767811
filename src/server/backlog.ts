import { isBronzeKey } from '../bronze/list-bronze.js';
import type { Snapshot } from '../ledger/types.js';
import type { Storage } from '../storage/storage.js';

/** Complete bronze files the ledger has not taken yet, and how long the oldest has waited. */
export interface Backlog {
  readonly files: number;
  /** now − arrival (last-modified) of the oldest waiting file; 0 when none waits. */
  readonly oldest_lag_seconds: number;
  readonly oldest_file: string | null;
}

export async function bronzeBacklog(bronze: Storage, snapshot: Snapshot, now = Date.now()): Promise<Backlog> {
  let files = 0;
  let oldest: { key: string; at: number } | undefined;
  for await (const object of bronze.list('')) {
    if (!isBronzeKey(object.key) || snapshot.files.has(object.key)) continue;
    files++;
    const at = object.lastModified.getTime();
    if (!oldest || at < oldest.at) oldest = { key: object.key, at };
  }
  return {
    files,
    oldest_lag_seconds: oldest ? Math.max(0, Math.round((now - oldest.at) / 100) / 10) : 0,
    oldest_file: oldest?.key ?? null,
  };
}
