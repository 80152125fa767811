import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Db } from '../db/duckdb.js';
import { sqlString } from '../db/sql.js';
import { classifySql } from './cleaning-sql.js';

/**
 * The native fast path of SPEC §3 (src/etl/native/strata_rules.c, built by `npm run build` when
 * a C compiler is there). It recognises the usual valid line in one pass and returns its silver
 * columns; every other line goes through the SQL rules, which stay the definition. On a clean
 * batch it cuts classifying from ~2 s to ~1.2 s. STRATA_NATIVE_RULES=0 turns it off (the SQL
 * rules alone give the same rows, only slower).
 */
const EXTENSION_FILE = 'native/strata_rules.duckdb_extension';

/** Beside the compiled JavaScript (dist/etl or the bundle in dist/bin -> dist/native), or, run from src/, in dist/. */
function extensionPath(): string | undefined {
  const candidates = [new URL(`../${EXTENSION_FILE}`, import.meta.url), new URL(`../../dist/${EXTENSION_FILE}`, import.meta.url)];
  return candidates.map((url) => fileURLToPath(url)).find((file) => existsSync(file));
}

/**
 * Loads the native rules into `db` (opened with allowUnsignedExtensions). Not loaded when not
 * built or turned off, or, with the reason, when the build cannot be used here (another DuckDB,
 * another platform): the SQL rules then classify every line, which is correct, just slower.
 */
export async function loadNativeRules(db: Db): Promise<{ loaded: true } | { loaded: false; reason?: string }> {
  const file = extensionPath();
  if (process.env.STRATA_NATIVE_RULES === '0' || !file) return { loaded: false };
  try {
    await db.run(`LOAD ${sqlString(file)}`);
    return { loaded: true };
  } catch (err) {
    return { loaded: false, reason: (err as Error).message.split('\n')[0] ?? String(err) };
  }
}

/** The reason a line carries in `staged` until the SQL rules judge it (into `judged`); never leaves staging. */
export const CAREFUL = 'careful';

/**
 * Rows for `staged` (file_idx, reason, raw_line, the silver columns, extras) from `lines` (a
 * relation with column `line`): the usual valid line settled, every other one CAREFUL with its
 * text. The SQL rules then judge only those (see RunStaging.endFile). Two other ways cost more:
 * UPDATE-ing the careful rows afterwards (0.3 s a batch in DuckDB even for a thousand rows), and
 * one pass where the SQL rules see NULL for each settled line (their stages still cost ~0.5 s).
 */
export function fastClassifySql(fileIdx: number, lines: string): string {
  return `
SELECT ${fileIdx} AS file_idx, CASE WHEN f IS NULL THEN '${CAREFUL}' END AS reason, CASE WHEN f IS NULL THEN line END AS raw_line,
  f.event_id, f.event_time, f.user_id, f.session_id, f.event_type, f.product_id, f.category, f.search_query,
  f.price, f.quantity, f.revenue, NULL AS extras
FROM (SELECT line, strata_valid_event(line) AS f FROM ${lines})`;
}
