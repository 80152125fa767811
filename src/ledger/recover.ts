import type { Storage } from '../storage/storage.js';
import { ACTIVITY_PREFIX, EVENTS_PREFIX, QUARANTINE_PREFIX, STAGING_PREFIX } from './layout.js';
import type { Snapshot } from './types.js';

/**
 * Run first, under the lock: whatever a crashed run or compaction left behind — data files no
 * commit references, staging leftovers — is deleted, so the folders hold exactly committed data
 * (SPEC §4). Uncommitted files were never visible through strata; this makes the folder agree.
 */
export async function removeUncommitted(warehouse: Storage, snapshot: Snapshot): Promise<string[]> {
  const committed = new Set(snapshot.dataFiles.map((f) => f.key));
  const removed: string[] = [];
  for (const prefix of [EVENTS_PREFIX, ACTIVITY_PREFIX, QUARANTINE_PREFIX, STAGING_PREFIX]) {
    for await (const object of warehouse.list(prefix)) {
      if (committed.has(object.key)) continue;
      await warehouse.delete(object.key);
      removed.push(object.key);
    }
  }
  return removed;
}
