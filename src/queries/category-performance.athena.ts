import { type QueryRange, whereClause } from '../cloud/athena-range.js';

/**
 * SPEC §6 `category_performance` in Athena (Trino) SQL: events per UTC day, category and type,
 * rows without a category left out. GROUP/ORDER BY position, since `day` is a partition column.
 */
export function athenaCategoryPerformance(range: QueryRange): string {
  return `SELECT
  date_format(event_time, '%Y-%m-%d') AS "day",
  category,
  event_type,
  count(*) AS events
FROM events
${whereClause(range, ['category IS NOT NULL'])}
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3`;
}
