import type { Rng } from './prng.js';

/**
 * Daily traffic curve (UTC): quiet at night (minimum near 04:00), a lunchtime bump, and the
 * evening peak near 20:30. `load(t)` is 0 at the quietest minute of the day and 1 at the busiest.
 */
function rawLoad(hour: number): number {
  const gauss = (mean: number, sd: number): number => Math.exp(-(((hour - mean) / sd) ** 2) / 2);
  const day = (1 - Math.cos((2 * Math.PI * (hour - 4)) / 24)) / 2;
  // The evening peak also wraps around midnight.
  return 0.55 * day + 0.45 * (gauss(20.5, 2.2) + gauss(-3.5, 2.2)) + 0.15 * gauss(12.5, 1.5);
}

const [MIN_LOAD, MAX_LOAD] = (() => {
  let lo = Infinity;
  let hi = -Infinity;
  for (let m = 0; m < 1440; m++) {
    const v = rawLoad(m / 60);
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return [lo, hi];
})();

export function load(timeMs: number): number {
  const hour = (((timeMs % 86_400_000) + 86_400_000) % 86_400_000) / 3_600_000;
  return Math.min(1, Math.max(0, (rawLoad(hour) - MIN_LOAD) / (MAX_LOAD - MIN_LOAD)));
}

/** Events in the batch starting at `timeMs`: the curve scaled into [min, max], with ±3% noise. */
export function eventsInBatch(timeMs: number, min: number, max: number, rng: Rng): number {
  if (min === max) return min;
  const noisy = load(timeMs) + (rng.float() - 0.5) * 0.06;
  return Math.round(min + (max - min) * Math.min(1, Math.max(0, noisy)));
}
