/**
 * The sampling loop with count queries and an evaluation delay, on a fake clock and a fake Datadog:
 * which windows are asked, when, and how the counts' decision procedure ends a watch.
 */
import { describe, expect, it } from 'vitest';
import { createAnalysis, type AnalysisPolicy, type QueryResult } from '../../../src/analysis/index.ts';
import { totalOfQueryResponse } from '../../../src/providers/datadog-parse.ts';
import type { Logger } from '../../../src/pipeline/types.ts';
import { forRelease, isScoped, versionOf } from '../../../src/watch/production.ts';
import { sampleWindow, type CountSignals, type MetricsSource } from '../../../src/watch/sampler.ts';

const policy: AnalysisPolicy = {
  errorRateThreshold: 0.2,
  latencyThresholdMs: 500,
  failureLimit: 0,
  consecutiveErrorLimit: 4,
  noData: 'inconclusive',
  comparisonMargin: 0.01,
  relativeMargin: 0,
  minRequests: 40,
  insufficientData: 'rollback',
};
const log: Logger = { info: () => {}, warning: () => {}, error: () => {}, debug: () => {}, untrusted: () => {} };

/** A fake Datadog: `rate(version)` requests/s and `errors(version)` ratio, asked windows recorded. */
function fakeSource(per: Record<string, { rps: number; errorRatio: number }>) {
  const asked: { query: string; from: number; to: number; at: number }[] = [];
  let clock = 0;
  const source: MetricsSource = {
    async query() {
      return { kind: 'no-data' };
    },
    async count(query, from, to): Promise<QueryResult> {
      asked.push({ query, from, to, at: clock });
      const version = /version:([^,}]+)/.exec(query)?.[1] ?? '';
      const p = per[version];
      if (!p || p.rps === 0) return { kind: 'no-data' };
      const requests = Math.round((p.rps * (to - from)) / 1000);
      return { kind: 'value', value: query.startsWith('errors') ? Math.round(requests * p.errorRatio) : requests };
    },
    async alerting() {
      return { kind: 'ok', alerting: [] };
    },
  };
  return {
    source,
    asked,
    now: () => clock,
    sleep: async (ms: number) => {
      clock += ms;
    },
  };
}

const counts = (basis: CountSignals['basis'], over: Partial<CountSignals> = {}): CountSignals => ({
  basis,
  green: { requests: 'hits{version:g}', errors: 'errors{version:g}' },
  ...(basis === 'production' || basis === 'none'
    ? {}
    : { blue: { requests: 'hits{version:b}', errors: 'errors{version:b}' } }),
  requirePass: true,
  maxHoldMs: 30_000,
  ...over,
});

describe('release-scoped queries', () => {
  it('{{version}} becomes the release version the identity names', () => {
    const release = { id: 'dpl_1', url: 'x', sha: 'c063502a72638f829a159c1a27c08e9dc9ef1993' };
    const cfg = (versionIdentity: 'sha' | 'short-sha' | 'deployment-id') =>
      ({ validation: { versionIdentity } }) as Parameters<typeof versionOf>[0];
    expect(versionOf(cfg('sha'), release)).toBe(release.sha);
    expect(versionOf(cfg('short-sha'), release)).toBe('c063502');
    expect(versionOf(cfg('deployment-id'), release)).toBe('dpl_1');
    expect(versionOf(cfg('sha'), { id: 'dpl_2', url: 'y' })).toBeUndefined();
    expect(isScoped('a{version:{{version}}}')).toBe(true);
    expect(forRelease('a{version:{{version}}} / b{version:{{version}}}', 'v9')).toBe('a{version:v9} / b{version:v9}');
  });

  it('a count answer is the sum of every point of every series; null points are skipped', () => {
    expect(
      totalOfQueryResponse({
        status: 'ok',
        series: [
          {
            pointlist: [
              [1, 3],
              [2, null],
              [3, 4],
            ],
          },
          { pointlist: [[1, 1]] },
        ],
      }),
    ).toEqual({ kind: 'value', value: 8, pointAt: 3 });
    expect(totalOfQueryResponse({ status: 'ok', series: [] })).toEqual({ kind: 'no-data' });
    expect(totalOfQueryResponse({ status: 'error', error: 'bad query' }).kind).toBe('error');
  });
});

