/**
 * SPEC §3 in SQL: each raw line to exactly one of valid / rejected(reason), by the first failing
 * check in the SPEC's order. DuckDB parses each line once (`json_transform` to a MAP of raw JSON
 * values); the checks then look only at the small per-field values.
 */

const WS = `' ' || chr(9) || chr(10) || chr(13) || chr(11) || chr(12)`;
const KNOWN_FIELDS = ['event_id', 'timestamp', 'user_id', 'session_id', 'event_type', 'product_id', 'category', 'price', 'quantity', 'search_query'];
export const EVENT_TYPES = ['page_view', 'search', 'add_to_cart', 'remove_from_cart', 'purchase'] as const;
const list = (items: readonly string[]): string => `[${items.map((s) => `'${s}'`).join(', ')}]`;

/** DuckDB's JSON reader accepts these; RFC 8259 does not. Checked again with strings blanked out. */
const LENIENT_JSON = `'(?i)nan|inf|,[ \\t\\n\\r]*[\\]}]'`;
const JSON_STRING = `'"(?:[^"\\\\]|\\\\.)*"'`;

/**
 * Helper macros; created once per connection. A value `v` is the raw JSON text of one field as
 * DuckDB re-serialised it (JSON null and absent are both SQL NULL). Its type shows in its first
 * character, and a string needs decoding only when it holds a backslash, which keeps the
 * per-field cost to string operations instead of another JSON parse.
 */
export const CLEANING_MACROS = `
CREATE OR REPLACE TEMP MACRO strata_trim(s) AS trim(s, ${WS});
CREATE OR REPLACE TEMP MACRO strata_is_str(v) AS starts_with(v, '"');
CREATE OR REPLACE TEMP MACRO strata_is_num(v) AS (v[1] BETWEEN '0' AND '9' OR v[1] = '-');
CREATE OR REPLACE TEMP MACRO strata_str(v) AS CASE WHEN strata_is_str(v)
  THEN CASE WHEN contains(v, '\\') THEN v ->> '$' ELSE v[2:-2] END END;
CREATE OR REPLACE TEMP MACRO strata_id(v) AS CASE
  WHEN strata_is_str(v) THEN nullif(strata_trim(strata_str(v)), '')
  WHEN strata_is_num(v) AND regexp_full_match(v, '-?[0-9]+') THEN CAST(v AS VARCHAR) END;
CREATE OR REPLACE TEMP MACRO strata_norm(v) AS CASE WHEN strata_is_str(v)
  THEN nullif(lower(strata_trim(regexp_replace(strata_str(v), '[ \\t\\n\\r\\x0b\\x0c]+', ' ', 'g'))), '') END;
CREATE OR REPLACE TEMP MACRO strata_num(v) AS CASE
  WHEN strata_is_num(v) THEN CAST(v AS VARCHAR)
  WHEN strata_is_str(v) AND regexp_full_match(strata_trim(strata_str(v)), '[+-]?[0-9]+(\\.[0-9]+)?([eE][+-]?[0-9]+)?')
    THEN strata_trim(strata_str(v)) END;
`;

/**
 * Classifies `source` (columns file_idx, line_no, line; blank lines already removed or not) into
 * one row per non-blank line with `reason` NULL for valid rows and the typed silver columns.
 */
