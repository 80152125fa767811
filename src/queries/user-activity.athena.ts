import { type QueryRange, whereClause } from '../cloud/athena-range.js';

/** SPEC §6 `user_activity` in Athena (Trino) SQL: distinct users and sessions, and events, per UTC day. */
export function athenaUserActivity(range: QueryRange): string {
  return `SELECT
  date_format(event_time, '%Y-%m-%d') AS "day",
  count(DISTINCT user_id) AS unique_users,
  count(DISTINCT session_id) AS unique_sessions,
  count(*) AS events
FROM events
${whereClause(range)}
GROUP BY 1
ORDER BY 1`;
}
