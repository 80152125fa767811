import { digits, drop, get, iso, render, set, spoil, withOffset, withTimestamp, type FaultKind } from './fault-draft.js';

const NOT_IDS = ['null', '""', '"   "', '12.5', 'true', '{}', '1e5', '[]', '1012345.0'];

/** Event ids, user and session ids, timestamps: rejected (checks 2, 3, 5) or odd but valid. */
export const identity: FaultKind[] = [
  { name: 'event_id_missing', needs: 'any', outcome: 'missing_event_id', make: (d) => (drop(d.fields, 'event_id'), render(d)) },
  { name: 'event_id_empty', needs: 'any', outcome: 'missing_event_id', make: (d) => (set(d.fields, 'event_id', d.rng.pick(['""', '"   "', '" "'])), render(d)) },
  {
    name: 'event_id_not_string', needs: 'any', outcome: 'missing_event_id',
    make: (d) => (set(d.fields, 'event_id', d.rng.pick(['12345', 'null', 'true', '0', `{"id":${get(d.fields, 'event_id')}}`, `[${get(d.fields, 'event_id')}]`])), render(d)),
  },
  { name: 'user_missing', needs: 'any', outcome: 'missing_id', make: (d) => spoil(d, 'user_id', NOT_IDS) },
  { name: 'session_missing', needs: 'any', outcome: 'missing_id', make: (d) => spoil(d, 'session_id', NOT_IDS) },
  {
    name: 'user_integer', needs: 'any', outcome: 'valid',
    make: (d) => {
      const u = d.rng.float();
      set(d.fields, 'user_id', u < 0.6 ? String(d.event.user) : u < 0.9 ? digits(d.rng, 20 + d.rng.int(7)) : `-${d.event.user}`);
      return render(d);
    },
  },
  {
    name: 'ids_padded', needs: 'any', outcome: 'valid',
    make: (d) => {
      for (const key of ['event_id', 'user_id', 'session_id', 'product_id']) {
        const v = get(d.fields, key);
        if (v) set(d.fields, key, `"${' '.repeat(1 + d.rng.int(2))}${v.slice(1, -1)}${' '.repeat(d.rng.int(3))}"`);
      }
      return render(d);
    },
  },
];

export const time: FaultKind[] = [
  {
    name: 'ts_garbage', needs: 'any', outcome: 'bad_timestamp',
    make: (d) => {
      const t = iso(d);
      const [date, clock] = [t.slice(0, 10), t.slice(11, 19)];
      return withTimestamp(d, d.rng.pick(['not a timestamp', 'yesterday', '', 'now', `${date.replaceAll('-', '/')} ${clock}`,
        `${date.slice(8, 10)}/${date.slice(5, 7)}/${date.slice(0, 4)} ${clock}`, `${t.slice(0, 16)}Z`, date,
        `${t.slice(0, 23)}4567890Z`, `${t.slice(0, 23)}+0200`]));
    },
  },
  {
    name: 'ts_impossible', needs: 'any', outcome: 'bad_timestamp',
    make: (d) => {
      const t = iso(d);
      const [y, date, rest] = [t.slice(0, 4), t.slice(0, 10), t.slice(13)];
      return withTimestamp(d, d.rng.pick([`${y}-02-30${t.slice(10)}`, `${y}-06-31${t.slice(10)}`, `${y}-13-01${t.slice(10)}`,
        `${y}-00-10${t.slice(10)}`, `${y}-04-00${t.slice(10)}`, `${date}T25${rest}`, `${t.slice(0, 14)}61${t.slice(16)}`,
        `${t.slice(0, 17)}75${t.slice(19)}`]));
    },
  },
  {
    name: 'ts_number', needs: 'any', outcome: 'bad_timestamp',
    make: (d) => (set(d.fields, 'timestamp', d.rng.pick([String(d.timeMs), String(Math.floor(d.timeMs / 1000)), (d.timeMs / 1000).toFixed(3)])), render(d)),
  },
  { name: 'ts_missing', needs: 'any', outcome: 'bad_timestamp', make: (d) => spoil(d, 'timestamp', ['null']) },
  { name: 'ts_space', needs: 'any', outcome: 'valid', make: (d) => withTimestamp(d, iso(d).replace('T', ' ')) },
  { name: 'ts_offset', needs: 'any', outcome: 'valid', make: (d) => withTimestamp(d, withOffset(d.timeMs, d.rng.pick([120, -300, 330, 0, -210, 540, 60, -480]))) },
  { name: 'ts_no_zone', needs: 'any', outcome: 'valid', make: (d) => withTimestamp(d, d.rng.pick([iso(d).slice(0, -1), iso(d).slice(0, -1).replace('T', ' ')])) },
  {
    name: 'ts_precision', needs: 'any', outcome: 'valid',
    make: (d) => {
      const t = iso(d);
      const micro = String(d.rng.int(1_000_000)).padStart(6, '0');
      return withTimestamp(d, d.rng.pick([`${t.slice(0, 23)}${micro}Z`, `${t.slice(0, 23)}${micro}+00:00`, `${t.slice(0, 23)}${micro.slice(0, 3)}Z`,
        `${t.slice(0, 21)}Z`, `${t.slice(0, 19)}Z`]));
    },
  },
];

