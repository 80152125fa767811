import { type QueryRange, limitOf, whereClause } from '../cloud/athena-range.js';

export const TOP_PRODUCTS_DEFAULT_LIMIT = 10;

/** SPEC §6 `top_products` in Athena (Trino) SQL: the most viewed products, `--limit` of them. */
export function athenaTopProducts(range: QueryRange): string {
  return `SELECT
  product_id,
  count(*) AS page_views
FROM events
${whereClause(range, ["event_type = 'page_view'", 'product_id IS NOT NULL'])}
GROUP BY product_id
ORDER BY page_views DESC, product_id
LIMIT ${limitOf(range, TOP_PRODUCTS_DEFAULT_LIMIT)}`;
}
