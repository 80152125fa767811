import { type QueryRange, whereClause } from '../cloud/athena-range.js';

/**
 * SPEC §6 `hourly_revenue` in Athena (Trino) SQL: every UTC hour with a purchase. The hour text
 * sorts like the hour itself; GROUP/ORDER BY position, since `hour` is also a partition column.
 */
export function athenaHourlyRevenue(range: QueryRange): string {
  return `SELECT
  date_format(event_time, '%Y-%m-%dT%H:00:00Z') AS "hour",
  count(*) AS purchases,
  sum(revenue) AS revenue
FROM events
${whereClause(range, ["event_type = 'purchase'"])}
GROUP BY 1
ORDER BY 1`;
}
