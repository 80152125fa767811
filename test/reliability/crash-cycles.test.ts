import { describe, expect, it } from 'vitest';
import { CLI, tempDir } from '../helpers/cli.js';
import { runChaos } from './chaos.js';

/**
 * Quick crash-and-recover cycles on a tiny, growing, dirty backlog (chaos.ts): etl and compact
 * killed at random moments and at fault points, the committed state checked against the
 * reference after every kill. etl-crash.test.ts has 13 kills; these add KILLS more, and
 * `bench/run.ts --chaos` runs hundreds. A failure names the cycle and the seed to replay it.
 */

/** Runs really killed (a cycle whose run finished first does not count); cycles go on until then. */
const KILLS = Number(process.env.STRATA_CRASH_CYCLES ?? 37);
const SEED = Number(process.env.STRATA_CHAOS_SEED ?? Date.now() % 100_000);

describe('crash cycles (SPEC §5)', () => {
  it(`keeps every valid event exactly once through ${KILLS} kill -9 cycles (seed ${SEED})`, { timeout: 60_000 + KILLS * 10_000 }, async () => {
    const { dir, cleanup } = await tempDir('strata-chaos-');
    try {
      const summary = await runChaos({ cli: CLI, dir, cycles: KILLS, minKills: KILLS, seed: SEED, linesPerFile: 25 });
      expect(summary.killedByTimer + summary.killedAtFault).toBeGreaterThanOrEqual(KILLS);
      expect(summary.commits).toBeGreaterThan(2);
      expect(summary.silverRows).toBeGreaterThan(0);
      if (process.env.STRATA_CHAOS_VERBOSE) console.log(summary);
    } finally {
      await cleanup();
    }
  });
});
