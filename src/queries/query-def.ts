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
}
