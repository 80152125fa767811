import Table from 'cli-table3';
import { UserError } from '../errors.js';

export const OUTPUT_FORMATS = ['table', 'csv', 'json'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function parseFormat(text: string): OutputFormat {
  if ((OUTPUT_FORMATS as readonly string[]).includes(text)) return text as OutputFormat;
  throw new UserError(`--format: expected one of ${OUTPUT_FORMATS.join(', ')}, got ${JSON.stringify(text)}`);
}

export interface OutputColumn {
  readonly name: string;
  /**
   * Numbers align right; `money` (a number) prints with exactly two decimals in table and csv;
   * `exact` is a number held as text (BIGINT, DECIMAL), printed as is and made a JSON number
   * when that loses nothing.
   */
  readonly kind?: 'text' | 'number' | 'money' | 'exact';
}

export type Cell = string | number | boolean | null | object;

/** Rows as cells in column order (user SQL may repeat a column name). */
export interface ResultSet {
  readonly columns: readonly OutputColumn[];
  readonly rows: readonly (readonly Cell[])[];
}

function cellText(value: Cell, column: OutputColumn): string {
  if (value === null) return '';
  if (column.kind === 'money' && typeof value === 'number') return value.toFixed(2);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function csvField(text: string): string {
  return /[",\r\n]/.test(text) || /^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** `"12.50"` -> 12.5, `"42"` -> 42; text that a double cannot hold exactly stays text. */
export function exactToJson(value: Cell): Cell {
  if (typeof value !== 'string' || !/^-?\d+(\.\d+)?$/.test(value)) return value;
  const digits = value.replace(/^-/, '').replace('.', '').replace(/^0+/, '');
  if (digits.length > 15) return value;
  return Number(value);
}

/** Objects with the column names as keys, numbers as JSON numbers. */
export function toObjects(result: ResultSet): Record<string, Cell>[] {
  return result.rows.map((row) =>
    Object.fromEntries(result.columns.map((c, i) => [c.name, c.kind === 'exact' ? exactToJson(row[i] ?? null) : (row[i] ?? null)])),
  );
}

/**
 * The text to print, ending with a newline. `table` is aligned with box lines (colours only on
 * a terminal); `csv` is RFC 4180 with a header; `json` is an array of objects.
 */
export function formatResult(result: ResultSet, format: OutputFormat, options: { tty?: boolean } = {}): string {
  if (format === 'json') return `${JSON.stringify(toObjects(result), null, 2)}\n`;
  if (format === 'csv') {
    const lines = [result.columns.map((c) => csvField(c.name)).join(',')];
    for (const row of result.rows) lines.push(result.columns.map((c, i) => csvField(cellText(row[i] ?? null, c))).join(','));
    return `${lines.join('\r\n')}\r\n`;
  }
  const table = new Table({
    head: result.columns.map((c) => c.name),
    colAligns: result.columns.map((c) => (c.kind === 'number' || c.kind === 'money' || c.kind === 'exact' ? 'right' : 'left')),
    // No rule between body rows: one line per row, like psql and the DuckDB CLI.
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
    style: options.tty ? { head: ['cyan'] } : { head: [], border: [] },
  });
  for (const row of result.rows) table.push(result.columns.map((c, i) => cellText(row[i] ?? null, c)));
  const count = result.rows.length;
  return `${table.toString()}\n(${count} ${count === 1 ? 'row' : 'rows'})\n`;
}
