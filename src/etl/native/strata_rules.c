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

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

DUCKDB_EXTENSION_EXTERN

enum Field { EVENT_ID, TIMESTAMP, USER_ID, SESSION_ID, EVENT_TYPE, PRODUCT_ID, CATEGORY, PRICE, QUANTITY, SEARCH_QUERY, N_FIELDS };

enum Kind { ABSENT = 0, JSON_NULL, STRING, NUMBER };
typedef struct {
	enum Kind kind;
	const char *text; /* a string's content without quotes, or a number's text */
	uint32_t len;
	bool ascii;
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

/* A string without escapes or control characters (anything else takes the SQL rules); p is past the quote. */
static const char *scan_plain_string(const char *p, const char *end, bool *ascii) {
	bool only_ascii = true;
	while (p < end) {
		unsigned char c = (unsigned char)*p;
		if (c == '"') {
			*ascii = only_ascii;
			return p;
		}
		if (c < 0x20 || c == '\\') return NULL;
		if (c >= 0x80) only_ascii = false;
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
		bool ascii;
		const char *key = p;
		p = scan_plain_string(p, end, &ascii);
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
			p = scan_plain_string(p, end, &v->ascii);
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
	if (v[TIMESTAMP].kind != STRING || !v[TIMESTAMP].ascii || !parse_timestamp(&v[TIMESTAMP], &e->event_time)) return false;
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
		if (text->kind == NUMBER || (text->kind == STRING && (!text->ascii || text->len >= 256))) return false;
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

static void valid_event_function(duckdb_function_info info, duckdb_data_chunk input, duckdb_vector output) {
	(void)info;
	const idx_t rows = duckdb_data_chunk_get_size(input);
	duckdb_vector lines = duckdb_data_chunk_get_vector(input, 0);
	duckdb_string_t *line_data = (duckdb_string_t *)duckdb_vector_get_data(lines);
	uint64_t *line_validity = duckdb_vector_get_validity(lines);
	duckdb_vector out[N_OUT];
	uint64_t *valid[N_OUT];
	for (int c = 0; c < N_OUT; c++) {
		out[c] = duckdb_struct_vector_get_child(output, c);
		valid[c] = writable_validity(out[c], rows);
	}
	uint64_t *output_valid = writable_validity(output, rows);
	int64_t *event_time = (int64_t *)duckdb_vector_get_data(out[O_EVENT_TIME]);
	int64_t *price = (int64_t *)duckdb_vector_get_data(out[O_PRICE]);
	int32_t *quantity = (int32_t *)duckdb_vector_get_data(out[O_QUANTITY]);
	int64_t *revenue = (int64_t *)duckdb_vector_get_data(out[O_REVENUE]);
	Event e;
	for (idx_t row = 0; row < rows; row++) {
		bool ok = false;
		if (duckdb_validity_row_is_valid(line_validity, row)) {
			duckdb_string_t *s = &line_data[row];
			const uint32_t len = s->value.inlined.length;
			const char *text = len <= 12 ? s->value.inlined.inlined : s->value.pointer.ptr;
			ok = valid_event(text, len, &e);
		}
		if (!ok) {
			set_null(output_valid, row);
			for (int c = 0; c < N_OUT; c++) set_null(valid[c], row);
			continue;
		}
		duckdb_vector_assign_string_element_len(out[O_EVENT_ID], row, e.event_id.text, e.event_id.len);
		event_time[row] = e.event_time;
		duckdb_vector_assign_string_element_len(out[O_USER_ID], row, e.user_id.text, e.user_id.len);
		duckdb_vector_assign_string_element_len(out[O_SESSION_ID], row, e.session_id.text, e.session_id.len);
		duckdb_vector_assign_string_element_len(out[O_EVENT_TYPE], row, TYPE_NAMES[e.type], TYPE_LENGTHS[e.type]);
		if (e.product_id.text) duckdb_vector_assign_string_element_len(out[O_PRODUCT_ID], row, e.product_id.text, e.product_id.len);
		else set_null(valid[O_PRODUCT_ID], row);
		if (e.category_len >= 0) duckdb_vector_assign_string_element_len(out[O_CATEGORY], row, e.category, e.category_len);
		else set_null(valid[O_CATEGORY], row);
		if (e.search_query_len >= 0) duckdb_vector_assign_string_element_len(out[O_SEARCH_QUERY], row, e.search_query, e.search_query_len);
		else set_null(valid[O_SEARCH_QUERY], row);
		if (e.has_price) price[row] = e.price_cents;
		else set_null(valid[O_PRICE], row);
		if (e.has_quantity) quantity[row] = e.quantity;
		else set_null(valid[O_QUANTITY], row);
		if (e.type == PURCHASE) revenue[row] = e.price_cents * e.quantity;
		else set_null(valid[O_REVENUE], row);
	}
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
	if (!registered) access->set_error(info, "strata_rules: could not register strata_valid_event");
	return registered;
}
