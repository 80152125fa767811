import { Cron } from 'croner';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';

/** What one scheduled run did, kept in memory for `/api/runs`. */
export interface RunResult<T = unknown> {
  /** 1, 2, 3… in the order runs started in this process. */
  readonly seq: number;
  /** The schedule slot: the tick time floored to the interval (the batch time under --simulate). */
  readonly slot: string;
  readonly trigger: 'startup' | 'schedule';
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
  readonly ok: boolean;
  readonly result?: T;
  readonly error?: string;
}

export interface SchedulerOptions<T> {
  /** Time between runs; croner counts whole seconds, so at least 1 s. */
  readonly everyMs: number;
  /** The work of one tick; `slot` is the tick time floored to the interval. */
  readonly task: (slot: Date) => Promise<T>;
  readonly logger: Logger;
  /** How many run results to keep for the API. */
  readonly keep?: number;
  /** Called after every run, failed or not. */
  readonly onRun?: (run: RunResult<T>) => void;
  readonly now?: () => number;
}

/**
 * Runs `task` at startup (catch-up) and then every `everyMs`, on slots aligned to the interval
 * (every 5m ticks at :00, :05, …). Croner does the timing; `protect` plus our own guard make
 * sure runs never overlap: a tick that comes while a run is in flight is skipped and logged. A
 * failed run is logged and simply tried again at the next tick.
 */
export class Scheduler<T = unknown> {
  readonly #options: SchedulerOptions<T>;
  readonly #keep: number;
  readonly #history: RunResult<T>[] = [];
  #job: Cron | undefined;
  #inFlight: Promise<void> | undefined;
  #seq = 0;
  #stopped = false;
  readonly #counts = { ok: 0, failed: 0 };

  constructor(options: SchedulerOptions<T>) {
    if (!Number.isInteger(options.everyMs / 1000) || options.everyMs < 1000) {
      throw new RangeError(`the schedule interval must be a whole number of seconds, at least 1s, got ${options.everyMs} ms`);
    }
    this.#options = options;
    this.#keep = options.keep ?? 50;
  }

  get everyMs(): number {
    return this.#options.everyMs;
  }

  /** Most recent first. */
  runs(): readonly RunResult<T>[] {
    return [...this.#history].reverse();
  }

  /** Runs finished since start, by outcome (not capped like `runs()`). */
  counts(): { ok: number; failed: number } {
    return { ...this.#counts };
  }

  get running(): boolean {
    return this.#inFlight !== undefined;
  }

  nextRun(): Date | null {
    return this.#job?.nextRun() ?? null;
  }

  /** Starts the schedule and, at once, the catch-up run. */
  start(): void {
    if (this.#job || this.#stopped) throw new Error('scheduler already started');
    const everyMs = this.#options.everyMs;
    const now = this.#now();
    // Aligned slots: croner steps `interval` seconds from `startAt`.
    const startAt = new Date(Math.floor(now / everyMs) * everyMs);
    this.#job = new Cron(
      '* * * * * *',
      {
        interval: everyMs / 1000,
        startAt,
        protect: () => this.#options.logger.warn({ event: 'tick_skipped' }, 'previous run still in progress; tick skipped'),
      },
      () => this.#run('schedule'),
    );
    this.#options.logger.info({ event: 'scheduler_started', every_ms: everyMs, next_run: this.#job.nextRun()?.toISOString() }, 'scheduler started');
    void this.#run('startup');
  }

  /** Stops scheduling and waits for a run in flight to finish. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#job?.stop();
    if (this.#inFlight) {
      this.#options.logger.info({ event: 'waiting_for_run' }, 'waiting for the run in progress to finish');
      await this.#inFlight;
    }
  }

  /** Resolves when the run in flight (if any) has finished. */
  async idle(): Promise<void> {
    while (this.#inFlight) await this.#inFlight;
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }

  #run(trigger: RunResult['trigger']): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#inFlight) {
      this.#options.logger.warn({ event: 'tick_skipped', trigger }, 'previous run still in progress; tick skipped');
      return this.#inFlight;
    }
    const run = this.#execute(trigger).finally(() => {
      this.#inFlight = undefined;
    });
    this.#inFlight = run;
    return run;
  }

  async #execute(trigger: RunResult['trigger']): Promise<void> {
    const seq = ++this.#seq;
    const started = this.#now();
    const everyMs = this.#options.everyMs;
    const slot = new Date(Math.floor(started / everyMs) * everyMs);
    const log = this.#options.logger.child({ seq, slot: slot.toISOString() });
    log.info({ event: 'run_started', trigger }, 'run started');
    let outcome: Pick<RunResult<T>, 'ok' | 'result' | 'error'>;
    try {
      const result = await this.#options.task(slot);
      outcome = { ok: true, result };
    } catch (err) {
      outcome = { ok: false, error: errorMessage(err).split('\n')[0] };
    }
    const finished = this.#now();
    const record: RunResult<T> = {
      seq,
      slot: slot.toISOString(),
      trigger,
      startedAt: new Date(started).toISOString(),
      finishedAt: new Date(finished).toISOString(),
      durationMs: finished - started,
      ...outcome,
    };
    if (record.ok) log.info({ event: 'run_finished', duration_ms: record.durationMs, result: record.result }, 'run finished');
    else log.error({ event: 'run_failed', duration_ms: record.durationMs, error: record.error }, 'run failed; will retry at the next tick');
    this.#counts[record.ok ? 'ok' : 'failed']++;
    this.#history.push(record);
    if (this.#history.length > this.#keep) this.#history.splice(0, this.#history.length - this.#keep);
    this.#options.onRun?.(record);
  }
}
