/** What each business query file declares: its columns in output order and its SQL. */
export type ColumnKind = 'text' | 'count' | 'money';

export interface QueryColumn {
  readonly name: string;
  /** `count` prints as an integer, `money` as an exact decimal with two digits (a JSON number). */
  readonly kind: ColumnKind;
}

export interface BusinessQuery {
  readonly name: string;
  readonly description: string;
  readonly columns: readonly QueryColumn[];
  /**
   * One SELECT over a relation named `events` that is already limited to the time range.
   * Money comes back as VARCHAR (exact decimal text), counts as integers.
   */
  readonly sql: (options: { readonly limit: number }) => string;
  /**
   * Optional, used when every file's UTC day is known: the same answer from one relation per
   * day (`relation` names it; each holds only rows of that day, already limited to the range).
   */
  readonly sqlByDay?: (days: readonly { readonly day: string; readonly relation: string; readonly ids: string }[]) => string;
  /**
   * With sqlByDay: each day's `ids` names a relation of its `user_id` and `session_id` values,
   * read from the activity rollups of its whole hours (silver/activity-rollup.ts) and from the
   * rows of the rest: the same distinct values as `relation` holds, not the same rows.
   */
  readonly readsActivity?: boolean;
  /**
   * Optional, used when every file read holds the same UTC hour (`hour`, `YYYY-MM-DDTHH:00:00Z`,
   * from the ledger): the same answer over `events` without grouping on the hour.
   */
  readonly sqlForOneHour?: (hour: string) => string;
}
