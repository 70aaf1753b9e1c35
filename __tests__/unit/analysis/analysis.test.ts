import { describe, expect, it } from 'vitest';
import {
  createAnalysis,
  needsMoreSamples,
  observe,
  summarize,
  type AnalysisPolicy,
  type Observation,
} from '../../../src/analysis/index.ts';

const T0 = Date.UTC(2025, 0, 2, 12, 3, 0);

function policy(over: Partial<AnalysisPolicy> = {}): AnalysisPolicy {
  return {
    errorRateThreshold: 0.01,
    latencyThresholdMs: 500,
    failureLimit: 0,
    consecutiveErrorLimit: 4,
    noData: 'warn',
    comparisonMargin: 0.005,
    relativeMargin: 0.5,
    minRequests: 200,
    insufficientData: 'rollback',
    ...over,
  };
}

function good(i: number): Observation {
  return {
    at: T0 + i * 30_000,
    errorRate: { kind: 'value', value: 0.002 },
    latency: { kind: 'value', value: 120 },
  };
}
function bad(i: number, rate = 0.034): Observation {
  return { ...good(i), errorRate: { kind: 'value', value: rate } };
}
function failing(i: number): Observation {
  return {
    at: T0 + i * 30_000,
    errorRate: { kind: 'error', error: 'HTTP 500' },
    latency: { kind: 'error', error: 'HTTP 500' },
  };
}
function empty(i: number): Observation {
  return { at: T0 + i * 30_000, errorRate: { kind: 'no-data' }, latency: { kind: 'value', value: 100 } };
}

describe('failure-limit', () => {
  it('rolls back on the first breach with failure-limit 0, naming value, threshold and time', () => {
    const s = createAnalysis();
    expect(observe(s, good(0), policy()).decision.kind).toBe('continue');
    const { decision } = observe(s, bad(1), policy());
    expect(decision).toMatchObject({ kind: 'rollback', cause: 'breach' });
    if (decision.kind !== 'rollback') throw new Error('unreachable');
    expect(decision.reason).toContain('error rate 0.034 > 0.01 at 12:03:30');
    expect(decision.reason).toContain('failure-limit 0');
  });

  it('tolerates exactly failure-limit breaches and rolls back on the next one', () => {
    const p = policy({ failureLimit: 2 });
    const s = createAnalysis();
    expect(observe(s, bad(0), p).decision.kind).toBe('continue');
    expect(observe(s, good(1), p).decision.kind).toBe('continue');
    expect(observe(s, bad(2), p).decision.kind).toBe('continue');
    expect(s.breaches).toBe(2);
    const third = observe(s, bad(3), p);
    expect(third.decision.kind).toBe('rollback');
    expect(s.breaches).toBe(3);
  });

  it('a value equal to its threshold is not a breach', () => {
    const s = createAnalysis();
    const r = observe(
      s,
      { at: T0, errorRate: { kind: 'value', value: 0.01 }, latency: { kind: 'value', value: 500 } },
      policy(),
    );
    expect(r.sample.outcome).toBe('pass');
    expect(r.sample.reason).toBe('error rate 0.01 ≤ 0.01; latency 500 ms ≤ 500 ms at 12:03:00');
  });

  it('judges latency against performance-threshold-ms', () => {
    const s = createAnalysis();
    const r = observe(s, { ...good(0), latency: { kind: 'value', value: 812.4 } }, policy());
    expect(r.sample.breach).toBe(true);
    expect(r.sample.reason).toBe('latency 812 ms > 500 ms at 12:03:00');
    expect(r.decision.kind).toBe('rollback');
  });

  it('ignores samples after a terminal decision', () => {
    const s = createAnalysis();
    observe(s, bad(0), policy());
    const again = observe(s, good(1), policy());
    expect(again.decision.kind).toBe('rollback');
    expect(s.samples).toHaveLength(1);
  });

  it('summarises a tolerated breach as warned, with the maximum shown above its threshold', () => {
    const p = policy({ failureLimit: 1 });
    const s = createAnalysis();
    observe(s, good(0), p);
    observe(s, bad(1, 0.02), p);
    observe(s, good(2), p);
    const v = summarize(s, p);
    expect(v.status).toBe('warned');
    expect(v.reason).toContain('error rate max 0.02 > 0.01');
    expect(v.reason).toContain('1 breach(es) tolerated (failure-limit 1)');
    expect(v.reason).toContain('3 samples 12:03:00–12:04:00');
  });

  it('summarises a clean window as passed', () => {
    const s = createAnalysis();
    for (let i = 0; i < 4; i++) observe(s, good(i), policy());
    expect(summarize(s, policy())).toEqual({
      status: 'passed',
      reason: '4 samples 12:03:00–12:04:30; error rate max 0.002 ≤ 0.01; latency max 120 ms ≤ 500 ms',
    });
  });
});

