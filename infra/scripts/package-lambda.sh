#!/usr/bin/env bash
# Packages the Lambda code for `cdk deploy -c lambdaCode=build/lambda`. The result,
# infra/build/lambda/, is what the functions run from /var/task:
#   cloud/lambda-producer.js, cloud/lambda-etl.js, ...  dist/ contents (handlers cloud/lambda-*.handler)
#   package.json, package-lock.json                      the root's ("type": "module" makes .js ESM)
#   node_modules/                                        production dependencies for Linux
# Needs the npm registry. Usage: infra/scripts/package-lambda.sh [x64|arm64]  (match lambdaArchitecture)
set -euo pipefail
cpu="${1:-x64}"
case "$cpu" in x64 | arm64) ;; *) echo "usage: $0 [x64|arm64]" >&2; exit 2 ;; esac
repo="$(cd "$(dirname "$0")/../.." && pwd)"
out="$repo/infra/build/lambda"
cd "$repo"
npx tsc -p tsconfig.json
node scripts/build-native.mjs
rm -rf "$out"
mkdir -p "$out"
cp -R dist/. "$out/"
# The native rules are compiled for this machine (x64); an arm64 Lambda classifies with the SQL rules alone.
if [ "$cpu" != x64 ] || [ "$(uname -m)" != x86_64 ]; then rm -rf "$out/native"; fi
cp package.json package-lock.json "$out/"
cd "$out"
# --ignore-scripts: the root's "prepare" would rebuild; --os/--cpu select DuckDB's Linux binding.
npm ci --omit=dev --ignore-scripts --os=linux --cpu="$cpu" --no-audit --no-fund
# Not needed in Lambda: DuckDB's musl builds (Lambda is glibc) and the dashboard's chart library
# (~65 MB; only `strata serve` reads it, by file path).
rm -rf node_modules/@duckdb/node-bindings-linux-*-musl node_modules/echarts node_modules/zrender
size="$(du -sm . | cut -f1)"
echo "packaged $out: ${size} MB unzipped (Lambda allows 250 MB)"
if [ "$size" -ge 250 ]; then echo "too large for Lambda: trim dependencies or move them to a layer" >&2; exit 1; fi
