import { describe, expect, it } from 'vitest';
import { formatClock, formatRatio, formatSpan } from '../../../src/analysis/index.ts';
import { formatMs } from '../../../src/text.ts';
import { policyFromConfig } from '../../../src/analysis/index.ts';

describe('formatting', () => {
  it('ratios keep 4 significant digits and never use exponents', () => {
    expect(formatRatio(0.034)).toBe('0.034');
    expect(formatRatio(0.0123456)).toBe('0.01235');
    expect(formatRatio(0)).toBe('0');
    expect(formatRatio(1)).toBe('1');
    expect(formatRatio(0.00000012)).toBe('0.00000012');
  });
  it('latencies are whole ms from 10 ms, one decimal below', () => {
    expect(formatMs(812.4)).toBe('812 ms');
    expect(formatMs(3.14)).toBe('3.1 ms');
  });
  it('clock times are UTC HH:MM:SS', () => {
    expect(formatClock(Date.UTC(2025, 0, 1, 12, 3, 30))).toBe('12:03:30');
    expect(formatClock('2025-01-01T23:59:59.900Z')).toBe('23:59:59');
  });
  it('spans read like the inputs', () => {
    expect(formatSpan(500)).toBe('500ms');
    expect(formatSpan(1500)).toBe('1.5s');
    expect(formatSpan(300_000)).toBe('5m');
    expect(formatSpan(90_000)).toBe('1m30s');
  });
  it('the policy comes from the validation config, with a consecutive-error limit of 4', () => {
    const p = policyFromConfig({
      validation: {
        errorRateThreshold: 0.02,
        performanceThresholdMs: 300,
        windowMs: 1000,
        intervalMs: 100,
        failureLimit: 1,
        noData: 'fail',
        versionIdentity: 'sha',
        comparisonMargin: 0.01,
        relativeMargin: 0.5,
        minRequests: 50,
        insufficientData: 'fail',
        evaluationDelayMs: 0,
        rollbackWindowMs: 1000,
        rollbackTimeoutMs: 1000,
      },
    });
    expect(p).toEqual({
      errorRateThreshold: 0.02,
      latencyThresholdMs: 300,
      failureLimit: 1,
      consecutiveErrorLimit: 4,
      noData: 'fail',
      comparisonMargin: 0.01,
      relativeMargin: 0.5,
      minRequests: 50,
      insufficientData: 'fail',
    });
  });
});
