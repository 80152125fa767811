import { latestVersion, readSnapshot } from './log.js';
import type { Snapshot } from './types.js';
import type { Storage } from '../storage/storage.js';

/**
 * The committed snapshot, re-read only when a new commit appears. Finding the newest version is
 * one listing of the log after its last checkpoint; replaying happens once per commit, not once
 * per request.
 */
export class LedgerView {
  #cached: { version: number; snapshot: Snapshot } | undefined;

  constructor(readonly warehouse: Storage) {}

  /** The newest committed version, 0 for an empty warehouse. */
  version(): Promise<number> {
    return latestVersion(this.warehouse, this.#cached?.version);
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
