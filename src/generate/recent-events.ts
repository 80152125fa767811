import { eventFields, renderFields } from './event-line.js';
import { uuidText } from './format.js';
import type { Rng } from './prng.js';
import { emptyEvent, type SimEvent } from './sessions.js';

/** How far back duplicates reach within a file. */
const SIZE = 64;
const WIDTH = 7;

/** The last clean events of a file, kept as numbers (cheap) and turned back into lines on demand. */
export class RecentEvents {
  private count = 0;
  private readonly ids = new Uint32Array(SIZE * 4);
  private readonly times = new Float64Array(SIZE);
  private readonly data = new Float64Array(SIZE * WIDTH);

  remember(id: Uint32Array, timeMs: number, e: SimEvent): void {
    const slot = this.count++ % SIZE;
    this.ids.set(id, slot * 4);
    this.times[slot] = timeMs;
    const d = this.data;
    const o = slot * WIDTH;
    d[o] = e.type;
    d[o + 1] = e.product;
    d[o + 2] = e.quantity;
    d[o + 3] = e.query;
    d[o + 4] = e.user;
    d[o + 5] = e.sessionHi;
    d[o + 6] = e.sessionLo;
  }

  /** One of the recent clean events: its exact line and its id. */
  pick(rng: Rng): { line: string; id: string } {
    if (this.count === 0) throw new Error('no clean event yet');
    const slot = rng.int(Math.min(this.count, SIZE));
    const d = this.data;
    const o = slot * WIDTH;
    const e = emptyEvent();
    [e.type, e.product, e.quantity, e.query, e.user, e.sessionHi, e.sessionLo] = d.subarray(o, o + WIDTH);
    const id = this.ids.subarray(slot * 4, slot * 4 + 4);
    return { line: renderFields(eventFields(id, this.times[slot], e)), id: uuidText(id) };
  }
}
