import { renderFields, type Field } from './event-line.js';
import type { Rng } from './prng.js';
import type { SimEvent } from './sessions.js';

/** What a fault needs of the event it spoils; events of other types are converted first. */
export type Needs = 'any' | 'product' | 'cart' | 'priced' | 'search';

/** What SPEC §3 makes of the line: a rejection reason, `valid`, or `duplicate`. */
export type Outcome =
  | 'malformed_json' | 'missing_event_id' | 'bad_timestamp' | 'unknown_event_type' | 'missing_id'
  | 'missing_product' | 'bad_price' | 'bad_quantity' | 'missing_search_query' | 'valid' | 'duplicate';

export interface Draft {
  readonly fields: Field[];
  readonly event: SimEvent;
  readonly timeMs: number;
  readonly rng: Rng;
  /** A recent clean line of this file and its event id (there is one: line 2 is always clean). */
  recent(): { line: string; id: string };
  /** The event id of line 2 (always clean) of the batch one interval earlier. */
  readonly previousBatchId: string;
}

export interface FaultKind {
  readonly name: string;
  readonly needs: Needs;
  readonly outcome: Outcome;
  /** The dirty line, without its `\n`; bytes when it must hold invalid UTF-8. */
  make(d: Draft): string | Uint8Array;
}

export const render = (d: Draft): string => renderFields(d.fields);
export const iso = (d: Draft): string => new Date(d.timeMs).toISOString();
export const str = (text: string): string => JSON.stringify(text);

export function get(fields: Field[], key: string): string | undefined {
  return fields.find((f) => f[0] === key)?.[1];
}

export function set(fields: Field[], key: string, json: string): void {
  const field = fields.find((f) => f[0] === key);
  if (field) field[1] = json;
  else fields.push([key, json]);
}

export function drop(fields: Field[], key: string): void {
  const i = fields.findIndex((f) => f[0] === key);
  if (i >= 0) fields.splice(i, 1);
}

/** Drops the field, or sets it to one of the given values. */
export function spoil(d: Draft, key: string, values: readonly string[]): string {
  const i = d.rng.int(values.length + 1);
  if (i === values.length) drop(d.fields, key);
  else set(d.fields, key, values[i]);
  return render(d);
}

export function withTimestamp(d: Draft, text: string): string {
  set(d.fields, 'timestamp', str(text));
  return render(d);
}

/** The same instant written in another zone: `2025-07-01T01:50:00.092+02:00`. */
export function withOffset(ms: number, minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  const zone = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return new Date(ms + minutes * 60_000).toISOString().slice(0, 23) + zone;
}

export function shout(text: string, rng: Rng): string {
  const styles = [
    () => text.toUpperCase(),
    () => text.replace(/(^|[ _])([a-z])/g, (_, sep: string, c: string) => sep + c.toUpperCase()),
    () => `  ${text.replace(/ /g, '   ')} `,
    () => ` ${text.toUpperCase().replace(/ /g, '  ')}  `,
  ];
  return rng.pick(styles)();
}

export const digits = (rng: Rng, n: number): string => {
  let out = String(1 + rng.int(9));
  while (out.length < n) out += String(rng.int(10));
  return out;
};

