import { EVENT_TYPES, SEARCH } from './sessions.js';
import { get, render, set, str, type FaultKind } from './fault-draft.js';

/** Bytes that are not UTF-8: a Latin-1 é, a lone continuation, a truncated sequence, a surrogate. */
const BAD_UTF8 = [[0xe9], [0xff], [0xc3, 0x28], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0x80]];


/** Lines that break SPEC §3 check 1 (`malformed_json`). */
export const malformed: FaultKind[] = [
  { name: 'truncated', needs: 'any', outcome: 'malformed_json', make: (d) => { const l = render(d); return l.slice(0, 1 + d.rng.int(l.length - 2)); } },
  { name: 'trailing_comma', needs: 'any', outcome: 'malformed_json', make: (d) => `${render(d).slice(0, -1)},}` },
  {
    name: 'nan_value', needs: 'any', outcome: 'malformed_json',
    make: (d) => {
      set(d.fields, get(d.fields, 'price') ? 'price' : 'score', d.rng.pick(['NaN', 'Infinity', '-Infinity']));
      return render(d);
    },
  },
  { name: 'single_quotes', needs: 'any', outcome: 'malformed_json', make: (d) => render(d).replaceAll('"', "'") },
  { name: 'bom', needs: 'any', outcome: 'malformed_json', make: (d) => `\uFEFF${render(d)}` },
  {
    name: 'comment', needs: 'any', outcome: 'malformed_json',
    make: (d) => {
      const l = render(d);
      return d.rng.pick([`/* retry 2 */ ${l}`, `${l} // edge-7`, `// ${l}`, `{/* v2 */${l.slice(1)}`]);
    },
  },
  {
    name: 'not_object', needs: 'any', outcome: 'malformed_json',
    make: (d) => d.rng.pick(['[1,2]', '"just a string"', '42', 'null', 'true', `[${render(d)}]`,
      '<html><body>503 Service Unavailable</body></html>', `["${EVENT_TYPES[d.event.type]}", "${d.recent().id}"]`]),
  },
  {
    name: 'duplicate_key', needs: 'any', outcome: 'malformed_json',
    make: (d) => {
      const key = d.rng.pick(['event_id', 'event_type', 'user_id', 'timestamp']);
      d.fields.push([key, d.rng.chance(0.5) ? (get(d.fields, key) as string) : str(d.recent().id)]);
      return render(d);
    },
  },
  {
    name: 'invalid_utf8', needs: 'any', outcome: 'malformed_json',
    make: (d) => {
      const key = d.event.type === SEARCH ? 'search_query' : 'category';
      const value = JSON.parse(get(d.fields, key) as string) as string;
      const cut = d.rng.int(value.length + 1);
      set(d.fields, key, `"${value.slice(0, cut)}\uE000${value.slice(cut)}"`);
      const [before, after] = render(d).split('\uE000');
      return Buffer.concat([Buffer.from(before), Buffer.from(d.rng.pick(BAD_UTF8)), Buffer.from(after)]);
    },
  },
];

