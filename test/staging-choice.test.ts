import { afterEach, describe, expect, it } from 'vitest';
import { stageOnDisk } from '../src/etl/run-etl.js';

const batches = (n: number, size = 33_000_000) => Array.from({ length: n }, () => ({ size }));

describe('where a run stages its lines', () => {
  const forced = process.env.STRATA_STAGING;
  afterEach(() => {
    if (forced === undefined) delete process.env.STRATA_STAGING;
    else process.env.STRATA_STAGING = forced;
  });

  it('in memory up to 48 files and 2 GiB, on disk past either', () => {
    delete process.env.STRATA_STAGING;
    expect(stageOnDisk(batches(1))).toBe(false);
    expect(stageOnDisk(batches(48))).toBe(false);
    expect(stageOnDisk(batches(49))).toBe(true);
    expect(stageOnDisk(batches(2, 1024 ** 3))).toBe(false);
    expect(stageOnDisk(batches(3, 1024 ** 3))).toBe(true);
  });

  it('as STRATA_STAGING says, when it says', () => {
    process.env.STRATA_STAGING = 'disk';
    expect(stageOnDisk(batches(1))).toBe(true);
    process.env.STRATA_STAGING = 'memory';
    expect(stageOnDisk(batches(100))).toBe(false);
  });
});
