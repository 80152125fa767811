import type { BusinessQuery } from './query-def.js';

export interface CategoryPerformanceRow {
  /** `YYYY-MM-DD` (UTC) */
  readonly day: string;
  readonly category: string;
  readonly event_type: string;
  readonly events: number;
}

/** Events per UTC day, category and event type; events without a category are left out. */
export const categoryPerformance: BusinessQuery = {
  name: 'category_performance',
  description: 'events per day, category and event type',
  columns: [
    { name: 'day', kind: 'text' },
    { name: 'category', kind: 'text' },
    { name: 'event_type', kind: 'text' },
    { name: 'events', kind: 'count' },
  ],
  sql: () => `
    SELECT strftime(d, '%Y-%m-%d') AS day, category, event_type, events
    FROM (
      -- Group on the DATE, format the few groups afterwards: strftime per row costs more than the count.
      SELECT CAST(event_time AS DATE) AS d, category, event_type, count(*) AS events
      FROM events
      WHERE category IS NOT NULL
      GROUP BY ALL
    )
    ORDER BY d, category, event_type`,
};
