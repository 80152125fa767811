import { readStatus } from '../catalog/status.js';
import { QueryEngine } from '../queries/query-engine.js';
import { NoDataYetError, QUERY_NAMES } from '../queries/run-query.js';
import { runReadOnlySql } from '../queries/run-sql.js';
import type { Storage } from '../storage/storage.js';
import type { QueryService } from './query-service.js';

/**
 * The real query service: the same answers as `strata query`, `status` and `sql`, the queries
 * from one long-lived engine (a dashboard asks every few seconds). One difference: before the
 * first commit a query answers with no rows instead of an error, so a dashboard opened on a
 * fresh warehouse shows empty charts until the first run lands.
 */
export function warehouseQueries(options: { bronze?: Storage; warehouse: Storage; sql?: boolean }): QueryService {
  const { bronze, warehouse } = options;
  const engine = new QueryEngine(warehouse);
  return {
    names: QUERY_NAMES,
    async query(name, range) {
      try {
        return await engine.query(name, range);
      } catch (err) {
        if (err instanceof NoDataYetError) return [];
        throw err;
      }
    },
    close: () => engine.close(),
    status: () => readStatus(bronze, warehouse),
    ...(options.sql ? { sql: (text: string) => runReadOnlySql(warehouse, text) } : {}),
  };
}
