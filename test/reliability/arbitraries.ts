import fc from 'fast-check';

/**
 * fast-check arbitraries for bronze lines covering every case of SPEC §3: mostly plausible events
 * with one or two fields bent to an edge, plus every kind of bad JSON, blank lines and CRLF.
 * A field value is its raw JSON text, so numbers keep their spelling ("2.0", "-0", 20 digits).
 */

type Raw = string;
const ABSENT = Symbol('absent');
type Field = Raw | typeof ABSENT;

const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>): fc.WeightedArbitrary<T> => ({ weight, arbitrary });
const k = <T>(...values: T[]): fc.Arbitrary<T> => fc.constantFrom(...values);

/** Whitespace a producer might pad a value with: ASCII, and U+00A0 which is data, not space. */
const PAD = fc.array(k(' ', ' ', '\t', '\n', '\r', '\f', '\v', '\u00a0'), { maxLength: 3 }).map((a) => a.join(''));

/** A JSON string literal of `s`, spelled plainly or with \u escapes / escaped slashes. */
function jsonString(s: string): fc.Arbitrary<Raw> {
  return fc.oneof(
    w(8, fc.constant(JSON.stringify(s))),
    w(1, fc.constant(`"${[...s].map((ch) => escapeAll(ch)).join('')}"`)),
    w(1, fc.constant(JSON.stringify(s).replaceAll('/', '\\/'))),
  );
}
function escapeAll(ch: string): string {
  let out = '';
  for (let i = 0; i < ch.length; i++) out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return out;
}
const padded = (core: fc.Arbitrary<string>): fc.Arbitrary<Raw> =>
  fc.tuple(PAD, core, PAD).chain(([a, c, b]) => fc.oneof(w(4, jsonString(c)), w(1, jsonString(a + c + b))));

const NON_STRING: fc.Arbitrary<Raw> = k('null', 'true', 'false', '{}', '[]', '[1]', '{"a":1}', '0', '1.5');

/** Small pool, so ids repeat within and across files (duplicates). */
const EVENT_ID_CORE = fc.oneof(w(1, fc.integer({ min: 1, max: 40 })), w(4, fc.integer({ min: 41, max: 100_000 }))).map((n) => `e${n}`);
const eventId: fc.Arbitrary<Field> = fc.oneof(
  w(60, padded(EVENT_ID_CORE)),
  w(2, k<Field>(ABSENT, '""', '"  "', '"\\t\\n"')),
  w(1, NON_STRING),
  w(1, k('12345', '"\u00a0e1"', '"E1"', '"e1\\u0000"')),
);

const pad2 = (n: number): string => String(n).padStart(2, '0');
const timestampText: fc.Arbitrary<string> = fc
  .record({
    year: fc.oneof(w(40, k(2025)), w(1, k(2024, 2000, 1970, 1969, 1, 9999, 0))),
    month: fc.oneof(w(40, k(7)), w(2, fc.integer({ min: 1, max: 12 })), w(1, k(0, 2, 13))),
    day: fc.oneof(w(40, fc.integer({ min: 1, max: 3 })), w(2, fc.integer({ min: 1, max: 31 })), w(1, k(0, 29, 30, 31, 32))),
    hour: fc.oneof(w(40, fc.integer({ min: 0, max: 3 })), w(4, fc.integer({ min: 0, max: 23 })), w(1, k(24, 99))),
    minute: fc.oneof(w(60, fc.integer({ min: 0, max: 59 })), w(1, k(60))),
    second: fc.oneof(w(60, fc.integer({ min: 0, max: 59 })), w(1, k(60, 61))),
    fraction: fc.oneof(w(4, k('')), w(4, fc.integer({ min: 1, max: 9 }).chain((n) => fc.stringMatching(new RegExp(`^[0-9]{${n}}$`)))), w(1, k('1234567890', '9999999999'))),
    zone: fc.oneof(
      w(16, k('', 'Z')),
      w(4, fc.tuple(k('+', '-'), fc.integer({ min: 0, max: 23 }), k(0, 30, 45, 59)).map(([s, h, m]) => `${s}${pad2(h)}:${pad2(m)}`)),
      w(1, k('z', '+0530', '+05', '+24:00', '-05:60', ' Z', 'UTC', '+5:30', '-00:00')),
    ),
    sep: fc.oneof(w(40, k('T', ' ')), w(1, k('t', '_', 'TT', '  '))),
  })
  .chain((p) => {
    const date = `${String(p.year).padStart(4, '0')}-${pad2(p.month)}-${pad2(p.day)}`;
    const full = `${date}${p.sep}${pad2(p.hour)}:${pad2(p.minute)}:${pad2(p.second)}${p.fraction ? `.${p.fraction}` : ''}${p.zone}`;
    return fc.oneof(
      w(60, fc.constant(full)),
      w(1, k(date, `${full} `, ` ${full}`, full.replace(/^(\d{4})-0?(\d)/, '$1-$2'), full.replace(/:\d\d(?=[.Z+\- ]|$)/, ''), `${full}.`, full.replace(/\./, ','))),
    );
  });
