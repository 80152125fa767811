import { LOG_PREFIX } from './layout.js';
import { readSnapshot } from './log.js';
import type { Snapshot } from './types.js';
import type { Storage } from '../storage/storage.js';

/**
 * The committed snapshot, re-read only when a new commit appears. Finding the newest version is
 * one listing of the log; replaying happens once per commit, not once per request.
 */
export class LedgerView {
  #cached: { version: number; snapshot: Snapshot } | undefined;

  constructor(readonly warehouse: Storage) {}

  /** The newest committed version, 0 for an empty warehouse. */
  async version(): Promise<number> {
    let newest = 0;
    for await (const object of this.warehouse.list(LOG_PREFIX)) {
      const match = /\/(\d{20})\.json$/.exec(object.key);
      if (match) newest = Math.max(newest, Number(match[1]));
    }
    return newest;
  }

  async snapshot(): Promise<Snapshot> {
    const version = await this.version();
    if (this.#cached?.version !== version) {
      const snapshot = await readSnapshot(this.warehouse);
      this.#cached = { version: snapshot.version, snapshot };
    }
    return this.#cached.snapshot;
  }
}
