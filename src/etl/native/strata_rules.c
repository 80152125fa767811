/*
 * strata_valid_event(line VARCHAR) -> STRUCT(...): SPEC §3 for the usual line, in one pass.
 *
 * The SQL rules (cleaning-sql.ts) parse each line and then spend most of the ETL's time on
 * checks over the parsed fields. Almost every line is plain: a flat JSON object of the known
 * fields, ASCII text without escapes, plain numbers. This function recognises exactly such a
 * line when it is VALID, and returns its typed silver columns. For anything else (a reject,
 * an escape, an unknown key, a numeric string, an integer id, a rare timestamp form ...) it
 * returns NULL, and the line takes the SQL rules, which remain the definition. So this file
 * never decides a reject, and every value it returns must equal what the SQL rules give:
 * test/native-rules.test.ts checks that on generated dirty lines and on edge cases.
 *
 * Built by scripts/build-native.mjs as a DuckDB C-API extension (no DuckDB source needed:
 * third_party/duckdb holds the two C headers). Loaded unsigned, by path, from strata itself.
 */
#define DUCKDB_EXTENSION_NAME strata_rules
#include "duckdb_extension.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

DUCKDB_EXTENSION_EXTERN

enum Field { EVENT_ID, TIMESTAMP, USER_ID, SESSION_ID, EVENT_TYPE, PRODUCT_ID, CATEGORY, PRICE, QUANTITY, SEARCH_QUERY, N_FIELDS };

enum Kind { ABSENT = 0, JSON_NULL, STRING, NUMBER };
typedef struct {
	enum Kind kind;
	const char *text; /* a string's content without quotes, or a number's text */
	uint32_t len;
	bool simple; /* see scan_plain_string */
} Value;

enum EventType { PAGE_VIEW, SEARCH, ADD_TO_CART, REMOVE_FROM_CART, PURCHASE, N_TYPES };
static const char *const TYPE_NAMES[N_TYPES] = {"page_view", "search", "add_to_cart", "remove_from_cart", "purchase"};
static const uint32_t TYPE_LENGTHS[N_TYPES] = {9, 6, 11, 16, 8};

/* Output columns, in the order of the returned STRUCT. */
enum Out { O_EVENT_ID, O_EVENT_TIME, O_USER_ID, O_SESSION_ID, O_EVENT_TYPE, O_PRODUCT_ID, O_CATEGORY, O_SEARCH_QUERY, O_PRICE, O_QUANTITY, O_REVENUE, N_OUT };

typedef struct {
	const char *text;
	uint32_t len;
} Slice;

typedef struct {
	Slice event_id, user_id, session_id, product_id;
	int64_t event_time;
	enum EventType type;
	char category[256], search_query[256];
	int category_len, search_query_len; /* -1: NULL */
	bool has_price, has_quantity;
	int64_t price_cents;
	int32_t quantity;
} Event;

static inline bool json_space(unsigned char c) {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static inline bool is_digit(unsigned char c) {
	return c >= '0' && c <= '9';
}

/* RFC 8259's number grammar; returns the end, or NULL. */
static const char *scan_number(const char *p, const char *end) {
	if (p < end && *p == '-') p++;
	if (p >= end || !is_digit(*p)) return NULL;
	if (*p == '0') {
		p++;
	} else {
		while (p < end && is_digit(*p)) p++;
	}
	if (p < end && *p == '.') {
		p++;
		if (p >= end || !is_digit(*p)) return NULL;
		while (p < end && is_digit(*p)) p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-')) p++;
		if (p >= end || !is_digit(*p)) return NULL;
		while (p < end && is_digit(*p)) p++;
	}
	return p;
}

/*
 * A string without escapes or control characters (anything else takes the SQL rules); p is past
 * the quote. *simple: every character is ASCII or a lower-case Latin-1 letter (U+00DF-U+00FF but
 * U+00F7: ß, à, é, ü ...), which DuckDB's lower() and strata_trim leave as they are; so
 * `normalised`, which lower-cases ASCII only, gives what the SQL rules give. The line is valid
 * UTF-8 by then (strata_stage_gz checks every line first).
 */
static const char *scan_plain_string(const char *p, const char *end, bool *simple) {
	bool only_simple = true;
	while (p < end) {
		unsigned char c = (unsigned char)*p;
		if (c == '"') {
			*simple = only_simple;
			return p;
		}
		if (c < 0x20 || c == '\\') return NULL;
		if (c >= 0x80) {
			const unsigned char next = p + 1 < end ? (unsigned char)p[1] : 0;
			if (c == 0xC3 && next >= 0x9F && next <= 0xBF && next != 0xB7) {
				p += 2;
				continue;
			}
			only_simple = false;
		}
		p++;
	}
	return NULL;
}

/* The known field a key names, or -1. By length first: this runs for every key of every line. */
static int field_of(const char *key, uint32_t len) {
	switch (len) {
	case 5: return memcmp(key, "price", 5) == 0 ? PRICE : -1;
	case 7: return memcmp(key, "user_id", 7) == 0 ? USER_ID : -1;
	case 8:
		if (memcmp(key, "event_id", 8) == 0) return EVENT_ID;
		if (memcmp(key, "category", 8) == 0) return CATEGORY;
		return memcmp(key, "quantity", 8) == 0 ? QUANTITY : -1;
	case 9: return memcmp(key, "timestamp", 9) == 0 ? TIMESTAMP : -1;
	case 10:
		if (memcmp(key, "session_id", 10) == 0) return SESSION_ID;
		if (memcmp(key, "event_type", 10) == 0) return EVENT_TYPE;
		return memcmp(key, "product_id", 10) == 0 ? PRODUCT_ID : -1;
	case 12: return memcmp(key, "search_query", 12) == 0 ? SEARCH_QUERY : -1;
	default: return -1;
	}
}

/* A flat object of known keys, each once, whose values are plain strings, numbers or null. */
static bool parse_object(const char *p, const char *end, Value values[N_FIELDS]) {
	memset(values, 0, sizeof(Value) * N_FIELDS);
	while (p < end && json_space(*p)) p++;
	if (p >= end || *p++ != '{') return false;
	for (;;) {
		while (p < end && json_space(*p)) p++;
		if (p >= end || *p++ != '"') return false;
		bool simple;
		const char *key = p;
		p = scan_plain_string(p, end, &simple);
		if (!p) return false;
		int f = field_of(key, (uint32_t)(p - key));
		if (f < 0 || values[f].kind != ABSENT) return false;
		p++;
		while (p < end && json_space(*p)) p++;
		if (p >= end || *p++ != ':') return false;
		while (p < end && json_space(*p)) p++;
		if (p >= end) return false;
		Value *v = &values[f];
		if (*p == '"') {
			const char *text = ++p;
			p = scan_plain_string(p, end, &v->simple);
			if (!p) return false;
			v->kind = STRING;
			v->text = text;
			v->len = (uint32_t)(p - text);
			p++;
		} else if (*p == '-' || is_digit(*p)) {
			const char *text = p;
			p = scan_number(p, end);
			if (!p) return false;
			v->kind = NUMBER;
			v->text = text;
			v->len = (uint32_t)(p - text);
		} else if (end - p >= 4 && memcmp(p, "null", 4) == 0) {
			v->kind = JSON_NULL;
			p += 4;
		} else {
			return false;
		}
		while (p < end && json_space(*p)) p++;
		if (p >= end) return false;
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p++ != '}') return false;
		break;
	}
	while (p < end && json_space(*p)) p++;
	return p == end;
}

