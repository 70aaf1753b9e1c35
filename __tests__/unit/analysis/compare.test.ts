import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ERROR_TEST_DEFAULTS,
  errorRateLimit,
  errorsWorse,
  formatPercent,
  latencyLimit,
  latencyWorse,
  lowerBound,
  marginAt,
  upperBound,
  vsBaseline,
  type Counts,
  type LatencyBucket,
} from '../../../src/analysis/compare.js';
import { logGamma } from '../../../src/analysis/stats.js';

/** mulberry32: fixed seeds, the same draws on every machine. */
function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const binomial = (n: number, p: number) => {
    let k = 0;
    for (let i = 0; i < n; i++) if (next() < p) k += 1;
    return k;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  return { next, binomial, normal };
}

const add = (c: Counts, requests: number, errors: number): Counts => ({
  requests: c.requests + requests,
  errors: c.errors + errors,
});

/**
 * Simulate `deploys` deploys, each looked at after every batch (green `gPerLook`, blue `bPerLook`
 * requests), and count those where `stop` ever fired.
 */
function everFires(
  seed: number,
  deploys: number,
  looks: number,
  pg: number,
  pb: number,
  gPerLook: number,
  bPerLook: number,
  stop: (g: Counts, b: Counts) => boolean,
): { fired: number; firstLook: number[] } {
  const r = rng(seed);
  let fired = 0;
  const firstLook: number[] = [];
  for (let d = 0; d < deploys; d++) {
    let g: Counts = { requests: 0, errors: 0 };
    let b: Counts = { requests: 0, errors: 0 };
    for (let k = 1; k <= looks; k++) {
      g = add(g, gPerLook, r.binomial(gPerLook, pg));
      b = add(b, bPerLook, r.binomial(bPerLook, pb));
      if (stop(g, b)) {
        fired += 1;
        firstLook.push(k);
        break;
      }
    }
  }
  return { fired, firstLook };
}

describe('stats', () => {
  it('logGamma matches factorials and Γ(½)', () => {
    expect(logGamma(1)).toBeCloseTo(0, 12);
    expect(logGamma(6)).toBeCloseTo(Math.log(120), 10);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 10);
    expect(logGamma(1001)).toBeCloseTo(5912.128178939938, 6);
  });
});

