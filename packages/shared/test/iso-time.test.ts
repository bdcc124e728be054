import { describe, expect, it } from 'vitest';
import { IsoTimeMemo } from '../src/iso-time.js';

describe('IsoTimeMemo', () => {
  it('gives exactly what Date#toISOString gives, for runs of nearby values and for jumps', () => {
    const memo = new IsoTimeMemo();
    // Deterministic pseudo-random walk: small steps (same minute), minute and hour crossings, and
    // jumps across the epoch, year 10000 and fractional milliseconds.
    let seed = 12345;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const specials = [0, -1, 59_999, 60_000, -60_000, -60_001, 1.5, 1.999, 253402300799999, 253402300800000, -62167219200000, -62167219200001, Date.UTC(2024, 1, 29, 23, 59, 59, 999)];
    let ms = Date.UTC(2026, 11, 2, 16, 47, 59, 990);
    const values: number[] = [...specials];
    for (let i = 0; i < 20_000; i++) {
      const r = next();
      if (r < 0.8) ms += Math.floor(next() * 50);
      else if (r < 0.95) ms += Math.floor(next() * 120_000) - 30_000;
      else ms = Math.floor((next() - 0.3) * 4e12);
      values.push(ms);
      if (i % 1000 === 0) values.push(...specials);
    }
    for (const v of values) expect(memo.iso(v)).toBe(new Date(v).toISOString());
  });
});
