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
    SELECT strftime(make_date(year, month, day), '%Y-%m-%d') AS day, category, event_type, events
    FROM (
      -- A row's partition (year, month, day) is its event time's UTC day: grouping on those
      -- per-file constants reads no timestamp (half the time), and formats only the few groups.
      SELECT year, month, day, category, event_type, count(*) AS events
      FROM events
      WHERE category IS NOT NULL
      GROUP BY ALL
    )
    ORDER BY year, month, day, category, event_type`,
};
