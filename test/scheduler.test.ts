import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { Scheduler, type RunResult } from '../src/server/scheduler.js';
import { pipelineTask } from '../src/server/pipeline-task.js';
import type { EtlReport } from '../src/etl/report.js';
import type { Storage } from '../src/storage/storage.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function capture() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { logger, lines, events: () => lines.map((l) => l.event) };
}

describe.concurrent('scheduler', () => {
  it('runs at once (catch-up), then on aligned ticks', async () => {
    const { logger } = capture();
    const slots: Date[] = [];
    const s = new Scheduler({ everyMs: 1000, logger, task: async (slot) => void slots.push(slot) });
    s.start();
    await sleep(2600);
    await s.stop();
    const runs = s.runs();
    expect(runs.length).toBeGreaterThanOrEqual(3);
    expect(runs.at(-1)!.trigger).toBe('startup');
    expect(runs[0]!.trigger).toBe('schedule');
    for (const slot of slots) expect(slot.getTime() % 1000).toBe(0);
    expect(new Set(slots.map((d) => d.getTime())).size).toBe(slots.length);
    expect(runs.map((r) => r.seq)).toEqual([...runs.map((r) => r.seq)].sort((a, b) => b - a));
  });

  it('never overlaps runs: a tick during a slow run is skipped', async () => {
    const { logger, events } = capture();
    let active = 0;
    let maxActive = 0;
    const s = new Scheduler({
      everyMs: 1000,
      logger,
      task: async () => {
        maxActive = Math.max(maxActive, ++active);
        await sleep(1500);
        active--;
      },
    });
    s.start();
    await sleep(3200);
    await s.stop();
    expect(maxActive).toBe(1);
    expect(events()).toContain('tick_skipped');
    expect(s.runs().length).toBeGreaterThanOrEqual(2);
    expect(s.runs().length).toBeLessThanOrEqual(3);
  });

  it('logs a failed run and retries it at the next tick', async () => {
    const { logger, lines } = capture();
    let calls = 0;
    const seen: RunResult[] = [];
    const s = new Scheduler({
      everyMs: 1000,
      logger,
      onRun: (r) => seen.push(r),
      task: async () => {
        if (++calls === 1) throw new Error('warehouse is busy\nsecond line');
        return 'fine';
      },
    });
    s.start();
    await sleep(1600);
    await s.stop();
    expect(seen[0]).toMatchObject({ ok: false, error: 'warehouse is busy', trigger: 'startup' });
    expect(seen[1]).toMatchObject({ ok: true, result: 'fine', trigger: 'schedule' });
    const failed = lines.find((l) => l.event === 'run_failed')!;
    expect(failed).toMatchObject({ level: 50, error: 'warehouse is busy', seq: 1 });
  });

  it('stop() stops scheduling and lets the run in flight finish', async () => {
    const { logger } = capture();
    let finished = 0;
    const s = new Scheduler({
      everyMs: 1000,
      logger,
      task: async () => {
        await sleep(700);
        finished++;
      },
    });
    s.start();
    await sleep(100);
    expect(s.running).toBe(true);
    await s.stop();
    expect(finished).toBe(1);
    expect(s.running).toBe(false);
    await sleep(1200);
    expect(finished).toBe(1);
    expect(s.runs()).toHaveLength(1);
  });

  it('keeps only the last N results', async () => {
    const { logger } = capture();
    const s = new Scheduler({ everyMs: 1000, keep: 2, logger, task: async () => 1 });
    s.start();
    await sleep(2300);
    await s.stop();
    expect(s.runs()).toHaveLength(2);
    expect(s.runs()[0]!.seq).toBeGreaterThanOrEqual(3);
  });

  it('refuses intervals croner cannot keep', () => {
    const { logger } = capture();
    expect(() => new Scheduler({ everyMs: 500, logger, task: async () => 1 })).toThrow(/whole number of seconds/);
    expect(() => new Scheduler({ everyMs: 1500, logger, task: async () => 1 })).toThrow(/whole number of seconds/);
  });
});

describe('pipeline task', () => {
  const store = { uri: 'mem://' } as Storage;
  const report = { run_id: 'r1' } as EtlReport;

  it('under --simulate generates one batch per slot, then runs etl', async () => {
    const calls: string[] = [];
    const task = pipelineTask({
      bronze: store,
      warehouse: store,
      everyMs: 300_000,
      simulate: { events: 50, faultRate: 0.1, seed: 's' },
      generate: async (o) => {
        calls.push(`generate ${o.start.toISOString()} ${o.batches} ${o.minEvents}-${o.maxEvents} ${o.seed} ${o.faultRate}`);
        return { files: [{ key: 'k', lines: 50, bytes: 1 }], events: 50 };
      },
      etl: async () => {
        calls.push('etl');
        return report;
      },
    });
    const slot = new Date('2026-01-01T10:05:00Z');
    expect(await task(slot)).toEqual({ generated: { batch_time: '2026-01-01T10:05:00.000Z', files: 1, events: 50 }, etl: report });
    // The same slot again (a retry) does not produce the batch twice.
    expect(await task(slot)).toEqual({ etl: report });
    expect(calls).toEqual(['generate 2026-01-01T10:05:00.000Z 1 50-50 s:2026-01-01T10:05:00.000Z 0.1', 'etl', 'etl']);
  });

  it('without --simulate only runs etl', async () => {
    let generated = false;
    const task = pipelineTask({
      bronze: store,
      warehouse: store,
      everyMs: 1000,
      generate: async () => {
        generated = true;
        return { files: [], events: 0 };
      },
      etl: async () => report,
    });
    expect(await task(new Date())).toEqual({ etl: report });
    expect(generated).toBe(false);
  });
});
