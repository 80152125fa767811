import { Db } from '../db/duckdb.js';
import { UserError } from '../errors.js';
import { LedgerView } from '../ledger/ledger-view.js';
import type { Snapshot } from '../ledger/types.js';
import type { Storage } from '../storage/storage.js';
import { eventPathsInRange, NoDataYetError, QUERIES, parseRequest, queryRows, type QueryRange, type QueryRequest, type QueryRow } from './run-query.js';

/**
 * The business queries for a process that asks again and again (the dashboard's server, the
 * benchmark): one DuckDB kept open, with its Parquet footers cached, and the ledger replayed
 * only when a new commit lands. A one-hour query then costs what reading one hour costs; a
 * fresh DuckDB and a full ledger read each time cost more than that (about 100 ms).
 *
 * Queries run one at a time on the one connection. Answers are those of `runBusinessQuery`.
 */
export class QueryEngine {
  readonly #ledger: LedgerView;
  #db: Promise<Db> | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(readonly warehouse: Storage) {
    this.#ledger = new LedgerView(warehouse);
  }

  async query(name: string, range: QueryRange): Promise<QueryRow[]> {
    const request = parseRequest(name, range);
    const next = this.#queue.then(async () => {
      // Compaction may remove files between the ledger read and the scan: then the newer
      // snapshot names their replacement. Up to three attempts, while commits keep landing.
      for (let attempt = 1; ; attempt++) {
        const snapshot = await this.#ledger.snapshot();
        try {
          return await this.#queryOnce(request, snapshot);
        } catch (err) {
          if (err instanceof UserError || attempt >= 3 || (await this.#ledger.version()) === snapshot.version) throw err;
        }
      }
    });
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #queryOnce(request: QueryRequest, snapshot: Snapshot): Promise<QueryRow[]> {
    if (snapshot.version === 0) throw new NoDataYetError(this.warehouse.uri);
    const files = await eventPathsInRange(this.warehouse, snapshot, request.time, { activity: QUERIES[request.name].readsActivity });
    if (files.whole.length + files.partial.length === 0) return [];
    return queryRows(await this.#open(), request, files);
  }

  #open(): Promise<Db> {
    // The dashboard asks the same questions until a commit lands: their plans are kept.
    this.#db ??= Db.open({ planCache: 64 }).then(async (db) => {
      // Committed files never change under their names (new data gets new names), so footers
      // read once stay true.
      await db.run('SET parquet_metadata_cache = true');
      return db;
    });
    return this.#db;
  }

  async close(): Promise<void> {
    const db = this.#db;
    this.#db = undefined;
    await this.#queue;
    if (db) (await db).close();
  }
}
