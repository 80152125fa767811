/*
 * Duplicate event ids across a whole run, found in bounded memory (staging.ts, finish).
 *
 * Grouping every id of a run at once costs memory that grows with the backlog: a day of 288
 * batches is 180M ids, and DuckDB's aggregate then holds ~1 GB and takes most of a minute.
 * Instead, while strata_stage_gz_files(..., id_spool := dir, id_buckets := k) streams, each
 * valid line's event_id is hashed (id_hash) and the hash appended to one of k bucket files,
 * chosen by its top bits. strata_spooled_repeats(dir, k) then sorts one bucket at a time (a
 * few MB each) and returns the hashes seen more than once. Only lines with such a hash can be
 * duplicates; SQL finds them with strata_id_hash(event_id) and decides on the ids themselves,
 * so a collision of two ids' hashes costs a little work, never a wrong answer.
 *
 * Included once, by strata_rules.c.
 */
#include <fcntl.h>
#include <unistd.h>

#define SPOOL_MAX_BUCKETS 256
/* Hashes kept per bucket and thread before one write: 64 KB. */
#define SPOOL_BUFFER 8192

static inline uint64_t mix64(uint64_t x) {
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* A 64-bit hash of an id's bytes (not for adversaries: a collision only costs time). */
static uint64_t id_hash(const char *p, size_t n) {
	uint64_t h = 0x9E3779B97F4A7C15ULL ^ (uint64_t)n;
	for (; n >= 8; p += 8, n -= 8) {
		uint64_t k;
		memcpy(&k, p, 8);
		h = mix64(h ^ k) + 0x9E3779B97F4A7C15ULL;
	}
	uint64_t k = 0;
	memcpy(&k, p, n);
	return mix64(h ^ k);
}

/* The bucket files of one streaming query, shared by its threads (O_APPEND: whole writes). */
typedef struct {
	int fds[SPOOL_MAX_BUCKETS];
	int buckets, shift;
} Spool;

static int spool_bucket(const Spool *s, uint64_t h) {
	return s->buckets == 1 ? 0 : (int)(h >> s->shift);
}

static const char *spool_open(Spool *s, const char *dir, int buckets) {
	if (buckets < 1 || buckets > SPOOL_MAX_BUCKETS || (buckets & (buckets - 1)) != 0) return "id_buckets must be a power of two from 1 to 256";
	s->buckets = buckets;
	s->shift = 64;
	for (int b = buckets; b > 1; b >>= 1) s->shift--;
	for (int b = 0; b < SPOOL_MAX_BUCKETS; b++) s->fds[b] = -1;
	for (int b = 0; b < buckets; b++) {
		char path[4096];
		if (snprintf(path, sizeof path, "%s/b%03d.bin", dir, b) >= (int)sizeof path) return "id_spool path too long";
		if ((s->fds[b] = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600)) < 0) return "cannot create the id spool";
	}
	return NULL;
}

static void spool_close(Spool *s) {
	for (int b = 0; b < s->buckets; b++) {
		if (s->fds[b] >= 0) close(s->fds[b]);
		s->fds[b] = -1;
	}
}

/* One thread's unwritten hashes, SPOOL_BUFFER per bucket. */
typedef struct {
	uint64_t *hashes;
	uint32_t n[SPOOL_MAX_BUCKETS];
} SpoolBuffer;

static bool spool_write(const Spool *s, SpoolBuffer *buf, int b) {
	const size_t bytes = (size_t)buf->n[b] * sizeof(uint64_t);
	const ssize_t written = bytes ? write(s->fds[b], buf->hashes + (size_t)b * SPOOL_BUFFER, bytes) : 0;
	buf->n[b] = 0;
	return written == (ssize_t)bytes;
}

/* False when out of memory or a write failed. */
static bool spool_add(const Spool *s, SpoolBuffer *buf, const char *id, size_t len) {
	if (!buf->hashes && !(buf->hashes = malloc((size_t)s->buckets * SPOOL_BUFFER * sizeof(uint64_t)))) return false;
	const uint64_t h = id_hash(id, len);
	const int b = spool_bucket(s, h);
	buf->hashes[(size_t)b * SPOOL_BUFFER + buf->n[b]++] = h;
	return buf->n[b] < SPOOL_BUFFER || spool_write(s, buf, b);
}

static bool spool_flush(const Spool *s, SpoolBuffer *buf) {
	bool ok = true;
	for (int b = 0; b < s->buckets && buf->hashes; b++) ok = spool_write(s, buf, b) && ok;
	return ok;
}

