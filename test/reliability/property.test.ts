import fc from 'fast-check';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readFolder } from '../helpers/bronze.js';
import { tempDir } from '../helpers/cli.js';
import { ReferenceWarehouse } from '../reference/reference-etl.js';
import { bronzeFiles, fileBytes, PRECISION_LIMITS, type BronzeFileDraft } from './arbitraries.js';
import { etl, expectLedgerMatches, expectReportMatches, expectSilverMatches, readBronzeFiles } from './harness.js';
import { writeBronze } from '../helpers/bronze.js';

/**
 * Random mixes of clean and dirty lines (every case of SPEC §3, see arbitraries.ts) written to
 * real gz files and run through the real CLI, against the reference implementation:
 *  (a) valid + rejected + duplicates = non-blank lines, per file and per run;
 *  (b) every line's outcome, reason and silver values equal the reference's;
 *  (c) the same files taken in several runs (added batch by batch) give the same silver as one
 *      run when batches arrive in path order, and the reference's run-by-run answer when a late
 *      batch holds earlier paths.
 * Each case runs the CLI a few times, so runs are few (STRATA_PROPERTY_RUNS to raise them) and
 * each case is big: 3-5 files of 40-100 lines. A failure prints fast-check's seed to replay it.
 */

const RUNS = Number(process.env.STRATA_PROPERTY_RUNS ?? 3);

const caseArb = bronzeFiles({ minFiles: 3, maxFiles: 5, minLines: 40, maxLines: 100 }).chain((files) =>
  fc.record({
    files: fc.constant(files),
    /** Where the sorted file list is cut into two batches. */
    cuts: fc.uniqueArray(fc.integer({ min: 1, max: files.length - 1 }), { minLength: 1, maxLength: 1 }),
    /** Batches arrive in reverse path order: later runs bring files that sort first (late data). */
    late: fc.boolean(),
  }),
);

async function writeFiles(root: string, files: readonly BronzeFileDraft[]): Promise<void> {
  for (const f of files) {
    const file = path.join(root, ...f.key.split('/'));
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, gzipSync(fileBytes(f)));
  }
}

/** Everything a reader sees, minus the run ids and ingest times that differ between warehouses. */
async function contents(warehouse: string): Promise<{ silver: unknown[]; quarantine: unknown[] }> {
  const silver = await readFolder(
    `SELECT * EXCLUDE (run_id) REPLACE (lower(hex(encode(extras))) AS extras) FROM read_parquet('${warehouse}/events/**/*.parquet', hive_partitioning = false) ORDER BY source_file, source_line`,
  ).catch(() => []);
  const quarantine = await readFolder(
    `SELECT source_file, source_line, reason, lower(hex(encode(raw_line))) AS raw FROM read_parquet('${warehouse}/quarantine/**/*.parquet') ORDER BY source_file, source_line`,
  ).catch(() => []);
  return { silver, quarantine };
}

describe('property: strata agrees with the reference implementation of SPEC §3', () => {
  it(`on random dirty backlogs, in one run and in several (${RUNS} cases)`, { timeout: 60_000 + RUNS * 40_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ files, cuts, late }) => {
        const { dir, cleanup } = await tempDir('strata-prop-');
        try {
          const bytes = new Map(files.map((f) => [f.key, fileBytes(f)]));
          const sorted = [...files].sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));

          // One run over everything.
          const oneBronze = path.join(dir, 'one', 'bronze');
          const oneWarehouse = path.join(dir, 'one', 'warehouse');
          await mkdir(oneWarehouse, { recursive: true });
          await writeFiles(oneBronze, files);
          const oneRef = new ReferenceWarehouse();
          const want = oneRef.run(bytes);
          const report = await etl(oneBronze, oneWarehouse);
          expect(report.lines).toBe(report.valid + report.duplicates + Object.values(report.rejected).reduce((a, b) => a + b, 0));
          expect(report.files_processed).toBe(files.length);
          expectReportMatches(report, want);
          await expectLedgerMatches(oneWarehouse, want);
          await expectSilverMatches(oneWarehouse, oneRef, bytes);

          // The same files in batches, one run per batch.
          const bounds = [0, ...[...cuts].sort((a, b) => a - b), sorted.length];
          let batches = bounds.slice(1).map((end, i) => sorted.slice(bounds[i], end));
          if (late) batches = batches.reverse();
          const piecesBronze = path.join(dir, 'pieces', 'bronze');
          const piecesWarehouse = path.join(dir, 'pieces', 'warehouse');
          await mkdir(piecesWarehouse, { recursive: true });
          await mkdir(piecesBronze, { recursive: true });
          const piecesRef = new ReferenceWarehouse();
          for (const batch of batches) {
            await writeFiles(piecesBronze, batch);
            const batchWant = piecesRef.run(new Map(batch.map((f) => [f.key, bytes.get(f.key)!])));
            const batchReport = await etl(piecesBronze, piecesWarehouse);
            expect(batchReport.files_processed).toBe(batch.length);
            expectReportMatches(batchReport, batchWant);
          }
          await expectSilverMatches(piecesWarehouse, piecesRef, bytes);
          if (!late || batches.length === 1) expect(await contents(piecesWarehouse)).toEqual(await contents(oneWarehouse));
        } finally {
          await cleanup();
        }
      }),
      { numRuns: RUNS, endOnFailure: process.env.STRATA_PROPERTY_SHRINK !== '1' },
    );
  });
});

describe('known limits (README.md), kept out of the random mix', () => {
  // DuckDB reads a JSON number with a fraction or exponent as a double, and strata casts quantity
  // strings through DECIMAL(38,18): digits past those precisions are lost before SPEC's rounding
  // and whole-number checks; and it reads the integer -0 as 0. Flip to `it` once fixed.
  it.fails('rounds and checks numbers on their exact decimal value, and keeps -0 as an id', async () => {
    const { dir, cleanup } = await tempDir('strata-limits-');
    try {
      const base = { timestamp: '2025-07-01T00:00:00Z', user_id: 'u', session_id: 's', product_id: 'P1' };
      const j = (o: Record<string, unknown>, raw: Record<string, string> = {}): string =>
        Object.entries(raw).reduce((line, [k, v]) => line.replace(`"${k}":0`, `"${k}":${v}`), JSON.stringify(o));
      const lines = [
        ...PRECISION_LIMITS.jsonNumbers.map((n, i) => j({ ...base, event_id: `q${i}`, event_type: 'purchase', price: 1, quantity: 0 }, { quantity: n })),
        ...PRECISION_LIMITS.jsonNumbers.map((n, i) => j({ ...base, event_id: `p${i}`, event_type: 'page_view', price: 0 }, { price: n })),
        ...PRECISION_LIMITS.quantityStrings.map((n, i) => JSON.stringify({ ...base, event_id: `s${i}`, event_type: 'add_to_cart', price: 1, quantity: n })),
        j({ ...base, event_id: 'zero', event_type: 'page_view', user_id: 0 }, { user_id: PRECISION_LIMITS.negativeZeroId }),
      ];
      const key = 'year=2025/month=07/day=01/hour=00/minute=00/limits.jsonl.gz';
      await writeBronze(path.join(dir, 'bronze'), key, lines);
      await mkdir(path.join(dir, 'warehouse'));
      const bytes = await readBronzeFiles(path.join(dir, 'bronze'), [key]);
      const ref = new ReferenceWarehouse();
      ref.run(bytes);
      await etl(path.join(dir, 'bronze'), path.join(dir, 'warehouse'));
      await expectSilverMatches(path.join(dir, 'warehouse'), ref, bytes);
    } finally {
      await cleanup();
    }
  });
});
