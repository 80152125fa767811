/**
 * SPEC §3 in SQL: each raw line to exactly one of valid / rejected(reason), by the first failing
 * check in the SPEC's order. DuckDB parses each line once (`json_transform` pulls the known
 * fields out as text, `json_keys` lists the keys); everything after works on those
 * small strings. The query is split into stages so that no expression is computed twice:
 * DuckDB macros are substituted textually, so a nested macro would repeat its argument's work.
 */

/** SPEC §3's whitespace as a SQL literal holding the raw characters (a chr() chain costs per row). */
const WS_CHARS = [' ', '\t', '\n', '\r', '\x0b', '\x0c'];
const WS = `'${WS_CHARS.join('')}'`;
const KNOWN_FIELDS = ['event_id', 'timestamp', 'user_id', 'session_id', 'event_type', 'product_id', 'category', 'price', 'quantity', 'search_query'] as const;
export const EVENT_TYPES = ['page_view', 'search', 'add_to_cart', 'remove_from_cart', 'purchase'] as const;
const list = (items: readonly string[]): string => `[${items.map((s) => `'${s}'`).join(', ')}]`;
/**
 * Fields whose JSON type matters (an id may be a string or an integer, nothing else) come out as
 * raw JSON text. The others are read as VARCHAR, which yields a string's decoded text directly:
 * for them a non-string value (its JSON text instead) fails the same check a bad string fails.
 */
const TEXT_FIELDS: readonly string[] = ['timestamp', 'event_type', 'price', 'quantity'];
const KNOWN_STRUCT = `{${KNOWN_FIELDS.map((f) => `"${f}":"${TEXT_FIELDS.includes(f) ? 'VARCHAR' : 'JSON'}"`).join(',')}}`;

/** DuckDB's JSON reader accepts these; RFC 8259 does not. Checked again with strings blanked out. */
const LENIENT_JSON = `'(?i)nan|inf|,[ \\t\\n\\r]*[\\]}]'`;
/**
 * One pass that lets almost every line skip blanking its strings. Case-insensitive: DuckDB takes
 * `nAn` and `iNFINITY` too (six spellings checked with contains() let those lines through).
 */
const LENIENT_HINT = `regexp_matches(line, ${LENIENT_JSON})`;
/** A value that cannot be one of the NaN or Infinity tokens DuckDB takes: those start with a letter or `-`. */
const startsWithDigit = (v: string): string => `ascii(${v}) BETWEEN 48 AND 57`;
const JSON_VALUE_FIELDS = KNOWN_FIELDS.filter((f) => !TEXT_FIELDS.includes(f));
/**
 * The usual line, which needs no lenient-JSON scan: every key known and present once, every
 * value a string or a plain number (no NaN/Infinity token, no nested array or object), so that
 * a trailing comma could only stand before the final brace, and it does not. Sound because
 * DuckDB gives a number's own text (`NaN`, `-inf`), and a string's JSON text starts with a quote.
 * Each field's check sits in coalesce() (an absent field passes): in a CASE condition DuckDB
 * evaluates OR by merging sorted row selections, a function's argument as a plain vector. And
 * ascii() reads a code where `r >= '0'` compares strings.
 */
const PLAIN_LINE = [
  'plain_keys',
  ...JSON_VALUE_FIELDS.map((f) => `coalesce(ascii(r_${f}) = 34 OR ${startsWithDigit(`r_${f}`)}, true)`),
  ...['timestamp', 'price', 'quantity'].map((f) => `coalesce(${startsWithDigit(`r_${f}`)}, true)`),
  `coalesce(list_contains(${list(EVENT_TYPES)}, l_event_type), true)`,
  `ends_with(line, '}') AND NOT ends_with(line, ',}') AND NOT ends_with(line, ' }') AND NOT ends_with(line, '\t}')`,
].join(' AND ');
const JSON_STRING = `'"(?:[^"\\\\]|\\\\.)*"'`;
const TIMESTAMP_FORMS =
  `'^([0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01]))[T ]((?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9])` +
  `(?:\\.([0-9]{1,9}))?(Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?$'`;
const NUMERIC_STRING = `'[+-]?[0-9]+(\\.[0-9]+)?([eE][+-]?[0-9]+)?'`;
/** The usual timestamp, which DuckDB's own cast reads exactly (UTC, at most microseconds). */
const PLAIN_TIMESTAMP =
  `'[1-9][0-9]{3}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[T ](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,6})?Z?'`;

/**
 * Helper macros, created once per connection. Their arguments are plain columns (a macro repeats
 * its argument's work at every use), except strata_whole_quantity's, on the rare careful path.
 * A raw value `r` is one field's JSON text as DuckDB re-serialised it (JSON null and absent are
 * both SQL NULL); its first character tells its type. Checks are written with byte-level
 * functions (starts_with, ends_with, ascii): `s[-1]` and `s[2:-2]` count characters.
 * Inside a valid JSON string a raw control character cannot occur (the parser rejects the
 * line), so without a backslash only a space can need trimming or collapsing.
 */
