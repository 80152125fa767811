import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Db } from '../db/duckdb.js';
import { sqlString, sqlStringList } from '../db/sql.js';
import { MAX_LINE_BYTES, restoreCarriageReturns, type EarlyReject } from '../bronze/prepare-lines.js';
import { emptyRejectCounts, REJECT_REASONS, type HourPartition, type RejectCounts, type RejectReason } from '../ledger/types.js';
import { ETL_EVENTS_PARQUET, ROW_GROUP_ROWS } from '../silver/parquet-options.js';
import { CLEANING_MACROS, classifySql } from './cleaning-sql.js';
import { CAREFUL, fastClassifySql, loadNativeRules } from './native-rules.js';
import { phaseTimer } from './phase-timer.js';
import { workMemoryLimit } from './scratch.js';

/** What reading a whole bronze file found besides its text (see read-bronze.ts). */
export interface FileEnd {
  /** Lines in the file, blank ones included. */
  readonly lines: number;
  readonly earlyRejects: readonly EarlyReject[];
  readonly carriageReturns: ReadonlyMap<number, readonly number[]>;
}

/** A line's verdict: reason (NULL when valid), raw text of a reject, and a valid line's silver columns. */
const VERDICT_COLUMNS = `reason VARCHAR, raw_line VARCHAR, event_id VARCHAR, event_time TIMESTAMP, user_id VARCHAR, session_id VARCHAR,
  event_type VARCHAR, product_id VARCHAR, category VARCHAR, search_query VARCHAR, price DECIMAL(12, 2), quantity INTEGER,
  revenue DECIMAL(18, 2), extras VARCHAR`;

/** The columns of `staged` that every way of staging fills; row_id and cr_line only strata_stage_gz does. */
const STAGED_COLUMNS = `(file_idx, reason, raw_line, event_id, event_time, user_id, session_id, event_type, product_id, category,
  search_query, price, quantity, revenue, extras)`;

/** A `staged` row's row id: its own when strata_stage_gz numbered it, else its position. */
const STAGED_ROW_ID = 'coalesce(row_id, rowid)';

/** A bronze file for streamFiles: its index in the run, its path in bronze, and a local copy. */
export interface StreamInput {
  readonly fileIdx: number;
  readonly sourceFile: string;
  readonly localPath: string;
}

/** A Parquet file streamFiles wrote: one hour's valid lines (or, for a run of one file, any hours). */
interface StreamedFile {
  readonly localPath: string;
  readonly rows: number;
  /** The hour its folders name, when PARTITION_BY wrote it; the one plain file has none. */
  readonly partition?: HourPartition;
}

/** Row ids per streamed file (see streamFiles). */
const STREAMED_FILE_ROWS = 2 ** 32;

/** The rows of streamed files, their own columns only (their folders' hour is no column). */
function readStreamed(files: readonly StreamedFile[]): string {
  return `read_parquet(${sqlStringList(files.map((f) => f.localPath))}, hive_partitioning = false)`;
}

/**
 * `staged_lines`: the verdict of every line not in a streamed file, by row id: the native one,
 * else the SQL rules'. Created once; the staging tables it reads fill as the run goes.
 */
const STAGED_LINES_VIEW = `
      CREATE VIEW staged_lines AS
        SELECT file_idx, ${STAGED_ROW_ID} AS row_id, * EXCLUDE (file_idx, row_id, cr_line) FROM staged
        WHERE reason IS DISTINCT FROM '${CAREFUL}'
        UNION ALL SELECT * FROM judged`;

/** `lines`: every line's verdict (`staged_lines`), and the valid lines streamed files hold. */
function linesView(streamed: readonly StreamedFile[] = [], from?: { fileIdx: number; firstRow: number }): string {
  // One file: its index and first row are constants; several: a join on the path (a hash join, ~10 ms a batch).
  const file = from ? { idx: `${from.fileIdx}`, firstRow: `${from.firstRow}`, join: '' } : { idx: 'f.file_idx', firstRow: 'f.first_row', join: 'JOIN run_files f USING (source_file)' };
  const fromParquet = streamed.length
    ? `UNION ALL SELECT ${file.idx} AS file_idx, ${file.firstRow} + p.source_line - 1 AS row_id, NULL::VARCHAR AS reason, NULL::VARCHAR AS raw_line,
          p.event_id, p.event_time, p.user_id, p.session_id, p.event_type, p.product_id, p.category, p.search_query, p.price, p.quantity,
          p.revenue, p.extras
        FROM ${readStreamed(streamed)} p ${file.join}`
    : '';
  return `
      CREATE OR REPLACE VIEW lines AS
        SELECT * FROM staged_lines
        ${fromParquet}`;
}

/** Silver's columns (SPEC §4) from a relation `s` of verdict columns; one list for every way silver is written. */
function silverColumns(s: string, sourceFile: string, sourceLine: string, runId: string, extras = `${s}.extras`): string {
  return `
    SELECT ${s}.event_id, ${s}.event_time, ${s}.user_id, ${s}.session_id, ${s}.event_type, ${s}.product_id, ${s}.category,
      ${s}.search_query, ${s}.price, ${s}.quantity, ${s}.revenue, CAST(${s}.event_time AS DATE) AS event_date, ${extras} AS extras,
      ${sourceFile} AS source_file, ${sourceLine} AS source_line, ${runId} AS run_id,
      CAST(year(${s}.event_time) AS INTEGER) AS "year", CAST(month(${s}.event_time) AS INTEGER) AS "month",
      CAST(day(${s}.event_time) AS INTEGER) AS "day", CAST(hour(${s}.event_time) AS INTEGER) AS "hour"`;
}

/** Rows that hold no line's outcome: blank lines, and every line of a file found corrupt midway. */
const NOT_COUNTED = `('blank', 'discarded')`;

export interface FileOutcome {
  lines: number;
  valid: number;
  rejected: RejectCounts;
  duplicates: number;
}

export interface WrittenPartition {
  readonly partition: HourPartition;
  readonly localPath: string;
  readonly rows: number;
  readonly bytes: number;
}

export interface StagingResult {
  readonly outcomes: ReadonlyMap<number, FileOutcome>;
  readonly partitions: readonly WrittenPartition[];
  readonly quarantine?: { readonly localPath: string; readonly rows: number; readonly bytes: number };
  readonly extraFields: readonly string[];
}

