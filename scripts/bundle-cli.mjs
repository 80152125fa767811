#!/usr/bin/env node
// Bundles the CLI (src/cli.ts) into dist/bin/strata.js plus one chunk per lazily loaded command.
// Why: Node loads a package of many small CommonJS files slowly; @duckdb/node-api alone (124
// files) took ~0.15 s of every command's start. Bundled, `strata etl` starts ~0.1-0.15 s sooner.
// tsc still type-checks and emits dist/ (the Lambda handlers run from there).
// The chunks sit two folders deep, like tsc's dist/etl/*.js, so paths built from import.meta.url
// (the native extension, the dashboard's files) resolve the same way from either.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'dist/bin');
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { strata: path.join(root, 'src/cli.ts') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: '[name]-[hash]',
  sourcemap: true,
  // The native addon picks its platform's binary at run time; it stays a package.
  external: ['@duckdb/node-bindings'],
  // CommonJS packages inside an ES module bundle still call require().
  banner: { js: "import { createRequire as strataCreateRequire } from 'node:module'; const require = strataCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