/* LSD radix sort, four passes of 16 bits. False when out of memory. */
static bool sort_hashes(uint64_t *a, size_t n) {
	uint64_t *tmp = malloc(n * sizeof(uint64_t) + 1);
	size_t *count = malloc(65536 * sizeof(size_t));
	if (!tmp || !count) {
		free(tmp);
		free(count);
		return false;
	}
	uint64_t *src = a, *dst = tmp;
	for (int shift = 0; shift < 64; shift += 16) {
		memset(count, 0, 65536 * sizeof(size_t));
		for (size_t i = 0; i < n; i++) count[(src[i] >> shift) & 0xFFFF]++;
		size_t sum = 0;
		for (int d = 0; d < 65536; d++) {
			const size_t c = count[d];
			count[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++) dst[count[(src[i] >> shift) & 0xFFFF]++] = src[i];
		uint64_t *t = src;
		src = dst;
		dst = t;
	}
	/* An even number of passes: the sorted hashes are back in `a`. */
	free(tmp);
	free(count);
	return true;
}

/*
 * strata_spooled_repeats(dir VARCHAR, buckets INTEGER) -> (h UBIGINT): every hash that a bucket
 * file of the spool holds more than once, once. Buckets are taken by DuckDB's threads in turn.
 * strata_spooled_hashes(dir VARCHAR, bucket INTEGER) -> (h UBIGINT): every hash one bucket file
 * holds, once.
 */
typedef struct {
	char *dir;
	int first, last; /* the buckets read: first .. last - 1 */
	size_t min_count; /* a hash is returned when the bucket holds it this many times or more */
} RepeatsBind;

typedef struct {
	pthread_mutex_t mu;
	int next;
} RepeatsGlobal;

typedef struct {
	uint64_t *repeats; /* of the bucket in hand */
	size_t n, at;
} RepeatsLocal;

static void free_repeats_bind(void *p) {
	RepeatsBind *b = p;
	if (b->dir) duckdb_free(b->dir);
	free(b);
}

static void bind_spooled(duckdb_bind_info info, bool repeats) {
	RepeatsBind *b = calloc(1, sizeof(RepeatsBind));
	duckdb_value dir = duckdb_bind_get_parameter(info, 0);
	duckdb_value buckets = duckdb_bind_get_parameter(info, 1);
	if (b) {
		b->dir = duckdb_get_varchar(dir);
		const int n = duckdb_get_int32(buckets);
		b->first = repeats ? 0 : n;
		b->last = repeats ? n : n + 1;
		b->min_count = repeats ? 2 : 1;
	}
	duckdb_destroy_value(&dir);
	duckdb_destroy_value(&buckets);
	if (!b || !b->dir) {
		if (b) free_repeats_bind(b);
		duckdb_bind_set_error(info, "strata_spooled_repeats: out of memory");
		return;
	}
	duckdb_bind_set_bind_data(info, b, free_repeats_bind);
	if (b->first < 0 || b->last <= b->first || b->last > SPOOL_MAX_BUCKETS) {
		duckdb_bind_set_error(info, "strata_spooled_repeats: buckets must be from 1 to 256, a bucket from 0 to 255");
		return;
	}
	duckdb_logical_type ubigint = duckdb_create_logical_type(DUCKDB_TYPE_UBIGINT);
	duckdb_bind_add_result_column(info, "h", ubigint);
	duckdb_destroy_logical_type(&ubigint);
}

static void repeats_bind(duckdb_bind_info info) {
	bind_spooled(info, true);
}

static void hashes_bind(duckdb_bind_info info) {
	bind_spooled(info, false);
}

static void free_repeats_global(void *p) {
	RepeatsGlobal *g = p;
	pthread_mutex_destroy(&g->mu);
	free(g);
}

static void repeats_init(duckdb_init_info info) {
	RepeatsGlobal *g = calloc(1, sizeof(RepeatsGlobal));
	if (!g) {
		duckdb_init_set_error(info, "strata_spooled_repeats: out of memory");
		return;
	}
	pthread_mutex_init(&g->mu, NULL);
	duckdb_init_set_init_data(info, g, free_repeats_global);
	const RepeatsBind *b = duckdb_init_get_bind_data(info);
	g->next = b->first;
	duckdb_init_set_max_threads(info, (idx_t)(b->last - b->first));
}

static void free_repeats_local(void *p) {
	RepeatsLocal *l = p;
	free(l->repeats);
	free(l);
}

static void repeats_local_init(duckdb_init_info info) {
	RepeatsLocal *l = calloc(1, sizeof(RepeatsLocal));
	if (!l) {
		duckdb_init_set_error(info, "strata_spooled_repeats: out of memory");
		return;
	}
	duckdb_init_set_init_data(info, l, free_repeats_local);
}

/* Reads bucket `b` and keeps, in l->repeats, each hash it holds min_count times or more, once. NULL or an error. */
static const char *load_repeats(const RepeatsBind *bind, int b, RepeatsLocal *l) {
	char path[4096];
	snprintf(path, sizeof path, "%s/b%03d.bin", bind->dir, b);
	FILE *f = fopen(path, "rb");
	if (!f) return "strata_spooled_repeats: a bucket file is missing";
	const char *error = NULL;
	uint64_t *hashes = NULL;
	long size = -1;
	if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
	if (size < 0 || size % 8 != 0 || fseek(f, 0, SEEK_SET) != 0) error = "strata_spooled_repeats: a bucket file is damaged";
	const size_t n = size > 0 ? (size_t)size / 8 : 0;
	if (!error && !(hashes = malloc(n * sizeof(uint64_t) + 1))) error = "strata_spooled_repeats: out of memory";
	if (!error && fread(hashes, sizeof(uint64_t), n, f) != n) error = "strata_spooled_repeats: cannot read a bucket file";
	fclose(f);
	if (!error && !sort_hashes(hashes, n)) error = "strata_spooled_repeats: out of memory";
	if (error) {
		free(hashes);
		return error;
	}
	size_t kept = 0;
	for (size_t i = 0, run = 1; i < n; i++, run++) {
		if (i > 0 && hashes[i] != hashes[i - 1]) run = 1;
		if (run == bind->min_count) hashes[kept++] = hashes[i];
	}
	free(l->repeats);
	l->repeats = hashes;
	l->n = kept;
	l->at = 0;
	return NULL;
}

static void repeats_function(duckdb_function_info info, duckdb_data_chunk output) {
	const RepeatsBind *bind = duckdb_function_get_bind_data(info);
	RepeatsGlobal *g = duckdb_function_get_init_data(info);
	RepeatsLocal *l = duckdb_function_get_local_init_data(info);
	uint64_t *out = (uint64_t *)duckdb_vector_get_data(duckdb_data_chunk_get_vector(output, 0));
	const idx_t capacity = duckdb_vector_size();
	idx_t row = 0;
	while (row < capacity) {
		if (l->at >= l->n) {
			pthread_mutex_lock(&g->mu);
			const int b = g->next < bind->last ? g->next++ : -1;
			pthread_mutex_unlock(&g->mu);
			if (b < 0) break;
			const char *error = load_repeats(bind, b, l);
			if (error) {
				duckdb_function_set_error(info, error);
				return;
			}
			continue;
		}
		out[row++] = l->repeats[l->at++];
	}
	duckdb_data_chunk_set_size(output, row);
}

/* strata_id_hash(id VARCHAR) -> UBIGINT: the hash the spool keeps of an event_id. */
static void id_hash_function(duckdb_function_info info, duckdb_data_chunk input, duckdb_vector output) {
	(void)info;
	const idx_t rows = duckdb_data_chunk_get_size(input);
	duckdb_vector ids = duckdb_data_chunk_get_vector(input, 0);
	duckdb_string_t *data = (duckdb_string_t *)duckdb_vector_get_data(ids);
	uint64_t *validity = duckdb_vector_get_validity(ids);
	uint64_t *out = (uint64_t *)duckdb_vector_get_data(output);
	uint64_t *out_valid = writable_validity(output, rows);
	for (idx_t row = 0; row < rows; row++) {
		if (!duckdb_validity_row_is_valid(validity, row)) {
			set_null(out_valid, row);
			continue;
		}
		duckdb_string_t *s = &data[row];
		const uint32_t len = s->value.inlined.length;
		out[row] = id_hash(len <= 12 ? s->value.inlined.inlined : s->value.pointer.ptr, len);
	}
}

static bool register_id_spool(duckdb_connection connection) {
	duckdb_logical_type varchar = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
	duckdb_logical_type integer = duckdb_create_logical_type(DUCKDB_TYPE_INTEGER);
	duckdb_logical_type ubigint = duckdb_create_logical_type(DUCKDB_TYPE_UBIGINT);

	duckdb_table_function repeats = duckdb_create_table_function();
	duckdb_table_function_set_name(repeats, "strata_spooled_repeats");
	duckdb_table_function_add_parameter(repeats, varchar);
	duckdb_table_function_add_parameter(repeats, integer);
	duckdb_table_function_set_bind(repeats, repeats_bind);
	duckdb_table_function_set_init(repeats, repeats_init);
	duckdb_table_function_set_local_init(repeats, repeats_local_init);
	duckdb_table_function_set_function(repeats, repeats_function);
	bool registered = duckdb_register_table_function(connection, repeats) == DuckDBSuccess;
	duckdb_destroy_table_function(&repeats);

	duckdb_table_function hashes = duckdb_create_table_function();
	duckdb_table_function_set_name(hashes, "strata_spooled_hashes");
	duckdb_table_function_add_parameter(hashes, varchar);
	duckdb_table_function_add_parameter(hashes, integer);
	duckdb_table_function_set_bind(hashes, hashes_bind);
	duckdb_table_function_set_init(hashes, repeats_init);
	duckdb_table_function_set_local_init(hashes, repeats_local_init);
	duckdb_table_function_set_function(hashes, repeats_function);
	registered = duckdb_register_table_function(connection, hashes) == DuckDBSuccess && registered;
	duckdb_destroy_table_function(&hashes);

	duckdb_scalar_function hash = duckdb_create_scalar_function();
	duckdb_scalar_function_set_name(hash, "strata_id_hash");
	duckdb_scalar_function_add_parameter(hash, varchar);
	duckdb_scalar_function_set_return_type(hash, ubigint);
	duckdb_scalar_function_set_function(hash, id_hash_function);
	registered = duckdb_register_scalar_function(connection, hash) == DuckDBSuccess && registered;
	duckdb_destroy_scalar_function(&hash);

	duckdb_destroy_logical_type(&varchar);
	duckdb_destroy_logical_type(&integer);
	duckdb_destroy_logical_type(&ubigint);
	return registered;
}