/**
 * One VARCHAR column per line: a NUL delimiter and no quote never split a prepared line.
 * Buffers sized to the longest line: DuckDB reads a file on as many threads as it has buffers,
 * so 16 MB buffers keep both cores busy where room for a 64 MB line would leave one idle.
 */
function lineReader(file: string, longestLine: number): string {
  const maxLine = Math.max(1 << 20, Math.min(longestLine, MAX_LINE_BYTES) + 1024);
  const buffer = Math.max(16 << 20, 2 * maxLine + 4096);
  return (
    `read_csv(${sqlString(file)}, columns = {'line': 'VARCHAR'}, delim = chr(0), quote = '', escape = '', header = false, ` +
    `new_line = '\\n', auto_detect = false, strict_mode = false, max_line_size = ${maxLine}, buffer_size = ${buffer})`
  );
}

/**
 * A run's working database (in memory or a local file, see open): every line of every file of
 * the run is classified here, before anything is written to the warehouse, and the view `lines`
 * holds each line's verdict, whether it was staged or streamed to Parquet (streamFiles). Memory
 * stays bounded (DuckDB spills to disk), and dedup sees the whole run at once: first occurrence
 * by (file, line) wins.
 */
export class RunStaging {
  private constructor(
    private readonly db: Db,
    private readonly dir: string,
    private readonly runId: string,
    /** The native rules are loaded (see native-rules.ts). */
    private readonly native: boolean,
  ) {}

  /** This run's DuckDB, lent for work after the commit that would otherwise open another (the catalog). */
  get duckdb(): Db {
    return this.db;
  }

  /**
   * `onDisk`: a database file instead of memory. A small run stages in memory: writing a table
   * to a file compresses every row group as it goes, a second or so per batch. A big backlog
   * stages on disk: a day's backlog (288 batches) in memory ran out of memory after 226 files.
   * Either way DuckDB spills past `memoryLimit` into the scratch folder.
   */
  static async open(dir: string, runId: string, options: { onDisk: boolean; memoryLimit?: string }): Promise<RunStaging> {
    await mkdir(dir, { recursive: true });
    const db = await Db.open({
      path: options.onDisk ? path.join(dir, 'stage.duckdb') : ':memory:',
      memoryLimit: options.memoryLimit ?? workMemoryLimit(),
      tempDirectory: path.join(dir, 'spill'),
      allowUnsignedExtensions: true,
    });
    const native = await loadNativeRules(db);
    if (!native.loaded && native.reason !== undefined) {
      process.stderr.write(`strata: native rules not usable here (${native.reason}); the SQL rules classify every line (slower)\n`);
    }
    await db.run(`SET preserve_insertion_order = false`);
    // A partitioned COPY buffers each hour's rows up to this before writing; the default (~0.5M
    // rows) made streaming a batch 0.3-0.5 s slower than a plain COPY, a row group's worth costs ~0.2 s.
    await db.run(`SET partitioned_write_flush_threshold = ${ROW_GROUP_ROWS}`);
    await db.run(CLEANING_MACROS);
    await db.run(`
      CREATE TABLE run_files (file_idx INTEGER, source_file VARCHAR, first_row BIGINT);
      -- row_id: a line's row id when it is not its position (strata_stage_gz inserts in any order);
      -- cr_line: the line itself when reason and raw_line hold it with tabs for carriage returns.
      CREATE TABLE staged (file_idx INTEGER, ${VERDICT_COLUMNS}, row_id BIGINT, cr_line VARCHAR);
      CREATE TABLE judged (file_idx INTEGER, row_id BIGINT, ${VERDICT_COLUMNS});
      ${STAGED_LINES_VIEW};
      ${linesView()};`);
    return new RunStaging(db, dir, runId, native.loaded);
  }

  /** The files streamFiles wrote. */
  private readonly streamed: StreamedFile[] = [];
  /** Where streamFiles spooled the hash of every valid line's event_id (native/id_spool.h). */
  #idSpool: { readonly dir: string; readonly buckets: number } | undefined;

