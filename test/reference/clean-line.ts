import { canonicalJson, JsonSyntaxError, parseDecimal, parseStrictJson, type Decimal, type JsonValue } from './strict-json.js';

/**
 * SPEC §3 for one line, in plain TypeScript, written from the SPEC's words (not from strata's
 * SQL), to check strata against. Readings the SPEC leaves open are marked DECISION and listed in
 * test/reliability/README.md.
 */

export const REASONS = [
  'malformed_json',
  'missing_event_id',
  'bad_timestamp',
  'unknown_event_type',
  'missing_id',
  'missing_product',
  'bad_price',
  'bad_quantity',
  'missing_search_query',
] as const;
export type Reason = (typeof REASONS)[number];

export const EVENT_TYPES = ['page_view', 'search', 'add_to_cart', 'remove_from_cart', 'purchase'] as const;
const KNOWN_FIELDS = new Set(['event_id', 'timestamp', 'user_id', 'session_id', 'event_type', 'product_id', 'category', 'price', 'quantity', 'search_query']);
const NEEDS_PRODUCT = new Set(['page_view', 'add_to_cart', 'remove_from_cart', 'purchase']);
const NEEDS_PRICE = new Set(['purchase', 'add_to_cart']);
const NEEDS_QUANTITY = new Set(['add_to_cart', 'remove_from_cart', 'purchase']);

/** A silver row as the reference computes it; money as exact text, time as epoch microseconds. */
export interface RefRow {
  readonly event_id: string;
  readonly event_time_us: bigint;
  readonly user_id: string;
  readonly session_id: string;
  readonly event_type: string;
  readonly product_id: string | null;
  readonly category: string | null;
  readonly search_query: string | null;
  readonly price: string | null;
  readonly quantity: number | null;
  readonly revenue: string | null;
  /** canonicalJson of the extras object, members sorted by key; null when none. */
  readonly extras: string | null;
  readonly extraKeys: readonly string[];
}

export type LineOutcome =
  | { readonly kind: 'blank' }
  | { readonly kind: 'rejected'; readonly reason: Reason; readonly raw: string }
  | { readonly kind: 'valid'; readonly row: RefRow };

/** Blank: nothing but space, tab, CR, form feed, vertical tab (SPEC §3). */
const BLANK_BYTES = new Set([0x20, 0x09, 0x0d, 0x0c, 0x0b]);
/**
 * DECISION: "trim" and "whitespace" inside values mean ASCII whitespace (space, tab, LF, VT, FF,
 * CR), the SPEC's blank-line set plus LF (which only an escape can put in a value). Unicode
 * spaces such as U+00A0 are data, not whitespace.
 */
const WS = ' \t\n\v\f\r';
const trim = (s: string): string => {
  let a = 0;
  let b = s.length;
  while (a < b && WS.includes(s[a]!)) a++;
  while (b > a && WS.includes(s[b - 1]!)) b--;
  return s.slice(a, b);
};
const collapse = (s: string): string => s.replace(/[ \t\n\v\f\r]+/g, ' ');

const FATAL = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const LENIENT = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

export function isBlank(line: Buffer): boolean {
  for (const b of line) if (!BLANK_BYTES.has(b)) return false;
  return true;
}

/** One line (its bytes between `\n`s) to its outcome. */
export function cleanLine(line: Buffer): LineOutcome {
  if (isBlank(line)) return { kind: 'blank' };
  const raw = LENIENT.decode(line);
  const reject = (reason: Reason): LineOutcome => ({ kind: 'rejected', reason, raw });

  // 1. malformed_json
  let text: string;
  try {
    text = FATAL.decode(line);
  } catch {
    return reject('malformed_json');
  }
  let doc: JsonValue;
  try {
    doc = parseStrictJson(text);
  } catch (err) {
    if (err instanceof JsonSyntaxError) return reject('malformed_json');
    throw err;
  }
  if (doc.t !== 'obj') return reject('malformed_json');
  const fields = new Map<string, JsonValue>();
  for (const [k, v] of doc.entries) {
    if (fields.has(k)) return reject('malformed_json');
    fields.set(k, v);
  }
  const get = (k: string): JsonValue | undefined => {
    const v = fields.get(k);
    return v && v.t === 'null' ? undefined : v;
  };

  // 2. missing_event_id
  const idValue = fields.get('event_id');
  const eventId = idValue?.t === 'str' ? trim(idValue.v) : '';
  if (eventId === '') return reject('missing_event_id');

  // 3. bad_timestamp
  const ts = fields.get('timestamp');
  const time = ts?.t === 'str' ? parseTimestamp(ts.v) : undefined;
  if (time === undefined) return reject('bad_timestamp');

  // 4. unknown_event_type
  const typeValue = fields.get('event_type');
  const eventType = typeValue?.t === 'str' ? lower(trim(typeValue.v)) : '';
  if (!(EVENT_TYPES as readonly string[]).includes(eventType)) return reject('unknown_event_type');

  // 5. missing_id
  const userId = idText(get('user_id'));
  const sessionId = idText(get('session_id'));
  if (userId === undefined || sessionId === undefined) return reject('missing_id');

  // 6. missing_product
  const productId = idText(get('product_id'));
  if (NEEDS_PRODUCT.has(eventType) && productId === undefined) return reject('missing_product');

  // 7. bad_price
  const priceValue = get('price');
  let priceCents: bigint | undefined;
  if (priceValue !== undefined) {
    const d = numberOf(priceValue);
    if (d === undefined || isNegative(d)) return reject('bad_price');
    const cents = roundToCents(d);
    if (cents === undefined || cents > 999_999_999_999n) return reject('bad_price');
    priceCents = cents;
  } else if (NEEDS_PRICE.has(eventType)) return reject('bad_price');

  // 8. bad_quantity
  const quantityValue = get('quantity');
  let quantity: number | undefined;
  if (quantityValue !== undefined) {
    const d = numberOf(quantityValue);
    quantity = d === undefined ? undefined : wholeInRange(d, 1n, 1_000_000n);
    if (quantity === undefined) return reject('bad_quantity');
  } else if (NEEDS_QUANTITY.has(eventType)) return reject('bad_quantity');

  // 9. missing_search_query
  const searchQuery = normalise(fields.get('search_query'));
  if (eventType === 'search' && searchQuery === null) return reject('missing_search_query');

  const extraEntries = doc.entries.filter(([k]) => !KNOWN_FIELDS.has(k)).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return {
    kind: 'valid',
    row: {
      event_id: eventId,
      event_time_us: time,
      user_id: userId,
      session_id: sessionId,
      event_type: eventType,
      product_id: productId ?? null,
      category: normalise(fields.get('category')),
      search_query: searchQuery,
      price: priceCents === undefined ? null : centsText(priceCents),
      quantity: quantity ?? null,
      revenue: eventType === 'purchase' && priceCents !== undefined && quantity !== undefined ? centsText(priceCents * BigInt(quantity)) : null,
      extras: extraEntries.length === 0 ? null : canonicalJson({ t: 'obj', entries: extraEntries }),
      extraKeys: extraEntries.map(([k]) => k),
    },
  };
}

