import type { BusinessQuery } from './query-def.js';

export interface FunnelRow {
  readonly product_id: string;
  readonly page_views: number;
  readonly add_to_carts: number;
  readonly purchases: number;
}

/** Every product with at least one page view, add to cart or purchase; events counted by type. */
export const funnel: BusinessQuery = {
  name: 'funnel',
  description: 'page views, add to carts and purchases per product',
  columns: [
    { name: 'product_id', kind: 'text' },
    { name: 'page_views', kind: 'count' },
    { name: 'add_to_carts', kind: 'count' },
    { name: 'purchases', kind: 'count' },
  ],
  sql: () => `
    -- Counted per (product, type) first, then pivoted: three filtered counts over every row
    -- cost a fifth more.
    SELECT product_id,
           coalesce(sum(n) FILTER (WHERE event_type = 'page_view'), 0) AS page_views,
           coalesce(sum(n) FILTER (WHERE event_type = 'add_to_cart'), 0) AS add_to_carts,
           coalesce(sum(n) FILTER (WHERE event_type = 'purchase'), 0) AS purchases
    FROM (
      SELECT product_id, event_type, count(*) AS n
      FROM events
      WHERE product_id IS NOT NULL AND event_type IN ('page_view', 'add_to_cart', 'purchase')
      GROUP BY ALL
    )
    GROUP BY product_id
    ORDER BY page_views DESC, product_id`,
};
