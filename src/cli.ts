#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { keepFreedMemoryLonger } from './db/allocator.js';

type Register = (program: Command) => void;

/**
 * Each command's module is loaded only when that command runs: the AWS SDK, the web server and
 * DuckDB together take longer to load than most commands take to run. `strata --help` loads all.
 */
const MODULES: Record<string, () => Promise<Register>> = {
  generate: () => import('./cli/generate-command.js').then((m) => m.registerGenerate),
  etl: () => import('./cli/etl-command.js').then((m) => m.registerEtl),
  query: () => import('./cli/query-command.js').then((m) => m.registerQuery),
  status: () => import('./cli/status-command.js').then((m) => m.registerStatus),
  serve: () => import('./cli/serve-command.js').then((m) => m.registerServe),
  demo: () => import('./cli/demo-command.js').then((m) => m.registerDemo),
  catalog: () => import('./cli/catalog-command.js').then((m) => m.registerCatalog),
};
/** Commands registered by another command's module. */
const ALIASES: Record<string, string> = { compact: 'etl', sql: 'query' };

// A reader that stops early (`strata status --json | head -1`) closes the pipe: that is not an
// error of strata's, so it ends quietly, as Unix tools do, instead of with a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(0);
});

const program = new Command('strata')
  .description('Event analytics pipeline: generate -> bronze -> etl -> silver -> catalog -> query -> serve')
  .option('--verbose', 'print stack traces of errors')
  .showHelpAfterError(false)
  .configureOutput({ outputError: (text, write) => write(`strata: ${text.replace(/^error: /, '').trim()}\n`) })
  .exitOverride();

const requested = process.argv[2] ?? '';
const only = MODULES[requested] ? requested : ALIASES[requested];
// serve runs etl in-process too.
if (only === 'etl' || only === 'serve') keepFreedMemoryLonger();
for (const [name, load] of Object.entries(MODULES)) {
  if (only === undefined || only === name) (await load())(program);
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Commander already printed its one-line message (unknown option, missing argument).
  if (err instanceof CommanderError) process.exitCode = err.exitCode === 0 ? 0 : 2;
  else throw err;
}
