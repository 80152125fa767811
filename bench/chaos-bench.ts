/**
 * The long chaos run of issue 5: hundreds of kill -9 cycles of etl and compact on a growing dirty
 * backlog, each followed by a check of the committed state against the reference implementation
 * of SPEC §3 (test/reliability/chaos.ts), then a final recovery that must give exact results.
 *
 *   --cycles N      kill cycles (default 200, env STRATA_CHAOS_CYCLES)
 *   --events N      events per bronze file from the generator (default 0: small random dirty files)
 *   --seed S        replay a run (default: from the clock; printed)
 *
 * Prints cycles per minute, how runs ended, and what was committed; exits non-zero on the first
 * broken promise, naming the cycle and the seed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runChaos } from '../test/reliability/chaos.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.join(HERE, '..', 'dist', 'bin', 'strata.js');

export async function benchChaos(args: Record<string, unknown>): Promise<void> {
  const cycles = Number(args.cycles ?? process.env.STRATA_CHAOS_CYCLES ?? 200);
  const events = Number(args.events ?? 0);
  const seed = Number(args.seed ?? Date.now() % 1_000_000);
  const dir = await mkdtemp(path.join(process.env.STRATA_BENCH_DIR ?? os.tmpdir(), 'strata-bench-chaos-'));
  console.log(`chaos: ${cycles} cycles, seed ${seed}, ${events > 0 ? `${events.toLocaleString('en-US')} generated events` : 'small random dirty files'} per bronze file`);
  let last = Date.now();
  try {
    const summary = await runChaos({
      cli: CLI,
      dir,
      cycles,
      seed,
      eventsPerFile: events > 0 ? events : undefined,
      linesPerFile: 40,
      readerEvery: 10,
      log: (line) => {
        if (Date.now() - last > 15_000 || process.env.STRATA_CHAOS_VERBOSE) {
          console.log(`  ${line}`);
          last = Date.now();
        }
      },
    });
    const minutes = summary.durationMs / 60_000;
    console.log(`cycles                 ${summary.cycles} in ${minutes.toFixed(1)} min (${(summary.cycles / minutes).toFixed(1)} per minute)`);
    console.log(`killed                 ${summary.killedByTimer} at random moments, ${summary.killedAtFault} at fault points; ${summary.finished} runs finished`);
    console.log(`runs                   ${summary.etlRuns} etl, ${summary.compactRuns} compact; ${summary.readerChecks} reader checks`);
    console.log(`committed              ${summary.commits} commits, ${summary.bronzeFiles} bronze files, ${summary.silverRows} silver rows, ${summary.quarantineRows} quarantined`);
    console.log('exactly once           held after every cycle and after recovery');
  } catch (err) {
    console.log(`VIOLATION (seed ${seed}): ${(err as Error).message}`);
    process.exitCode = 1;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// Run directly: `npx tsx bench/chaos-bench.ts --cycles 50`.
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const { parseArgs } = await import('node:util');
  const { values } = parseArgs({ options: { cycles: { type: 'string' }, events: { type: 'string' }, seed: { type: 'string' } } });
  await benchChaos(values);
}
