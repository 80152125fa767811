import type { Snapshot } from '../ledger/types.js';
import type { Storage } from '../storage/storage.js';

/**
 * Brings catalog.duckdb up to date with a committed snapshot. Called by etl and compact after
 * each commit, and by any reader that finds the catalog behind the log.
 * Stub: replaced by the catalog (issue 4).
 */
export async function refreshCatalog(_warehouse: Storage, _bronze: Storage | undefined, _snapshot: Snapshot): Promise<void> {}
