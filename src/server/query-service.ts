/** The range parameters every business query takes (SPEC §6), as the user wrote them. */
export interface RangeParams {
  readonly from?: string;
  readonly to?: string;
  readonly limit?: number;
}

export type QueryRow = Record<string, string | number | null>;

/**
 * What the server needs from the queries and catalog modules. The real one wraps
 * `runBusinessQuery` and `readStatus`; tests may pass their own. Bad input (unknown name, bad
 * date) fails with a UserError, which the API answers with 400.
 */
export interface QueryService {
  readonly names: readonly string[];
  /** Exactly the rows `strata query NAME --format json` prints. */
  query(name: string, range: RangeParams): Promise<QueryRow[]>;
  /** Exactly the object `strata status --json` prints. */
  status(): Promise<unknown>;
  /** Read-only SQL, when the server was started with --sql. */
  sql?(text: string): Promise<unknown>;
  /** Releases what the service holds open (its DuckDB). */
  close?(): Promise<void>;
}
