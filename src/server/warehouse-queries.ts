import { readStatus } from '../catalog/status.js';
import { QUERY_NAMES, parseLimit, parseQueryName, parseTimeRange, runBusinessQuery } from '../queries/run-query.js';
import { runReadOnlySql } from '../queries/run-sql.js';
import type { Storage } from '../storage/storage.js';
import { LedgerView } from './ledger-view.js';
import type { QueryService } from './query-service.js';

/**
 * The real query service: the same functions `strata query`, `status` and `sql` call. One
 * difference: before the first commit a query answers with no rows instead of an error, so a
 * dashboard opened on a fresh warehouse shows empty charts until the first run lands.
 */
export function warehouseQueries(options: { bronze?: Storage; warehouse: Storage; sql?: boolean }): QueryService {
  const { bronze, warehouse } = options;
  const ledger = new LedgerView(warehouse);
  return {
    names: QUERY_NAMES,
    async query(name, range) {
      const query = parseQueryName(name);
      parseTimeRange(range);
      parseLimit(range.limit);
      if ((await ledger.version()) === 0) return [];
      return runBusinessQuery(warehouse, query, range);
    },
    status: () => readStatus(bronze, warehouse),
    ...(options.sql ? { sql: (text: string) => runReadOnlySql(warehouse, text) } : {}),
  };
}