describe('errorsWorse', () => {
  const opts = { margin: 0.005, alpha: 0.01, minRequests: 200 };

  it("reads like the issue's example", () => {
    const v = errorsWorse({ requests: 2410, errors: 195 }, { requests: 21700, errors: 217 }, opts);
    expect(v.verdict).toBe('worse');
    expect(v.reason).toBe(
      'green 8.1 % errors (2,410 requests) vs blue 1.0 % (21,700): worse by more than the 0.25-point margin with 99 % confidence',
    );
    expect(v.evidence).toBeGreaterThanOrEqual(100);
  });

  it('is too-few below minRequests per release, whatever the rates', () => {
    expect(errorsWorse({ requests: 199, errors: 199 }, { requests: 10_000, errors: 0 }, opts).verdict).toBe('too-few');
    expect(errorsWorse({ requests: 10_000, errors: 5000 }, { requests: 150, errors: 0 }, opts).verdict).toBe('too-few');
    const none = errorsWorse({ requests: 0, errors: 0 }, { requests: 0, errors: 0 }, opts);
    expect(none.verdict).toBe('too-few');
    expect(none.evidence).toBeCloseTo(1, 12); // no data: the e-value is its starting value
  });

  it('passes a clean release only with enough requests, and says so', () => {
    const few = errorsWorse({ requests: 300, errors: 0 }, { requests: 3000, errors: 0 }, opts);
    expect(few.verdict).toBe('continue');
    expect(few.reason).toMatch(/no verdict yet/);
    const many = errorsWorse({ requests: 20_000, errors: 200 }, { requests: 200_000, errors: 2000 }, opts);
    expect(many.verdict).toBe('not-worse');
    expect(many.reason).toMatch(/not worse by 1 point or more \(95 % confidence\)/);
  });

  it('handles huge counts without overflow', () => {
    const v = errorsWorse({ requests: 1e9, errors: 1e7 }, { requests: 1e10, errors: 1e8 }, opts);
    expect(v.verdict).toBe('not-worse');
    expect(Number.isFinite(v.passEvidence) || v.passEvidence === Infinity).toBe(true);
    const w = errorsWorse({ requests: 1e9, errors: 2e7 }, { requests: 1e10, errors: 1e8 }, opts);
    expect(w.verdict).toBe('worse');
  });

  it('rejects NaN, negatives, errors above requests and levels outside (0, 1)', () => {
    const bad = [
      { requests: NaN, errors: 0 },
      { requests: -1, errors: 0 },
      { requests: 10, errors: -1 },
      { requests: 10, errors: 11 },
      { requests: Infinity, errors: 0 },
    ];
    for (const c of bad) {
      expect(() => errorsWorse(c, { requests: 10, errors: 0 }, opts)).toThrow(RangeError);
      expect(() => errorsWorse({ requests: 10, errors: 0 }, c, opts)).toThrow(RangeError);
    }
    const ok = { requests: 10, errors: 0 };
    expect(() => errorsWorse(ok, ok, { ...opts, alpha: 0 })).toThrow(/alpha/);
    expect(() => errorsWorse(ok, ok, { ...opts, alpha: 1 })).toThrow(/alpha/);
    expect(() => errorsWorse(ok, ok, { ...opts, beta: NaN })).toThrow(/beta/);
    expect(() => errorsWorse(ok, ok, { ...opts, margin: -0.1 })).toThrow(/margin/);
    expect(() => errorsWorse(ok, ok, { ...opts, passFactor: 1 })).toThrow(/passFactor/);
  });

  it('evidence of worse grows with green errors and shrinks with blue errors (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 200, max: 50_000 }),
        fc.integer({ min: 200, max: 50_000 }),
        fc.double({ min: 0, max: 0.3, noNaN: true }),
        fc.double({ min: 0, max: 0.3, noNaN: true }),
        (ng, nb, rg, rb) => {
          const g = { requests: ng, errors: Math.floor(ng * rg) };
          const b = { requests: nb, errors: Math.floor(nb * rb) };
          const v = errorsWorse(g, b, opts);
          expect(v.evidence).toBeGreaterThanOrEqual(0);
          expect(v.passEvidence).toBeGreaterThanOrEqual(0);
          if (g.errors < ng) {
            const more = errorsWorse({ requests: ng, errors: g.errors + 1 }, b, opts);
            expect(more.evidence).toBeGreaterThanOrEqual(v.evidence * (1 - 1e-6));
          }
          // Never both "worse" and a pass in one verdict, and the verdict follows the evidence.
          if (v.verdict === 'worse') expect(v.evidence).toBeGreaterThanOrEqual(100);
          if (v.verdict === 'not-worse') expect(v.passEvidence).toBeGreaterThanOrEqual(20);
        },
      ),
      { numRuns: 300, seed: 15 },
    );
  });

  it('keeps false rollbacks within alpha at the margin, looking after every batch (validity under H0)', () => {
    // Green exactly at the edge of H0: blue 2 %, margin min(0.5 points, 25 % of 2 %) = 0.5 points.
    const pb = 0.02;
    const pg = pb + marginAt(pb, 0.005, ERROR_TEST_DEFAULTS.relativeMargin);
    const alpha = 0.05;
    const deploys = 400;
    const { fired } = everFires(1501, deploys, 40, pg, pb, 100, 300, (g, b) => {
      return errorsWorse(g, b, { ...opts, alpha, minRequests: 0 }).verdict === 'worse';
    });
    // Within sampling error of alpha (3 standard deviations).
    expect(fired / deploys).toBeLessThanOrEqual(alpha + 3 * Math.sqrt((alpha * (1 - alpha)) / deploys));
  });

  it('keeps misses within beta for a release at 4 margins (twice blue), looking after every batch', () => {
    const pb = 0.01;
    const pg = 0.02;
    const beta = 0.05;
    const deploys = 400;
    const { fired } = everFires(1502, deploys, 40, pg, pb, 200, 600, (g, b) => {
      return errorsWorse(g, b, { margin: 0.02, alpha: 0.01, beta, minRequests: 0 }).verdict === 'not-worse';
    });
    expect(fired / deploys).toBeLessThanOrEqual(beta + 3 * Math.sqrt((beta * (1 - beta)) / deploys));
  });

  it('detects a release 8× worse quickly (power)', () => {
    const deploys = 100;
    const { fired, firstLook } = everFires(1503, deploys, 20, 0.08, 0.01, 100, 900, (g, b) => {
      return errorsWorse(g, b, { ...opts, margin: 0.02 }).verdict === 'worse';
    });
    expect(fired).toBe(deploys);
    // 200 green requests are needed before any verdict (minRequests): the verdict comes right after.
    const sorted = [...firstLook].sort((a, b) => a - b);
    expect(sorted[Math.floor(deploys / 2)]).toBeLessThanOrEqual(3);
  });

  it('vsBaseline is the same test, named for a control before the switch', () => {
    const v = vsBaseline({ requests: 2000, errors: 200 }, { requests: 50_000, errors: 500 }, opts);
    expect(v.verdict).toBe('worse');
    expect(v.reason).toMatch(/vs blue before the switch 1\.0 %/);
  });
});