/* Trimmed of spaces (the only SPEC whitespace a JSON string holds without an escape); false if empty. */
static bool trimmed(const Value *v, Slice *out) {
	const char *s = v->text, *e = v->text + v->len;
	while (s < e && *s == ' ') s++;
	while (e > s && e[-1] == ' ') e--;
	out->text = s;
	out->len = (uint32_t)(e - s);
	return out->len > 0;
}

/* Trimmed, runs of spaces collapsed, lower-cased (ASCII only); length, or -1 for NULL (empty). */
static int normalised(const Value *v, char *out) {
	int n = 0;
	bool space = false;
	for (uint32_t i = 0; i < v->len; i++) {
		char c = v->text[i];
		if (c == ' ') {
			space = n > 0;
			continue;
		}
		if (space) out[n++] = ' ';
		space = false;
		out[n++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
	}
	return n > 0 ? n : -1;
}

static int digits(const char *p, int n) {
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!is_digit(p[i])) return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d) {
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const int64_t yoe = y - era * 400;
	const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool leap(int y) {
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/*
 * YYYY-MM-DD[T ]HH:MM:SS[.f{1,9}][Z|+HH:MM|-HH:MM] to UTC microseconds, truncated. Years outside
 * 1000-9998 take the SQL rules (no offset can push such a time out of its four-digit year).
 */
static bool parse_timestamp(const Value *v, int64_t *micros) {
	const char *p = v->text;
	const int n = (int)v->len;
	if (n < 19 || p[4] != '-' || p[7] != '-' || (p[10] != 'T' && p[10] != ' ') || p[13] != ':' || p[16] != ':') return false;
	const int y = digits(p, 4), mo = digits(p + 5, 2), d = digits(p + 8, 2);
	const int h = digits(p + 11, 2), mi = digits(p + 14, 2), s = digits(p + 17, 2);
	if (y < 1000 || y > 9998 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59) return false;
	static const int MONTH_DAYS[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (d > MONTH_DAYS[mo - 1] + (mo == 2 && leap(y))) return false;
	int at = 19;
	int64_t fraction = 0;
	if (at < n && p[at] == '.') {
		int count = 0;
		at++;
		while (at < n && is_digit(p[at])) {
			if (++count <= 6) fraction = fraction * 10 + (p[at] - '0');
			at++;
		}
		if (count < 1 || count > 9) return false;
		for (int i = count; i < 6; i++) fraction *= 10;
	}
	int64_t offset_minutes = 0;
	if (at < n && p[at] == 'Z') {
		at++;
	} else if (at < n && (p[at] == '+' || p[at] == '-')) {
		if (n - at != 6 || p[at + 3] != ':') return false;
		const int oh = digits(p + at + 1, 2), om = digits(p + at + 4, 2);
		if (oh < 0 || oh > 23 || om < 0 || om > 59) return false;
		offset_minutes = (p[at] == '-' ? -1 : 1) * (oh * 60 + om);
		at += 6;
	}
	if (at != n) return false;
	const int64_t seconds = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset_minutes * 60;
	*micros = seconds * 1000000 + fraction;
	return true;
}

/*
 * A non-negative JSON number without exponent, rounded half away from zero to cents; at most
 * 9999999999.99. At most 15 digits: DuckDB reads a JSON number as a double, and only up to 15
 * significant digits is its text sure to come back unchanged.
 */
static bool parse_price(const Value *v, int64_t *cents) {
	if (v->len > 16) return false;
	const char *p = v->text, *end = v->text + v->len;
	int64_t units = 0;
	int int_digits = 0;
	while (p < end && is_digit(*p)) {
		if (++int_digits > 10) return false;
		units = units * 10 + (*p++ - '0');
	}
	if (int_digits == 0) return false;
	int64_t c = units * 100;
	if (p < end && *p == '.') {
		p++;
		int k = 0;
		for (; p < end && is_digit(*p); p++, k++) {
			if (k == 0) c += (*p - '0') * 10;
			else if (k == 1) c += *p - '0';
			else if (k == 2 && *p >= '5') c += 1;
		}
	}
	if (p != end || c > 999999999999LL) return false;
	*cents = c;
	return true;
}

/* A JSON integer from 1 to 1,000,000, written as one (2.0 and 2e0 take the SQL rules). */
static bool parse_quantity(const Value *v, int32_t *quantity) {
	if (v->len < 1 || v->len > 7) return false;
	const int q = digits(v->text, (int)v->len);
	if (q < 1 || q > 1000000) return false;
	*quantity = q;
	return true;
}

/* True when the line is a valid event that the SQL rules would take with these exact values. */
static bool valid_event(const char *line, uint32_t len, Event *e) {
	Value v[N_FIELDS];
	if (!parse_object(line, line + len, v)) return false;
	if (v[EVENT_ID].kind != STRING || !trimmed(&v[EVENT_ID], &e->event_id)) return false;
	if (v[TIMESTAMP].kind != STRING || !v[TIMESTAMP].simple || !parse_timestamp(&v[TIMESTAMP], &e->event_time)) return false;
	if (v[EVENT_TYPE].kind != STRING) return false;
	int type = -1;
	for (int t = 0; t < N_TYPES; t++) {
		if (TYPE_LENGTHS[t] == v[EVENT_TYPE].len && memcmp(TYPE_NAMES[t], v[EVENT_TYPE].text, v[EVENT_TYPE].len) == 0) type = t;
	}
	if (type < 0) return false;
	e->type = (enum EventType)type;
	if (v[USER_ID].kind != STRING || !trimmed(&v[USER_ID], &e->user_id)) return false;
	if (v[SESSION_ID].kind != STRING || !trimmed(&v[SESSION_ID], &e->session_id)) return false;
	const bool product_event = type != SEARCH;
	e->product_id.text = NULL;
	if (v[PRODUCT_ID].kind == STRING) {
		if (!trimmed(&v[PRODUCT_ID], &e->product_id)) e->product_id.text = NULL;
	} else if (v[PRODUCT_ID].kind == NUMBER) {
		return false;
	}
	if (product_event && !e->product_id.text) return false;
	e->category_len = e->search_query_len = -1;
	for (int f = CATEGORY; f <= SEARCH_QUERY; f += SEARCH_QUERY - CATEGORY) {
		const Value *text = &v[f];
		if (text->kind == NUMBER || (text->kind == STRING && (!text->simple || text->len >= 256))) return false;
		if (text->kind == STRING) {
			if (f == CATEGORY) e->category_len = normalised(text, e->category);
			else e->search_query_len = normalised(text, e->search_query);
		}
	}
	if (type == SEARCH && e->search_query_len < 0) return false;
	e->has_price = v[PRICE].kind == NUMBER;
	if (v[PRICE].kind == STRING || (e->has_price && !parse_price(&v[PRICE], &e->price_cents))) return false;
	if (!e->has_price && (type == PURCHASE || type == ADD_TO_CART)) return false;
	e->has_quantity = v[QUANTITY].kind == NUMBER;
	if (v[QUANTITY].kind == STRING || (e->has_quantity && !parse_quantity(&v[QUANTITY], &e->quantity))) return false;
	if (!e->has_quantity && (type == ADD_TO_CART || type == REMOVE_FROM_CART || type == PURCHASE)) return false;
	return true;
}

static inline void set_null(uint64_t *validity, idx_t row) {
	validity[row / 64] &= ~((uint64_t)1 << (row % 64));
}

/*
 * The vector's validity mask, made writable and set valid for the first `rows` rows: DuckDB may
 * hand over a vector that held NULLs for another chunk, so every row's bit is written here.
 */
static uint64_t *writable_validity(duckdb_vector vector, idx_t rows) {
	duckdb_vector_ensure_validity_writable(vector);
	uint64_t *validity = duckdb_vector_get_validity(vector);
	memset(validity, 0xff, sizeof(uint64_t) * ((rows + 63) / 64));
	return validity;
}

/* The silver columns of a chunk: the vectors, their validity (every row's bit written) and data. */
typedef struct {
	duckdb_vector vector[N_OUT];
	uint64_t *valid[N_OUT];
	int64_t *event_time, *price, *revenue;
	int32_t *quantity;
} EventColumns;

static EventColumns event_columns(const duckdb_vector vectors[N_OUT], idx_t rows) {
	EventColumns c;
	for (int i = 0; i < N_OUT; i++) {
		c.vector[i] = vectors[i];
		c.valid[i] = writable_validity(vectors[i], rows);
	}
	c.event_time = (int64_t *)duckdb_vector_get_data(c.vector[O_EVENT_TIME]);
	c.price = (int64_t *)duckdb_vector_get_data(c.vector[O_PRICE]);
	c.quantity = (int32_t *)duckdb_vector_get_data(c.vector[O_QUANTITY]);
	c.revenue = (int64_t *)duckdb_vector_get_data(c.vector[O_REVENUE]);
	return c;
}

static void write_no_event(EventColumns *c, idx_t row) {
	for (int i = 0; i < N_OUT; i++) set_null(c->valid[i], row);
}

static void write_event(EventColumns *c, idx_t row, const Event *e) {
	duckdb_vector_assign_string_element_len(c->vector[O_EVENT_ID], row, e->event_id.text, e->event_id.len);
	c->event_time[row] = e->event_time;
	duckdb_vector_assign_string_element_len(c->vector[O_USER_ID], row, e->user_id.text, e->user_id.len);
	duckdb_vector_assign_string_element_len(c->vector[O_SESSION_ID], row, e->session_id.text, e->session_id.len);
	duckdb_vector_assign_string_element_len(c->vector[O_EVENT_TYPE], row, TYPE_NAMES[e->type], TYPE_LENGTHS[e->type]);
	if (e->product_id.text) duckdb_vector_assign_string_element_len(c->vector[O_PRODUCT_ID], row, e->product_id.text, e->product_id.len);
	else set_null(c->valid[O_PRODUCT_ID], row);
	if (e->category_len >= 0) duckdb_vector_assign_string_element_len(c->vector[O_CATEGORY], row, e->category, e->category_len);
	else set_null(c->valid[O_CATEGORY], row);
	if (e->search_query_len >= 0) duckdb_vector_assign_string_element_len(c->vector[O_SEARCH_QUERY], row, e->search_query, e->search_query_len);
	else set_null(c->valid[O_SEARCH_QUERY], row);
	if (e->has_price) c->price[row] = e->price_cents;
	else set_null(c->valid[O_PRICE], row);
	if (e->has_quantity) c->quantity[row] = e->quantity;
	else set_null(c->valid[O_QUANTITY], row);
	if (e->type == PURCHASE) c->revenue[row] = e->price_cents * e->quantity;
	else set_null(c->valid[O_REVENUE], row);
}

static void valid_event_function(duckdb_function_info info, duckdb_data_chunk input, duckdb_vector output) {
	(void)info;
	const idx_t rows = duckdb_data_chunk_get_size(input);
	duckdb_vector lines = duckdb_data_chunk_get_vector(input, 0);
	duckdb_string_t *line_data = (duckdb_string_t *)duckdb_vector_get_data(lines);
	uint64_t *line_validity = duckdb_vector_get_validity(lines);
	duckdb_vector children[N_OUT];
	for (int c = 0; c < N_OUT; c++) children[c] = duckdb_struct_vector_get_child(output, c);
	EventColumns columns = event_columns(children, rows);
	uint64_t *output_valid = writable_validity(output, rows);
	Event e;
	for (idx_t row = 0; row < rows; row++) {
		bool ok = false;
		if (duckdb_validity_row_is_valid(line_validity, row)) {
			duckdb_string_t *s = &line_data[row];
			const uint32_t len = s->value.inlined.length;
			const char *text = len <= 12 ? s->value.inlined.inlined : s->value.pointer.ptr;
			ok = valid_event(text, len, &e);
		}
		if (ok) {
			write_event(&columns, row, &e);
		} else {
			set_null(output_valid, row);
			write_no_event(&columns, row);
		}
	}
}

/*
 * strata_stage_gz(path VARCHAR, first_row BIGINT): a whole bronze file, inflated and classified
 * in one pass, one row per line, blank ones included. It does in C what read-bronze.ts and
 * prepare-lines.ts do in JavaScript, with the same results, without writing the text out and
 * reading it back: one thread inflates into a few reused blocks of whole lines while DuckDB's
 * threads take the blocks and classify their lines. Rows come in any order, so each carries
 * its row id (first_row + its 0-based line number).
 *   - a line with invalid UTF-8, a NUL byte or a leading byte-order mark: 'malformed_json', its
 *     raw text decoded as JavaScript's TextDecoder does (invalid bytes become U+FFFD);
 *   - a line that holds a carriage return is classified with tabs in their place (as
 *     prepare-lines.ts does for DuckDB's line reader): raw_line is that text, cr_line the line;
 *   - the usual valid line: its silver columns (valid_event);
 *   - anything else: CAREFUL, with its text, for the SQL rules.
 * With `set_aside := 'key'` only the usual valid lines come out as rows: every other line
 * (malformed, careful, blank) is kept in memory under that key, and strata_set_aside('key')
 * returns it afterwards (then forgets it). strata writes the rows straight to Parquet that way,
 * and stages only the few lines the SQL rules must judge.
 * Whatever it cannot vouch for ends the query with an error starting "strata_stage_gz:" (not
 * gzip, a damaged or truncated stream, data after the last gzip member, a line longer than a
 * block, an empty file): strata then reads that file the JavaScript way, which decides.
 */
#include "id_spool.h"

#define BLOCK_BYTES (4u << 20)
#define BLOCKS 6
#define INPUT_BYTES (1u << 20)

typedef struct Block {
	char *data;
	size_t len;
	idx_t file; /* which of the bind's files; a block never holds lines of two */
	int64_t first_line;
	struct Block *next;
} Block;

typedef struct {
	char **paths; /* strata_stage_gz takes one file, strata_stage_gz_files several, read in order */
	int64_t *first_rows;
	idx_t files;
	char *set_aside; /* NULL: every line is a row */
	char *id_spool;  /* NULL: no spool of id hashes (id_spool.h) */
	int id_buckets;
} StageBind;

/*
 * Lines set aside by strata_stage_gz(..., set_aside := key), until strata_set_aside(key) takes
 * them. Records, one after another: int64 row id, uint8 kind, uint32 raw length, uint32 cr_line
 * length (NO_CR: none), then the raw bytes and the cr_line bytes.
 */
typedef struct SetAside {
	char *key;
	char *data;
	size_t len, cap;
	/* Progress, for strata_stage_progress(key): files inflated to their end, lines handed over. */
	int64_t files_done, lines_done;
	struct SetAside *next;
} SetAside;

enum AsideKind { ASIDE_MALFORMED = 0, ASIDE_CAREFUL = 1 };
#define NO_CR UINT32_MAX
#define ASIDE_HEADER (8 + 1 + 4 + 4)
/* Past this the query fails (and strata stages the file the usual way): a file of little but rejects. */
#define ASIDE_MAX_BYTES ((size_t)512 << 20)

static pthread_mutex_t asides_mu = PTHREAD_MUTEX_INITIALIZER;
static SetAside *asides;

static void free_aside(SetAside *a) {
	if (!a) return;
	free(a->key);
	free(a->data);
	free(a);
}

/* Takes the set-aside lines under `key` out of the registry (NULL when there are none). */
/* Called with asides_mu held: where the registry holds the record under `key` (*slot NULL: none). */
static SetAside **aside_slot(const char *key, size_t len) {
	SetAside **at = &asides;
	while (*at && !(strlen((*at)->key) == len && memcmp((*at)->key, key, len) == 0)) at = &(*at)->next;
	return at;
}

static SetAside *take_aside(const char *key) {
	pthread_mutex_lock(&asides_mu);
	SetAside **at = aside_slot(key, strlen(key));
	SetAside *found = *at;
	if (found) *at = found->next;
	pthread_mutex_unlock(&asides_mu);
	return found;
}

/* A fresh, registered record of lines set aside under `key`; one left by an earlier query is dropped. */
static SetAside *open_aside(const char *key) {
	free_aside(take_aside(key));
	SetAside *a = calloc(1, sizeof(SetAside));
	const size_t key_len = strlen(key) + 1;
	if (!a || !(a->key = malloc(key_len))) {
		free(a);
		return NULL;
	}
	memcpy(a->key, key, key_len);
	pthread_mutex_lock(&asides_mu);
	a->next = asides;
	asides = a;
	pthread_mutex_unlock(&asides_mu);
	return a;
}

static bool grow(char **data, size_t *cap, size_t need) {
	if (*cap >= need) return true;
	size_t cap2 = *cap ? *cap : 4096;
	while (cap2 < need) cap2 *= 2;
	char *grown = realloc(*data, cap2);
	if (!grown) return false;
	*data = grown;
	*cap = cap2;
	return true;
}

typedef struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	Block *ready, *ready_tail, *spare;
	Block *all[BLOCKS]; /* every block made, wherever it is, freed with the state */
	int blocks;
	bool done, stop;
	char error[512];
	pthread_t producer;
	bool producing;
	const StageBind *bind;
	SetAside *aside; /* registered; owned by the registry, not by this state */
	Spool spool;
	bool spooling;
} StageGlobal;

typedef struct {
	Block *block;
	size_t at;
	int64_t line;
	char *scratch;
	size_t scratch_cap;
	/* Lines set aside from the current block, moved to the query's SetAside when it is done. */
	char *aside;
	size_t aside_len, aside_cap;
	SpoolBuffer spool;
} StageLocal;

/* Called with the lock held: a spare block, a new one while fewer than BLOCKS exist, else waits. */
static Block *spare_block(StageGlobal *g) {
	while (!g->spare && g->blocks >= BLOCKS && !g->stop) pthread_cond_wait(&g->cv, &g->mu);
	if (g->stop) return NULL;
	if (g->spare) {
		Block *b = g->spare;
		g->spare = b->next;
		return b;
	}
	Block *b = calloc(1, sizeof(Block));
	if (!b || !(b->data = malloc(BLOCK_BYTES))) {
		free(b);
		return NULL;
	}
	g->all[g->blocks++] = b;
	return b;
}

/* The producer's next empty block; NULL, with *error set unless the query was stopped, when none. */
static Block *next_spare(StageGlobal *g, const char **error) {
	pthread_mutex_lock(&g->mu);
	Block *b = spare_block(g);
	if (!b && !g->stop) *error = "out of memory";
	pthread_mutex_unlock(&g->mu);
	return b;
}

/* Hands a block of whole lines to the classifying threads. */
static void hand_over(StageGlobal *g, Block *b) {
	pthread_mutex_lock(&g->mu);
	b->next = NULL;
	if (g->ready_tail) g->ready_tail->next = b;
	else g->ready = b;
	g->ready_tail = b;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static bool stopped(StageGlobal *g) {
	pthread_mutex_lock(&g->mu);
	const bool stop = g->stop;
	pthread_mutex_unlock(&g->mu);
	return stop;
}

/* A block the producer did not fill: back to the spares. */
static void give_back(StageGlobal *g, Block *b) {
	pthread_mutex_lock(&g->mu);
	b->next = g->spare;
	g->spare = b;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static void finish_producing(StageGlobal *g, const char *path, const char *error) {
	pthread_mutex_lock(&g->mu);
	if (error && !g->error[0]) snprintf(g->error, sizeof g->error, "strata_stage_gz: %s: %s", path, error);
	g->done = true;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static int64_t count_newlines(const char *p, size_t n) {
	int64_t k = 0;
	for (const char *end = p + n; (p = memchr(p, '\n', (size_t)(end - p))); p++) k++;
	return k;
}

/* Counts progress where strata_stage_progress can read it (only with set_aside). */
static void report_progress(StageGlobal *g, int64_t files, int64_t lines) {
	if (!g->aside) return;
	pthread_mutex_lock(&asides_mu);
	g->aside->files_done += files;
	g->aside->lines_done += lines;
	pthread_mutex_unlock(&asides_mu);
}

/*
 * One file's gzip members, one after another (as Node's gunzip reads them), into blocks of
 * whole lines. Returns an error, or NULL.
 */
static const char *inflate_file(StageGlobal *g, idx_t f, unsigned char *input, z_stream *z) {
	FILE *file = fopen(g->bind->paths[f], "rb");
	if (!file) return "cannot open";
	if (inflateReset2(z, 16 + MAX_WBITS) != Z_OK) {
		fclose(file);
		return "inflateReset failed";
	}
	z->avail_in = 0;
	const char *error = NULL;
	Block *block = NULL;
	int64_t line = 0; /* lines handed out so far */
	bool member_ended = false, any_input = false, file_ended = false, output_full = false;
	for (;;) {
		if (!block) {
			if (!(block = next_spare(g, &error))) break;
			block->len = 0;
			block->file = f;
		}
		if (z->avail_in == 0 && !file_ended) {
			z->next_in = input;
			z->avail_in = (uInt)fread(input, 1, INPUT_BYTES, file);
			if (z->avail_in == 0) {
				if (ferror(file)) { error = "read error"; break; }
				file_ended = true;
			} else {
				any_input = true;
			}
		}
		if (member_ended) {
			if (z->avail_in == 0 && file_ended) break;
			/* Another member must follow at once; anything else is left to the JavaScript reader. */
			if (z->avail_in < 2 && !file_ended) {
				unsigned char first = z->next_in[0];
				size_t more = fread(input + 1, 1, INPUT_BYTES - 1, file);
				input[0] = first;
				z->next_in = input;
				z->avail_in = (uInt)(1 + more);
			}
			if (z->avail_in < 2 || z->next_in[0] != 0x1f || z->next_in[1] != 0x8b) { error = "data after the gzip stream"; break; }
			if (inflateReset(z) != Z_OK) { error = "inflateReset failed"; break; }
			member_ended = false;
		}
		if (file_ended && z->avail_in == 0 && !output_full) {
			error = any_input ? "truncated gzip stream" : "empty file";
			break;
		}
		z->next_out = (Bytef *)block->data + block->len;
		z->avail_out = (uInt)(BLOCK_BYTES - block->len);
		const int rc = inflate(z, Z_NO_FLUSH);
		if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) { error = z->msg ? z->msg : "damaged gzip stream"; break; }
		block->len = BLOCK_BYTES - z->avail_out;
		output_full = z->avail_out == 0; /* zlib may hold more output without needing input */
		if (rc == Z_STREAM_END) member_ended = true;
		if (block->len < BLOCK_BYTES) continue;
		/* A full block: hand over its whole lines, carry the unfinished one into the next block. */
		size_t cut = block->len;
		while (cut > 0 && block->data[cut - 1] != '\n') cut--;
		if (cut == 0) { error = "a line longer than a block"; break; }
		Block *next = next_spare(g, &error);
		if (!next) break;
		next->len = block->len - cut;
		next->file = f;
		memcpy(next->data, block->data + cut, next->len);
		block->len = cut;
		block->first_line = line;
		const int64_t lines = count_newlines(block->data, cut);
		line += lines;
		hand_over(g, block);
		report_progress(g, 0, lines);
		block = next;
	}
	if (!error && block && block->len > 0) {
		/* The last block: whatever is left, its last line possibly without a newline. */
		block->first_line = line;
		const int64_t lines = count_newlines(block->data, block->len) + (block->data[block->len - 1] != '\n');
		hand_over(g, block);
		report_progress(g, 1, lines);
	} else if (!error) {
		if (block) give_back(g, block);
		report_progress(g, 1, 0);
	}
	/* On an error the block not handed over is freed with the state, like every other (StageGlobal.all). */
	fclose(file);
	return error;
}

/* The producer: the bind's files, one after another. */
static void *produce(void *arg) {
	StageGlobal *g = arg;
	unsigned char *input = malloc(INPUT_BYTES);
	z_stream z;
	memset(&z, 0, sizeof z);
	if (!input || inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
		free(input);
		finish_producing(g, g->bind->paths[0], "out of memory");
		return NULL;
	}
	const char *error = NULL;
	idx_t f = 0;
	for (; f < g->bind->files && !error && !stopped(g); f++) error = inflate_file(g, f, input, &z);
	inflateEnd(&z);
	free(input);
	finish_producing(g, error ? g->bind->paths[f - 1] : NULL, error);
	return NULL;
}

static void free_stage_bind(void *p) {
	StageBind *b = p;
	for (idx_t i = 0; b->paths && i < b->files; i++) {
		if (b->paths[i]) duckdb_free(b->paths[i]);
	}
	free(b->paths);
	free(b->first_rows);
	if (b->set_aside) duckdb_free(b->set_aside);
	if (b->id_spool) duckdb_free(b->id_spool);
	free(b);
}

/* The bind's files from a path and a first row, or from two lists of them (strata_stage_gz_files). */
static const char *bind_files(StageBind *b, duckdb_value path, duckdb_value first_row, bool lists) {
	b->files = lists ? duckdb_get_list_size(path) : 1;
	if (b->files == 0) return "no files";
	if (lists && duckdb_get_list_size(first_row) != b->files) return "as many first rows as paths are needed";
	if (!(b->paths = calloc(b->files, sizeof(char *))) || !(b->first_rows = calloc(b->files, sizeof(int64_t)))) return "out of memory";
	for (idx_t i = 0; i < b->files; i++) {
		duckdb_value p = lists ? duckdb_get_list_child(path, i) : path;
		duckdb_value r = lists ? duckdb_get_list_child(first_row, i) : first_row;
		b->paths[i] = duckdb_get_varchar(p);
		b->first_rows[i] = duckdb_get_int64(r);
		if (lists) {
			duckdb_destroy_value(&p);
			duckdb_destroy_value(&r);
		}
		if (!b->paths[i]) return "out of memory";
	}
	return NULL;
}

static void bind_stage(duckdb_bind_info info, bool lists) {
	StageBind *b = calloc(1, sizeof(StageBind));
	if (!b) {
		duckdb_bind_set_error(info, "strata_stage_gz: out of memory");
		return;
	}
	duckdb_bind_set_bind_data(info, b, free_stage_bind);
	duckdb_value path = duckdb_bind_get_parameter(info, 0);
	duckdb_value first_row = duckdb_bind_get_parameter(info, 1);
	duckdb_value set_aside = duckdb_bind_get_named_parameter(info, "set_aside");
	duckdb_value id_spool = duckdb_bind_get_named_parameter(info, "id_spool");
	duckdb_value id_buckets = duckdb_bind_get_named_parameter(info, "id_buckets");
	const char *error = bind_files(b, path, first_row, lists);
	if (set_aside && !duckdb_is_null_value(set_aside)) b->set_aside = duckdb_get_varchar(set_aside);
	if (id_spool && !duckdb_is_null_value(id_spool)) {
		b->id_spool = duckdb_get_varchar(id_spool);
		b->id_buckets = id_buckets && !duckdb_is_null_value(id_buckets) ? duckdb_get_int32(id_buckets) : 1;
	}
	if (id_spool) duckdb_destroy_value(&id_spool);
	if (id_buckets) duckdb_destroy_value(&id_buckets);
	duckdb_destroy_value(&path);
	duckdb_destroy_value(&first_row);
	if (set_aside) duckdb_destroy_value(&set_aside);
	if (error) {
		char message[128];
		snprintf(message, sizeof message, "strata_stage_gz: %s", error);
		duckdb_bind_set_error(info, message);
		return;
	}
	static const char *const NAMES[N_OUT] = {"event_id",     "event_time", "user_id", "session_id", "event_type", "product_id",
	                                         "category",     "search_query", "price", "quantity",   "revenue"};
	duckdb_logical_type varchar = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
	duckdb_logical_type bigint = duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
	duckdb_logical_type timestamp = duckdb_create_logical_type(DUCKDB_TYPE_TIMESTAMP);
	duckdb_logical_type integer = duckdb_create_logical_type(DUCKDB_TYPE_INTEGER);
	duckdb_logical_type price = duckdb_create_decimal_type(12, 2);
	duckdb_logical_type revenue = duckdb_create_decimal_type(18, 2);
	duckdb_logical_type types[N_OUT] = {varchar, timestamp, varchar, varchar, varchar, varchar, varchar, varchar, price, integer, revenue};
	duckdb_bind_add_result_column(info, "row_id", bigint);
	duckdb_bind_add_result_column(info, "reason", varchar);
	duckdb_bind_add_result_column(info, "raw_line", varchar);
	duckdb_bind_add_result_column(info, "cr_line", varchar);
	for (int c = 0; c < N_OUT; c++) duckdb_bind_add_result_column(info, NAMES[c], types[c]);
	duckdb_destroy_logical_type(&varchar);
	duckdb_destroy_logical_type(&bigint);
	duckdb_destroy_logical_type(&timestamp);
	duckdb_destroy_logical_type(&integer);
	duckdb_destroy_logical_type(&price);
	duckdb_destroy_logical_type(&revenue);
}

static void stage_bind(duckdb_bind_info info) {
	bind_stage(info, false);
}

static void stage_files_bind(duckdb_bind_info info) {
	bind_stage(info, true);
}

static void free_stage_global(void *p) {
	StageGlobal *g = p;
	if (g->producing) {
		pthread_mutex_lock(&g->mu);
		g->stop = true; /* a query that ends early (an error, LIMIT) must not leave the producer waiting */
		pthread_cond_broadcast(&g->cv);
		pthread_mutex_unlock(&g->mu);
		pthread_join(g->producer, NULL);
	}
	if (g->spooling) spool_close(&g->spool);
	for (int i = 0; i < g->blocks; i++) {
		free(g->all[i]->data);
		free(g->all[i]);
	}
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv);
	free(g);
}

static void stage_init(duckdb_init_info info) {
	StageGlobal *g = calloc(1, sizeof(StageGlobal));
	if (!g) {
		duckdb_init_set_error(info, "strata_stage_gz: out of memory");
		return;
	}
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	duckdb_init_set_init_data(info, g, free_stage_global);
	g->bind = duckdb_init_get_bind_data(info);
	if (g->bind->set_aside && !(g->aside = open_aside(g->bind->set_aside))) {
		duckdb_init_set_error(info, "strata_stage_gz: out of memory");
		return;
	}
	if (g->bind->id_spool) {
		g->spooling = true;
		const char *error = spool_open(&g->spool, g->bind->id_spool, g->bind->id_buckets);
		if (error) {
			char message[128];
			snprintf(message, sizeof message, "strata_stage_gz: %s", error);
			duckdb_init_set_error(info, message);
			return;
		}
	}
	g->producing = pthread_create(&g->producer, NULL, produce, g) == 0;
	if (!g->producing) duckdb_init_set_error(info, "strata_stage_gz: cannot start a thread");
	/* One thread inflates; DuckDB's threads (two here) classify what it hands over. */
	duckdb_init_set_max_threads(info, 8);
}

static void free_stage_local(void *p) {
	StageLocal *l = p;
	free(l->scratch);
	free(l->aside);
	free(l->spool.hashes);
	free(l);
}

static void stage_local_init(duckdb_init_info info) {
	StageLocal *l = calloc(1, sizeof(StageLocal));
	if (!l) {
		duckdb_init_set_error(info, "strata_stage_gz: out of memory");
		return;
	}
	duckdb_init_set_init_data(info, l, free_stage_local);
}

static bool reserve_scratch(StageLocal *l, size_t bytes) {
	if (l->scratch_cap >= bytes) return true;
	char *grown = realloc(l->scratch, bytes);
	if (!grown) return false;
	l->scratch = grown;
	l->scratch_cap = bytes;
	return true;
}

/*
 * UTF-8 to UTF-8 as the WHATWG Encoding Standard decodes it (TextDecoder with fatal: false):
 * each maximal invalid subpart becomes U+FFFD. Returns the output length; *replaced tells
 * whether anything was invalid. `out` holds at least 3 * n bytes.
 */
static size_t decode_utf8(const unsigned char *in, size_t n, char *out, bool *replaced) {
	static const char FFFD[3] = {(char)0xEF, (char)0xBF, (char)0xBD};
	size_t o = 0, start = 0;
	int needed = 0, seen = 0;
	unsigned char lower = 0x80, upper = 0xBF;
	*replaced = false;
	for (size_t i = 0; i < n; i++) {
		const unsigned char c = in[i];
		if (needed == 0) {
			start = i;
			if (c <= 0x7F) {
				out[o++] = (char)c;
			} else if (c >= 0xC2 && c <= 0xDF) {
				needed = 1;
			} else if (c >= 0xE0 && c <= 0xEF) {
				if (c == 0xE0) lower = 0xA0;
				if (c == 0xED) upper = 0x9F;
				needed = 2;
			} else if (c >= 0xF0 && c <= 0xF4) {
				if (c == 0xF0) lower = 0x90;
				if (c == 0xF4) upper = 0x8F;
				needed = 3;
			} else {
				memcpy(out + o, FFFD, 3), o += 3, *replaced = true;
			}
			continue;
		}
		if (c < lower || c > upper) {
			needed = seen = 0, lower = 0x80, upper = 0xBF;
			memcpy(out + o, FFFD, 3), o += 3, *replaced = true;
			i--; /* the byte starts over */
			continue;
		}
		lower = 0x80, upper = 0xBF;
		if (++seen == needed) {
			memcpy(out + o, in + start, i + 1 - start), o += i + 1 - start;
			needed = seen = 0;
		}
	}
	if (needed) memcpy(out + o, FFFD, 3), o += 3, *replaced = true;
	return o;
}

/* Keeps one line for strata_set_aside: its row id, kind, text and (NULL unless cr) its own line. */
static bool set_aside_line(StageLocal *l, int64_t row_id, uint8_t kind, const char *raw, size_t raw_len, const char *cr, size_t cr_len) {
	const size_t need = l->aside_len + ASIDE_HEADER + raw_len + (cr ? cr_len : 0);
	if (!grow(&l->aside, &l->aside_cap, need)) return false;
	char *at = l->aside + l->aside_len;
	const uint32_t raw32 = (uint32_t)raw_len, cr32 = cr ? (uint32_t)cr_len : NO_CR;
	memcpy(at, &row_id, 8);
	at[8] = (char)kind;
	memcpy(at + 9, &raw32, 4);
	memcpy(at + 13, &cr32, 4);
	memcpy(at + ASIDE_HEADER, raw, raw_len);
	if (cr) memcpy(at + ASIDE_HEADER + raw_len, cr, cr_len);
	l->aside_len = need;
	return true;
}

/* Called with g->mu held: moves a thread's set-aside lines to the query's record. */
static const char *flush_aside(StageGlobal *g, StageLocal *l) {
	if (!g->aside || l->aside_len == 0) return NULL;
	SetAside *a = g->aside;
	if (a->len + l->aside_len > ASIDE_MAX_BYTES) return "strata_stage_gz: too many lines to set aside";
	if (!grow(&a->data, &a->cap, a->len + l->aside_len)) return "strata_stage_gz: out of memory";
	memcpy(a->data + a->len, l->aside, l->aside_len);
	a->len += l->aside_len;
	l->aside_len = 0;
	return NULL;
}

/*
 * Gives the thread its next block of lines, returning the one it finished. False when there is
 * none left, or on an error (then set on `info`).
 */
static bool next_block(duckdb_function_info info, StageGlobal *g, StageLocal *l) {
	pthread_mutex_lock(&g->mu);
	const char *failed = flush_aside(g, l);
	if (failed && !g->error[0]) snprintf(g->error, sizeof g->error, "%s", failed);
	if (l->block) {
		l->block->next = g->spare;
		g->spare = l->block;
		l->block = NULL;
		pthread_cond_broadcast(&g->cv);
	}
	while (!g->ready && !g->done && !g->error[0]) pthread_cond_wait(&g->cv, &g->mu);
	if (g->ready && !g->error[0]) {
		l->block = g->ready;
		g->ready = l->block->next;
		if (!g->ready) g->ready_tail = NULL;
		l->at = 0;
		l->line = l->block->first_line;
	}
	char error[sizeof g->error];
	memcpy(error, g->error, sizeof error);
	pthread_mutex_unlock(&g->mu);
	if (error[0]) {
		duckdb_function_set_error(info, error);
		return false;
	}
	return l->block != NULL;
}

static void stage_function(duckdb_function_info info, duckdb_data_chunk output) {
	StageGlobal *g = duckdb_function_get_init_data(info);
	StageLocal *l = duckdb_function_get_local_init_data(info);
	const idx_t capacity = duckdb_vector_size();
	duckdb_vector row_id = duckdb_data_chunk_get_vector(output, 0);
	duckdb_vector reason = duckdb_data_chunk_get_vector(output, 1);
	duckdb_vector raw_line = duckdb_data_chunk_get_vector(output, 2);
	duckdb_vector cr_line = duckdb_data_chunk_get_vector(output, 3);
	int64_t *row_ids = (int64_t *)duckdb_vector_get_data(row_id);
	uint64_t *reason_valid = writable_validity(reason, capacity);
	uint64_t *raw_valid = writable_validity(raw_line, capacity);
	uint64_t *cr_valid = writable_validity(cr_line, capacity);
	duckdb_vector children[N_OUT];
	for (int c = 0; c < N_OUT; c++) children[c] = duckdb_data_chunk_get_vector(output, 4 + c);
	EventColumns columns = event_columns(children, capacity);
	const bool aside = g->aside != NULL;
	Event e;
	idx_t row = 0;
	/* A chunk of no rows ends the scan: with lines set aside, a block may give none, so take the next. */
	while (row == 0) {
		if ((!l->block || l->at >= l->block->len) && !next_block(info, g, l)) {
			/* This thread's last call: its hashes go to the spool before the query ends. */
			if (g->spooling && !spool_flush(&g->spool, &l->spool)) duckdb_function_set_error(info, "strata_stage_gz: cannot write the id spool");
			break;
		}
		const char *data = l->block->data;
		const size_t len = l->block->len;
		while (row < capacity && l->at < len) {
			const char *line = data + l->at;
			const char *newline = memchr(line, '\n', len - l->at);
			const size_t n = newline ? (size_t)(newline - line) : len - l->at;
			l->at += n + (newline ? 1 : 0);
			const int64_t id = g->bind->first_rows[l->block->file] + l->line++;
			bool high = false, nul = false, cr = false;
			for (size_t i = 0; i < n; i++) {
				const unsigned char c = (unsigned char)line[i];
				if (c < 0x0e || c >= 0x80) {
					high |= c >= 0x80;
					nul |= c == 0;
					cr |= c == '\r';
				}
			}
			const bool bom = n >= 3 && (unsigned char)line[0] == 0xEF && (unsigned char)line[1] == 0xBB && (unsigned char)line[2] == 0xBF;
			if ((high || cr) && !reserve_scratch(l, 3 * n + 1)) {
				duckdb_function_set_error(info, "strata_stage_gz: out of memory");
				return;
			}
			/* Without bytes over 0x7F a line decodes to itself. */
			bool invalid = false;
			const size_t decoded = high ? decode_utf8((const unsigned char *)line, n, l->scratch, &invalid) : n;
			if (invalid || nul || bom) {
				/* Rejected whole, as prepare-lines.ts does; the text as TextDecoder gives it. */
				const char *text = high ? l->scratch : line;
				if (aside) {
					if (!set_aside_line(l, id, ASIDE_MALFORMED, text, decoded, NULL, 0)) goto out_of_memory;
					continue;
				}
				row_ids[row] = id;
				set_null(cr_valid, row);
				duckdb_vector_assign_string_element_len(reason, row, "malformed_json", 14);
				duckdb_vector_assign_string_element_len(raw_line, row, text, decoded);
				write_no_event(&columns, row);
				row++;
				continue;
			}
			const char *text = line;
			if (cr) {
				for (size_t i = 0; i < n; i++) l->scratch[i] = line[i] == '\r' ? '\t' : line[i];
				text = l->scratch;
			}
			if (!valid_event(text, (uint32_t)n, &e)) {
				if (aside) {
					if (!set_aside_line(l, id, ASIDE_CAREFUL, text, n, cr ? line : NULL, n)) goto out_of_memory;
					continue;
				}
				row_ids[row] = id;
				duckdb_vector_assign_string_element_len(reason, row, "careful", 7);
				duckdb_vector_assign_string_element_len(raw_line, row, text, n);
				write_no_event(&columns, row);
			} else {
				row_ids[row] = id;
				set_null(reason_valid, row);
				set_null(raw_valid, row);
				write_event(&columns, row, &e);
				if (g->spooling && !spool_add(&g->spool, &l->spool, e.event_id.text, e.event_id.len)) {
					duckdb_function_set_error(info, "strata_stage_gz: cannot write the id spool");
					return;
				}
			}
			if (cr) {
				duckdb_vector_assign_string_element_len(cr_line, row, line, n);
				cr_valid[row / 64] |= (uint64_t)1 << (row % 64);
			} else {
				set_null(cr_valid, row);
			}
			row++;
		}
	}
	duckdb_data_chunk_set_size(output, row);
	return;
out_of_memory:
	duckdb_function_set_error(info, "strata_stage_gz: out of memory");
}

/*
 * strata_set_aside(key VARCHAR): the lines strata_stage_gz(..., set_aside := key) set aside, as
 * (row_id, reason, raw_line, cr_line) with reason 'malformed_json' or 'careful', in no order;
 * none when there are none. Taking them forgets them.
 */
typedef struct {
	SetAside *taken;
} AsideBind;

typedef struct {
	size_t at;
} AsideScan;

static void free_aside_bind(void *p) {
	AsideBind *b = p;
	free_aside(b->taken);
	free(b);
}

static void aside_bind(duckdb_bind_info info) {
	AsideBind *b = calloc(1, sizeof(AsideBind));
	duckdb_value key = duckdb_bind_get_parameter(info, 0);
	char *text = key ? duckdb_get_varchar(key) : NULL;
	if (key) duckdb_destroy_value(&key);
	if (!b || !text) {
		free(b);
		if (text) duckdb_free(text);
		duckdb_bind_set_error(info, "strata_set_aside: out of memory");
		return;
	}
	b->taken = take_aside(text);
	duckdb_free(text);
	duckdb_logical_type varchar = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
	duckdb_logical_type bigint = duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
	duckdb_bind_add_result_column(info, "row_id", bigint);
	duckdb_bind_add_result_column(info, "reason", varchar);
	duckdb_bind_add_result_column(info, "raw_line", varchar);
	duckdb_bind_add_result_column(info, "cr_line", varchar);
	duckdb_destroy_logical_type(&varchar);
	duckdb_destroy_logical_type(&bigint);
	duckdb_bind_set_bind_data(info, b, free_aside_bind);
}

static void aside_init(duckdb_init_info info) {
	AsideScan *s = calloc(1, sizeof(AsideScan));
	if (!s) {
		duckdb_init_set_error(info, "strata_set_aside: out of memory");
		return;
	}
	duckdb_init_set_init_data(info, s, free);
	duckdb_init_set_max_threads(info, 1);
}

static void aside_function(duckdb_function_info info, duckdb_data_chunk output) {
	const AsideBind *b = duckdb_function_get_bind_data(info);
	AsideScan *s = duckdb_function_get_init_data(info);
	const SetAside *a = b->taken;
	duckdb_vector row_id = duckdb_data_chunk_get_vector(output, 0);
	duckdb_vector reason = duckdb_data_chunk_get_vector(output, 1);
	duckdb_vector raw_line = duckdb_data_chunk_get_vector(output, 2);
	duckdb_vector cr_line = duckdb_data_chunk_get_vector(output, 3);
	const idx_t capacity = duckdb_vector_size();
	int64_t *row_ids = (int64_t *)duckdb_vector_get_data(row_id);
	uint64_t *cr_valid = writable_validity(cr_line, capacity);
	idx_t row = 0;
	for (; a && row < capacity && s->at < a->len; row++) {
		const char *at = a->data + s->at;
		uint32_t raw_len, cr_len;
		memcpy(&row_ids[row], at, 8);
		memcpy(&raw_len, at + 9, 4);
		memcpy(&cr_len, at + 13, 4);
		if (at[8] == ASIDE_MALFORMED) duckdb_vector_assign_string_element_len(reason, row, "malformed_json", 14);
		else duckdb_vector_assign_string_element_len(reason, row, "careful", 7);
		duckdb_vector_assign_string_element_len(raw_line, row, at + ASIDE_HEADER, raw_len);
		if (cr_len == NO_CR) {
			set_null(cr_valid, row);
			cr_len = 0;
		} else {
			duckdb_vector_assign_string_element_len(cr_line, row, at + ASIDE_HEADER + raw_len, cr_len);
		}
		s->at += ASIDE_HEADER + raw_len + cr_len;
	}
	duckdb_data_chunk_set_size(output, row);
}

static bool register_set_aside(duckdb_connection connection) {
	duckdb_table_function function = duckdb_create_table_function();
	duckdb_table_function_set_name(function, "strata_set_aside");
	duckdb_logical_type varchar = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
	duckdb_table_function_add_parameter(function, varchar);
	duckdb_destroy_logical_type(&varchar);
	duckdb_table_function_set_bind(function, aside_bind);
	duckdb_table_function_set_init(function, aside_init);
	duckdb_table_function_set_function(function, aside_function);
	const bool registered = duckdb_register_table_function(connection, function) == DuckDBSuccess;
	duckdb_destroy_table_function(&function);
	return registered;
}

/*
 * strata_stage_gz(path VARCHAR, first_row BIGINT) and strata_stage_gz_files(paths VARCHAR[],
 * first_rows BIGINT[]): the same rows, from one file or from several read one after another.
 */
static bool register_stage_gz(duckdb_connection connection, const char *name, bool lists) {
	duckdb_table_function function = duckdb_create_table_function();
	duckdb_table_function_set_name(function, name);
	duckdb_logical_type varchar = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
	duckdb_logical_type bigint = duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
	duckdb_logical_type varchars = duckdb_create_list_type(varchar);
	duckdb_logical_type bigints = duckdb_create_list_type(bigint);
	duckdb_table_function_add_parameter(function, lists ? varchars : varchar);
	duckdb_table_function_add_parameter(function, lists ? bigints : bigint);
	duckdb_table_function_add_named_parameter(function, "set_aside", varchar);
	duckdb_table_function_add_named_parameter(function, "id_spool", varchar);
	duckdb_logical_type integer = duckdb_create_logical_type(DUCKDB_TYPE_INTEGER);
	duckdb_table_function_add_named_parameter(function, "id_buckets", integer);
	duckdb_destroy_logical_type(&integer);
	duckdb_destroy_logical_type(&varchar);
	duckdb_destroy_logical_type(&bigint);
	duckdb_destroy_logical_type(&varchars);
	duckdb_destroy_logical_type(&bigints);
	duckdb_table_function_set_bind(function, lists ? stage_files_bind : stage_bind);
	duckdb_table_function_set_init(function, stage_init);
	duckdb_table_function_set_local_init(function, stage_local_init);
	duckdb_table_function_set_function(function, stage_function);
	const bool registered = duckdb_register_table_function(connection, function) == DuckDBSuccess;
	duckdb_destroy_table_function(&function);
	return registered;
}

/*
 * strata_stage_progress(key VARCHAR) -> STRUCT(files BIGINT, lines BIGINT): how far the running
 * strata_stage_gz(..., set_aside := key) has inflated (files to their end, lines handed over);
 * NULL when no such query runs or ran. Another connection polls it for the progress bar.
 */
static void progress_function(duckdb_function_info info, duckdb_data_chunk input, duckdb_vector output) {
	(void)info;
	const idx_t rows = duckdb_data_chunk_get_size(input);
	duckdb_vector keys = duckdb_data_chunk_get_vector(input, 0);
	duckdb_string_t *key_data = (duckdb_string_t *)duckdb_vector_get_data(keys);
	uint64_t *key_validity = duckdb_vector_get_validity(keys);
	int64_t *files = (int64_t *)duckdb_vector_get_data(duckdb_struct_vector_get_child(output, 0));
	int64_t *lines = (int64_t *)duckdb_vector_get_data(duckdb_struct_vector_get_child(output, 1));
	uint64_t *output_valid = writable_validity(output, rows);
	for (idx_t row = 0; row < rows; row++) {
		bool found = false;
		files[row] = lines[row] = 0;
		if (duckdb_validity_row_is_valid(key_validity, row)) {
			duckdb_string_t *k = &key_data[row];
			const uint32_t len = k->value.inlined.length;
			const char *text = len <= 12 ? k->value.inlined.inlined : k->value.pointer.ptr;
			pthread_mutex_lock(&asides_mu);
			const SetAside *a = *aside_slot(text, len);
			if ((found = a != NULL)) {
				files[row] = a->files_done;
				lines[row] = a->lines_done;
			}
			pthread_mutex_unlock(&asides_mu);
		}
		if (!found) set_null(output_valid, row);
	}
}

static bool register_progress(duckdb_connection connection) {
	duckdb_logical_type varchar = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
	duckdb_logical_type bigint = duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
	duckdb_logical_type members[2] = {bigint, bigint};
	const char *names[2] = {"files", "lines"};
	duckdb_logical_type result = duckdb_create_struct_type(members, names, 2);
	duckdb_scalar_function function = duckdb_create_scalar_function();
	duckdb_scalar_function_set_name(function, "strata_stage_progress");
	duckdb_scalar_function_add_parameter(function, varchar);
	duckdb_scalar_function_set_return_type(function, result);
	duckdb_scalar_function_set_volatile(function);
	duckdb_scalar_function_set_function(function, progress_function);
	const bool registered = duckdb_register_scalar_function(connection, function) == DuckDBSuccess;
	duckdb_destroy_scalar_function(&function);
	duckdb_destroy_logical_type(&result);
	duckdb_destroy_logical_type(&varchar);
	duckdb_destroy_logical_type(&bigint);
	return registered;
}

DUCKDB_EXTENSION_ENTRYPOINT(duckdb_connection connection, duckdb_extension_info info, struct duckdb_extension_access *access) {
	static const char *const NAMES[N_OUT] = {"event_id",     "event_time", "user_id", "session_id", "event_type", "product_id",
	                                         "category",     "search_query", "price", "quantity",   "revenue"};
	duckdb_logical_type varchar = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
	duckdb_logical_type timestamp = duckdb_create_logical_type(DUCKDB_TYPE_TIMESTAMP);
	duckdb_logical_type integer = duckdb_create_logical_type(DUCKDB_TYPE_INTEGER);
	duckdb_logical_type price = duckdb_create_decimal_type(12, 2);
	duckdb_logical_type revenue = duckdb_create_decimal_type(18, 2);
	duckdb_logical_type types[N_OUT] = {varchar, timestamp, varchar, varchar, varchar, varchar, varchar, varchar, price, integer, revenue};
	duckdb_logical_type result = duckdb_create_struct_type(types, (const char **)NAMES, N_OUT);

	duckdb_scalar_function function = duckdb_create_scalar_function();
	duckdb_scalar_function_set_name(function, "strata_valid_event");
	duckdb_scalar_function_add_parameter(function, varchar);
	duckdb_scalar_function_set_return_type(function, result);
	duckdb_scalar_function_set_function(function, valid_event_function);
	const bool registered = duckdb_register_scalar_function(connection, function) == DuckDBSuccess;
	duckdb_destroy_scalar_function(&function);
	duckdb_destroy_logical_type(&result);
	duckdb_destroy_logical_type(&varchar);
	duckdb_destroy_logical_type(&timestamp);
	duckdb_destroy_logical_type(&integer);
	duckdb_destroy_logical_type(&price);
	duckdb_destroy_logical_type(&revenue);
	if (!registered) {
		access->set_error(info, "strata_rules: could not register strata_valid_event");
		return false;
	}
	if (!register_stage_gz(connection, "strata_stage_gz", false) || !register_stage_gz(connection, "strata_stage_gz_files", true) ||
	    !register_progress(connection)) {
		access->set_error(info, "strata_rules: could not register strata_stage_gz");
		return false;
	}
	if (!register_set_aside(connection)) {
		access->set_error(info, "strata_rules: could not register strata_set_aside");
		return false;
	}
	if (!register_id_spool(connection)) {
		access->set_error(info, "strata_rules: could not register strata_spooled_repeats");
		return false;
	}
	return true;
}
