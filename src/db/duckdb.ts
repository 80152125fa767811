import { DuckDBInstance, DuckDBTypeId, StatementType } from '@duckdb/node-api';
import type { DuckDBConnection, DuckDBPreparedStatement, DuckDBValue } from '@duckdb/node-api';
import { sqlStringList } from './sql.js';

export type Row = Record<string, unknown>;

export interface DbOptions {
  /** ':memory:' or a database file. */
  readonly path?: string;
  readonly readOnly?: boolean;
  readonly threads?: number;
  readonly memoryLimit?: string;
  readonly tempDirectory?: string;
  /** Forbid reading or writing files outside what strata registers (for user SQL). */
  readonly lockdown?: boolean;
  /**
   * table() keeps the plans of this many recent SQL texts and runs them again without planning:
   * for a process that asks the same questions again and again (planning is a third of a
   * one-hour query). Only for SQL whose meaning cannot change under it, as over immutable files.
   */
  readonly planCache?: number;
  /** Lets LOAD take strata's own extension (built locally, so unsigned; see src/etl/native-rules.ts). */
  readonly allowUnsignedExtensions?: boolean;
}

/** The only owner of @duckdb/node-api: a connection with the few calls strata needs. */
export class Db {
  readonly #plans = new Map<string, DuckDBPreparedStatement>();

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    private readonly planCache: number,
    /** False for a connection from connectAgain: closing it leaves the database open. */
    private readonly ownsInstance = true,
  ) {}

  /** A second connection to the same database, for a query while this one runs another. */
  async connectAgain(): Promise<Db> {
    return new Db(this.instance, await this.instance.connect(), 0, false);
  }

  static async open(options: DbOptions = {}): Promise<Db> {
    const config: Record<string, string> = {};
    if (options.readOnly) config.access_mode = 'READ_ONLY';
    if (options.threads) config.threads = String(options.threads);
    if (options.memoryLimit) config.memory_limit = options.memoryLimit;
    if (options.tempDirectory) config.temp_directory = options.tempDirectory;
    if (options.allowUnsignedExtensions) config.allow_unsigned_extensions = 'true';
    const instance = await DuckDBInstance.create(options.path ?? ':memory:', config);
    const connection = await instance.connect();
    return new Db(instance, connection, options.planCache ?? 0);
  }

  async run(sql: string): Promise<void> {
    await this.connection.run(sql);
  }

  /** Rows as plain JS values (BIGINT as bigint, DECIMAL as DuckDB value objects). */
  async all(sql: string, params?: Record<string, DuckDBValue> | DuckDBValue[]): Promise<Row[]> {
    const reader = await this.connection.runAndReadAll(sql, params as never);
    return reader.getRowObjects() as Row[];
  }

  /** Rows converted to JSON-safe values: BIGINT and DECIMAL as strings, timestamps as ISO-like text. */
  async json(sql: string): Promise<Row[]> {
    const reader = await this.connection.runAndReadAll(sql);
    return reader.getRowObjectsJson() as Row[];
  }

  async columns(sql: string): Promise<{ names: string[]; rows: unknown[][] }> {
    const reader = await this.connection.runAndReadAll(sql);
    return { names: reader.columnNames(), rows: reader.getRowsJson() as unknown[][] };
  }

  /** Names, type names ('BIGINT', 'DECIMAL', ...) and JSON-safe rows of an arbitrary query, columns in order. */
  async table(sql: string): Promise<{ names: string[]; types: string[]; rows: unknown[][] }> {
    const reader = this.planCache > 0 ? await this.#runPlanned(sql) : await this.connection.runAndReadAll(sql);
    const types = Array.from({ length: reader.columnCount }, (_, i) => DuckDBTypeId[reader.columnTypeId(i)] ?? 'UNKNOWN');
    return { names: reader.columnNames(), types, rows: reader.getRowsJson() as unknown[][] };
  }

  /** The kind of each statement in `sql` ('SELECT', 'COPY', 'CREATE', ...), bound but not run. */
  async statementKinds(sql: string): Promise<string[]> {
    const extracted = await this.connection.extractStatements(sql);
    const kinds: string[] = [];
    for (let i = 0; i < extracted.count; i++) {
      const prepared = await extracted.prepare(i);
      try {
        kinds.push(StatementType[prepared.statementType] ?? 'UNKNOWN');
      } finally {
        prepared.destroySync();
      }
    }
    return kinds;
  }

  /**
   * Confines this instance for user SQL: only the given files and directories stay readable,
   * nothing else on the machine, no extension loading, and no SET can undo it.
   */
  async confine(allowed: { paths: readonly string[]; directories: readonly string[] }): Promise<void> {
    await this.run(`SET allowed_paths = ${sqlStringList(allowed.paths)}`);
    await this.run(`SET allowed_directories = ${sqlStringList(allowed.directories)}`);
    await this.run('SET autoinstall_known_extensions = false');
    await this.run('SET autoload_known_extensions = false');
    await this.run('SET enable_external_access = false');
    await this.run('SET lock_configuration = true');
  }

  async scalar(sql: string): Promise<unknown> {
    const rows = await this.all(sql);
    const first = rows[0];
    return first ? Object.values(first)[0] : undefined;
  }

  async #runPlanned(sql: string): ReturnType<DuckDBConnection['runAndReadAll']> {
    let plan = this.#plans.get(sql);
    this.#plans.delete(sql);
    plan ??= await this.connection.prepare(sql);
    try {
      const reader = await plan.runAndReadAll();
      this.#plans.set(sql, plan); // the most recent last: the first is the one to drop
      for (const [oldest, stale] of this.#plans) {
        if (this.#plans.size <= this.planCache) break;
        this.#plans.delete(oldest);
        stale.destroySync();
      }
      return reader;
    } catch (err) {
      // A failed plan (a file gone, say) is planned afresh next time.
      plan.destroySync();
      throw err;
    }
  }

  close(): void {
    for (const plan of this.#plans.values()) plan.destroySync();
    this.#plans.clear();
    this.connection.closeSync();
    if (this.ownsInstance) this.instance.closeSync();
  }
}

export async function withDb<T>(options: DbOptions, body: (db: Db) => Promise<T>): Promise<T> {
  const db = await Db.open(options);
  try {
    return await body(db);
  } finally {
    db.close();
  }
}