const timestamp: fc.Arbitrary<Field> = fc.oneof(
  w(60, timestampText.chain(jsonString)),
  w(1, k<Field>(ABSENT, 'null', '1751364000', '""', '{"t":1}')),
);

const TYPES = ['page_view', 'search', 'add_to_cart', 'remove_from_cart', 'purchase'];
const eventTypeText = fc.oneof(
  w(30, k(...TYPES)),
  w(4, k(...TYPES).chain((t) => fc.oneof(k(t.toUpperCase()), k(t[0]!.toUpperCase() + t.slice(1)), padded(k(t))))),
  w(1, k('click', '', 'page view', 'pageview', 'purchases', 'PURCHASE\u0000', 'ｐｕｒｃｈａｓｅ')),
);
const eventType: fc.Arbitrary<Field> = fc.oneof(w(40, eventTypeText.chain(jsonString)), w(1, fc.oneof(k<Field>(ABSENT), NON_STRING)));

/** user_id / session_id / product_id: strings, integers of any length, and everything that is neither. */
const ID_INTEGER = fc.oneof(
  fc.integer({ min: -1000, max: 100000 }).map(String),
  k('0', '12345678901234567890', '-98765432109876543210123', '9007199254740993'),
);
const idValue = (prefix: string): fc.Arbitrary<Field> =>
  fc.oneof(
    w(60, padded(fc.integer({ min: 1, max: 9 }).map((n) => `${prefix}${n}`))),
    w(4, ID_INTEGER),
    w(1, k<Field>(ABSENT, 'null', '""', '"   "', '1.5', '1e3', '1.0', '-0.0', 'true', '{}', '[]', '"\\u00a0"', '"Ünïcødé"', '"💥"')),
  );

const textValue: fc.Arbitrary<Field> = fc.oneof(
  w(6, k(ABSENT)),
  w(10, fc.tuple(PAD, k('Books', 'HOME   &  garden', 'Électronique', 'Straße', 'ΟΔΟΣ', 'İstanbul', 'KELVIN\u212a', '日本', 'a\tb\nc', 'x'), PAD).chain(([a, c, b]) => jsonString(a + c + b))),
  w(2, k('null', '""', '"  \\t "', '5', 'true', '["a"]', '{"a":"b"}')),
);

const NUMBER_EDGES = [
  '0', '-0', '0.0', '-0.0', '1', '2', '2.0', '2.5', '12.345', '0.005', '0.015', '2.675', '1.005', '-0.001', '-1', '-1.5',
  '9999999999.99', '9999999999.994', '9999999999.995', '9999999999.999', '10000000000', '1e308', '1.7976931348623157e308', '1e-400',
  '1E2', '1e+2', '5e-3', '1000000', '1000000.0', '1000001', '1e6', '0.5e1', '12345678901234567890', '1e400', '-1e400',
];
const NUMERIC_STRINGS = [
  '12.50', ' 7 ', '+3', '1e2', '-0', '2', ' 2 ', '2.0', '2.5', '0', '-2', 'abc', '', ' ', '.5', '5.', '1e400', '1e-400', '1,5',
  '0x10', 'NaN', 'Infinity', '1_000', '１２', '\t3\n', '+0.0', '9999999999.995', '1e6', '3e0', '30e-1',
  '0.000000000000000000000000000000000000001', '0.0049999999999999999999', '0.00500000000000000000001',
];

/**
 * Known limits, kept out of the random mix and pinned by their own test (see README.md): DuckDB
 * reads a JSON number with a fraction or exponent as a double (17 significant digits), a numeric
 * string for quantity as DECIMAL(38,18), and the integer -0 as 0.
 */
export const PRECISION_LIMITS = {
  jsonNumbers: ['1.0000000000000000001', '0.00499999999999999999999', '999999.99999999999999999'],
  quantityStrings: ['1000000.000000000000000001', '2.0000000000000000001'],
  negativeZeroId: '-0',
};
const numberish: fc.Arbitrary<Field> = fc.oneof(
  w(6, fc.integer({ min: 1, max: 99999 }).map((n) => (n / 100).toString())),
  w(3, fc.integer({ min: 1, max: 5 }).map(String)),
  w(4, k(...NUMBER_EDGES)),
  w(3, k(...NUMERIC_STRINGS).chain(jsonString)),
  w(1, k('null', 'true', '[]', '{}', '"1"')),
);
const optionalNumber: fc.Arbitrary<Field> = fc.oneof(w(3, k<Field>(ABSENT)), w(6, numberish));
/** Price and quantity present and plain most of the time, so cart and purchase events pass. */
const commonNumber: fc.Arbitrary<Field> = fc.oneof(w(12, fc.integer({ min: 1, max: 5 }).map(String)), w(4, optionalNumber));