export const CLEANING_MACROS = `
CREATE OR REPLACE TEMP MACRO strata_trim(s) AS
  CASE WHEN ascii(s) BETWEEN 9 AND 13 OR ascii(s) = 32 OR ${WS_CHARS.map((c) => `ends_with(s, '${c}')`).join(' OR ')} THEN trim(s, ${WS}) ELSE s END;
CREATE OR REPLACE TEMP MACRO strata_is_num(r) AS (${startsWithDigit('r')} OR ascii(r) = 45);
CREATE OR REPLACE TEMP MACRO strata_str(r) AS CASE WHEN starts_with(r, '"')
  THEN CASE WHEN contains(r, '\\') THEN r ->> '$' ELSE substr(r, 2, length(r) - 2) END END;
CREATE OR REPLACE TEMP MACRO strata_whole_quantity(v) AS
  CASE WHEN v = trunc(v) AND v BETWEEN 1 AND 1000000 THEN CAST(v AS INTEGER) END;
CREATE OR REPLACE TEMP MACRO strata_collapse(s, r) AS CASE
  WHEN contains(s, '  ') OR (contains(r, '\\') AND regexp_matches(s, '[\\t\\n\\r\\x0b\\x0c]')) THEN regexp_replace(s, '[ \\t\\n\\r\\x0b\\x0c]+', ' ', 'g') ELSE s END;
`;

/** The value of an id field: a trimmed non-empty string, or an integer's exact digits (SPEC §3 rule 5). */
const idValue = (f: string): string =>
  `CASE WHEN d_${f} IS NOT NULL THEN nullif(strata_trim(d_${f}), '') WHEN strata_is_num(r_${f}) AND regexp_full_match(r_${f}, '-?[0-9]+') THEN r_${f} END`;

/** The text of a JSON number or numeric string (SPEC §3), else NULL. A number's text always matches. */
const numericText = (f: string): string => `CASE WHEN regexp_full_match(t_${f}, ${NUMERIC_STRING}) THEN t_${f} END`;

/**
 * Classifies `source` (columns tag, line) into one row per line, in order: `reason` NULL
 * for valid rows, which carry the typed silver columns, and 'blank' for blank lines, which keep
 * their place so that a row's position in the file is its line number.
 */