describe('the lag and the first window', () => {
  it('asks about windows that start at the switch and ended evaluation-delay ago', async () => {
    const f = fakeSource({ g: { rps: 100, errorRatio: 0.01 }, b: { rps: 100, errorRatio: 0.01 } });
    await sampleWindow({
      source: f.source,
      signals: { monitorTags: [], counts: counts('concurrent', { requirePass: false }) },
      policy,
      analysis: createAnalysis(),
      durationMs: 3000,
      intervalMs: 1000,
      delayMs: 5000,
      startMs: 0,
      signal: new AbortController().signal,
      log,
      now: f.now,
      sleep: f.sleep,
    });
    const green = f.asked.filter((a) => a.query.startsWith('hits{version:g}'));
    // Cumulative since the switch, never before it; each asked once its window is delay-old.
    expect(green.map((a) => [a.from, a.to])).toEqual([
      [0, 1000],
      [0, 2000],
      [0, 3000],
    ]);
    expect(green.every((a) => a.at >= a.to + 5000)).toBe(true);
  });
});

describe('decisions on counts', () => {
  const run = (per: Parameters<typeof fakeSource>[0], c: CountSignals, durationMs = 10_000) => {
    const f = fakeSource(per);
    const analysis = createAnalysis();
    return sampleWindow({
      source: f.source,
      signals: { monitorTags: [], counts: c },
      policy,
      analysis,
      durationMs,
      intervalMs: 1000,
      delayMs: 1000,
      startMs: 0,
      signal: new AbortController().signal,
      log,
      now: f.now,
      sleep: f.sleep,
    }).then((r) => ({ ...r, analysis, asked: f.asked }));
  };

  it('a release 8 × worse than blue is rolled back, saying both releases’ numbers', async () => {
    const r = await run({ g: { rps: 100, errorRatio: 0.08 }, b: { rps: 100, errorRatio: 0.01 } }, counts('concurrent'));
    expect(r.decision).toMatchObject({ kind: 'rollback', cause: 'breach' });
    if (r.decision.kind !== 'rollback') throw new Error('unreachable');
    expect(r.decision.reason).toMatch(/green 8(\.0)? % errors \([\d,]+ requests\) vs blue 1(\.0)? % \([\d,]+\)/);
  });

  it('a good release passes once there is evidence it is not worse', async () => {
    const r = await run({ g: { rps: 100, errorRatio: 0.01 }, b: { rps: 100, errorRatio: 0.01 } }, counts('concurrent'));
    expect(r.decision.kind).toBe('continue');
    expect(r.samples[r.samples.length - 1]!.step).toBe('advance');
    expect(r.samples[r.samples.length - 1]!.counts?.blue?.requests).toBeGreaterThan(0);
  });

  it('no data at all is never a pass: extended to its limit, then insufficient-data decides', async () => {
    const r = await run({}, counts('concurrent'), 5000);
    expect(r.decision).toMatchObject({ kind: 'rollback', cause: 'insufficient' });
    if (r.decision.kind !== 'rollback') throw new Error('unreachable');
    expect(r.decision.reason).toContain('no requests at all were counted for green nor blue');
    // Extended from 5 s to the 30 s limit.
    expect(r.samples.length).toBeGreaterThanOrEqual(25);
  });

  it('insufficient-data: fail stops without a rollback decision', async () => {
    const f = fakeSource({ g: { rps: 1, errorRatio: 0 }, b: { rps: 1, errorRatio: 0 } });
    const r = await sampleWindow({
      source: f.source,
      signals: { monitorTags: [], counts: counts('concurrent', { maxHoldMs: 4000 }) },
      policy: { ...policy, insufficientData: 'fail' },
      analysis: createAnalysis(),
      durationMs: 2000,
      intervalMs: 1000,
      startMs: 0,
      signal: new AbortController().signal,
      log,
      now: f.now,
      sleep: f.sleep,
    });
    expect(r.decision.kind).toBe('inconclusive');
    if (r.decision.kind !== 'inconclusive') throw new Error('unreachable');
    expect(r.decision.reason).toMatch(/green has \d+ of the 40 requests needed.*insufficient-data: fail/);
  });

  it("after 100 %, blue's window before the switch is the control, read once", async () => {
    const r = await run(
      { g: { rps: 100, errorRatio: 0.01 }, b: { rps: 100, errorRatio: 0.01 } },
      counts('baseline', { baselineMs: 30_000 }),
    );
    const blue = r.asked.filter((a) => a.query.startsWith('hits{version:b}'));
    expect(blue).toHaveLength(1);
    expect([blue[0]!.from, blue[0]!.to]).toEqual([-30_000, 0]);
    expect(r.decision.kind).toBe('continue');
  });

  it('unscoped count queries judge production as a whole against the hard limit', async () => {
    const r = await run(
      { g: { rps: 100, errorRatio: 0.5 } },
      counts('production', { green: { requests: 'hits{version:g}', errors: 'errors{version:g}' } }),
    );
    expect(r.decision.kind).toBe('rollback');
    if (r.decision.kind !== 'rollback') throw new Error('unreachable');
    expect(r.decision.reason).toMatch(/^production 50(\.0)? % errors/);
  });
});

