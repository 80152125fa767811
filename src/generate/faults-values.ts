import { CATALOG } from './catalog.js';
import { renderFields } from './event-line.js';
import { get, render, set, shout, spoil, str, type FaultKind } from './fault-draft.js';
import { EVENT_TYPES, SEARCH } from './sessions.js';

/** Event types, products, prices, quantities, search queries: rejected (checks 4, 6-9) or odd but valid. */
export const values: FaultKind[] = [
  {
    name: 'type_unknown', needs: 'any', outcome: 'unknown_event_type',
    make: (d) => (set(d.fields, 'event_type', str(d.rng.pick(['click', 'view', 'checkout', 'pageview', 'page-view', 'add to cart', 'login', '', '   ']))), render(d)),
  },
  { name: 'type_not_string', needs: 'any', outcome: 'unknown_event_type', make: (d) => spoil(d, 'event_type', ['1', 'null', 'true', '["page_view"]']) },
  { name: 'type_case', needs: 'any', outcome: 'valid', make: (d) => (set(d.fields, 'event_type', str(shout(EVENT_TYPES[d.event.type], d.rng))), render(d)) },
  { name: 'product_missing', needs: 'product', outcome: 'missing_product', make: (d) => spoil(d, 'product_id', ['null', '""', '"  "', '12.5', 'false']) },
  { name: 'price_negative', needs: 'product', outcome: 'bad_price', make: (d) => (set(d.fields, 'price', d.rng.pick([`-${CATALOG.priceText[d.event.product]}`, '-0.01'])), render(d)) },
  {
    name: 'price_not_numeric', needs: 'product', outcome: 'bad_price',
    make: (d) => {
      const p = CATALOG.priceText[d.event.product];
      set(d.fields, 'price', d.rng.pick(['"abc"', `"$${p}"`, `"${p.replace('.', ',')}"`, '""', 'true', `[${p}]`, `{"amount":${p}}`, '"1.2.3"', '"NaN"', '"free"']));
      return render(d);
    },
  },
  { name: 'price_missing', needs: 'priced', outcome: 'bad_price', make: (d) => spoil(d, 'price', ['null']) },
  { name: 'price_huge', needs: 'product', outcome: 'bad_price', make: (d) => (set(d.fields, 'price', d.rng.pick(['10000000000', '1e13', '123456789012.5', '"99999999999"'])), render(d)) },
  {
    name: 'price_string', needs: 'product', outcome: 'valid',
    make: (d) => {
      const p = CATALOG.priceText[d.event.product];
      return (set(d.fields, 'price', d.rng.pick([`"${p}"`, `" ${p} "`, `"+${p}"`, `"${p}0"`])), render(d));
    },
  },
  { name: 'quantity_bad', needs: 'cart', outcome: 'bad_quantity', make: (d) => (set(d.fields, 'quantity', d.rng.pick(['0', '-1', '2.5', '"x"', '""', '"two"', 'true', '1000001', '1e7', '"1.5"', '[1]'])), render(d)) },
  { name: 'quantity_missing', needs: 'cart', outcome: 'bad_quantity', make: (d) => spoil(d, 'quantity', ['null']) },
  {
    name: 'quantity_string', needs: 'cart', outcome: 'valid',
    make: (d) => {
      const q = d.event.quantity;
      return (set(d.fields, 'quantity', d.rng.pick([`"${q}"`, `${q}.0`, `" ${q} "`, `"${q}.0"`])), render(d));
    },
  },
  { name: 'query_missing', needs: 'search', outcome: 'missing_search_query', make: (d) => spoil(d, 'search_query', ['""', '"   "', '42', 'null', '["shoes"]']) },
  {
    name: 'case_padding', needs: 'any', outcome: 'valid',
    make: (d) => {
      const key = d.event.type === SEARCH ? 'search_query' : 'category';
      set(d.fields, key, str(shout(JSON.parse(get(d.fields, key) as string) as string, d.rng)));
      return render(d);
    },
  },
  {
    name: 'extra_fields', needs: 'any', outcome: 'valid',
    make: (d) => {
      const extras: [string, string[]][] = [
        ['device', ['"mobile"', '"desktop"', '"tablet"']],
        ['referrer', ['"https://www.google.com/"', '"https://t.co/x7Kp2"', '"direct"', 'null']],
        ['coupon_code', ['"SAVE10"', '"WELCOME5"', 'null']],
        ['app_version', ['"4.12.0"', '"4.13.1"', '"5.0.0-beta.2"']],
        ['geo', ['{"country":"DE","city":"Berlin"}', '{"country":"US","region":"CA"}']],
      ];
      for (const [key, options] of d.rng.shuffle(extras).slice(0, 1 + d.rng.int(3))) d.fields.push([key, d.rng.pick(options)]);
      return render(d);
    },
  },
  {
    // CRLF line ending, or a lone CR between fields (JSON whitespace; readline would split there).
    name: 'carriage_return', needs: 'any', outcome: 'valid',
    make: (d) => (d.rng.chance(0.75) ? `${render(d)}\r` : renderFields(d.fields, ':', d.rng.chance(0.5) ? ',\r' : ', \r ')),
  },
  {
    name: 'json_spacing', needs: 'any', outcome: 'valid',
    make: (d) => `${d.rng.pick(['', ' ', '  ', '\t'])}${renderFields(d.fields, d.rng.pick([': ', ' : ', ':']), d.rng.pick([', ', ' , ', ',\t']))}${d.rng.pick(['', ' ', '\t '])}`,
  },
  // Duplicates: a producer retry resends a line, reuses an id, or resends an event of the previous batch.
  { name: 'dup_resend', needs: 'any', outcome: 'duplicate', make: (d) => d.recent().line },
  {
    name: 'dup_reuse_id', needs: 'any', outcome: 'duplicate',
    make: (d) => (set(d.fields, 'event_id', str(d.rng.chance(0.7) ? d.recent().id : ` ${d.recent().id} `)), render(d)),
  },
  { name: 'dup_previous_batch', needs: 'any', outcome: 'duplicate', make: (d) => (set(d.fields, 'event_id', str(d.previousBatchId)), render(d)) },
];
