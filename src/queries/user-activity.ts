import type { BusinessQuery } from './query-def.js';

export interface UserActivityRow {
  /** `YYYY-MM-DD` (UTC) */
  readonly day: string;
  readonly unique_users: number;
  readonly unique_sessions: number;
  readonly events: number;
}

/** Distinct users, distinct sessions and events per UTC day. */
export const userActivity: BusinessQuery = {
  name: 'user_activity',
  description: 'distinct users and sessions, and events, per day',
  columns: [
    { name: 'day', kind: 'text' },
    { name: 'unique_users', kind: 'count' },
    { name: 'unique_sessions', kind: 'count' },
    { name: 'events', kind: 'count' },
  ],
  sql: () => `
    -- count(DISTINCT) inside one group runs on one thread; DISTINCT as its own (parallel)
    -- aggregate, then a count per day, gives the same numbers several times faster.
    -- A row's partition (year, month, day) is its event time's UTC day: per-file constants, so
    -- no timestamp is read (a third of the time). One integer day key (yyyymmdd) instead of
    -- three columns makes each DISTINCT's hash key narrower (a tenth faster).
    SELECT strftime(make_date(t.k // 10000, t.k // 100 % 100, t.k % 100), '%Y-%m-%d') AS day, u.unique_users, s.unique_sessions, t.events
    FROM (SELECT year * 10000 + month * 100 + day AS k, count(*) AS events FROM events GROUP BY k) t
    JOIN (SELECT k, count(*) AS unique_users FROM (SELECT DISTINCT year * 10000 + month * 100 + day AS k, user_id FROM events) GROUP BY k) u USING (k)
    JOIN (SELECT k, count(*) AS unique_sessions FROM (SELECT DISTINCT year * 10000 + month * 100 + day AS k, session_id FROM events) GROUP BY k) s
      USING (k)
    ORDER BY t.k`,
  // Day by day, each DISTINCT is over the ids alone: a narrower hash key than (day, id), and
  // the day's files alone are read. About a tenth faster than the grouped form above. The ids
  // come from activity rollups where the day's hours have them (NULL stands for "the other
  // list"; silver's ids are never NULL): over 2.1M sessions, 0.5 s instead of 1.1-1.6 s.
  readsActivity: true,
  sqlByDay: (days) => `
    SELECT day, unique_users, unique_sessions, events FROM (
      ${days
        .map(
          ({ day, relation, ids }) => `SELECT '${day}' AS day,
        (SELECT count(*) FROM (SELECT DISTINCT user_id FROM ${ids} WHERE user_id IS NOT NULL)) AS unique_users,
        (SELECT count(*) FROM (SELECT DISTINCT session_id FROM ${ids} WHERE session_id IS NOT NULL)) AS unique_sessions,
        (SELECT count(*) FROM ${relation}) AS events`,
        )
        .join('\n      UNION ALL ')}
    )
    WHERE events > 0
    ORDER BY day`,
};
