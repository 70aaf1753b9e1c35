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
