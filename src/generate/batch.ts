import { MAX_CLEAN_LINE, eventFields, renderFields, writeCleanLine } from './event-line.js';
import type { Draft } from './fault-draft.js';
import { BLANK_LINES, coerce, FaultDeck } from './faults.js';
import { drawId, TimestampWriter, uuid } from './format.js';
import { CHUNK_BYTES, GzipFileSink } from './gzip-sink.js';
import type { BatchSpec } from './layout.js';
import { LineBuffer } from './line-buffer.js';
import { Rng } from './prng.js';
import { RecentEvents } from './recent-events.js';
import { emptyEvent, SessionSimulator } from './sessions.js';
import { eventsInBatch } from './traffic.js';

/** Mean time between two events of one visitor; sets how many sessions run at once. */
const THINK_MS = 15_000;

export interface BatchStats {
  /** Non-blank lines, one per event (clean or dirty). */
  readonly lines: number;
  readonly dirtyLines: number;
  readonly blankLines: number;
  /** Uncompressed size. */
  readonly rawBytes: number;
}

/**
 * Independent random streams per batch, derived from the seed and the batch's time only: batch k
 * has the same bytes whether it is generated alone or after others.
 */
function stream(spec: BatchSpec, timeMs: number, name: string): Rng {
  return new Rng(`${spec.seed}\u0000${timeMs}\u0000${name}`);
}

/** How many events the batch holds: a pure function of its spec. */
export function batchEvents(spec: BatchSpec): number {
  return eventsInBatch(spec.timeMs, spec.minEvents, spec.maxEvents, stream(spec, spec.timeMs, 'volume'));
}

/** The id of a batch's second line, which is always clean: what the next batch resends. */
function secondId(spec: BatchSpec, timeMs: number): string {
  const ids = stream(spec, timeMs, 'ids');
  uuid(ids);
  return uuid(ids);
}

/** Writes one batch as gzipped JSON lines to a local file. */
export async function writeBatch(spec: BatchSpec, path: string): Promise<BatchStats> {
  const n = batchEvents(spec);
  const simRng = stream(spec, spec.timeMs, 'sessions');
  const idRng = stream(spec, spec.timeMs, 'ids');
  const faultRng = stream(spec, spec.timeMs, 'faults');
  const sim = new SessionSimulator(simRng, Math.max(1, Math.min(n, Math.round((n * THINK_MS) / spec.intervalMs))));
  const clock = new TimestampWriter();
  const deck = new FaultDeck(faultRng);
  const event = emptyEvent();
  const id = new Uint32Array(4);
  const recent = new RecentEvents();
  const previousBatchId = secondId(spec, spec.timeMs - spec.intervalMs);
  // Every other batch of a dirty run starts with a byte-order mark, where decoders like to drop it.
  const bomFirst = spec.faultRate > 0 && n >= 2 && Math.floor(spec.timeMs / spec.intervalMs) % 2 === 0;
  // Exactly round(n * rate) dirty lines: maybe line 1 (the BOM), the rest spread over lines 3..n
  // by selection sampling. Line 2 always stays clean.
  const dirtyLines = Math.min(Math.round(n * spec.faultRate), Math.max(0, n - 2) + (bomFirst ? 1 : 0));
  let dirtyLeft = dirtyLines;
  let blankLines = 0;
  const out = new LineBuffer(CHUNK_BYTES);
  const sink = new GzipFileSink(path);
  try {
    for (let i = 0; i < n; i++) {
      const timeMs = spec.timeMs + Math.floor(((i + simRng.float()) * spec.intervalMs) / n);
      drawId(idRng, id);
      sim.next(event);
      if (i === 0 && bomFirst && dirtyLeft > 0) {
        dirtyLeft--;
        out.text(`\uFEFF${renderFields(eventFields(id, timeMs, event))}\n`);
      } else if (dirtyLeft > 0 && i > 1 && faultRng.float() * (n - i) < dirtyLeft) {
        dirtyLeft--;
        let kind = deck.draw();
        for (; kind === 'blank'; kind = deck.draw()) {
          out.text(`${faultRng.pick(BLANK_LINES)}\n`);
          blankLines++;
        }
        coerce(event, kind.needs, faultRng);
        const draft: Draft = { fields: eventFields(id, timeMs, event), event, timeMs, rng: faultRng, recent: () => recent.pick(faultRng), previousBatchId };
        const line = kind.make(draft);
        if (typeof line === 'string') out.text(line);
        else out.put(line);
        out.byte(10);
      } else {
        writeCleanLine(out, id, timeMs, clock, event);
        recent.remember(id, timeMs, event);
      }
      if (out.room < MAX_CLEAN_LINE * 4) await sink.write(out.take());
    }
    await sink.write(out.take());
    await sink.close();
  } catch (err) {
    sink.abort();
    throw err;
  }
  return { lines: n, dirtyLines, blankLines, rawBytes: sink.rawBytes };
}