  /** `select FROM <the streamed files> rest`, or nothing when streaming wrote none (no valid line). */
  #fromStreamed(select: string, rest = ''): string {
    if (this.streamed.length === 0) return '';
    return `${select} FROM ${readStreamed(this.streamed)} ${rest}`;
  }

  /** Rows in `staged`: the row id the next line read the JavaScript way, or by stageGz, gets. */
  private rows = 0;
  private readonly firstRows = new Map<number, number>();

  /*
   * Line n of a file is row id `first_row + n - 1`. strata_stage_gz (stageGz) numbers the lines
   * itself. Text pieces (addPart) are numbered by position instead: `staged` gets every line,
   * blank ones included, in file order (DuckDB keeps insertion order while it reads and
   * classifies on all threads). Numbering them any other way (WITH ORDINALITY, or a numbered
   * copy of the lines) costs a single-threaded pass or a copy. Either way the files of a run go
   * in one at a time, in order, so each file's rows are the positions first_row onwards.
   */

  async beginFile(fileIdx: number, sourceFile: string): Promise<void> {
    this.firstRows.set(fileIdx, this.rows);
    await this.db.run(`INSERT INTO run_files VALUES (${fileIdx}, ${sqlString(sourceFile)}, ${this.rows})`);
  }

  /** Classifies (SPEC §3) the lines of one piece of the file begun last. */
  async addPart(fileIdx: number, textPath: string, lines: number, longestLine: number): Promise<void> {
    const phase = phaseTimer(`stage file ${fileIdx}`);
    await this.db.run(`SET preserve_insertion_order = true`);
    const reader = lineReader(textPath, longestLine);
    const classified = this.native ? fastClassifySql(fileIdx, reader) : classifySql(`(SELECT ${fileIdx} AS tag, line FROM ${reader})`);
    const [inserted] = await this.db.all(`INSERT INTO staged ${STAGED_COLUMNS} ${classified}`);
    await this.db.run(`SET preserve_insertion_order = false`);
    const rows = Number(Object.values(inserted ?? {})[0] ?? 0);
    this.rows += rows;
    // Every line written must be read back, or line numbers (and lines) would be lost silently.
    if (rows !== lines) throw new Error(`read ${rows} lines back from ${textPath}, expected ${lines}`);
    phase('classify piece');
  }

  /** Whether stageGz can take files (the native rules are loaded, and STRATA_NATIVE_READER is not 0). */
  get stagesGz(): boolean {
    return this.native && process.env.STRATA_NATIVE_READER !== '0';
  }

  /**
   * Stages a whole local gzip file, begun last, through strata_stage_gz: inflated, split and
   * classified in DuckDB in one pass. Returns its lines, or undefined when the function would
   * not vouch for the file (see strata_rules.c): nothing is staged then, and the caller reads
   * the file the JavaScript way (addPart), which decides.
   */
  async stageGz(fileIdx: number, gzPath: string): Promise<number | undefined> {
    const firstRow = this.firstRows.get(fileIdx);
    if (firstRow === undefined) throw new Error(`file ${gzPath} was not begun`);
    const phase = phaseTimer(`stage file ${fileIdx}`);
    let inserted: Record<string, unknown> | undefined;
    try {
      [inserted] = await this.db.all(`INSERT INTO staged BY NAME SELECT ${fileIdx} AS file_idx, * FROM strata_stage_gz(${sqlString(gzPath)}, ${firstRow})`);
    } catch (err) {
      if ((err as Error).message.includes('strata_stage_gz:')) return undefined;
      throw err;
    }
    const rows = Number(Object.values(inserted ?? {})[0] ?? 0);
    this.rows += rows;
    phase('inflate+classify natively');
    return rows;
  }

  /**
   * Stages a run's local gzip files, before any other, through strata_stage_gz_files: their
   * usual valid lines go straight into silver Parquet files in `outDir` (one per hour; for one
   * file, one plain file, cheaper than partitioning), every other line into `staged`. No staging
   * table is filled and read back: a third less time, and memory that does not grow with the
   * backlog. `lines` then reads the valid lines from those files, and finish keeps them as silver
   * when nothing needs rewriting. File i's line n is row id (i + 1) * 2^32 + n - 1, clear of the
   * positions that number lines read the JavaScript way afterwards.
   * Returns each file's lines, or, when the native reader would not vouch for a file, that
   * file's path, with nothing staged or written.
   */
  async streamFiles(
    files: readonly StreamInput[],
    outDir: string,
    onProgress?: (files: number, lines: number) => void,
  ): Promise<{ lines: Map<number, number> } | { declined: string }> {
    if (this.rows !== 0 || this.firstRows.size > 0 || this.streamed.length > 0) throw new Error('streamFiles takes the first files of a run');
    const phase = phaseTimer('stream');
    const key = `${this.runId}/stream`;
    const firstRow = (f: StreamInput) => (f.fileIdx + 1) * STREAMED_FILE_ROWS;
    await this.db.run(`INSERT INTO run_files VALUES ${files.map((f) => `(${f.fileIdx}, ${sqlString(f.sourceFile)}, ${firstRow(f)})`).join(', ')}`);
    // A row's file from its id: a constant list, not a join (a join cost ~0.4 s a batch).
    const byIdx: (string | null)[] = [];
    for (const f of files) byIdx[f.fileIdx] = f.sourceFile;
    const sourceFile = files.length === 1 ? sqlString(files[0]!.sourceFile) : `${sqlStringList(Array.from(byIdx, (k) => k ?? ''))}[s.row_id // ${STREAMED_FILE_ROWS}]`;
    const spool = { dir: path.join(this.dir, 'ids'), buckets: await spoolBuckets(files) };
    await rm(spool.dir, { recursive: true, force: true });
    await mkdir(spool.dir, { recursive: true });
    const source = `strata_stage_gz_files(${sqlStringList(files.map((f) => f.localPath))}, [${files.map(firstRow).join(', ')}], set_aside := ${sqlString(key)},
      id_spool := ${sqlString(spool.dir)}, id_buckets := ${spool.buckets}) s`;
    const rows = `${silverColumns('s', sourceFile, `s.row_id % ${STREAMED_FILE_ROWS} + 1`, sqlString(this.runId), 'NULL::VARCHAR')} FROM ${source}`;
    const target = path.join(outDir, 'streamed');
    await rm(target, { recursive: true, force: true });
    await mkdir(target, { recursive: true });
    const polling = onProgress ? this.#pollProgress(key, onProgress) : undefined;
    let written: Record<string, unknown>[];
    try {
      written =
        files.length === 1
          ? await this.db.all(`COPY (${rows}) TO ${sqlString(path.join(target, 'part-0.parquet'))} (${ETL_EVENTS_PARQUET}, RETURN_STATS true)`)
          : await this.db.all(`COPY (${rows}) TO ${sqlString(target)} (${ETL_EVENTS_PARQUET},
              PARTITION_BY ("year", "month", "day", "hour"), WRITE_PARTITION_COLUMNS true, FILENAME_PATTERN 'part-{i}', RETURN_STATS true)`);
    } catch (err) {
      await this.db.all(`SELECT count(*) FROM strata_set_aside(${sqlString(key)})`);
      await this.db.run('DELETE FROM run_files');
      await rm(target, { recursive: true, force: true });
      const declined = /strata_stage_gz: (.*): [^:]*$/.exec((err as Error).message.split('\n')[0] ?? '');
      if (declined && files.some((f) => f.localPath === declined[1])) return { declined: declined[1]! };
      throw err;
    } finally {
      await polling?.stop();
    }
    phase('copy');
    this.#idSpool = spool;
    await this.db.run(`INSERT INTO staged BY NAME SELECT row_id // ${STREAMED_FILE_ROWS} - 1 AS file_idx, * FROM strata_set_aside(${sqlString(key)})`);
    for (const w of written) {
      const localPath = String(w.filename);
      this.streamed.push({ localPath, rows: Number(w.count), partition: hivePartition(path.relative(target, localPath)) });
    }
    await this.db.run(linesView(this.streamed, files.length === 1 ? { fileIdx: files[0]!.fileIdx, firstRow: firstRow(files[0]!) } : undefined));
    // Positions, not ids: a file read the JavaScript way after these is numbered from here.
    const [placed] = await this.db.all('SELECT count(*) AS n FROM staged');
    this.rows = Number(placed?.n);
    // Each file's lines: its rows in the Parquet files (by path: no join) and those set aside.
    const byKey = new Map(files.map((f) => [f.sourceFile, f.fileIdx]));
    const lines = new Map<number, number>(files.map((f) => [f.fileIdx, 0]));
    const counts = await this.db.all(`
      SELECT NULL AS source_file, file_idx, count(*) AS n FROM staged GROUP BY ALL
      ${this.#fromStreamed('UNION ALL SELECT source_file, NULL::INTEGER, count(*)', 'GROUP BY ALL')}`);
    for (const row of counts) {
      const fileIdx = row.file_idx === null ? byKey.get(String(row.source_file)) : Number(row.file_idx);
      if (fileIdx === undefined || !lines.has(fileIdx)) throw new Error(`streamed rows of a file not streamed: ${String(row.source_file ?? row.file_idx)}`);
      lines.set(fileIdx, lines.get(fileIdx)! + Number(row.n));
    }
    for (const f of files) this.firstRows.set(f.fileIdx, firstRow(f));
    phase('inflate+classify natively, valid lines to Parquet');
    return { lines };
  }

  /** Polls strata_stage_progress on a second connection while the stream runs. */
  #pollProgress(key: string, onProgress: (files: number, lines: number) => void): { stop: () => Promise<void> } {
    let stopped = false;
    const loop = (async () => {
      const side = await this.db.connectAgain();
      try {
        while (!stopped) {
          const [row] = await side.all(`SELECT strata_stage_progress(${sqlString(key)}) AS p`);
          const p = row?.p as { entries?: { files?: unknown; lines?: unknown } } | null | undefined;
          if (p?.entries) onProgress(Number(p.entries.files), Number(p.entries.lines));
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      } finally {
        side.close();
      }
    })();
    return {
      stop: async () => {
        stopped = true;
        await loop.catch(() => undefined);
      },
    };
  }

  /**
   * Judges with the SQL rules the lines the native rules left, then settles what JavaScript found
   * in the file; returns the lines taken (blank ones are not).
   */
  async endFile(fileIdx: number, sourceFile: string, end: FileEnd): Promise<number> {
    const firstRow = this.firstRows.get(fileIdx);
    if (firstRow === undefined) throw new Error(`file ${sourceFile} was not begun`);
    let judged = 0;
    if (this.native) judged = await this.#judgeCareful([fileIdx]);
    // Row ids must be first_row onwards, once each, whichever way the rows came. The ids are
    // counted as bits set (a tenth of the time of count(DISTINCT)); any outside are caught by min/max.
    const lastRow = firstRow + end.lines - 1;
    const ids =
      end.lines > 0 ? `bit_count(bitstring_agg(${STAGED_ROW_ID}, ${firstRow}, ${lastRow}) FILTER (WHERE ${STAGED_ROW_ID} BETWEEN ${firstRow} AND ${lastRow}))` : '0';
    const [check] = await this.db.all(`
      SELECT count(*) AS n, min(rowid) AS lo, max(rowid) AS hi, min(${STAGED_ROW_ID}) AS first_id, max(${STAGED_ROW_ID}) AS last_id, ${ids} AS ids,
        count(*) FILTER (WHERE reason = '${CAREFUL}') AS careful,
        (SELECT count(*) FROM lines WHERE file_idx = ${fileIdx} AND reason IS DISTINCT FROM 'blank') AS taken
      FROM staged WHERE file_idx = ${fileIdx}`);
    const rows = Number(check?.n);
    const span = (lo: unknown, hi: unknown) => Number(lo) === firstRow && Number(hi) === firstRow + rows - 1;
    if (
      rows !== end.lines ||
      this.rows !== firstRow + rows ||
      Number(check?.careful) !== judged ||
      (rows > 0 && (!span(check?.lo, check?.hi) || !span(check?.first_id, check?.last_id) || Number(check?.ids) !== rows))
    ) {
      throw new Error(`staging rows of ${sourceFile} are not its ${end.lines} lines in order: ${JSON.stringify(check, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))}`);
    }
    let lines = Number(check?.taken);
    // Lines settled in JavaScript were blanked there: their rows take the verdict and raw text.
    if (end.earlyRejects.length > 0) {
      await this.#loadFixes(end.earlyRejects.map((r) => [firstRow + r.lineNo - 1, r.rawLine]));
      const changed = await this.#applyFixes(`reason = 'malformed_json', raw_line = x.raw_line`, `reason = 'blank'`, end.earlyRejects.length);
      if (changed !== end.earlyRejects.length) throw new Error(`${sourceFile}: ${end.earlyRejects.length - changed} lines are not where strata blanked them`);
      lines += changed;
    }
    if (end.carriageReturns.size > 0) await this.#restoreCarriageReturns(fileIdx, firstRow, end.carriageReturns);
    return lines;
  }

  /** Judges with the SQL rules the CAREFUL lines of these files, into `judged`; returns how many. */
  async #judgeCareful(fileIdxs: readonly number[]): Promise<number> {
    // A rejected line keeps its own text: cr_line, where the rules saw tabs for carriage returns.
    const careful = `(SELECT {'file_idx': file_idx, 'row_id': ${STAGED_ROW_ID}, 'cr_line': cr_line} AS tag, raw_line AS line
      FROM staged WHERE file_idx IN (${fileIdxs.join(', ')}) AND reason = '${CAREFUL}')`;
    const [inserted] = await this.db.all(`
      INSERT INTO judged SELECT tag.file_idx, tag.row_id, reason, CASE WHEN raw_line IS NOT NULL THEN coalesce(tag.cr_line, raw_line) END,
        * EXCLUDE (tag, reason, raw_line)
      FROM (${classifySql(careful)})`);
    return Number(Object.values(inserted ?? {})[0] ?? 0);
  }

  /**
   * endFile for the files streamFiles took, all at once (`lines` from its result): judges their
   * careful lines, checks that each file's row ids are its lines, each once, wherever they went
   * (staged or Parquet), and returns the lines each took (blank ones are not).
   */
  async endStreamedFiles(lines: ReadonlyMap<number, number>): Promise<Map<number, number>> {
    const fileIdxs = [...lines.keys()];
    await this.#judgeCareful(fileIdxs);
    const most = Math.max(1, ...lines.values());
    // Grouped by path, not joined to it: the Parquet rows carry their file's path.
    const checks = await this.db.all(`
      WITH r AS (
        -- strata_stage_gz numbered every line it set aside: row_id is never NULL here.
        SELECT f.source_file, s.row_id - f.first_row AS line, reason FROM staged s JOIN run_files f USING (file_idx) WHERE file_idx IN (${fileIdxs.join(', ')})
        ${this.#fromStreamed('UNION ALL SELECT source_file, source_line - 1, NULL')})
      SELECT f.file_idx, c.* FROM (
        SELECT source_file, count(*) AS n, min(line) AS lo, max(line) AS hi,
          bit_count(bitstring_agg(line, 0, ${most - 1}) FILTER (WHERE line BETWEEN 0 AND ${most - 1})) AS ids,
          count(*) FILTER (WHERE reason = '${CAREFUL}') AS careful
        FROM r GROUP BY source_file) c JOIN run_files f USING (source_file)`);
    const judgedByFile = new Map<number, { judged: number; blank: number }>();
    for (const row of await this.db.all(`SELECT file_idx, count(*) AS judged, count(*) FILTER (WHERE reason = 'blank') AS blank FROM judged GROUP BY ALL`)) {
      judgedByFile.set(Number(row.file_idx), { judged: Number(row.judged), blank: Number(row.blank) });
    }
    const taken = new Map<number, number>(fileIdxs.map((f) => [f, 0]));
    for (const check of checks) {
      const fileIdx = Number(check.file_idx);
      const n = Number(check.n);
      const j = judgedByFile.get(fileIdx) ?? { judged: 0, blank: 0 };
      if (n !== lines.get(fileIdx) || Number(check.lo) !== 0 || Number(check.hi) !== n - 1 || Number(check.ids) !== n || Number(check.careful) !== j.judged) {
        throw new Error(`streamed rows of file ${fileIdx} are not its ${lines.get(fileIdx)} lines: ${JSON.stringify(check, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))}`);
      }
      // Blank lines are the only ones not taken, and the SQL rules are the ones to find them.
      taken.set(fileIdx, n - j.blank);
    }
    if (checks.length !== [...lines.values()].filter((n) => n > 0).length) throw new Error(`streamed rows of ${checks.length} files, expected ${lines.size}`);
    return taken;
  }

  /** Fills the temporary table `fixes` (row_id, raw_line): row by row UPDATEs cost a scan each, thousands in a dirty file. */
  async #loadFixes(rows: readonly (readonly [number, string | null])[]): Promise<void> {
    await this.db.run(`CREATE OR REPLACE TEMP TABLE fixes (row_id BIGINT, raw_line VARCHAR)`);
    const chunk = 1000;
    for (let at = 0; at < rows.length; at += chunk) {
      const part = rows.slice(at, at + chunk);
      await this.db.all(`INSERT INTO fixes VALUES ${part.map((_, i) => `($${2 * i + 1}, $${2 * i + 2})`).join(', ')}`, part.flat());
    }
  }

  /**
   * Applies `set` to the verdicts of the rows in `fixes` that pass `where`, `expected` of them:
   * in judged (lines the native rules left, which hold every reject when they are loaded), then
   * if some are still missing in staged (a CAREFUL row there is not a verdict; a join with
   * staged costs a scan of it). Returns the rows changed.
   */
  async #applyFixes(set: string, where: string, expected: number): Promise<number> {
    let changed = 0;
    // Fixes come from the JavaScript reader only, whose staged rows are numbered by position.
    for (const [table, key] of [['judged', 'row_id'], ['staged', 'rowid']] as const) {
      if (changed === expected) break;
      const [updated] = await this.db.all(
        `UPDATE ${table} SET ${set} FROM fixes x WHERE ${table}.${key} = x.row_id AND ${table}.${where} AND ${table}.reason IS DISTINCT FROM '${CAREFUL}'`,
      );
      changed += Number(Object.values(updated ?? {})[0] ?? 0);
    }
    return changed;
  }

  /** A file that turned out corrupt after some of its pieces went in: none of its lines count. */
  async discardFile(fileIdx: number): Promise<void> {
    await this.db.run(`UPDATE staged SET reason = 'discarded', raw_line = NULL, event_id = NULL WHERE file_idx = ${fileIdx}`);
    await this.db.run(`DELETE FROM judged WHERE file_idx = ${fileIdx}`);
  }

  async #restoreCarriageReturns(fileIdx: number, firstRow: number, carriageReturns: ReadonlyMap<number, readonly number[]>): Promise<void> {
    await this.#loadFixes([...carriageReturns.keys()].map((lineNo) => [firstRow + lineNo - 1, null]));
    // Only a rejected line keeps its raw text; a valid one has none to restore.
    const rows = await this.db.all(`SELECT row_id, raw_line FROM lines SEMI JOIN fixes USING (row_id) WHERE file_idx = ${fileIdx} AND raw_line IS NOT NULL`);
    if (rows.length === 0) return;
    await this.#loadFixes(rows.map((row) => [Number(row.row_id), restoreCarriageReturns(String(row.raw_line), carriageReturns.get(Number(row.row_id) - firstRow + 1))]));
    const changed = await this.#applyFixes('raw_line = x.raw_line', 'raw_line IS NOT NULL', rows.length);
    if (changed !== rows.length) throw new Error(`restored the carriage returns of ${changed} lines, expected ${rows.length}`);
  }

  /**
   * Decides duplicates against this run and against committed silver (`silverFiles`), then
   * writes one Parquet file per touched hour and one quarantine file into `outDir`.
   */
  async finish(silverFiles: readonly string[], outDir: string, ingestedAt: Date): Promise<StagingResult> {
    const db = this.db;
    const phase = phaseTimer('finish');
    // Silver's ids whose 64-bit hash a valid line of the run has: a join on hashes, not strings
    // (a backlog of 48 batches on 30M rows of silver: 19-21 s instead of 25 s; peak RSS 1.2 GB
    // either way, the run's side of the join). A silver id that only shares a hash is no
    // duplicate: `dups` below joins on the ids themselves.
    const heldBefore =
      silverFiles.length === 0
        ? `SELECT NULL::VARCHAR AS event_id WHERE false`
        : this.#spooledRows() >= HELD_BY_BUCKETS_MIN_ROWS
          ? await this.#heldByBuckets(silverFiles)
          : `SELECT DISTINCT event_id FROM read_parquet(${sqlStringList(silverFiles)}) WHERE hash(event_id) IN (SELECT hash(event_id) FROM lines WHERE reason IS NULL)`;
    await db.run(`CREATE TABLE held AS ${heldBefore}`);
    // Duplicates are few: find the ids seen twice (a hash aggregate, no sort), then list the
    // lines that lose — every later occurrence, and any line whose id silver already holds.
    await db.run(`CREATE TABLE repeated AS ${await this.#repeatedIds()}`);
    await db.run(`
      CREATE TABLE dups AS
      SELECT s.row_id, s.file_idx FROM lines s JOIN repeated r USING (event_id)
      WHERE s.reason IS NULL AND s.row_id <> r.first_row
      UNION
      SELECT s.row_id, s.file_idx FROM lines s SEMI JOIN held h USING (event_id) WHERE s.reason IS NULL`);

    phase('dedup');
    const outcomes = new Map<number, FileOutcome>();
    const outcome = (fileIdx: number): FileOutcome => {
      let o = outcomes.get(fileIdx);
      if (!o) outcomes.set(fileIdx, (o = { lines: 0, valid: 0, rejected: emptyRejectCounts(), duplicates: 0 }));
      return o;
    };
    for (const row of await db.all(`SELECT file_idx, reason, count(*) AS n FROM lines WHERE reason IS NULL OR reason NOT IN ${NOT_COUNTED} GROUP BY ALL`)) {
      const o = outcome(Number(row.file_idx));
      const n = Number(row.n);
      o.lines += n;
      if (row.reason === null) {
        o.valid += n;
        continue;
      }
      const reason = String(row.reason) as RejectReason;
      if (!REJECT_REASONS.includes(reason)) throw new Error(`unexpected reject reason ${reason}`);
      o.rejected[reason] += n;
    }
    for (const row of await db.all(`SELECT file_idx, count(*) AS n FROM dups GROUP BY ALL`)) {
      const o = outcome(Number(row.file_idx));
      o.duplicates = Number(row.n);
      o.valid -= o.duplicates;
    }

    phase('counts');
    await mkdir(outDir, { recursive: true });
    // The streamed file, when it is already the hour's silver file; else silver is written from `lines`.
    const partitions =
      (await this.#streamedAsSilver([...outcomes.values()])) ??
      (await this.#rewriteStreamed(path.join(outDir, 'events'))) ??
      (await this.#writeSilver(path.join(outDir, 'events')));
    phase('silver parquet');
    const rejectedRows = [...outcomes.values()].reduce((n, o) => n + sumCounts(o.rejected), 0);
    let quarantine: StagingResult['quarantine'];
    if (rejectedRows > 0) {
      const localPath = path.join(outDir, 'quarantine.parquet');
      await db.run(`
        COPY (
          SELECT f.source_file, s.row_id - f.first_row + 1 AS source_line, s.reason, s.raw_line, ${sqlString(this.runId)} AS run_id,
            CAST(${sqlString(ingestedAt.toISOString().replace('Z', ''))} AS TIMESTAMP) AS ingested_at
          FROM lines s JOIN run_files f USING (file_idx)
          WHERE s.reason NOT IN ${NOT_COUNTED} ORDER BY s.file_idx, s.row_id
        ) TO ${sqlString(localPath)} (FORMAT parquet, COMPRESSION zstd)`);
      quarantine = { localPath, rows: rejectedRows, bytes: (await stat(localPath)).size };
    }
    phase('quarantine parquet');
    const extraFields = (
      await db.all(`SELECT DISTINCT unnest(json_keys(s.extras)) AS k FROM lines s ANTI JOIN dups d ON d.row_id = s.row_id
        WHERE s.reason IS NULL AND s.extras IS NOT NULL ORDER BY 1`)
    ).map((r) => String(r.k));
    phase('extra fields');
    return { outcomes, partitions, quarantine, extraFields };
  }

  /** Rows in the streamed files: every valid line streamed. */
  get #streamedRows(): number {
    return this.streamed.reduce((n, f) => n + f.rows, 0);
  }

  /** Rows whose id hashes the spool holds (streamed rows); 0 without a spool. */
  #spooledRows(): number {
    return this.#idSpool ? this.#streamedRows : 0;
  }

  /**
   * Silver's ids that a valid line of a big run holds (a SELECT), in memory that does not grow
   * with the run: silver's id hashes are partitioned like the run's spool, each bucket is
   * intersected with the run's hashes of the same bucket (a few million at most), and silver is
   * read a second time for the ids whose hash is common. Two reads of silver instead of one, so
   * only for runs of HELD_BY_BUCKETS_MIN_ROWS streamed rows or more.
   */
  async #heldByBuckets(silverFiles: readonly string[]): Promise<string> {
    const spool = this.#idSpool!;
    const silverIds = path.join(this.dir, 'silver-ids');
    await rm(silverIds, { recursive: true, force: true });
    const bits = Math.log2(spool.buckets);
    const bucket = bits === 0 ? '0' : `CAST(h >> ${64 - bits} AS INTEGER)`;
    const silver = `read_parquet(${sqlStringList(silverFiles)}, hive_partitioning = false)`;
    await this.db.run(`COPY (SELECT h, ${bucket} AS b FROM (SELECT strata_id_hash(event_id) AS h FROM ${silver}))
      TO ${sqlString(silverIds)} (FORMAT parquet, COMPRESSION uncompressed, PARTITION_BY (b))`);
    // Valid lines not streamed (few) are in no bucket file: every bucket is checked against them.
    const unstreamed = `SELECT strata_id_hash(event_id) FROM staged_lines WHERE reason IS NULL`;
    await this.db.run(`CREATE TABLE common_ids (h UBIGINT)`);
    for (const name of await readdir(silverIds).catch(() => [] as string[])) {
      const b = Number(/^b=(\d+)$/.exec(name)?.[1] ?? NaN);
      if (!Number.isInteger(b)) throw new Error(`unexpected folder in the silver id spool: ${name}`);
      await this.db.run(`INSERT INTO common_ids SELECT DISTINCT h FROM read_parquet(${sqlString(path.join(silverIds, name, '*.parquet'))}, hive_partitioning = false)
        WHERE h IN (SELECT h FROM strata_spooled_hashes(${sqlString(spool.dir)}, ${b}) UNION ALL ${unstreamed})`);
    }
    await rm(silverIds, { recursive: true, force: true });
    return `SELECT DISTINCT event_id FROM ${silver} WHERE strata_id_hash(event_id) IN (SELECT h FROM common_ids)`;
  }

  /**
   * The ids that more than one valid line of the run holds, each with the row of its first
   * (by file, then line): a SELECT. Duplicates are few, so the lines that may hold one are found
   * first by 64-bit hashes, then grouped on the ids themselves (a hash collision costs time, not
   * a wrong answer).
   */
  async #repeatedIds(): Promise<string> {
    // First by file, then by line: a file read the JavaScript way after the streamed ones has lower row ids.
    const repeated = (suspect: string) => `SELECT event_id, arg_min(row_id, (file_idx, row_id)) AS first_row FROM lines
      WHERE reason IS NULL AND ${suspect} GROUP BY event_id HAVING count(*) > 1`;
    const spool = this.#idSpool;
    if (!spool) {
      // Grouping 64-bit hashes first is cheaper than grouping the ids.
      return repeated(`hash(event_id) IN (SELECT hash(event_id) FROM lines WHERE reason IS NULL GROUP BY 1 HAVING count(*) > 1)`);
    }
    // The streamed lines' hashes were spooled while they were read: they are sorted bucket by
    // bucket here, in memory that does not grow with the run (grouping them all at once took
    // ~1 GB and most of a minute for a day's backlog). Valid lines not streamed (few: lines the
    // SQL rules judged, files read another way) are all suspects, so that a duplicate between them and the stream is
    // found too. Every streamed row must have been spooled, or a duplicate could slip through.
    let spooled = 0;
    for (const name of await readdir(spool.dir)) spooled += (await stat(path.join(spool.dir, name))).size / 8;
    if (spooled !== this.#streamedRows) throw new Error(`the id spool holds ${spooled} hashes for ${this.#streamedRows} streamed rows`);
    await this.db.run(`CREATE TABLE suspects AS
      SELECT h FROM strata_spooled_repeats(${sqlString(spool.dir)}, ${spool.buckets})
      UNION SELECT strata_id_hash(event_id) FROM staged_lines WHERE reason IS NULL`);
    return repeated(`strata_id_hash(event_id) IN (SELECT h FROM suspects)`);
  }

  /**
   * Silver as the streamed hour files less their duplicates, plus the valid lines not streamed
   * (few: those the SQL rules judged), one file per touched hour in `eventsDir`: each streamed
   * file is copied as it is, rows whose (source_file, source_line) is a duplicate left out,
   * instead of rebuilding every row through `lines`. Undefined when the streamed files are not
   * one per hour (a run of one file writes one plain file); then #writeSilver decides.
   */
  async #rewriteStreamed(eventsDir: string): Promise<WrittenPartition[] | undefined> {
    const byHour = new Map<string, StreamedFile>();
    for (const f of this.streamed) {
      if (!f.partition) return undefined;
      const id = hourId(f.partition);
      if (byHour.has(id)) return undefined;
      byHour.set(id, f);
    }
    if (byHour.size === 0) return undefined;
    const db = this.db;
    await db.run(`CREATE TABLE dup_lines AS SELECT f.source_file, d.row_id - f.first_row + 1 AS source_line FROM dups d JOIN run_files f USING (file_idx)`);
    await db.run(`CREATE TABLE unstreamed AS
      ${silverColumns('s', 'f.source_file', 's.row_id - f.first_row + 1', sqlString(this.runId))}
      FROM staged_lines s JOIN run_files f USING (file_idx) ANTI JOIN dups d ON d.row_id = s.row_id
      WHERE s.reason IS NULL`);
    for (const row of await db.all(`SELECT DISTINCT "year", "month", "day", "hour" FROM unstreamed`)) {
      const partition = { year: Number(row.year), month: Number(row.month), day: Number(row.day), hour: Number(row.hour) };
      if (!byHour.has(hourId(partition))) byHour.set(hourId(partition), { localPath: '', rows: 0, partition });
    }
    await mkdir(eventsDir, { recursive: true });
    const partitions: WrittenPartition[] = [];
    for (const [id, file] of [...byHour].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const p = file.partition!;
      const localPath = path.join(eventsDir, `${id}.parquet`);
      const streamedRows = file.localPath
        ? `SELECT * FROM ${readStreamed([file])} r ANTI JOIN dup_lines d ON r.source_file = d.source_file AND r.source_line = d.source_line UNION ALL BY NAME `
        : '';
      const [stats] = await db.all(`COPY (${streamedRows}SELECT * FROM unstreamed
          WHERE "year" = ${p.year} AND "month" = ${p.month} AND "day" = ${p.day} AND "hour" = ${p.hour}
        ) TO ${sqlString(localPath)} (${ETL_EVENTS_PARQUET}, RETURN_STATS true)`);
      const rows = Number(stats?.count);
      if (rows > 0) partitions.push({ partition: p, localPath, rows, bytes: (await stat(localPath)).size });
      else await rm(localPath, { force: true });
    }
    return partitions;
  }

  /** Silver from `lines`, less the duplicates: one Parquet file per touched hour, in `eventsDir`. */
  async #writeSilver(eventsDir: string): Promise<WrittenPartition[]> {
    const db = this.db;
    const silverRows = `${silverColumns('s', 'f.source_file', 's.row_id - f.first_row + 1', sqlString(this.runId))}
        FROM lines s JOIN run_files f USING (file_idx)
        -- ANTI JOIN, not NOT EXISTS: the latter costs half a second a batch even with no duplicates.
        ANTI JOIN dups d ON d.row_id = s.row_id
        WHERE s.reason IS NULL`;
    const hours = await db.all(`SELECT DISTINCT date_trunc('hour', event_time) AS h FROM lines WHERE reason IS NULL`);
    if (hours.length <= 2) {
      // A batch usually touches one or two hours: a plain COPY per hour skips PARTITION_BY's overhead.
      const partitions: WrittenPartition[] = [];
      for (const { h } of hours) {
        const start = new Date(String(h).replace(' ', 'T') + 'Z');
        const partition = { year: start.getUTCFullYear(), month: start.getUTCMonth() + 1, day: start.getUTCDate(), hour: start.getUTCHours() };
        const localPath = path.join(eventsDir, `${hourId(partition)}.parquet`);
        await mkdir(eventsDir, { recursive: true });
        const [stats] = await db.all(`COPY (SELECT * FROM (${silverRows}) WHERE "year" = ${partition.year} AND "month" = ${partition.month}
            AND "day" = ${partition.day} AND "hour" = ${partition.hour}) TO ${sqlString(localPath)} (${ETL_EVENTS_PARQUET}, RETURN_STATS true)`);
        partitions.push({ partition, localPath, rows: Number(stats?.count), bytes: (await stat(localPath)).size });
      }
      return partitions;
    }
    const written = await db.all(`COPY (${silverRows}) TO ${sqlString(eventsDir)} (${ETL_EVENTS_PARQUET},
      PARTITION_BY ("year", "month", "day", "hour"), WRITE_PARTITION_COLUMNS true, FILENAME_PATTERN 'part-{i}', RETURN_STATS true)`);
    return collectPartitions(eventsDir, written);
  }

  /**
   * The streamed files as the run's silver files, when they already are exactly that: every
   * valid line is in them (the SQL rules and the JavaScript reader found none elsewhere), none a
   * duplicate, and each holds one hour. Otherwise undefined, and finish writes silver from
   * `lines`, which reads them.
   */
  async #streamedAsSilver(outcomes: readonly FileOutcome[]): Promise<WrittenPartition[] | undefined> {
    if (this.streamed.length === 0) return undefined;
    const streamedRows = this.#streamedRows;
    // finish counted them already: valid lines (duplicates not yet taken out) and duplicates.
    const duplicates = outcomes.reduce((n, o) => n + o.duplicates, 0);
    const validLines = outcomes.reduce((n, o) => n + o.valid + o.duplicates, 0);
    if (duplicates > 0 || validLines !== streamedRows) return undefined;
    const partitions: WrittenPartition[] = [];
    for (const file of this.streamed) {
      let partition = file.partition;
      if (!partition) {
        // The one plain file (a run of one file) may hold any hours, or none.
        const hours = await this.db.all(`SELECT DISTINCT "year", "month", "day", "hour" FROM ${readStreamed([file])}`);
        if (hours.length > 1) return undefined;
        const [h] = hours;
        if (!h) continue;
        partition = { year: Number(h.year), month: Number(h.month), day: Number(h.day), hour: Number(h.hour) };
      }
      if (partitions.some((p) => hourId(p.partition) === hourId(partition))) return undefined;
      partitions.push({ partition, localPath: file.localPath, rows: file.rows, bytes: (await stat(file.localPath)).size });
    }
    return partitions;
  }

  close(): void {
    this.db.close();
  }

  get directory(): string {
    return this.dir;
  }
}

