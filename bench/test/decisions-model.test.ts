// The decision benchmark's model: the simulated traffic has the distributions it claims, Datadog's lag
// and nulls behave as documented, the oracle bound and the summary arithmetic are right.
import { describe, expect, it } from 'vitest';
import { grid, klBernoulli, leastBlast, runCell } from '../decisions/cells.ts';
import { PLAN, runSequential, runThreshold } from '../decisions/judges.ts';
import { BUCKET_MS, DATADOG, Rng, makeBucket, seedOf } from '../decisions/model.ts';
import { summarize, wilsonUpper } from '../decisions/summary.ts';

const moments = (xs: number[]) => {
  const m = xs.reduce((a, x) => a + x, 0) / xs.length;
  const v = xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1);
  return { m, v };
};

describe('decision benchmark model', () => {
  it('is deterministic for a seed', () => {
    const a = new Rng(7);
    const b = new Rng(7);
    for (let i = 0; i < 100; i++) expect(a.next()).toBe(b.next());
    expect(seedOf(1, 2)).not.toBe(seedOf(2, 1));
  });

  it('draws Poisson and binomial counts with the right mean and variance (small and large means)', () => {
    const r = new Rng(11);
    for (const mean of [0.2, 3, 25, 400]) {
      const { m, v } = moments(Array.from({ length: 20_000 }, () => r.poisson(mean)));
      expect(m).toBeCloseTo(mean, mean < 1 ? 1 : 0);
      expect(v / mean).toBeGreaterThan(0.95);
      expect(v / mean).toBeLessThan(1.05);
    }
    for (const [n, p] of [
      [30, 0.1],
      [500, 0.01],
      [2000, 0.05],
    ] as const) {
      const { m, v } = moments(Array.from({ length: 20_000 }, () => r.binomial(n, p)));
      expect(m / (n * p)).toBeGreaterThan(0.97);
      expect(m / (n * p)).toBeLessThan(1.03);
      expect(v / (n * p * (1 - p))).toBeGreaterThan(0.93);
      expect(v / (n * p * (1 - p))).toBeLessThan(1.07);
    }
  });

  it('a good release with equal rates gets the expected binomial counts for each release and its share', () => {
    const r = new Rng(12);
    const rel = { errorRate: 0.01, medianMs: 150 };
    let g = 0;
    let ge = 0;
    let b = 0;
    let be = 0;
    const buckets = 20_000;
    for (let i = 0; i < buckets; i++) {
      const k = makeBucket(r, i * BUCKET_MS, 20, 0.25, rel, rel);
      g += k.green.requests;
      ge += k.green.errors;
      b += k.blue.requests;
      be += k.blue.errors;
    }
    // 20 req/s × 10 s × 25 % = 50 green requests per bucket, 150 blue.
    expect(g / buckets).toBeCloseTo(50, 0);
    expect(b / buckets).toBeCloseTo(150, 0);
    expect(ge / g).toBeCloseTo(0.01, 3);
    expect(be / b).toBeCloseTo(0.01, 3);
  });

  it('delivers buckets late, sometimes never, and with no point when a release served nothing', () => {
    const r = new Rng(13);
    const rel = { errorRate: 0.01, medianMs: 150 };
    const bs = Array.from({ length: 5000 }, (_, i) => makeBucket(r, i * BUCKET_MS, 0.2, 0.1, rel, rel));
    const arrived = bs.filter((b) => Number.isFinite(b.readableAt));
    const lags = arrived.map((b) => b.readableAt - b.start - BUCKET_MS);
    expect(Math.min(...lags)).toBeGreaterThanOrEqual(DATADOG.lagBaseMs);
    const meanLag = lags.reduce((a, x) => a + x, 0) / lags.length;
    expect(meanLag).toBeGreaterThan(DATADOG.lagBaseMs + 0.9 * DATADOG.lagMeanMs);
    expect(meanLag).toBeLessThan(DATADOG.lagBaseMs + 1.1 * DATADOG.lagMeanMs);
    expect(1 - arrived.length / bs.length).toBeGreaterThan(0.005);
    expect(1 - arrived.length / bs.length).toBeLessThan(0.02);
    // 0.2 req/s × 10 s × 10 %: green is absent from a bucket with probability e^−0.2 ≈ 0.82, and then has no p95.
    const empty = bs.filter((b) => b.green.requests === 0);
    expect(empty.length / bs.length).toBeGreaterThan(0.79);
    expect(empty.length / bs.length).toBeLessThan(0.85);
    expect(empty.every((b) => b.green.p95 === null)).toBe(true);
  });

  it('Wald bound: more excess failures needed for a smaller difference, none within the margin', () => {
    expect(klBernoulli(0.02, 0.02)).toBe(0);
    const cell = { strategy: 'canary' as const, rate: 20, baseRate: 0.01, latencyFactor: 1, latency: false };
    const two = leastBlast({ ...cell, errorFactor: 2 }, PLAN);
    const five = leastBlast({ ...cell, errorFactor: 5 }, PLAN);
    expect(two).toBeGreaterThan(0);
    expect(five).toBeGreaterThan(0);
    expect(Number.isNaN(leastBlast({ ...cell, errorFactor: 1 }, PLAN))).toBe(true);
    expect(Number.isNaN(leastBlast({ ...cell, errorFactor: 1.2 }, PLAN))).toBe(true);
  });

  it('runs both judges on a deploy: a catastrophic release is rolled back by both, early', () => {
    const s = {
      strategy: 'canary' as const,
      rate: 50,
      baseRate: 0.01,
      errorFactor: 20,
      latencyFactor: 1,
      latency: false,
    };
    const seq = runSequential(s, PLAN, new Rng(21));
    const thr = runThreshold(s, PLAN, new Rng(22));
    expect(seq.result).toBe('rollback');
    expect(thr.result).toBe('rollback');
    expect(seq.atMs).toBeLessThanOrEqual(PLAN.delayMs + 3 * PLAN.intervalMs);
    expect(seq.excessFailures).toBeGreaterThan(0);
  });

  it('at 0.2 requests/s the new judge ends inconclusive, not passed', () => {
    const s = {
      strategy: 'blue-green' as const,
      rate: 0.2,
      baseRate: 0.01,
      errorFactor: 2,
      latencyFactor: 1,
      latency: false,
    };
    const o = runSequential(s, PLAN, new Rng(23));
    expect(o.result).toBe('inconclusive');
  });

  it('the grid has every cell of the issue, and the summary reads the worst cells', () => {
    const cells = grid(3, 2);
    // The grid, plus the step-advance cells (a canary at 30 req/s: good, and 8× worse).
    expect(new Set(cells.map((c) => c.rate))).toEqual(new Set([0.2, 2, 20, 30, 200]));
    expect(new Set(cells.map((c) => c.baseRate))).toEqual(new Set([0.001, 0.01, 0.05]));
    expect(new Set(cells.map((c) => c.errorFactor))).toEqual(new Set([1, 1.5, 2, 5, 8]));
    expect(cells.filter((c) => c.rate === 30).map((c) => [c.strategy, c.errorFactor, c.kind])).toEqual([
      ['canary', 1, 'good'],
      ['canary', 8, 'worse'],
    ]);
    expect(new Set(cells.map((c) => c.strategy))).toEqual(new Set(['canary', 'blue-green']));
    const few = cells.filter((c) => c.rate === 200 && c.baseRate === 0.05 && !c.latency).slice(0, 4);
    const results = few.map((c) => runCell(c, PLAN, 5));
    const s = summarize(results);
    expect(s.falseRollbacks.sequential).toBeGreaterThanOrEqual(0);
    expect(s.falseRollbacks.sequential).toBeLessThanOrEqual(1);
  });

  it('a release 8× worse at 30 req/s is rolled back at the first canary step, not advanced on the minimum sample', () => {
    const s = {
      strategy: 'canary' as const,
      rate: 30,
      baseRate: 0.01,
      errorFactor: 8,
      latencyFactor: 1,
      latency: false,
    };
    const outcomes = Array.from({ length: 20 }, (_, i) => runSequential(s, PLAN, new Rng(seedOf(31, i))));
    expect(outcomes.map((o) => `${o.result}@${o.share}`)).toEqual(outcomes.map(() => 'rollback@10'));
  });

  it('Wilson upper bound: 0 of 400 is at most about 1 %', () => {
    expect(wilsonUpper(0, 400)).toBeCloseTo(0.0095, 3);
    expect(wilsonUpper(5, 10)).toBeGreaterThan(0.5);
  });
});
