/**
 * DuckDB's allocator hands freed memory back to the OS after 1 s; a long etl run then faults
 * the same memory in again and again (a 24-batch backlog spent 46 s of its 106 s doing so),
 * and so does a server between two dashboard refreshes. Keeping it 5 s avoids that. jemalloc
 * reads the setting once, when DuckDB loads: call this before. A value the user set wins.
 */
export function keepFreedMemoryLonger(): void {
  process.env.DUCKDB_JE_MALLOC_CONF ??= 'dirty_decay_ms:5000,muzzy_decay_ms:5000';
}
