/**
 * The world of the decision benchmark: a seeded model of one deploy's traffic and of what Datadog
 * shows of it. No sandbox, no clock: time is simulated in 10-second buckets.
 *
 * - Requests per bucket and release: Poisson(rate × share × 10 s); errors: Binomial(requests, p).
 *   Exact draws for small means, normal approximations (rounded, clamped) above a mean of 40.
 * - Latency: each release's requests are log-normal (median `medianMs`, σ 0.5); a bucket's percentile
 *   is the true percentile times the sampling noise of a sample quantile (asymptotic normal on the log
 *   scale: sd = σ·√(q(1−q)) / (φ(z_q)·√n)). A bucket with no request of a release has no point.
 * - Datadog: a bucket becomes readable `lagBaseMs + Exp(lagMeanMs)` after it ends (agent and APM
 *   metrics arrive tens of seconds late — research F5, docs.datadoghq.com/monitors/guide/
 *   troubleshooting-no-data), a fraction `dropRate` never arrives, and count metrics are not
 *   interpolated: a bucket without requests is null (Datadog does not fill counts).
 */

/** A small fast seeded generator (mulberry32): the same seed gives the same deploys on any machine. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }
  poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean > 40) return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.normal()));
    const l = Math.exp(-mean);
    let k = 0;
    let p = this.next();
    while (p > l) {
      k += 1;
      p *= this.next();
    }
    return k;
  }
  binomial(n: number, p: number): number {
    if (n <= 0 || p <= 0) return 0;
    if (p >= 1) return n;
    const mean = n * p;
    if (mean > 40 && n * (1 - p) > 40) {
      const x = Math.round(mean + Math.sqrt(mean * (1 - p)) * this.normal());
      return Math.min(n, Math.max(0, x));
    }
    if (n <= 64) {
      let k = 0;
      for (let i = 0; i < n; i++) if (this.next() < p) k += 1;
      return k;
    }
    // Inversion by waiting times (geometric gaps): O(n·p) uniforms.
    const logq = Math.log(1 - p);
    let k = 0;
    let i = 0;
    for (;;) {
      i += Math.floor(Math.log(1 - this.next()) / logq) + 1;
      if (i > n) return k;
      k += 1;
    }
  }
}

/** A 32-bit mix of numbers, for per-cell and per-run seeds. */
export function seedOf(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h ^= p >>> 0;
    h = Math.imul(h, 0x01000193) >>> 0;
    h ^= h >>> 13;
  }
  return h >>> 0;
}

export const BUCKET_MS = 10_000;
const Q = 0.95;
const Z_Q = 1.6448536269514722;
const PHI_Z = Math.exp((-Z_Q * Z_Q) / 2) / Math.sqrt(2 * Math.PI);
export const LAT_SIGMA = 0.5;

/** One release, as the simulation knows it (the judges never see these). */
export interface Release {
  errorRate: number;
  /** Median latency in ms. */
  medianMs: number;
}

export interface DatadogModel {
  lagBaseMs: number;
  lagMeanMs: number;
  dropRate: number;
}

export const DATADOG: DatadogModel = { lagBaseMs: 15_000, lagMeanMs: 15_000, dropRate: 0.01 };

/** One release's part of one bucket. */
export interface Part {
  requests: number;
  errors: number;
  /** The bucket's p95 in ms; null without requests. */
  p95: number | null;
}

export interface Bucket {
  /** Bucket start, ms since the switch (negative: before it). */
  start: number;
  /** When Datadog can answer with it; Infinity when it never arrives. */
  readableAt: number;
  /** Green's share during the bucket (0–1). */
  share: number;
  green: Part;
  blue: Part;
}

/** The true p95 of a release. */
export function trueP95(r: Release): number {
  return r.medianMs * Math.exp(LAT_SIGMA * Z_Q);
}

/** A sample p95 of n requests of a release. */
export function sampleP95(rng: Rng, r: Release, n: number): number | null {
  if (n <= 0) return null;
  const sd = (LAT_SIGMA * Math.sqrt(Q * (1 - Q))) / (PHI_Z * Math.sqrt(n));
  return trueP95(r) * Math.exp(sd * rng.normal());
}

function part(rng: Rng, r: Release, mean: number): Part {
  const requests = rng.poisson(mean);
  return { requests, errors: rng.binomial(requests, r.errorRate), p95: sampleP95(rng, r, requests) };
}

/** One bucket of traffic at `rate` requests/s with green at `share` (0–1). */
export function makeBucket(
  rng: Rng,
  start: number,
  rate: number,
  share: number,
  green: Release,
  blue: Release,
  dd: DatadogModel = DATADOG,
): Bucket {
  const perBucket = (rate * BUCKET_MS) / 1000;
  const g = part(rng, green, perBucket * share);
  const b = part(rng, blue, perBucket * (1 - share));
  const dropped = rng.next() < dd.dropRate;
  const readableAt = dropped ? Infinity : start + BUCKET_MS + dd.lagBaseMs + rng.exponential(dd.lagMeanMs);
  return { start, readableAt, share, green: g, blue: b };
}

/**
 * The blended p95 of a bucket (what a production-wide query shows): the 95th percentile of the
 * mixture of both releases' log-normals, found by bisection, with the sampling noise of all requests.
 */
export function blendedP95(rng: Rng, b: Bucket, green: Release, blue: Release): number | null {
  const n = b.green.requests + b.blue.requests;
  if (n === 0) return null;
  const w = b.green.requests / n;
  const cdf = (x: number) =>
    w * normCdf((Math.log(x) - Math.log(green.medianMs)) / LAT_SIGMA) +
    (1 - w) * normCdf((Math.log(x) - Math.log(blue.medianMs)) / LAT_SIGMA);
  let lo = 1e-3;
  let hi = 1e7;
  for (let i = 0; i < 60; i++) {
    const mid = Math.sqrt(lo * hi);
    if (cdf(mid) < Q) lo = mid;
    else hi = mid;
  }
  const sd = (LAT_SIGMA * Math.sqrt(Q * (1 - Q))) / (PHI_Z * Math.sqrt(n));
  return hi * Math.exp(sd * rng.normal());
}

/** Standard normal CDF (Abramowitz–Stegun 7.1.26 via erf; error below 1.5e-7). */
export function normCdf(x: number): number {
  const t = 1 / (1 + (0.3275911 * Math.abs(x)) / Math.SQRT2);
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp((-x * x) / 2);
  return x >= 0 ? 0.5 * (1 + y) : 0.5 * (1 - y);
}
