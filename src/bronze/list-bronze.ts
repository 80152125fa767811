import type { ObjectInfo, Storage } from '../storage/storage.js';

/** A bronze file is complete once it has its final name (SPEC §1); anything else is ignored. */
export function isBronzeKey(key: string): boolean {
  if (!key.endsWith('.jsonl.gz')) return false;
  const name = key.slice(key.lastIndexOf('/') + 1);
  // Writers use temporary names that start with a dot; never take those.
  return !name.startsWith('.');
}

/**
 * Every complete bronze file under the root, in path order (the order SPEC §3 processes them in):
 * the UTF-8 byte order S3 lists keys in, on every backend. (JavaScript's `<` compares UTF-16 code
 * units, which puts a name with an emoji before one with U+FF5E; S3 puts it after.)
 */
export async function listBronze(bronze: Storage): Promise<ObjectInfo[]> {
  const files: { info: ObjectInfo; bytes: Buffer }[] = [];
  for await (const object of bronze.list('')) {
    if (isBronzeKey(object.key)) files.push({ info: object, bytes: Buffer.from(object.key, 'utf8') });
  }
  return files.sort((a, b) => Buffer.compare(a.bytes, b.bytes)).map((f) => f.info);
}
