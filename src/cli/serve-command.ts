import { mkdir } from 'node:fs/promises';
import type { Command } from 'commander';
import pino from 'pino';
import { parseDuration, parsePositiveInt, resolveRoots } from '../config.js';
import { UserError } from '../errors.js';
import { runEtl } from '../etl/run-etl.js';
import { generate } from '../generate/generate.js';
import { createApp } from '../server/app.js';
import { isLoopback, listen } from '../server/listen.js';
import { pipelineTask } from '../server/pipeline-task.js';
import { Scheduler } from '../server/scheduler.js';
import { warehouseQueries } from '../server/warehouse-queries.js';
import { openStorage } from '../storage/open-storage.js';
import { runCommand } from './run-command.js';

interface ServeFlags {
  bronze?: string;
  warehouse?: string;
  port: string;
  host: string;
  every: string;
  simulate?: boolean;
  events: string;
  faultRate: string;
  seed: string;
  sql?: boolean;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run etl on a schedule and serve the dashboard, JSON API and /metrics')
    .option('--bronze <uri>', 'bronze root (env STRATA_BRONZE, default ./data/bronze)')
    .option('--warehouse <uri>', 'warehouse root (env STRATA_WAREHOUSE, default ./data/warehouse)')
    .option('--port <n>', 'HTTP port (0 picks a free one)', '8080')
    .option('--host <host>', 'address to bind; anything but loopback exposes the server', '127.0.0.1')
    .option('--every <duration>', 'time between runs, whole seconds: 30s, 5m, 1h', '5m')
    .option('--simulate', 'before each run, generate one batch of events into bronze (demo mode)')
    .option('--events <n>', 'events per simulated batch', '2000')
    .option('--fault-rate <r>', 'share of dirty lines in simulated batches', '0.02')
    .option('--seed <s>', 'seed of simulated batches (mixed with the batch time)', 'serve')
    .option('--sql', 'also serve read-only SQL at POST /api/sql')
    .action(runCommand(async (flags: ServeFlags) => serveAction(flags)));
}

async function serveAction(flags: ServeFlags): Promise<void> {
  const roots = resolveRoots(flags);
  const port = parsePositiveInt(flags.port, '--port', { allowZero: true });
  if (port > 65535) throw new UserError(`--port: expected 0..65535, got ${port}`);
  const everyMs = parseDuration(flags.every, '--every');
  if (everyMs % 1000 !== 0) throw new UserError(`--every: the schedule counts whole seconds (1s or more), got ${JSON.stringify(flags.every)}`);
  const events = parsePositiveInt(flags.events, '--events');
  const faultRate = Number(flags.faultRate);
  if (!/^\s*\d*\.?\d+\s*$/.test(flags.faultRate) || !(faultRate >= 0 && faultRate <= 1)) {
    throw new UserError(`--fault-rate: expected a number from 0 to 1, got ${JSON.stringify(flags.faultRate)}`);
  }

  if (flags.simulate) {
    // Demo mode starts from nothing: local roots are created.
    for (const root of [roots.bronze, roots.warehouse]) if (!root.startsWith('s3://')) await mkdir(root, { recursive: true });
  }
  const bronze = await openStorage(roots.bronze);
  const warehouse = await openStorage(roots.warehouse);
  for (const [name, store] of [['bronze', bronze], ['warehouse', warehouse]] as const) {
    await store.check().catch((err: Error) => {
      throw new UserError(`${name} ${err.message}`);
    });
  }

  const logger = pino({ base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: 2, sync: true }));
  if (!isLoopback(flags.host)) {
    logger.warn({ event: 'exposed', host: flags.host }, `listening on ${flags.host}, not loopback: anyone who can reach this address can read the dashboard and API`);
  }

  const scheduler = new Scheduler({
    everyMs,
    logger,
    task: pipelineTask({
      bronze,
      warehouse,
      everyMs,
      etl: runEtl,
      generate,
      ...(flags.simulate ? { simulate: { events, faultRate, seed: flags.seed } } : {}),
    }),
  });
  const queries = warehouseQueries({ bronze, warehouse, sql: flags.sql === true });
  const app = createApp({ bronze, warehouse, queries, scheduler, logger });
  const server = await listen(app, { host: flags.host, port });
  logger.info({ event: 'listening', url: server.url, bronze: bronze.uri, warehouse: warehouse.uri, every: flags.every, simulate: flags.simulate === true }, `dashboard at ${server.url}`);
  process.stdout.write(`strata serve: dashboard at ${server.url}/ (Ctrl-C to stop)\n`);
  scheduler.start();

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ event: 'forced_exit', signal }, 'second signal: exiting without waiting');
        process.exit(1);
      }
      stopping = true;
      logger.info({ event: 'shutting_down', signal }, 'shutting down: no new runs, waiting for the run in progress');
      void (async () => {
        await scheduler.stop();
        await server.close();
        await queries.close?.();
        logger.info({ event: 'stopped' }, 'stopped');
        resolve();
      })();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  process.exit(0);
}
