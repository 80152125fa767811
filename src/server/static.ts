import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The dashboard's files stay plain files under src/server/public (tsc copies nothing else). The
 * path works from both src/server (tests) and dist/server (the built CLI): two levels up is the
 * package root either way.
 */
export const PUBLIC_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/server/public');

/** echarts' prebuilt browser bundle, from the installed package (no CDN). */
export function echartsPath(): string {
  const main = createRequire(import.meta.url).resolve('echarts');
  return path.join(path.dirname(main), 'echarts.min.js');
}

export interface StaticAsset {
  readonly body: Buffer;
  readonly type: string;
  readonly cache: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The dashboard's own files, by URL path; read once and kept. */
export const PUBLIC_FILES: Readonly<Record<string, string>> = {
  '/': 'index.html',
  '/app.js': 'app.js',
  '/charts.js': 'charts.js',
  '/style.css': 'style.css',
};

const cache = new Map<string, Promise<StaticAsset>>();

export function loadAsset(urlPath: string): Promise<StaticAsset> | undefined {
  let file: string;
  let cacheControl = 'no-cache';
  if (urlPath === '/vendor/echarts.min.js') {
    file = echartsPath();
    cacheControl = 'public, max-age=86400';
  } else {
    const name = PUBLIC_FILES[urlPath];
    if (name === undefined) return undefined;
    file = path.join(PUBLIC_DIR, name);
  }
  let asset = cache.get(urlPath);
  if (!asset) {
    asset = readFile(file).then((body) => ({ body, type: TYPES[path.extname(file)] ?? 'application/octet-stream', cache: cacheControl }));
    asset.catch(() => cache.delete(urlPath));
    cache.set(urlPath, asset);
  }
  return asset;
}
