import type { BusinessQuery } from './query-def.js';

export interface TopProductsRow {
  readonly product_id: string;
  readonly page_views: number;
}

/** The most viewed products (products with at least one page view), `--limit N` of them. */
export const topProducts: BusinessQuery = {
  name: 'top_products',
  description: 'most viewed products',
  columns: [
    { name: 'product_id', kind: 'text' },
    { name: 'page_views', kind: 'count' },
  ],
  sql: ({ limit }) => `
    SELECT product_id, count(*) AS page_views
    FROM events
    WHERE event_type = 'page_view' AND product_id IS NOT NULL
    GROUP BY product_id
    ORDER BY page_views DESC, product_id
    LIMIT ${Math.trunc(limit)}`,
};
