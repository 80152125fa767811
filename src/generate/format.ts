import { ascii, type LineBuffer } from './line-buffer.js';
import type { Rng } from './prng.js';

const HEX2: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function hex8(x: number): string {
  return HEX2[x >>> 24] + HEX2[(x >>> 16) & 255] + HEX2[(x >>> 8) & 255] + HEX2[x & 255];
}

export function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** Draws the four words of an event id. */
export function drawId(rng: Rng, words: Uint32Array): void {
  words[0] = rng.u32();
  words[1] = rng.u32();
  words[2] = rng.u32();
  words[3] = rng.u32();
}

/** The words' UUID, version-4-shaped: `xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx`. */
export function writeUuid(w: LineBuffer, words: Uint32Array): void {
  const b = words[1];
  const c = words[2];
  w.hex(words[0], 8);
  w.byte(45);
  w.hex(b >>> 16, 4);
  w.byte(45);
  w.hex((b & 0x0fff) | 0x4000, 4);
  w.byte(45);
  w.hex(((c >>> 16) & 0x3fff) | 0x8000, 4);
  w.byte(45);
  w.hex(c & 0xffff, 4);
  w.hex(words[3], 8);
}

export function uuidText(words: Uint32Array): string {
  const [a, b, c, d] = words;
  const h = hex8(b);
  const v = hex8((b & 0x0fff) | 0x4000);
  const x = hex8(((c >>> 16) & 0x3fff) | 0x8000);
  return `${hex8(a)}-${h.slice(0, 4)}-${v.slice(4)}-${x.slice(4)}-${hex8(c).slice(4)}${hex8(d)}`;
}

export function uuid(rng: Rng): string {
  const words = new Uint32Array(4);
  drawId(rng, words);
  return uuidText(words);
}

/**
 * Writes `2025-06-30T23:50:00.092Z` for epoch milliseconds. Times in a batch rise monotonically,
 * so the `YYYY-MM-DDTHH:MM:` prefix is encoded once a minute.
 */
export class TimestampWriter {
  private minuteStart = NaN;
  private prefix: Uint8Array = new Uint8Array(0);

  write(w: LineBuffer, ms: number): void {
    let offset = ms - this.minuteStart;
    if (!(offset >= 0 && offset < 60_000)) {
      this.minuteStart = ms - (((ms % 60_000) + 60_000) % 60_000);
      this.prefix = ascii(new Date(this.minuteStart).toISOString().slice(0, 17));
      offset = ms - this.minuteStart;
    }
    const seconds = Math.floor(offset / 1000);
    w.put(this.prefix);
    w.padded(seconds, 2);
    w.byte(46);
    w.padded(offset - seconds * 1000, 3);
    w.byte(90);
  }
}
