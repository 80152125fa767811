import type { ObjectInfo, Storage } from '../storage/storage.js';

/** A bronze file is complete once it has its final name (SPEC §1); anything else is ignored. */
export function isBronzeKey(key: string): boolean {
  if (!key.endsWith('.jsonl.gz')) return false;
  const name = key.slice(key.lastIndexOf('/') + 1);
  // Writers use temporary names that start with a dot; never take those.
  return !name.startsWith('.');
}

/** Every complete bronze file under the root, in path order (the order SPEC §3 processes them in). */
export async function listBronze(bronze: Storage): Promise<ObjectInfo[]> {
  const files: ObjectInfo[] = [];
  for await (const object of bronze.list('')) {
    if (isBronzeKey(object.key)) files.push(object);
  }
  return files.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