/** Fields outside SPEC §2: kept in extras. */
const extraValue: fc.Arbitrary<Raw> = fc.oneof(
  k('"ios"', '1', '-0', '1.10', '1e2', '12345678901234567890123', 'true', 'null', '[]', '{}', '[1,"a",{"b":null}]', '{"x":{"y":[1,2]}}', '"\\u00e9\\ud83d\\ude00"', '"a\\"b"', '{"d":1,"d":2}'),
  fc.string({ maxLength: 8 }).map((s) => JSON.stringify(s)),
);
const extraKey: fc.Arbitrary<string> = k('device', 'app_version', 'Event_ID', 'ip', '', ' ', 'ü', 'nested', 'price ', 'x.y');
const extras = fc.uniqueArray(fc.tuple(extraKey, extraValue), { maxLength: 2, selector: ([key]) => key });

/** Ways to turn a good line into bad JSON (SPEC §3 rule 1). */
type Corruption = (line: string) => fc.Arbitrary<string | Buffer>;
const corruptions: Corruption[] = [
  (l) => fc.constant(l.replace(/}$/, ',}')),
  (l) => fc.constant(l.replace(/}$/, ', }')),
  (l) => k('NaN', 'Infinity', '-Infinity', 'nan', 'inf', '-inf').map((v) => l.replace(/}$/, `,"price_x":${v}}`)),
  (l) => k('NaN', 'Infinity').map((v) => l.replace(/"timestamp"\s*:/, `"n":${v},"timestamp":`)),
  (l) => k('/* c */', '// c').map((c) => (c.startsWith('//') ? `${l} ${c}` : l.replace(/^{/, `{${c}`))),
  (l) => fc.constant(l.replace(/"event_id"/, "'event_id'")),
  (l) => fc.constant(l.replace(/"event_type"\s*:\s*"([^"]*)"/, "\"event_type\":'$1'")),
  (l) => k('\ufeff', ' \ufeff').map((b) => b + l),
  (l) => fc.constant(l.replace(/}$/, '}\ufeff')),
  (l) => k(Buffer.from([0xff]), Buffer.from([0xc0, 0x80]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xe2, 0x82]), Buffer.from([0xf5, 0x80, 0x80, 0x80])).chain((bad) =>
    fc.integer({ min: 1, max: Math.max(1, l.length - 1) }).map((at) => Buffer.concat([Buffer.from(l.slice(0, at)), bad, Buffer.from(l.slice(at))])),
  ),
  (l) => fc.integer({ min: 0, max: l.length }).map((at) => Buffer.concat([Buffer.from(l.slice(0, at)), Buffer.from([0]), Buffer.from(l.slice(at))])),
  (l) => k('event_id', 'timestamp', 'user_id', 'device').map((key) => l.replace(/}$/, `,"${key}":"dup"}`)),
  (l) => fc.constant(l.replace(/}$/, ',"event\\u005fid":"dup2"}')),
  (l) => k('[1,2]', '"text"', '42', 'null', 'true', '[]', `[${l}]`, `${l}${l}`, `${l} x`, '{', '}', '{"a"}', '{"a":}', '{,}').map((v) => v),
  (l) => fc.integer({ min: 1, max: Math.max(1, l.length - 1) }).map((n) => l.slice(0, n)),
  (l) => fc.constant(l.replace(/"user_id"\s*:\s*"/, '"user_id":"\t')),
  (l) => k('\\ud800', '\\udc00', '\\ud83d', '\\ud800x', '\\ud800\\u0041').map((s) => l.replace(/"category"\s*:\s*"/, `"category":"${s}`).replace(/}$/, `,"surrogate":"${s}"}`)),
  (l) => fc.constant(l.replace(/"(\w+)"\s*:/, '$1:')),
  (l) => k('01', '+1', '.5', '1.', '-', '1e', '0x1', '1_0').map((n) => l.replace(/}$/, `,"num":${n}}`)),
  (l) => k('\f', '\v', '\u00a0', '\u2028').map((s) => l.replace(/^{/, `{${s}`)),
  (l) => fc.constant(l.replace(/}$/, '}\f')),
  (l) => fc.constant(`{"deep":${'['.repeat(60)}${']'.repeat(60)},${l.slice(1)}`),
];

/** Whitespace between JSON tokens: legal (space, tab, CR) most of the time. */
const gap = fc.oneof(w(12, k('')), w(3, k(' ', '\t', '\r', ' \r\t ', '  ')));

interface EventDraft {
  readonly fields: (readonly [string, Field])[];
  readonly extras: (readonly [string, Raw])[];
  readonly gaps: string[];
}

const eventDraft: fc.Arbitrary<EventDraft> = fc
  .record({
    event_id: eventId,
    timestamp,
    event_type: eventType,
    user_id: idValue('u'),
    session_id: idValue('s'),
    product_id: fc.oneof(w(8, idValue('P')), w(1, k<Field>(ABSENT))),
    category: textValue,
    price: commonNumber,
    quantity: commonNumber,
    search_query: textValue,
    extras,
    gaps: fc.array(gap, { minLength: 30, maxLength: 30 }),
    shuffle: fc.integer({ min: 0, max: 1_000_000 }),
    keyEscape: fc.oneof(w(15, k(false)), w(1, k(true))),
  })
  .map((r) => {
    const names = ['event_id', 'timestamp', 'event_type', 'user_id', 'session_id', 'product_id', 'category', 'price', 'quantity', 'search_query'] as const;
    const fields: [string, Field][] = names.map((n) => [r.keyEscape && n === 'user_id' ? 'user\\u005fid' : n, r[n]]);
    // A mild shuffle: rotate the key order by a random amount now and then.
    if (r.shuffle % 5 === 0) fields.push(...fields.splice(0, r.shuffle % fields.length));
    return { fields, extras: r.extras, gaps: r.gaps };
  });

function render(d: EventDraft): string {
  let g = 0;
  const gap = (): string => d.gaps[g++ % d.gaps.length]!;
  const members = [...d.fields.filter(([, v]) => v !== ABSENT), ...d.extras.map(([key, v]) => [JSON.stringify(key), v] as const)].map(([key, v]) => {
    const keyText = key.startsWith('"') ? key : `"${key}"`;
    return `${gap()}${keyText}${gap()}:${gap()}${v as string}${gap()}`;
  });
  return `${gap()}{${members.join(',')}}${gap()}`;
}

const blankLine = fc.array(k(' ', '\t', '\r', '\f', '\v'), { maxLength: 4 }).map((a) => a.join(''));

/** One bronze line: bytes without `\n`. */
export const bronzeLine: fc.Arbitrary<Buffer> = fc
  .oneof(
    w(20, eventDraft.map(render)),
    w(3, eventDraft.map(render).chain((l) => fc.constantFrom(...corruptions).chain((c) => c(l)))),
    w(2, blankLine),
  )
  .chain((line) => fc.oneof(w(6, fc.constant(line)), w(1, fc.constant(typeof line === 'string' ? `${line}\r` : Buffer.concat([line, Buffer.from('\r')])))))
  .map((line) => (typeof line === 'string' ? Buffer.from(line, 'utf8') : line));

export interface BronzeFileDraft {
  readonly key: string;
  readonly lines: readonly Buffer[];
  readonly trailingNewline: boolean;
}

const folder = fc.oneof(
  w(8, fc.tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 11 })).map(([h, m]) => `year=2025/month=07/day=01/hour=${pad2(h)}/minute=${pad2(m * 5)}/`)),
  w(1, k('', 'year=abc/', 'misc/deeper/', 'year=2025/month=7/')),
);

/** A set of bronze files with distinct keys (names unique per set). */
export const bronzeFiles = (options: { minFiles?: number; maxFiles?: number; minLines?: number; maxLines?: number } = {}): fc.Arbitrary<BronzeFileDraft[]> =>
  fc
    .array(
      fc.record({
        folder,
        lines: fc.array(bronzeLine, { minLength: options.minLines ?? 0, maxLength: options.maxLines ?? 50 }),
        trailingNewline: fc.boolean(),
      }),
      { minLength: options.minFiles ?? 1, maxLength: options.maxFiles ?? 4 },
    )
    .map((files) => files.map((f, i) => ({ key: `${f.folder}batch-${String(i).padStart(3, '0')}.jsonl.gz`, lines: f.lines, trailingNewline: f.trailingNewline })));

/** The decompressed bytes of a draft file. */
export function fileBytes(f: BronzeFileDraft): Buffer {
  const parts: Buffer[] = [];
  f.lines.forEach((line, i) => {
    parts.push(line);
    if (i < f.lines.length - 1 || f.trailingNewline) parts.push(Buffer.from('\n'));
  });
  return Buffer.concat(parts);
}