export function sumCounts(counts: RejectCounts): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/**
 * Buckets of the id spool for these files: enough that one holds at most ~4M hashes (32 MB to
 * sort), reckoning 30 gz bytes a line (the generator's batches take ~33).
 */
async function spoolBuckets(files: readonly StreamInput[]): Promise<number> {
  let bytes = 0;
  // A file gone since it was listed counts for nothing here: the stream declines it.
  for (const f of files) bytes += (await stat(f.localPath).catch(() => undefined))?.size ?? 0;
  const lines = bytes / 30;
  let buckets = 1;
  while (buckets < 256 && lines / buckets > 4 * 1024 ** 2) buckets *= 2;
  return buckets;
}

/** An hour partition as `YYYY-MM-DD-HH`: a key, and a name for the hour's file in the work folder. */
function hourId(p: HourPartition): string {
  return `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}-${String(p.hour).padStart(2, '0')}`;
}

/**
 * From this many streamed rows on (~13 batches), the check against silver goes bucket by bucket
 * (RunStaging.#heldByBuckets). `STRATA_HELD_BY_BUCKETS_MIN_ROWS` sets it for tests.
 */
const HELD_BY_BUCKETS_MIN_ROWS = Number(process.env.STRATA_HELD_BY_BUCKETS_MIN_ROWS ?? 8_000_000);

