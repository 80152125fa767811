#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { registerGenerate } from './cli/generate-command.js';
import { registerEtl } from './cli/etl-command.js';
import { registerQuery } from './cli/query-command.js';
import { registerStatus } from './cli/status-command.js';
import { registerServe } from './cli/serve-command.js';
import { registerDemo } from './cli/demo-command.js';
import { registerCatalog } from './cli/catalog-command.js';

const program = new Command('strata')
  .description('Event analytics pipeline: generate -> bronze -> etl -> silver -> catalog -> query -> serve')
  .option('--verbose', 'print stack traces of errors')
  .showHelpAfterError(false)
  .configureOutput({ outputError: (text, write) => write(`strata: ${text.replace(/^error: /, '').trim()}\n`) })
  .exitOverride();

registerGenerate(program);
registerEtl(program);
registerQuery(program);
registerStatus(program);
registerServe(program);
registerDemo(program);
registerCatalog(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Commander already printed its one-line message (unknown option, missing argument).
  if (err instanceof CommanderError) process.exitCode = err.exitCode === 0 ? 0 : 2;
  else throw err;
}
