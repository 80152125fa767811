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
    SELECT strftime(CAST(event_time AS DATE), '%Y-%m-%d') AS day,
           count(DISTINCT user_id) AS unique_users,
           count(DISTINCT session_id) AS unique_sessions,
           count(*) AS events
    FROM events
    GROUP BY 1
    ORDER BY 1`,
};
