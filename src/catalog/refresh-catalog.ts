import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { type Db, withDb } from '../db/duckdb.js';
import { sqlIdent, sqlString, sqlStringList } from '../db/sql.js';
import { CATALOG_FILE } from '../ledger/layout.js';
import { readSnapshot } from '../ledger/log.js';
import type { Snapshot } from '../ledger/types.js';
import { defaultCacheDir, localPaths } from '../storage/local-copy.js';
import type { Storage } from '../storage/storage.js';
import { writeLedgerTables } from './ledger-tables.js';
import { bronzeRelationSql, eventsRelationSql, hasBronzeFile, quarantineRelationSql } from './schema.js';

/**
 * catalog.duckdb: a DuckDB database any DuckDB client can open read-only, holding
 *   views  events, quarantine (over exactly the committed Parquet files, absolute paths),
 *          bronze_events (raw gz JSON under a local bronze root),
 *   tables runs, files, data_files (the ledger) and catalog_info (the log version it reflects).
 * It is derived data: rebuilt whole under a temporary name and renamed into place, so a reader
 * sees the old catalog or the new one, never half of one.
 */

/** Same prefix as LocalStorage's temporaries: listings skip them. */
const TEMP_PREFIX = '.strata-tmp-';

export interface CatalogInfo {
  readonly version: number;
  readonly builtAt: string;
  /** The absolute warehouse root the views point into. */
  readonly warehouse: string;
  readonly bronzeRoot: string | null;
  /** Every file the views read: user SQL may open these and nothing else... */
  readonly readPaths: readonly string[];
  /** ...plus what lies under these folders (the bronze root). */
  readonly readDirectories: readonly string[];
}

/** The absolute root of a local warehouse, the URI of a remote one. */
function warehouseRoot(warehouse: Storage): string {
  return warehouse.localPath('') ?? warehouse.uri;
}

/** Under a local warehouse root; in the local cache folder for a remote one. */
export function catalogPath(warehouse: Storage): string {
  return warehouse.localPath(CATALOG_FILE) ?? path.join(defaultCacheDir(warehouse), CATALOG_FILE);
}

/**
 * Called by etl and compact after each commit. For a local warehouse the catalog is rebuilt at
 * once. For a remote one it would mean copying every committed file into the local cache after
 * every run, so it is left to the first reader that needs it (`strata sql`, `catalog refresh`).
 */
export async function refreshCatalog(warehouse: Storage, bronze: Storage | undefined, snapshot: Snapshot, host?: Db): Promise<void> {
  if (warehouse.localPath('') === undefined) return;
  await buildCatalog(warehouse, bronze, snapshot, host);
}

/** The catalog's own record of what it reflects; undefined when there is no readable catalog. */
export async function readCatalogInfo(file: string): Promise<CatalogInfo | undefined> {
  if (!(await stat(file).catch(() => undefined))) return undefined;
  try {
    return await withDb({ path: file, readOnly: true }, async (db) => {
      const rows = await db.json('SELECT version, built_at, warehouse, bronze_root, read_paths, read_directories FROM catalog_info');
      const row = rows[0];
      if (!row) return undefined;
      return {
        version: Number(row.version),
        builtAt: String(row.built_at),
        warehouse: String(row.warehouse),
        bronzeRoot: row.bronze_root === null ? null : String(row.bronze_root),
        readPaths: row.read_paths as string[],
        readDirectories: row.read_directories as string[],
      };
    });
  } catch {
    // Locked by a writer (a DuckDB CLI opened without -readonly), from an older strata, or damaged:
    // treat it as missing and rebuild.
    return undefined;
  }
}

/**
 * For readers (query, sql, status): makes sure the catalog reflects at least the committed log
 * version, rebuilding it if it is behind. Returns its path and what it holds.
 */
export async function ensureCatalog(warehouse: Storage, snapshot?: Snapshot): Promise<{ path: string; info: CatalogInfo }> {
  const file = catalogPath(warehouse);
  const current = snapshot ?? (await readSnapshot(warehouse));
  const info = await readCatalogInfo(file);
  // Behind the log, or built for a warehouse that has since moved (its views name absolute paths).
  if (info && info.version >= current.version && info.warehouse === warehouseRoot(warehouse)) return { path: file, info };
  const built = await buildCatalog(warehouse, undefined, current);
  return { path: file, info: built };
}

/**
 * Rebuilds the catalog now, whatever the backend; returns what the catalog in place holds.
 * `host`: a DuckDB this process already has open (etl's), to build the new file in by ATTACH.
 */