/** The hour a PARTITION_BY output path names (`year=/month=/day=/hour=/...`, relative to its root), if any. */
function hivePartition(rel: string): HourPartition | undefined {
  const m = /^year=(\d+)[\\/]month=(\d+)[\\/]day=(\d+)[\\/]hour=(\d+)[\\/]/.exec(rel);
  return m ? { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]), hour: Number(m[4]) } : undefined;
}

/** Finds DuckDB's partition folders (year=2025/month=7/...) and checks there is one file each. */
async function collectPartitions(eventsDir: string, stats: readonly Record<string, unknown>[]): Promise<WrittenPartition[]> {
  const rowsByFile = new Map<string, number>();
  for (const s of stats) rowsByFile.set(path.resolve(String(s.filename)), Number(s.count));
  const out: WrittenPartition[] = [];
  const files = await readdir(eventsDir, { recursive: true }).catch(() => [] as string[]);
  const seen = new Set<string>();
  for (const rel of files.map(String).filter((f) => f.endsWith('.parquet')).sort()) {
    const partition = hivePartition(rel);
    if (!partition) throw new Error(`unexpected file in staging output: ${rel}`);
    const id = hourId(partition);
    if (seen.has(id)) throw new Error(`DuckDB wrote more than one file for hour ${id}; strata promises one per run`);
    seen.add(id);
    const localPath = path.join(eventsDir, rel);
    const rows = rowsByFile.get(path.resolve(localPath));
    if (rows === undefined) throw new Error(`no row count for ${rel}`);
    out.push({ partition, localPath, rows, bytes: (await stat(localPath)).size });
  }
  return out;
}