describe('upperBound / lowerBound / errorRateLimit', () => {
  it('brackets the observed rate and is 1 / 0 without data', () => {
    expect(upperBound({ requests: 0, errors: 0 }, 0.01)).toBe(1);
    expect(lowerBound({ requests: 0, errors: 0 }, 0.01)).toBe(0);
    expect(lowerBound({ requests: 1000, errors: 0 }, 0.01)).toBe(0);
    expect(upperBound({ requests: 1000, errors: 1000 }, 0.01)).toBe(1);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), fc.double({ min: 0, max: 1, noNaN: true }), (n, r) => {
        const c = { requests: n, errors: Math.floor(n * r) };
        const u = upperBound(c, 0.01);
        const l = lowerBound(c, 0.01);
        expect(u).toBeGreaterThanOrEqual(c.errors / n - 1e-12);
        expect(l).toBeLessThanOrEqual(c.errors / n + 1e-12);
        expect(upperBound(c, 0.001)).toBeGreaterThanOrEqual(u - 1e-12);
      }),
      { numRuns: 200, seed: 16 },
    );
  });

  it('covers the true rate at every look with probability ≥ 1 − alpha (anytime-valid)', () => {
    const r = rng(1504);
    const alpha = 0.05;
    const p = 0.03;
    const runs = 300;
    let missed = 0;
    for (let d = 0; d < runs; d++) {
      let c: Counts = { requests: 0, errors: 0 };
      for (let k = 0; k < 60; k++) {
        c = add(c, 50, r.binomial(50, p));
        if (upperBound(c, alpha) < p || lowerBound(c, alpha) > p) {
          missed += 1;
          break;
        }
      }
    }
    expect(missed / runs).toBeLessThanOrEqual(alpha + 3 * Math.sqrt((alpha * (1 - alpha)) / runs));
  });

  it('one error in 30 requests is not a breach of 3 %; 20 % of 200 is, plainly', () => {
    const one = errorRateLimit({ requests: 30, errors: 1 }, 0.03, 0.005);
    expect(one.verdict).toBe('unknown');
    const clear = errorRateLimit({ requests: 200, errors: 40 }, 0.03, 0.005);
    expect(clear.verdict).toBe('breach');
    expect(clear.reason).toMatch(
      /^green 20\.0 % errors \(200 requests\): above the 3\.0 % limit with 99\.5 % confidence/,
    );
    expect(errorRateLimit({ requests: 5000, errors: 10 }, 0.03, 0.005).verdict).toBe('within');
  });

  it('a rate far above the limit breaches within a few dozen requests', () => {
    expect(errorRateLimit({ requests: 30, errors: 30 }, 0.05, 0.005).verdict).toBe('breach');
    expect(errorRateLimit({ requests: 60, errors: 30 }, 0.05, 0.005).verdict).toBe('breach');
  });
});

describe('latencyWorse / latencyLimit', () => {
  const bucket = (g: number | null, b: number | null, n = 100): LatencyBucket => ({
    green: { valueMs: g, requests: n },
    blue: { valueMs: b, requests: n },
  });

  it('skips buckets without a point or with too few requests, and says too-few', () => {
    const v = latencyWorse([bucket(null, 100), bucket(500, 100, 5), bucket(500, 100)], { margin: 0.2, alpha: 0.01 });
    expect(v.buckets).toBe(1);
    expect(v.verdict).toBe('too-few');
  });

  it('calls a consistently 2× slower green worse, and an equal one not worse', () => {
    const slow = latencyWorse(
      Array.from({ length: 12 }, () => bucket(400, 200)),
      { margin: 0.2, alpha: 0.01 },
    );
    expect(slow.verdict).toBe('worse');
    expect(slow.reason).toMatch(/slower by more than the 20 % margin with 99 % confidence/);
    const same = latencyWorse(
      Array.from({ length: 12 }, () => bucket(200, 200)),
      { margin: 0.2, alpha: 0.01 },
    );
    expect(same.verdict).toBe('not-worse');
  });

  it('keeps false alarms within alpha for equal releases with noisy bucket percentiles', () => {
    const r = rng(1505);
    const alpha = 0.05;
    const runs = 400;
    let fired = 0;
    for (let d = 0; d < runs; d++) {
      const buckets: LatencyBucket[] = [];
      for (let k = 0; k < 60; k++) {
        // Sample p95 of n log-normal requests: noise sd ≈ 1.06/√n on the log scale (σ = 0.5).
        buckets.push({
          green: { valueMs: 343 * Math.exp((1.06 / Math.sqrt(25)) * r.normal()), requests: 25 },
          blue: { valueMs: 343 * Math.exp((1.06 / Math.sqrt(225)) * r.normal()), requests: 225 },
        });
        if (latencyWorse(buckets, { margin: 0.2, alpha }).verdict === 'worse') {
          fired += 1;
          break;
        }
      }
    }
    expect(fired / runs).toBeLessThanOrEqual(alpha + 3 * Math.sqrt((alpha * (1 - alpha)) / runs));
  });

  it('judges the hard limit on most buckets, not on one', () => {
    const pts = (v: number, n: number) => Array.from({ length: n }, () => ({ valueMs: v, requests: 50 }));
    expect(latencyLimit([...pts(900, 1), ...pts(200, 3)], 500, 0.01).verdict).toBe('unknown');
    expect(latencyLimit(pts(900, 12), 500, 0.01).verdict).toBe('breach');
    expect(latencyLimit(pts(200, 12), 500, 0.01).verdict).toBe('within');
  });
});

describe('formatPercent', () => {
  it('prints rates as people read them', () => {
    expect(formatPercent(0.081)).toBe('8.1 %');
    expect(formatPercent(0.01)).toBe('1.0 %');
    expect(formatPercent(0.0012)).toBe('0.12 %');
    expect(formatPercent(0)).toBe('0 %');
    expect(formatPercent(0.25)).toBe('25.0 %');
  });
});
