/**
 * `npm run bench [-- --only NAME] [-- --backlog N] [-- --chaos]`: each benchmark prints its
 * figures as ratios against a baseline measured in the same run, because machines are noisy.
 */
import { parseArgs } from 'node:util';
import { benchGenerate } from './generate-bench.js';
import { benchEtl } from './etl-bench.js';
import { benchQueries } from './queries-bench.js';
import { benchChaos } from './chaos-bench.js';

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