describe('latency against blue ({{version}} latency query)', () => {
  /**
   * Counts as `fakeSource`; latency `p95{version:v}` answers `ms(version, from)` (a spread of ±10 %
   * from a fixed sequence) and records the windows asked.
   */
  const run = async (
    ms: Record<string, number | ((fromMs: number) => number)>,
    over: { basis?: CountSignals['basis']; policy?: Partial<AnalysisPolicy>; blueLatencyError?: boolean } = {},
  ) => {
    const f = fakeSource({ g: { rps: 100, errorRatio: 0.01 }, b: { rps: 100, errorRatio: 0.01 } });
    const latencyAsked: { query: string; from: number; to: number }[] = [];
    let n = 0;
    f.source.query = async (query, from, to): Promise<QueryResult> => {
      latencyAsked.push({ query, from, to });
      const version = /version:([^,}]+)/.exec(query)?.[1] ?? '';
      if (version === 'b' && over.blueLatencyError) return { kind: 'error', error: 'HTTP 500' };
      const m = ms[version];
      if (m === undefined) return { kind: 'no-data' };
      const base = typeof m === 'function' ? m(from) : m;
      if (Number.isNaN(base)) return { kind: 'no-data' };
      return { kind: 'value', value: base * (1 + 0.1 * Math.sin(++n * 2.4)) };
    };
    const analysis = createAnalysis();
    const basis = over.basis ?? 'concurrent';
    const r = await sampleWindow({
      source: f.source,
      signals: {
        monitorTags: [],
        latencyQuery: 'p95{version:g}',
        counts: counts(basis, {
          blueLatency: 'p95{version:b}',
          ...(basis === 'baseline' ? { baselineMs: 30_000 } : {}),
        }),
      },
      // relative-margin 0 (errors on points alone) leaves latency at its default margin, 25 %.
      policy: { ...policy, ...over.policy },
      analysis,
      durationMs: 10_000,
      intervalMs: 1000,
      delayMs: 1000,
      startMs: 0,
      signal: new AbortController().signal,
      log,
      now: f.now,
      sleep: f.sleep,
    });
    return { ...r, analysis, latencyAsked };
  };

  it('rolls back a release twice as slow as blue though every value is under performance-threshold-ms', async () => {
    const r = await run({ g: 300, b: 150 });
    expect(r.decision).toMatchObject({ kind: 'rollback', cause: 'breach' });
    if (r.decision.kind !== 'rollback') throw new Error('unreachable');
    expect(r.decision.reason).toMatch(
      /^green latency 3\d\d ms vs blue 1\d\d ms over \d+ buckets \(medians\), above blue's by more than 25 % in \d+: slower by more than the 25 % margin with 99\.\d+ % confidence/,
    );
    // Each tick asks both releases about the same window.
    const g = r.latencyAsked.filter((a) => a.query === 'p95{version:g}').map((a) => [a.from, a.to]);
    const b = r.latencyAsked.filter((a) => a.query === 'p95{version:b}').map((a) => [a.from, a.to]);
    expect(b).toEqual(g);
    expect(g[0]).toEqual([0, 1000]);
  });

  it('passes a release as fast as blue only with evidence, and says so', async () => {
    const r = await run({ g: 150, b: 150 });
    expect(r.decision.kind).toBe('continue');
    const last = r.samples[r.samples.length - 1]!;
    expect(last.step).toBe('advance');
    expect(last.comparison).toMatch(
      /green latency 1\d\d ms vs blue 1\d\d ms over \d+ buckets.*not slower by 50 % or more/,
    );
  });

  it('judges performance-threshold-ms on a bound: one slow sample is no breach, a release over it throughout is', async () => {
    // failure-limit 0: judged value by value, the one spike would roll back.
    const spike = await run({ g: (from) => (from === 3000 ? 900 : 160), b: 150 });
    expect(spike.decision.kind).toBe('continue');
    expect(spike.analysis.breaches).toBe(0);
    const over = await run({ g: 700, b: 650 }, { policy: { latencyThresholdMs: 500 } });
    expect(over.decision).toMatchObject({ kind: 'rollback' });
    if (over.decision.kind !== 'rollback') throw new Error('unreachable');
    expect(over.decision.reason).toMatch(
      /above the 500 ms limit in \d+: over performance-threshold-ms with 99\.\d+ % confidence/,
    );
  });

  it("after 100 %, green's ticks meet blue's intervals before the switch, counted back from it", async () => {
    const r = await run({ g: 400, b: 150 }, { basis: 'baseline' });
    expect(r.decision).toMatchObject({ kind: 'rollback' });
    if (r.decision.kind !== 'rollback') throw new Error('unreachable');
    expect(r.decision.reason).toMatch(/vs blue before the switch 1\d\d ms/);
    const b = r.latencyAsked.filter((a) => a.query === 'p95{version:b}').map((a) => [a.from, a.to]);
    expect(b.slice(0, 3)).toEqual([
      [-1000, 0],
      [-2000, -1000],
      [-3000, -2000],
    ]);
  });

  it('an interval without a latency point skips a bucket; no latency at all never passes', async () => {
    const sparse = await run({ g: (from) => (from % 3000 === 0 ? Number.NaN : 150), b: 150 });
    expect(sparse.decision.kind).toBe('continue');
    expect(sparse.samples.some((s) => s.latencyMs === null)).toBe(true);
    const none = await run({ b: 150 });
    expect(none.decision).toMatchObject({ kind: 'rollback', cause: 'insufficient' });
    if (none.decision.kind !== 'rollback') throw new Error('unreachable');
    expect(none.decision.reason).toMatch(
      /green latency vs blue: no bucket yet where both have a point: too few buckets to judge/,
    );
  });

  it("blue's latency query failing is a query error, never a pass", async () => {
    const r = await run({ g: 150, b: 150 }, { blueLatencyError: true });
    expect(r.samples[0]!.outcome).toBe('error');
    expect(r.samples[0]!.reason).toMatch(/blue's latency query failed: HTTP 500/);
    expect(r.decision).toMatchObject({ kind: 'rollback', cause: 'unobservable' });
  });
});
