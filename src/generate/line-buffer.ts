/**
 * Bytes out without strings: the hot loop writes each clean event straight into a Buffer from
 * precomputed byte fragments and digit tables. Building a JS string per line and encoding it
 * cost more than gzip itself (measured: ~1 s vs 0.2 s for a 625,000-event batch).
 */

const HEX = new Uint8Array(Buffer.from('0123456789abcdef'));
const ZERO = 48;

export const ascii = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));

export class LineBuffer {
  buf: Buffer;
  off = 0;

  constructor(readonly capacity: number) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  get room(): number {
    return this.capacity - this.off;
  }

  /** Hands over the filled part and starts a fresh buffer (the old one now belongs to zlib). */
  take(): Buffer {
    const out = this.buf.subarray(0, this.off);
    this.buf = Buffer.allocUnsafe(this.capacity);
    this.off = 0;
    return out;
  }

  put(bytes: Uint8Array): void {
    const b = this.buf;
    let o = this.off;
    for (let i = 0; i < bytes.length; i++) b[o++] = bytes[i];
    this.off = o;
  }

  byte(value: number): void {
    this.buf[this.off++] = value;
  }

  /** UTF-8 text; the caller makes sure there is room (3 bytes per character at most). */
  text(text: string): void {
    if (text.length * 3 > this.room) throw new Error(`line buffer overflow: ${text.length} characters, ${this.room} bytes left`);
    this.off += this.buf.write(text, this.off, 'utf8');
  }

  hex(x: number, nibbles: number): void {
    const b = this.buf;
    const o = this.off;
    for (let i = nibbles - 1; i >= 0; i--) {
      b[o + i] = HEX[x & 15];
      x >>>= 4;
    }
    this.off = o + nibbles;
  }

  /** A non-negative integer in decimal. */
  digits(n: number): void {
    let len = 1;
    for (let p = 10; p <= n; p *= 10) len++;
    this.padded(n, len);
  }

  /** A non-negative integer in exactly `width` decimal digits, zero-padded. */
  padded(n: number, width: number): void {
    const b = this.buf;
    const o = this.off;
    for (let i = width - 1; i >= 0; i--) {
      const q = Math.floor(n / 10);
      b[o + i] = ZERO + n - q * 10;
      n = q;
    }
    this.off = o + width;
  }
}