export function classifySql(source: string): string {
  return `
WITH nonblank AS (
  -- JSON lines start with '{': look at the first character before trimming the whole line.
  SELECT tag, line, CASE WHEN line IS NULL THEN true WHEN starts_with(line, '{') THEN false ELSE strata_trim(line) = '' END AS blank
  FROM ${source}
), parsed AS (
  SELECT tag, blank, line, try(json_transform(line, '${KNOWN_STRUCT}')) AS s, try(json_keys(line)) AS keys
  FROM nonblank
), raw AS (
  -- json_transform also accepts arrays and scalars; only an object may pass.
  SELECT tag, blank, line,
    CASE WHEN s IS NULL OR keys IS NULL THEN true WHEN starts_with(line, '{') THEN false ELSE strata_trim(line)[1] <> '{' END AS unparsed, keys,
    ${KNOWN_FIELDS.map((f) => `CAST(s.${f} AS VARCHAR) AS r_${f}`).join(',\n    ')}
  FROM parsed
), decoded AS (
  SELECT *,
    ${KNOWN_FIELDS.map((f) => (TEXT_FIELDS.includes(f) ? `r_${f} AS d_${f}` : `strata_str(r_${f}) AS d_${f}`)).join(',\n    ')},
    regexp_full_match(r_timestamp, ${PLAIN_TIMESTAMP}) AS ts_plain,
    -- Every key known and present once: the usual line. Anything else takes the careful path.
    len(keys) = ${KNOWN_FIELDS.map((f) => `(r_${f} IS NOT NULL)::INTEGER`).join(' + ')} AS plain_keys
  FROM raw
), tidied AS (
  -- Macros nest textually: a value used by several of them is computed here, once.
  SELECT *,
    strata_collapse(d_category, r_category) AS c_category,
    strata_collapse(d_search_query, r_search_query) AS c_search_query,
    strata_trim(d_price) AS t_price,
    strata_trim(d_quantity) AS t_quantity,
    CASE WHEN list_contains(${list(EVENT_TYPES)}, d_event_type) THEN d_event_type ELSE lower(strata_trim(d_event_type)) END AS l_event_type
  FROM decoded
), fields AS (
  SELECT tag, blank, line, r_price, r_quantity,
    unparsed
      OR CASE WHEN plain_keys THEN false ELSE list_unique(keys) <> len(keys) END
      -- CASEs, not AND: DuckDB evaluates both sides of AND in a projection, and the replace costs 1 s a batch.
      OR CASE WHEN ${PLAIN_LINE} THEN false
              WHEN ${LENIENT_HINT} THEN regexp_matches(regexp_replace(line, ${JSON_STRING}, '""', 'g'), ${LENIENT_JSON}) ELSE false END AS bad_json,
    nullif(strata_trim(d_event_id), '') AS event_id,
    d_timestamp AS ts_text, ts_plain,
    -- Other forms (offsets, more digits, early years) are taken apart here and put together below.
    CASE WHEN NOT ts_plain THEN regexp_extract(d_timestamp, ${TIMESTAMP_FORMS}, ['date', 'time', 'fraction', 'zone']) END AS ts,
    l_event_type AS event_type,
    ${idValue('user_id')} AS user_id,
    ${idValue('session_id')} AS session_id,
    ${idValue('product_id')} AS product_id,
    nullif(lower(strata_trim(c_category)), '') AS category,
    nullif(lower(strata_trim(c_search_query)), '') AS search_query,
    ${numericText('price')} AS price_text,
    t_quantity, try_cast(t_quantity AS INTEGER) AS quantity_int,
    -- Unknown fields are rare: only their lines pay for a second parse, into a map of all fields.
    CASE WHEN unparsed OR plain_keys THEN NULL WHEN NOT list_has_all(${list(KNOWN_FIELDS)}, keys)
      THEN list_filter(map_entries(try(json_transform(line, '"MAP(VARCHAR, JSON)"'))), e -> NOT list_contains(${list(KNOWN_FIELDS)}, e.key))
      END AS extra_entries
  FROM tidied
), typed AS (
  SELECT *,
    CASE WHEN ts_plain THEN try_cast(ts_text AS TIMESTAMP) ELSE
    try_cast(ts.date || ' ' || ts.time || '.' || rpad(left(ts.fraction, 6), 6, '0') AS TIMESTAMP)
      - CASE WHEN ts.zone IN ('', 'Z') THEN INTERVAL 0 MINUTE
             ELSE to_minutes(CAST((CASE WHEN ts.zone[1] = '-' THEN -1 ELSE 1 END)
                  * (CAST(ts.zone[2:3] AS INTEGER) * 60 + CAST(ts.zone[5:6] AS INTEGER)) AS BIGINT)) END END AS event_time,
    try_cast(price_text AS DECIMAL(12, 2)) AS price,
    try_cast(price_text AS DOUBLE) AS price_double,
    -- The usual quantity is an integer's own text: read as one, the careful way only otherwise.
    CASE WHEN CAST(quantity_int AS VARCHAR) = t_quantity THEN CASE WHEN quantity_int BETWEEN 1 AND 1000000 THEN quantity_int END
      ELSE strata_whole_quantity(try_cast(${numericText('quantity')} AS DECIMAL(38, 18))) END AS quantity
  FROM fields
), judged AS (
  SELECT *, CASE
    WHEN blank THEN 'blank'
    WHEN bad_json THEN 'malformed_json'
    WHEN event_id IS NULL THEN 'missing_event_id'
    -- Years 0001-9999: there is no year 0000, and one with an east offset would land in year -1,
    -- which no partition folder can hold (it used to fail every run that met such a line).
    WHEN ts_text IS NULL OR event_time IS NULL
      OR (NOT ts_plain AND (ts.date = '' OR starts_with(ts.date, '0000') OR try_cast(ts.date AS DATE) IS NULL)) THEN 'bad_timestamp'
    WHEN event_type IS NULL OR NOT list_contains(${list(EVENT_TYPES)}, event_type) THEN 'unknown_event_type'
    WHEN user_id IS NULL OR session_id IS NULL THEN 'missing_id'
    WHEN event_type IN ('page_view', 'add_to_cart', 'remove_from_cart', 'purchase') AND product_id IS NULL THEN 'missing_product'
    WHEN (r_price IS NOT NULL AND (price IS NULL OR price_double < 0))
      OR (r_price IS NULL AND event_type IN ('purchase', 'add_to_cart')) THEN 'bad_price'
    WHEN (r_quantity IS NOT NULL AND quantity IS NULL)
      OR (r_quantity IS NULL AND event_type IN ('add_to_cart', 'remove_from_cart', 'purchase')) THEN 'bad_quantity'
    WHEN event_type = 'search' AND search_query IS NULL THEN 'missing_search_query'
  END AS reason
  FROM typed
)
SELECT tag, reason,
  CASE WHEN reason IS NOT NULL AND NOT blank THEN line END AS raw_line,
  CASE WHEN reason IS NULL THEN event_id END AS event_id,
  event_time, user_id, session_id, event_type, product_id, category, search_query,
  CASE WHEN price_text IS NOT NULL THEN price END AS price,
  quantity,
  CASE WHEN event_type = 'purchase' THEN CAST(price * quantity AS DECIMAL(18, 2)) END AS revenue,
  CASE WHEN reason IS NULL AND len(extra_entries) > 0 THEN CAST(to_json(map_from_entries(extra_entries)) AS VARCHAR) END AS extras
FROM judged`;
}
