import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Db } from '../../src/db/duckdb.js';

/** Writes one bronze file from raw lines (strings or bytes), joined by `\n`, gzipped. */
export async function writeBronze(root: string, key: string, lines: readonly (string | Buffer)[], { trailingNewline = true } = {}): Promise<string> {
  const parts: Buffer[] = [];
  lines.forEach((line, i) => {
    parts.push(typeof line === 'string' ? Buffer.from(line, 'utf8') : line);
    if (i < lines.length - 1 || trailingNewline) parts.push(Buffer.from('\n'));
  });
  const file = path.join(root, ...key.split('/'));
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, gzipSync(Buffer.concat(parts)));
  return file;
}

export function event(fields: Record<string, unknown>): string {
  return JSON.stringify(fields);
}

let counter = 0;
/** A valid page_view with a fresh id, at the given time. */
export function pageView(timestamp: string, overrides: Record<string, unknown> = {}): string {
  counter++;
  return event({
    event_id: `e-${process.pid}-${counter}`,
    timestamp,
    user_id: 'u1',
    session_id: 's1',
    event_type: 'page_view',
    product_id: 'P00001',
    category: 'books',
    price: 10,
    ...overrides,
  });
}

/** Reads tables straight from the warehouse folder, as an outside engine would. */
export async function readFolder(sql: string): Promise<Record<string, unknown>[]> {
  const db = await Db.open();
  try {
    return await db.json(sql);
  } finally {
    db.close();
  }
}
