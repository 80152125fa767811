import { describe, expect, it } from 'vitest';
import { CLI, tempDir } from '../helpers/cli.js';
import { runChaos } from './chaos.js';

/**
 * Quick crash-and-recover cycles on a tiny, growing, dirty backlog (chaos.ts): etl and compact
 * killed at random moments and at fault points, the committed state checked against the
 * reference after every kill. etl-crash.test.ts has ~13 cycles; these add CYCLES more, and
 * `bench/run.ts --chaos` runs hundreds. A failure names the cycle and the seed to replay it.
 */

const CYCLES = Number(process.env.STRATA_CRASH_CYCLES ?? 37);
const SEED = Number(process.env.STRATA_CHAOS_SEED ?? Date.now() % 100_000);

describe('crash cycles (SPEC §5)', () => {
  it(`keeps every valid event exactly once through ${CYCLES} kill -9 cycles (seed ${SEED})`, { timeout: 60_000 + CYCLES * 6_000 }, async () => {
    const { dir, cleanup } = await tempDir('strata-chaos-');
    try {
      const summary = await runChaos({ cli: CLI, dir, cycles: CYCLES, seed: SEED, linesPerFile: 25 });
      expect(summary.cycles).toBe(CYCLES);
      // Most cycles must really crash, or they prove little.
      expect(summary.killedByTimer + summary.killedAtFault).toBeGreaterThanOrEqual(Math.floor(CYCLES / 2));
      expect(summary.silverRows).toBeGreaterThan(0);
      if (process.env.STRATA_CHAOS_VERBOSE) console.log(summary);
    } finally {
      await cleanup();
    }
  });
});
