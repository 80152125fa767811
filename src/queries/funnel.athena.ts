import { type QueryRange, whereClause } from '../cloud/athena-range.js';

/** SPEC §6 `funnel` in Athena (Trino) SQL: every product with a view, cart add or purchase. */
export function athenaFunnel(range: QueryRange): string {
  return `SELECT
  product_id,
  count_if(event_type = 'page_view') AS page_views,
  count_if(event_type = 'add_to_cart') AS add_to_carts,
  count_if(event_type = 'purchase') AS purchases
FROM events
${whereClause(range, ["event_type IN ('page_view', 'add_to_cart', 'purchase')", 'product_id IS NOT NULL'])}
GROUP BY product_id
ORDER BY page_views DESC, product_id`;
}
