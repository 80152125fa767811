import { athenaCategoryPerformance } from '../queries/category-performance.athena.js';
import { athenaFunnel } from '../queries/funnel.athena.js';
import { athenaHourlyRevenue } from '../queries/hourly-revenue.athena.js';
import { athenaTopProducts } from '../queries/top-products.athena.js';
import { athenaUserActivity } from '../queries/user-activity.athena.js';
import { UserError } from '../errors.js';
import type { QueryRange } from './athena-range.js';

/** The business queries of SPEC §6 in Athena's dialect, with the columns each returns, in order. */
export const ATHENA_QUERIES = Object.freeze({
  funnel: { sql: athenaFunnel, columns: ['product_id', 'page_views', 'add_to_carts', 'purchases'] },
  hourly_revenue: { sql: athenaHourlyRevenue, columns: ['hour', 'purchases', 'revenue'] },
  top_products: { sql: athenaTopProducts, columns: ['product_id', 'page_views'] },
  category_performance: { sql: athenaCategoryPerformance, columns: ['day', 'category', 'event_type', 'events'] },
  user_activity: { sql: athenaUserActivity, columns: ['day', 'unique_users', 'unique_sessions', 'events'] },
} satisfies Record<string, { sql: (range: QueryRange) => string; columns: readonly string[] }>);

export type AthenaQueryName = keyof typeof ATHENA_QUERIES;

export function isAthenaQueryName(name: string): name is AthenaQueryName {
  return Object.hasOwn(ATHENA_QUERIES, name);
}

/** The SQL of a named query over a range; unknown names are the user's mistake. */
export function athenaQuerySql(name: string, range: QueryRange): string {
  if (!isAthenaQueryName(name)) {
    throw new UserError(`unknown query ${JSON.stringify(name)}; expected one of ${Object.keys(ATHENA_QUERIES).join(', ')}`);
  }
  return ATHENA_QUERIES[name].sql(range);
}
