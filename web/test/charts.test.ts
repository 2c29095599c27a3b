import { describe, expect, it } from 'vitest';
import { ticks } from '../src/charts';

describe('chart ticks', () => {
  it('counts get whole-number ticks, never repeated', () => {
    for (const max of [0, 1, 2, 3, 4, 5, 7, 11, 23, 99, 1000]) {
      const t = ticks(max, true);
      expect(t.top).toBeGreaterThanOrEqual(max);
      expect(t.values.every((v) => Number.isInteger(v))).toBe(true);
      expect(new Set(t.labels).size).toBe(t.labels.length);
      expect(t.values.length).toBeLessThanOrEqual(7);
    }
    expect(ticks(1, true).labels).toEqual(['0', '1']);
    expect(ticks(3, true).labels).toEqual(['0', '1', '2', '3']);
  });
  it('fractions get the decimals their step needs', () => {
    expect(ticks(1, false).labels).toEqual(['0.0', '0.2', '0.4', '0.6', '0.8', '1.0']);
    expect(ticks(100, false).labels).toEqual(['0', '20', '40', '60', '80', '100']);
    const t = ticks(0.37, false);
    expect(new Set(t.labels).size).toBe(t.labels.length);
    expect(t.top).toBeGreaterThanOrEqual(0.37);
  });
});
