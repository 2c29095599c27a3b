import { describe, expect, it } from 'vitest';
import { calibrationOf, lengthOf } from '../src/calibration';

describe('calibration', () => {
  it('prefers Pixel Spacing over Imager Pixel Spacing', () => {
    const c = calibrationOf('0.2\\0.2', '0.25\\0.25');
    expect(c.source).toBe('Pixel Spacing');
    expect(c.label).toContain('0.2 mm');
  });
  it('falls back to Imager Pixel Spacing and says so', () => {
    const c = calibrationOf('', '0.139\\0.143');
    expect(c.source).toBe('Imager Pixel Spacing');
    expect(c.label).toContain('0.139 × 0.143');
  });
  it('says uncalibrated when neither is usable', () => {
    for (const [ps, ips] of [[null, null], ['', ''], ['0\\0', 'x\\y'], ['0.2', undefined]] as const) {
      const c = calibrationOf(ps, ips);
      expect(c.source).toBe('uncalibrated');
      expect(lengthOf(c, [0, 0], [30, 40])).toEqual({ value: 50, unit: 'px', text: '50 px (uncalibrated)' });
    }
  });
  it('scales columns and rows by their own spacing', () => {
    const c = calibrationOf('0.5\\0.1', null); // rows 0.5 mm apart, columns 0.1 mm
    expect(lengthOf(c, [0, 0], [100, 0]).value).toBeCloseTo(10);
    expect(lengthOf(c, [0, 0], [0, 100]).value).toBeCloseTo(50);
    expect(lengthOf(c, [10, 10], [40, 50]).text).toBe(`${Math.hypot(30 * 0.1, 40 * 0.5).toFixed(1)} mm`);
  });
});
