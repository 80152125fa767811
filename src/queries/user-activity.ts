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
    SELECT strftime(t.d, '%Y-%m-%d') AS day, u.unique_users, s.unique_sessions, t.events
    FROM (SELECT CAST(event_time AS DATE) AS d, count(*) AS events FROM events GROUP BY d) t
    JOIN (SELECT d, count(*) AS unique_users FROM (SELECT DISTINCT CAST(event_time AS DATE) AS d, user_id FROM events) GROUP BY d) u USING (d)
    JOIN (SELECT d, count(*) AS unique_sessions FROM (SELECT DISTINCT CAST(event_time AS DATE) AS d, session_id FROM events) GROUP BY d) s USING (d)
    ORDER BY t.d`,
};