describe('consecutive query errors', () => {
  it('tolerates up to the limit (4), and the fifth in a row means production cannot be observed', () => {
    const s = createAnalysis();
    for (let i = 0; i < 4; i++) expect(observe(s, failing(i), policy()).decision.kind).toBe('continue');
    expect(needsMoreSamples(s)).toBe(true);
    const fifth = observe(s, failing(4), policy());
    expect(fifth.decision).toMatchObject({ kind: 'rollback', cause: 'unobservable' });
    if (fifth.decision.kind !== 'rollback') throw new Error('unreachable');
    expect(fifth.decision.reason).toMatch(
      /^could not observe production: 5 consecutive monitoring query errors \(limit 4\)/,
    );
    expect(fifth.decision.reason).toContain('HTTP 500');
    expect(needsMoreSamples(s)).toBe(false);
  });

  it('errors do not count against failure-limit, and an observation resets the run of errors', () => {
    const s = createAnalysis();
    for (let i = 0; i < 4; i++) observe(s, failing(i), policy());
    expect(observe(s, good(4), policy()).decision.kind).toBe('continue');
    expect(s.consecutiveErrors).toBe(0);
    for (let i = 5; i < 9; i++) expect(observe(s, failing(i), policy()).decision.kind).toBe('continue');
    expect(s.breaches).toBe(0);
    expect(s.errors).toBe(8);
  });

  it('a window that ends on errors needs more samples; once observed it passes with a warning', () => {
    const s = createAnalysis();
    observe(s, good(0), policy());
    observe(s, failing(1), policy());
    expect(needsMoreSamples(s)).toBe(true);
    observe(s, good(2), policy());
    expect(needsMoreSamples(s)).toBe(false);
    const v = summarize(s, policy());
    expect(v.status).toBe('warned');
    expect(v.reason).toContain('1 query error(s) retried');
  });

  it('a breach seen by one query wins over an error from the other', () => {
    const s = createAnalysis();
    const r = observe(
      s,
      { at: T0, errorRate: { kind: 'value', value: 0.5 }, latency: { kind: 'error', error: 'timeout after 10s' } },
      policy(),
    );
    expect(r.sample.outcome).toBe('breach');
    expect(r.sample.reason).toBe('error rate 0.5 > 0.01 at 12:03:00');
  });

  it('one failing query makes the sample an error even when the other passes', () => {
    const s = createAnalysis();
    const r = observe(
      s,
      { at: T0, errorRate: { kind: 'value', value: 0 }, latency: { kind: 'error', error: 'HTTP 502' } },
      policy(),
    );
    expect(r.sample.outcome).toBe('error');
    expect(r.sample.errorRate).toBe(0);
    expect(r.sample.reason).toBe('latency query failed: HTTP 502 at 12:03:00');
  });
});

describe('no-data policies', () => {
  it('warn: counts as a pass and says so', () => {
    const p = policy({ noData: 'warn' });
    const s = createAnalysis();
    const r = observe(s, empty(0), p);
    expect(r.sample.outcome).toBe('no-data');
    expect(r.sample.breach).toBe(false);
    expect(r.sample.reason).toBe('error rate: no data (no-data: warn) at 12:03:00');
    expect(r.decision.kind).toBe('continue');
    observe(s, good(1), p);
    const v = summarize(s, p);
    expect(v.status).toBe('warned');
    expect(v.reason).toContain('1 sample(s) without data (no-data: warn)');
  });

  it('fail: counts as a breach against failure-limit', () => {
    const p = policy({ noData: 'fail', failureLimit: 1 });
    const s = createAnalysis();
    const first = observe(s, empty(0), p);
    expect(first.sample.breach).toBe(true);
    expect(first.decision.kind).toBe('continue');
    const second = observe(s, empty(1), p);
    expect(second.decision).toMatchObject({ kind: 'rollback', cause: 'breach' });
    if (second.decision.kind !== 'rollback') throw new Error('unreachable');
    expect(second.decision.reason).toContain('error rate: no data (no-data: fail counts it as a breach) at 12:03:30');
  });

  it('inconclusive: stops at the first empty sample without rolling back', () => {
    const p = policy({ noData: 'inconclusive' });
    const s = createAnalysis();
    observe(s, good(0), p);
    const r = observe(s, empty(1), p);
    expect(r.decision.kind).toBe('inconclusive');
    const v = summarize(s, p);
    expect(v.status).toBe('failed');
    expect(v.decision?.kind).toBe('inconclusive');
    expect(v.reason).toContain('no-data: inconclusive stops without rolling back');
  });

  it('no data is not an error: it resets the consecutive-error count', () => {
    const s = createAnalysis();
    for (let i = 0; i < 4; i++) observe(s, failing(i), policy());
    observe(s, empty(4), policy());
    expect(s.consecutiveErrors).toBe(0);
  });
});

describe('monitor alerts', () => {
  it('a monitor in Alert is a breach naming the monitor', () => {
    const s = createAnalysis();
    const r = observe(
      s,
      {
        ...good(0),
        monitors: { kind: 'ok', alerting: [{ id: 42, name: 'web 5xx', state: 'Alert' }] },
      },
      policy(),
    );
    expect(r.sample.breach).toBe(true);
    expect(r.sample.alerting).toEqual(['web 5xx']);
    expect(r.sample.reason).toBe('monitor "web 5xx" (42) is in Alert at 12:03:00');
    expect(r.decision.kind).toBe('rollback');
  });

  it('no monitor in Alert passes; a failing monitors query is a query error', () => {
    const s = createAnalysis();
    const ok = observe(s, { at: T0, monitors: { kind: 'ok', alerting: [] } }, policy());
    expect(ok.sample.outcome).toBe('pass');
    const err = observe(s, { at: T0 + 1000, monitors: { kind: 'error', error: 'HTTP 503' } }, policy());
    expect(err.sample.outcome).toBe('error');
    expect(s.consecutiveErrors).toBe(1);
  });
});
