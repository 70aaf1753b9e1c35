import { describe, expect, it } from 'vitest';
import {
  GiB,
  MiB,
  fmtMB,
  fmtMs,
  fmtSize,
  linearFit,
  median,
  medianIndex,
  medianOfFinite,
  parseSize,
  quantile,
} from '../lib/stats.ts';

describe('median and quantiles', () => {
  it('takes the middle value, or the mean of the two middle values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(/empty/);
  });

  it('ignores readings that could not be taken, NaN when none could', () => {
    expect(medianOfFinite([5, undefined, NaN, 7])).toBe(6);
    expect(medianOfFinite([undefined, NaN])).toBeNaN();
  });

  it('interpolates quantiles between ranks', () => {
    expect(quantile([0, 10], 0.5)).toBe(5);
    expect(quantile([1, 2, 3, 4, 5], 1)).toBe(5);
    expect(quantile([1, 2, 3, 4, 5], 0)).toBe(1);
  });

  it('names the run closest to the median', () => {
    expect(medianIndex([10, 30, 20])).toBe(2);
  });
});

describe('linearFit', () => {
  it('recovers the slope of points on a line', () => {
    const fit = linearFit([1, 2, 3, 4].map((x) => ({ x, y: 3 * x + 7 })));
    expect(fit.slope).toBeCloseTo(3);
    expect(fit.intercept).toBeCloseTo(7);
  });

  it('refuses a slope it cannot have', () => {
    expect(() => linearFit([{ x: 1, y: 1 }])).toThrow(/two points/);
    expect(() =>
      linearFit([
        { x: 1, y: 1 },
        { x: 1, y: 2 },
      ]),
    ).toThrow(/distinct/);
  });
});

describe('sizes and formats', () => {
  it('parses binary sizes as the flags take them', () => {
    expect(parseSize('256M')).toBe(256 * MiB);
    expect(parseSize('4G')).toBe(4 * GiB);
    expect(parseSize('64MiB')).toBe(64 * MiB);
    expect(parseSize('1.5G')).toBe(1.5 * GiB);
    expect(parseSize('1048576')).toBe(MiB);
    expect(() => parseSize('big')).toThrow(/not a size/);
  });

  it('formats what the table shows', () => {
    expect(fmtMs(340.4)).toBe('340 ms');
    expect(fmtMs(1234)).toBe('1.23 s');
    expect(fmtMs(21_340)).toBe('21.3 s');
    expect(fmtMB(5_156_866)).toBe('5.2 MB');
    expect(fmtSize(GiB)).toBe('1 GiB');
    expect(fmtSize(256 * MiB)).toBe('256 MiB');
  });
});
