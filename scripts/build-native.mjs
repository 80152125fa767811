#!/usr/bin/env node
// Builds src/etl/native/strata_rules.c into a DuckDB extension (dist/native/strata_rules.duckdb_extension).
// Needs a C compiler (Debian: gcc). Without one strata still works: the ETL uses the SQL rules alone.
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.join(root, 'src/etl/native/strata_rules.c');
const out = path.join(root, 'dist/native/strata_rules.duckdb_extension');
const cc = process.env.CC ?? 'cc';

mkdirSync(path.dirname(out), { recursive: true });
rmSync(out, { force: true });
try {
  execFileSync(cc, ['-std=c11', '-O2', '-fPIC', '-shared', '-fvisibility=hidden', '-Wall', '-Wextra', '-Werror',
    '-I', path.join(root, 'third_party/duckdb'), '-o', out, source, '-lz', '-lpthread'], { stdio: 'inherit' });
} catch (err) {
  console.warn(`strata: could not build the native rules with ${cc} (${err.message.split('\n')[0]}); etl will use the SQL rules alone`);
  process.exit(0);
}

// DuckDB reads an extension's metadata from a 512-byte footer (scripts/append_metadata.cmake in
// DuckDB's source): a WebAssembly-style custom section named duckdb_signature, eight 32-byte
// fields stored last to first, then 256 bytes of signature (none: strata loads it unsigned).
const field = (text) => {
  const bytes = Buffer.alloc(32);
  bytes.write(text, 'ascii');
  return bytes;
};
const platform = { x64: 'linux_amd64', arm64: 'linux_arm64' }[process.arch] ?? `linux_${process.arch}`;
const fields = ['4', platform, 'v1.2.0', 'strata', 'C_STRUCT', '', '', ''];
appendFileSync(out, Buffer.concat([
  Buffer.from([0, 147, 4, 16]), Buffer.from('duckdb_signature', 'ascii'), Buffer.from([128, 4]),
  ...fields.reverse().map(field), Buffer.alloc(256),
]));
