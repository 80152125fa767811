import { CATALOG, CATEGORY_NAMES } from './catalog.js';
import { hex8, uuidText, writeUuid, type TimestampWriter } from './format.js';
import { ascii, type LineBuffer } from './line-buffer.js';
import { TERMS } from './search-terms.js';
import { EVENT_TYPES, PAGE_VIEW, SEARCH, type SimEvent } from './sessions.js';

/**
 * A clean event as one JSON line. Field order is fixed: event_id, timestamp, user_id,
 * session_id, event_type, then product_id, category, price (product events), quantity (cart
 * events and purchases), search_query (search). Nothing spliced in needs escaping.
 */
const OPEN = ascii('{"event_id":"');
const TIMESTAMP = ascii('","timestamp":"');
const USER = ascii('","user_id":"');
const SESSION = ascii('","session_id":"s-');
const TYPE = ascii('","event_type":"');
const TYPE_BYTES = EVENT_TYPES.map((t, i) => ascii(i === SEARCH ? `${t}","search_query":"` : `${t}",`));
const PRODUCT_BYTES = CATALOG.fragment.map(ascii);
const QUANTITY = ascii(',"quantity":');
const TERM_BYTES = TERMS.map(ascii);
const CLOSE_QUOTED = ascii('"}\n');
/** The longest clean line, with room to spare. */
export const MAX_CLEAN_LINE = 1024;

export function writeCleanLine(w: LineBuffer, id: Uint32Array, timeMs: number, clock: TimestampWriter, e: SimEvent): void {
  w.put(OPEN);
  writeUuid(w, id);
  w.put(TIMESTAMP);
  clock.write(w, timeMs);
  w.put(USER);
  w.digits(e.user);
  w.put(SESSION);
  w.hex(e.sessionHi, 8);
  w.hex(e.sessionLo, 8);
  w.put(TYPE);
  w.put(TYPE_BYTES[e.type]);
  if (e.type === SEARCH) {
    w.put(TERM_BYTES[e.query]);
    w.put(CLOSE_QUOTED);
    return;
  }
  w.put(PRODUCT_BYTES[e.product]);
  if (e.type !== PAGE_VIEW) {
    w.put(QUANTITY);
    w.digits(e.quantity);
  }
  w.byte(125);
  w.byte(10);
}

/** Key and JSON value text, in line order; the slow, editable form used for dirty lines. */
export type Field = [key: string, json: string];

export function eventFields(id: Uint32Array, timeMs: number, e: SimEvent): Field[] {
  const fields: Field[] = [
    ['event_id', `"${uuidText(id)}"`],
    ['timestamp', `"${new Date(timeMs).toISOString()}"`],
    ['user_id', `"${e.user}"`],
    ['session_id', `"s-${hex8(e.sessionHi)}${hex8(e.sessionLo)}"`],
    ['event_type', `"${EVENT_TYPES[e.type]}"`],
  ];
  if (e.type === SEARCH) {
    fields.push(['search_query', `"${TERMS[e.query]}"`]);
    return fields;
  }
  fields.push(['product_id', `"${CATALOG.ids[e.product]}"`]);
  fields.push(['category', `"${CATEGORY_NAMES[CATALOG.category[e.product]]}"`]);
  fields.push(['price', CATALOG.priceText[e.product]]);
  if (e.type !== PAGE_VIEW) fields.push(['quantity', String(e.quantity)]);
  return fields;
}

export function renderFields(fields: readonly Field[], colon = ':', comma = ','): string {
  let out = '{';
  for (let i = 0; i < fields.length; i++) out += `${i > 0 ? comma : ''}"${fields[i][0]}"${colon}${fields[i][1]}`;
  return `${out}}`;
}