/**
 * DECISION: lower-casing is Unicode's simple case mapping, code point by code point (no context
 * rules such as Greek final sigma; U+0130 İ becomes plain i), the way SQL engines do it.
 */
function lower(s: string): string {
  let out = '';
  for (const ch of s) out += [...ch.toLowerCase()][0]!;
  return out;
}

/** Rule 5/6: a string trimmed, or an integer's exact digits; anything else counts as absent. */
function idText(v: JsonValue | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (v.t === 'str') return trim(v.v) || undefined;
  if (v.t === 'num' && /^-?[0-9]+$/.test(v.text)) return v.text;
  return undefined;
}

/** category / search_query: trimmed, whitespace runs collapsed, lower-case; empty or not a string -> null. */
function normalise(v: JsonValue | undefined): string | null {
  if (v?.t !== 'str') return null;
  return lower(trim(collapse(v.v))) || null;
}

/** A JSON number, or a numeric string: trimmed, sign, digits, optional fraction and exponent. */
function numberOf(v: JsonValue): Decimal | undefined {
  if (v.t === 'num') return parseDecimal(v.text);
  if (v.t === 'str') return parseDecimal(trim(v.v));
  return undefined;
}

const isNegative = (d: Decimal): boolean => d.neg && d.digits !== 0n;

/** |d| rounded half away from zero to cents; undefined when far above any price. */
function roundToCents(d: Decimal): bigint | undefined {
  if (d.digits === 0n) return 0n;
  const order = d.digits.toString().length + d.exp; // digits before the point
  if (order > 14) return undefined;
  if (order < -3) return 0n;
  const shift = d.exp + 2;
  if (shift >= 0) return d.digits * 10n ** BigInt(shift);
  const div = 10n ** BigInt(-shift);
  const q = d.digits / div;
  return 2n * (d.digits % div) >= div ? q + 1n : q;
}

function wholeInRange(d: Decimal, min: bigint, max: bigint): number | undefined {
  if (d.digits === 0n) return min <= 0n && 0n <= max ? 0 : undefined;
  const order = d.digits.toString().length + d.exp;
  if (order > 20 || order < 0) return undefined;
  let value: bigint;
  if (d.exp >= 0) value = d.digits * 10n ** BigInt(d.exp);
  else {
    const div = 10n ** BigInt(-d.exp);
    if (d.digits % div !== 0n) return undefined;
    value = d.digits / div;
  }
  if (d.neg) value = -value;
  return value >= min && value <= max ? Number(value) : undefined;
}

function centsText(cents: bigint): string {
  const s = cents.toString().padStart(3, '0');
  return `${s.slice(0, -2)}.${s.slice(-2)}`;
}

const TIMESTAMP = /^([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?(Z|[+-][0-9]{2}:[0-9]{2})?$/;

/**
 * Rule 3: exactly `YYYY-MM-DD(T| )HH:MM:SS[.f{1,9}][Z|±HH:MM]`, a real date and time, to UTC
 * epoch microseconds (fraction truncated). DECISION: offsets run from -23:59 to +23:59; years
 * 0001-9999 (year 0000 does not exist in the calendar strata writes).
 */
export function parseTimestamp(s: string): bigint | undefined {
  const m = TIMESTAMP.exec(s);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone !== undefined && zone !== 'Z') {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const micros = BigInt((m[7] ?? '').padEnd(6, '0').slice(0, 6));
  const days = BigInt(daysFromCivil(year, month, day));
  const seconds = days * 86400n + BigInt(hour * 3600 + minute * 60 + second) - BigInt(offsetMinutes * 60);
  return seconds * 1_000_000n + micros;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}
