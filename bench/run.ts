/**
 * `npm run bench [-- --only NAME] [-- --backlog N] [-- --chaos]`: each benchmark prints its
 * figures as ratios against a baseline measured in the same run, because machines are noisy.
 */
import { parseArgs } from 'node:util';
import { keepFreedMemoryLonger } from '../src/db/allocator.js';

// The queries bench measures the engine `strata serve` keeps, with the allocator setting serve
// runs with (src/cli.ts); it must be set before DuckDB loads, hence the imports below.
keepFreedMemoryLonger();
const { benchGenerate } = await import('./generate-bench.js');
const { benchEtl } = await import('./etl-bench.js');
const { benchQueries } = await import('./queries-bench.js');
const { benchChaos } = await import('./chaos-bench.js');

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    backlog: { type: 'string' },
    chaos: { type: 'boolean', default: false },
    batches: { type: 'string' },
    events: { type: 'string' },
    cycles: { type: 'string' },
    seed: { type: 'string' },
  },
});

const all: Record<string, (args: typeof values) => Promise<void>> = {
  generate: benchGenerate,
  etl: benchEtl,
  queries: benchQueries,
};

if (values.chaos) {
  // The long crash-and-recover run is its own mode: `npm run bench -- --chaos`.
  console.log('\n== chaos ==');
  await benchChaos(values);
} else {
  for (const [name, bench] of Object.entries(all)) {
    if (values.only && values.only !== name) continue;
    console.log(`\n== ${name} ==`);
    await bench(values);
  }
}