export function classifySql(source: string): string {
  return `
WITH nonblank AS (
  SELECT file_idx, line_no, line FROM ${source}
  -- JSON lines start with '{': look at the first character before trimming the whole line.
  WHERE line IS NOT NULL AND (NOT contains(${WS}, line[1]) OR strata_trim(line) <> '')
), parsed AS (
  SELECT file_idx, line_no, line, try(json_transform(line, '"MAP(VARCHAR, JSON)"')) AS m FROM nonblank
), fields AS (
  SELECT file_idx, line_no, line, m,
    m IS NULL
      OR len(map_keys(m)) <> len(list_distinct(map_keys(m)))
      OR (regexp_matches(line, ${LENIENT_JSON})
          AND regexp_matches(regexp_replace(line, ${JSON_STRING}, '""', 'g'), ${LENIENT_JSON})) AS bad_json,
    CASE WHEN strata_is_str(CAST(m['event_id'] AS VARCHAR)) THEN nullif(strata_trim(strata_str(CAST(m['event_id'] AS VARCHAR))), '') END AS event_id,
    regexp_extract(strata_str(CAST(m['timestamp'] AS VARCHAR)),
      '^([0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01]))[T ]((?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9])(?:\\.([0-9]{1,9}))?(Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?$',
      ['date', 'time', 'fraction', 'zone']) AS ts,
    lower(strata_trim(strata_str(CAST(m['event_type'] AS VARCHAR)))) AS event_type,
    strata_id(CAST(m['user_id'] AS VARCHAR)) AS user_id,
    strata_id(CAST(m['session_id'] AS VARCHAR)) AS session_id,
    strata_id(CAST(m['product_id'] AS VARCHAR)) AS product_id,
    strata_norm(CAST(m['category'] AS VARCHAR)) AS category,
    strata_norm(CAST(m['search_query'] AS VARCHAR)) AS search_query,
    CAST(m['price'] AS VARCHAR) AS price_json,
    strata_num(CAST(m['price'] AS VARCHAR)) AS price_text,
    CAST(m['quantity'] AS VARCHAR) AS quantity_json,
    try_cast(strata_num(CAST(m['quantity'] AS VARCHAR)) AS DECIMAL(38, 18)) AS quantity_value,
    list_filter(map_entries(m), e -> NOT list_contains(${list(KNOWN_FIELDS)}, e.key)) AS extra_entries
  FROM parsed
), typed AS (
  SELECT *,
    try_cast(ts.date || ' ' || ts.time || '.' || rpad(left(ts.fraction, 6), 6, '0') AS TIMESTAMP)
      - CASE WHEN ts.zone IN ('', 'Z') THEN INTERVAL 0 MINUTE
             ELSE to_minutes(CAST((CASE WHEN ts.zone[1] = '-' THEN -1 ELSE 1 END)
                  * (CAST(ts.zone[2:3] AS INTEGER) * 60 + CAST(ts.zone[5:6] AS INTEGER)) AS BIGINT)) END AS event_time,
    try_cast(price_text AS DECIMAL(12, 2)) AS price,
    try_cast(price_text AS DOUBLE) AS price_double,
    CASE WHEN quantity_value = trunc(quantity_value) AND quantity_value BETWEEN 1 AND 1000000
      THEN CAST(quantity_value AS INTEGER) END AS quantity
  FROM fields
), judged AS (
  SELECT *, CASE
    WHEN bad_json THEN 'malformed_json'
    WHEN event_id IS NULL THEN 'missing_event_id'
    WHEN ts IS NULL OR ts.date = '' OR event_time IS NULL OR try_cast(ts.date AS DATE) IS NULL THEN 'bad_timestamp'
    WHEN event_type IS NULL OR NOT list_contains(${list(EVENT_TYPES)}, event_type) THEN 'unknown_event_type'
    WHEN user_id IS NULL OR session_id IS NULL THEN 'missing_id'
    WHEN event_type IN ('page_view', 'add_to_cart', 'remove_from_cart', 'purchase') AND product_id IS NULL THEN 'missing_product'
    WHEN (price_json IS NOT NULL AND (price IS NULL OR price_double < 0))
      OR (price_json IS NULL AND event_type IN ('purchase', 'add_to_cart')) THEN 'bad_price'
    WHEN (quantity_json IS NOT NULL AND quantity IS NULL)
      OR (quantity_json IS NULL AND event_type IN ('add_to_cart', 'remove_from_cart', 'purchase')) THEN 'bad_quantity'
    WHEN event_type = 'search' AND search_query IS NULL THEN 'missing_search_query'
  END AS reason
  FROM typed
)
SELECT file_idx, line_no, reason,
  CASE WHEN reason IS NOT NULL THEN line END AS raw_line,
  CASE WHEN reason IS NULL THEN event_id END AS event_id,
  event_time, user_id, session_id, event_type, product_id, category, search_query,
  CASE WHEN price_text IS NOT NULL THEN price END AS price,
  quantity,
  CASE WHEN event_type = 'purchase' THEN CAST(price * quantity AS DECIMAL(18, 2)) END AS revenue,
  CASE WHEN reason IS NULL AND len(extra_entries) > 0 THEN CAST(to_json(map_from_entries(extra_entries)) AS VARCHAR) END AS extras,
  CASE WHEN reason IS NULL THEN list_transform(extra_entries, e -> e.key) END AS extra_keys
FROM judged`;
}
