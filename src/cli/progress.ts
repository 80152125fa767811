import cliProgress from 'cli-progress';

export interface Progress {
  /** Whether anything is shown: work done only to report progress can be skipped when not. */
  readonly shown: boolean;
  start(total: number, label: string): void;
  /** `done` units finished so far, `events` processed so far (for the rate). */
  update(done: number, events: number): void;
  stop(): void;
}

const silent: Progress = { shown: false, start() {}, update() {}, stop() {} };

/** A bar with units done, events/s and ETA on a terminal; nothing at all otherwise or with --json. */
export function createProgress(options: { json?: boolean; stream?: NodeJS.WriteStream } = {}): Progress {
  const stream = options.stream ?? process.stderr;
  if (options.json || !stream.isTTY || process.env.CI) return silent;
  let startedAt = 0;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: ' {label} [{bar}] {value}/{total} | {rate} events/s | ETA {eta_formatted}',
      hideCursor: true,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    shown: true,
    start(total, label) {
      startedAt = Date.now();
      bar.start(total, 0, { label, rate: '0' });
    },
    update(done, events) {
      const seconds = Math.max((Date.now() - startedAt) / 1000, 0.001);
      bar.update(done, { rate: Math.round(events / seconds).toLocaleString('en-US') });
    },
    stop() {
      bar.stop();
    },
  };
}