export async function buildCatalog(warehouse: Storage, bronze: Storage | undefined, snapshot: Snapshot, host?: Db): Promise<CatalogInfo> {
  const target = catalogPath(warehouse);
  const dir = path.dirname(target);
  await mkdir(dir, { recursive: true });
  // The previous catalog only matters for its bronze root, when none is given.
  const previous = bronze ? undefined : await readCatalogInfo(target);
  const bronzeRoot = await chooseBronzeRoot(bronze, previous);

  const sorted = [...snapshot.dataFiles].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const eventPaths = await localPaths(warehouse, sorted.filter((f) => f.table === 'events').map((f) => f.key));
  const quarantinePaths = await localPaths(warehouse, sorted.filter((f) => f.table === 'quarantine').map((f) => f.key));
  const info: CatalogInfo = {
    version: snapshot.version,
    builtAt: new Date().toISOString(),
    warehouse: warehouseRoot(warehouse),
    bronzeRoot,
    readPaths: [...eventPaths, ...quarantinePaths],
    readDirectories: bronzeRoot === null ? [] : [bronzeRoot],
  };

  const temp = path.join(dir, `${TEMP_PREFIX}catalog-${randomBytes(6).toString('hex')}.duckdb`);
  try {
    await inCatalogFile(temp, host, async (db) => {
      await db.run(`CREATE VIEW events AS ${eventsRelationSql(eventPaths)}`);
      await db.run(`CREATE VIEW quarantine AS ${quarantineRelationSql(quarantinePaths)}`);
      if (bronzeRoot !== null) await db.run(`CREATE VIEW bronze_events AS ${bronzeRelationSql(bronzeRoot)}`);
      await writeLedgerTables(db, snapshot, path.join(dir, `${TEMP_PREFIX}ledger-`));
      await db.run(
        'CREATE TABLE catalog_info (version BIGINT, built_at TIMESTAMP, warehouse VARCHAR, bronze_root VARCHAR, read_paths VARCHAR[], read_directories VARCHAR[])',
      );
      await db.run(
        `INSERT INTO catalog_info VALUES (${snapshot.version}, ${sqlString(info.builtAt.replace('T', ' ').replace('Z', ''))}::TIMESTAMP, ` +
          `${sqlString(info.warehouse)}, ${bronzeRoot === null ? 'NULL' : sqlString(bronzeRoot)}, ` +
          `CAST(${sqlStringList(info.readPaths)} AS VARCHAR[]), CAST(${sqlStringList(info.readDirectories)} AS VARCHAR[]))`,
      );
    });
    // A concurrent refresh may already have published something newer: never go backwards.
    const now = await readCatalogInfo(target);
    if (now && now.version > snapshot.version && now.warehouse === info.warehouse) return now;
    // A write-ahead log left by someone who opened the old catalog read-write belongs to the old
    // file; replayed onto the new one it would corrupt it.
    await rm(`${target}.wal`, { force: true });
    await rename(temp, target);
    return info;
  } finally {
    await rm(temp, { force: true });
    await rm(`${temp}.wal`, { force: true });
  }
}

const ATTACHED_NAME = 'strata_new_catalog';

/**
 * Runs `body` with the database file `file` as the current database, then checkpoints it and
 * closes it. Attached to `host` when given: opening a DuckDB of its own costs ~45 ms, a quarter of
 * the catalog's time in a one-batch etl.
 */
async function inCatalogFile(file: string, host: Db | undefined, body: (db: Db) => Promise<void>): Promise<void> {
  if (!host) {
    await withDb({ path: file }, async (db) => {
      await body(db);
      await db.run('CHECKPOINT');
    });
    return;
  }
  const [current] = await host.json('SELECT current_database() AS name');
  await host.run(`ATTACH ${sqlString(file)} AS ${ATTACHED_NAME}`);
  try {
    await host.run(`USE ${ATTACHED_NAME}`);
    await body(host);
    await host.run(`CHECKPOINT ${ATTACHED_NAME}`);
  } finally {
    await host.run(`USE ${sqlIdent(String(current?.name))}`);
    await host.run(`DETACH ${ATTACHED_NAME}`);
  }
}

/**
 * The bronze_events view needs a local bronze root holding at least one complete file (DuckDB
 * checks the glob when the view is created). Without one given, keep the previous catalog's.
 */
async function chooseBronzeRoot(bronze: Storage | undefined, previous: CatalogInfo | undefined): Promise<string | null> {
  const candidate = bronze ? bronze.localPath('') : (previous?.bronzeRoot ?? undefined);
  if (!candidate) return null;
  const root = path.resolve(candidate);
  if (!(await stat(root).catch(() => undefined))?.isDirectory()) return null;
  return (await hasBronzeFile(root)) ? root : null;
}
