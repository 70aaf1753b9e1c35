/**
 * Green against blue, and green against a hard limit, with anytime-valid statistics: pure, no I/O.
 *
 * ## Error rates: the test and why
 * Each release's requests are modelled as Bernoulli trials with an unknown error rate (p_g for green,
 * p_b for blue), constant over the watched window. For one release the beta-binomial mixture
 * M_n(p) = ∫ L_n(θ) dBeta(½,½)(θ) / L_n(p) is a non-negative martingale with mean 1 when the true
 * rate is p (Robbins' mixture; the confidence-sequence view of Lindon & Malek, "Anytime-Valid
 * Inference for Multinomial Count Data", arXiv 2011.03567). For the pair, (M_g(p_g) + M_b(p_b)) / 2
 * is a martingale with mean 1 under the true (p_g, p_b) whatever the interleaving of requests (the
 * traffic split does not depend on outcomes). The e-value against a composite hypothesis H is its
 * infimum over H:
 *
 *     E_H = inf_{(p_g, p_b) ∈ H} (M_g(p_g) + M_b(p_b)) / 2
 *
 * which is below the martingale at the true point whenever H holds, so by Ville's inequality
 * P(E_H ever reaches 1/α) ≤ α: looking after every sample, for the whole deploy, keeps the level.
 * It needs only the four counts (requests and errors per release), as Netflix's count test
 * (Lindon et al., "Rapid Regression Detection in Software Deployments through Sequential Testing",
 * arXiv 2205.14762) does.
 *
 * - **Worse** (roll back): E against H0 "p_g ≤ p_b + m(p_b)" reaches 1/α.
 * - **Not worse** (may pass): E against H1' "p_g ≥ p_b + k·m(p_b)" (k = `passFactor`, default 4)
 *   reaches 1/β: green is shown to be less than k margins worse, so a release at least k margins
 *   worse (by default: twice blue's rate) passes with probability ≤ β — the miss guarantee. Between
 *   the two is the indifference zone, where either verdict may come, or none.
 * - The margin m(p_b) = min(margin, relativeMargin·p_b): by default 25 % of blue's rate, at most 2
 *   points (see ERROR_TEST_DEFAULTS).
 *
 * Validity conditions (say them when quoting the guarantee):
 * - Requests of one release are exchangeable within the window (a stationary error rate). A change
 *   that hits both releases at once (a dependency outage) is not conditioned out as Netflix's
 *   per-interval conditional test does; blue's counts must come from the same windows as green's so
 *   such a change lands on both.
 * - Counts are what the release really served (release-scoped queries). Late data only delays the
 *   verdict; data that never arrives is simply not counted (the test uses whatever has been seen).
 * - Against blue's window before the switch (`vsBaseline`) there is no concurrent control: the
 *   guarantee holds only if blue's rate then equals its rate now (no daily cycle, no incident).
 *
 * Why a mixture of two confidence sequences and not the conditional Poisson test: it is exact for
 * binomial counts (no Poisson approximation at 5 % error rates), it allows an absolute margin in
 * points as well as a ratio, and it is the same code for the concurrent control and the baseline.
 *
 * Why not Kayenta's Mann–Whitney on per-interval points: it is a fixed-horizon test; judged at every
 * interval its 2 % per look inflates with the number of looks, and it needs many points per release.
 * Why a margin and not GrowthBook's "any harm": a real release is rarely exactly as good as blue, and a
 * rollback for a harmless difference costs a deploy.
 *
 * ## Latency
 * Datadog delivers one percentile value per bucket and release, not raw samples, so the test is a
 * paired sign test over buckets: in each bucket where both releases served at least
 * `minBucketRequests`, is green's percentile above blue's × (1 + margin)? Under "no worse" that
 * happens in at most half the buckets (a bucket's percentile is an estimate around the true one; the
 * margin absorbs the small skew of the estimate); the e-process is a discrete mixture of likelihood
 * ratios over q ∈ {0.6 … 0.95} against ½, a supermartingale for every rate ≤ ½. Limits: it tests the
 * percentile's typical bucket value, not the whole distribution; the ½ bound is approximate when one
 * release has far fewer requests per bucket (its percentile estimate is noisier, not biased much);
 * buckets with too few requests are skipped, so low traffic gives no latency verdict.
 */
import { PRIOR, goldenMin, logAddExp, mixture, mixtureBound } from './stats.js';

/** Requests and failed requests of one release over a window (cumulative since the switch). */
export interface Counts {
  requests: number;
  errors: number;
}

/** Options of the error-rate comparison. */
export interface ErrorTestOptions {
  /** Practical margin in rate points (0.005 = 0.5 points): green may be worse than blue by at most this. */
  margin: number;
  /** Relative margin (0.5 = 50 % of blue's rate); the smaller of the two applies. Default 0.5; Infinity: points only. */
  relativeMargin?: number;
  /** Probability of declaring `worse` when green is within the margin, over every look of a deploy. */
  alpha: number;
  /** Probability of declaring `not-worse` when green is at least `passFactor` margins worse. Default 0.05. */
  beta?: number;
  /** `not-worse` rules out green being this many margins worse or more. Default 4 (with the default
   * 25 % margin: twice blue's rate). Must be above 1. */
  passFactor?: number;
  /** Requests per release before any verdict. */
  minRequests: number;
}

export type ErrorVerdictKind = 'worse' | 'not-worse' | 'too-few' | 'continue';

export interface ErrorVerdict {
  verdict: ErrorVerdictKind;
  /** Anytime-valid e-value against "green within the margin"; `worse` when ≥ 1/alpha. */
  evidence: number;
  /** Anytime-valid e-value against "green passFactor margins worse or more"; `not-worse` when ≥ 1/beta. */
  passEvidence: number;
  greenRate: number;
  blueRate: number;
  /** The margin in rate points at blue's observed rate. */
  marginAtBlue: number;
  /** One plain sentence with the numbers. */
  reason: string;
}

/**
 * Defaults, and why:
 * - alpha 0.01: at most 1 deploy in 100 of a release within the margin is rolled back by this test,
 *   however often it looks (the goal is ≤ 1 % false rollbacks).
 * - beta 0.05 and passFactor 4: a release twice as bad as blue passes at most 1 time in 20 (the
 *   misses goal is about releases 2× worse).
 * - relativeMargin 0.25 and margin 0.02: green may be worse than blue by a quarter of blue's rate,
 *   at most 2 points (0.25 points at a 1 % baseline, 0.025 at 0.1 %, 1.25 at 5 %). A ratio scales
 *   with the service (a 0.1 % service doubling its errors matters; a fixed 0.5 points would let it go
 *   6×); the cap keeps a high-error service from hiding a large absolute regression. A quarter, not
 *   a half: a release twice as bad is then 4 margins out and is caught about 2.5× sooner than
 *   against a 50 % margin (the information per request grows with the square of the distance).
 * - minRequests 200: below it one request moves the observed rate by more than 0.5 points, the margin
 *   at a typical 1 % baseline. The tests stay valid below it; a verdict on fewer is reported as too few.
 */
export const ERROR_TEST_DEFAULTS = {
  alpha: 0.01,
  beta: 0.05,
  margin: 0.02,
  relativeMargin: 0.25,
  passFactor: 4,
  minRequests: 200,
} as const;

function checkCounts(label: string, c: Counts): void {
  const ok =
    typeof c === 'object' &&
    c !== null &&
    Number.isFinite(c.requests) &&
    Number.isFinite(c.errors) &&
    c.requests >= 0 &&
    c.errors >= 0 &&
    c.errors <= c.requests;
  if (!ok) {
    throw new RangeError(
      `${label} counts must be finite, non-negative, with errors ≤ requests (got requests ${c?.requests}, errors ${c?.errors})`,
    );
  }
}

function checkLevel(label: string, x: number): void {
  if (!(Number.isFinite(x) && x > 0 && x < 1)) throw new RangeError(`${label} must be between 0 and 1 (got ${x})`);
}

/** The margin in points at blue's rate p: min(margin, relativeMargin·p). */
export function marginAt(p: number, margin: number, relativeMargin: number): number {
  if (relativeMargin === Infinity) return margin;
  return Math.min(margin, relativeMargin * p);
}

/** h_k(p) = p + k·m(p), piecewise linear and increasing, with its inverse. */
function boundary(k: number, margin: number, rel: number) {
  const kink = rel === Infinity || rel === 0 ? 0 : margin / rel;
  const h = (p: number) => Math.min(1, p + k * marginAt(p, margin, rel));
  const inv = (y: number) => {
    if (rel === Infinity) return Math.max(0, y - k * margin);
    const atKink = (1 + k * rel) * kink;
    return y <= atKink ? y / (1 + k * rel) : y - k * margin;
  };
  return { h, inv, kink };
}

/** ln of the mixture e-value of the pair at (p_g, p_b). */
function pair(g: Counts, b: Counts): (pg: number, pb: number) => number {
  const mg = mixture(g.requests, g.errors);
  const mb = mixture(b.requests, b.errors);
  return (pg, pb) => logAddExp(mg(pg), mb(pb)) - Math.LN2;
}

/** The MLE of a rate, with 0 requests mapped to the prior mean (the mixture is then 1 everywhere). */
function mle(c: Counts): number {
  return c.requests > 0 ? c.errors / c.requests : PRIOR.a / (PRIOR.a + PRIOR.b);
}

/**
 * ln E against H = {p_g ≤ h(p_b)} (side 'below') or {p_g ≥ h(p_b)} (side 'above'). When the MLE lies
 * in H the infimum is at the MLE; otherwise on the boundary p_g = h(p_b), where the objective is
 * convex on each linear piece of h (convex ∘ affine), so a golden-section search per piece finds it.
 */
function logEvidence(g: Counts, b: Counts, k: number, margin: number, rel: number, side: 'below' | 'above'): number {
  const { h, inv, kink } = boundary(k, margin, rel);
  const pg = mle(g);
  const pb = mle(b);
  const logPair = pair(g, b);
  const inside = side === 'below' ? pg <= h(pb) : pg >= h(pb);
  if (inside) return logPair(pg, pb);
  // 'below': p_b from blue's MLE up to where the boundary meets green's MLE; 'above': the reverse.
  const [lo, hi] = side === 'below' ? [pb, Math.min(1, inv(pg))] : [Math.max(0, inv(pg)), pb];
  if (!(hi > lo)) return logPair(h(lo), lo);
  const f = (x: number) => logPair(h(x), x);
  const pieces =
    kink > lo && kink < hi
      ? [
          [lo, kink],
          [kink, hi],
        ]
      : [[lo, hi]];
  let best = Infinity;
  for (const [a, z] of pieces) best = Math.min(best, goldenMin(f, a!, z!).value);
  return best;
}

/** `8.1 %`, `1.0 %`, `0.12 %`: two significant digits, at most two decimals. */
export function formatPercent(rate: number): string {
  if (!Number.isFinite(rate)) return 'n/a';
  const pct = rate * 100;
  if (pct === 0) return '0 %';
  const digits = pct >= 10 ? 1 : pct >= 1 ? 1 : pct >= 0.1 ? 2 : 3;
  return `${pct.toFixed(digits)} %`;
}

/** `2,410` */
export function formatCount(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** `0.5-point` (as an adjective: "the 0.5-point margin"). */
function points(rate: number): string {
  return `${Number((rate * 100).toPrecision(2))}-point`;
}

/** `1 point`, `0.98 points`. */
function pointsNoun(rate: number): string {
  const n = Number((rate * 100).toPrecision(2));
  return `${n} point${n === 1 ? '' : 's'}`;
}

function evidenceText(e: number): string {
  if (e >= 1e6) return e.toExponential(1);
  return e >= 10 ? e.toFixed(0) : e.toFixed(2);
}

/**
 * The test behind `errorsWorse` and `vsBaseline`, with the control named as the verdict should name
 * it (e.g. "blue (alongside green and before the switch)").
 */
export function compareRates(
  green: Counts,
  control: Counts,
  opts: ErrorTestOptions,
  controlLabel: string,
): ErrorVerdict {
  checkCounts('green', green);
  checkCounts(controlLabel, control);
  checkLevel('alpha', opts.alpha);
  const beta = opts.beta ?? ERROR_TEST_DEFAULTS.beta;
  checkLevel('beta', beta);
  const rel = opts.relativeMargin ?? ERROR_TEST_DEFAULTS.relativeMargin;
  if (!(Number.isFinite(opts.margin) && opts.margin >= 0 && opts.margin < 1)) {
    throw new RangeError(`margin must be a rate from 0 to below 1 (got ${opts.margin})`);
  }
  if (!(rel >= 0)) throw new RangeError(`relativeMargin must be ≥ 0 (got ${rel})`);
  if (!(Number.isFinite(opts.minRequests) && opts.minRequests >= 0)) {
    throw new RangeError(`minRequests must be a number ≥ 0 (got ${opts.minRequests})`);
  }
  const greenRate = green.requests > 0 ? green.errors / green.requests : 0;
  const blueRate = control.requests > 0 ? control.errors / control.requests : 0;
  const marginAtBlue = marginAt(blueRate, opts.margin, rel);
  const evidence = Math.exp(logEvidence(green, control, 1, opts.margin, rel, 'below'));
  const k = opts.passFactor ?? ERROR_TEST_DEFAULTS.passFactor;
  if (!(Number.isFinite(k) && k > 1)) throw new RangeError(`passFactor must be above 1 (got ${k})`);
  const passEvidence = Math.exp(logEvidence(green, control, k, opts.margin, rel, 'above'));
  const head =
    `green ${formatPercent(greenRate)} errors (${formatCount(green.requests)} requests) vs ${controlLabel} ` +
    `${formatPercent(blueRate)} (${formatCount(control.requests)})`;
  const base = { evidence, passEvidence, greenRate, blueRate, marginAtBlue };
  const conf = `${Number(((1 - opts.alpha) * 100).toPrecision(4))} %`;
  if (green.requests < opts.minRequests || control.requests < opts.minRequests) {
    return {
      ...base,
      verdict: 'too-few',
      reason: `${head}: too few requests to judge (at least ${formatCount(opts.minRequests)} per release)`,
    };
  }
  if (evidence >= 1 / opts.alpha) {
    return {
      ...base,
      verdict: 'worse',
      reason: `${head}: worse by more than the ${points(marginAtBlue)} margin with ${conf} confidence`,
    };
  }
  if (passEvidence >= 1 / beta) {
    return {
      ...base,
      verdict: 'not-worse',
      reason:
        `${head}: not worse by ${pointsNoun(k * marginAtBlue)} or more ` +
        `(${Number(((1 - beta) * 100).toPrecision(4))} % confidence)`,
    };
  }
  return {
    ...base,
    verdict: 'continue',
    reason:
      `${head}: no verdict yet (evidence ${evidenceText(evidence)} of the ${evidenceText(1 / opts.alpha)} ` +
      `needed to roll back, ${evidenceText(passEvidence)} of the ${evidenceText(1 / beta)} needed to pass)`,
  };
}

/**
 * Is green's error rate worse than blue's by more than the margin? Anytime-valid (see the file's
 * header): calling it after every sample of a deploy with the cumulative counts since the switch
 * keeps P(a release within the margin is ever called `worse`) ≤ alpha, and
 * P(a release ≥ passFactor margins worse is ever called `not-worse`) ≤ beta.
 *
 * `too-few` while either release has fewer than `minRequests`; `continue` while neither test has
 * reached its level (the caller extends the step, then applies its inconclusive policy). `not-worse`
 * is positive evidence, never the absence of `worse`. Throws RangeError on NaN, negative counts,
 * errors above requests, or levels outside (0, 1).
 */
export function errorsWorse(green: Counts, blue: Counts, opts: ErrorTestOptions): ErrorVerdict {
  return compareRates(green, blue, opts, 'blue');
}

/**
 * After 100 % (no concurrent control): green since the switch against blue's own window before it.
 * The same test, with a weaker guarantee: it holds only if blue's error rate before the switch is the
 * rate blue would have had now (no daily cycle, no incident in between). Use a baseline window that
 * ends at the switch and is at least as long as the watch.
 */
export function vsBaseline(green: Counts, baseline: Counts, opts: ErrorTestOptions): ErrorVerdict {
  return compareRates(green, baseline, opts, 'blue before the switch');
}

/**
 * An anytime-valid upper confidence bound on an error rate: the upper end of the beta-binomial
 * mixture confidence sequence at level alpha (valid at every sample size at once, probability
 * ≥ 1 − alpha). 1 with no requests. Wider than Clopper–Pearson at a fixed n — the price of looking
 * after every sample.
 */
export function upperBound(c: Counts, alpha: number): number {
  checkCounts('counts', c);
  checkLevel('alpha', alpha);
  return mixtureBound(c.requests, c.errors, alpha, 'upper');
}

/** The lower end of the same confidence sequence (0 with no errors). */
export function lowerBound(c: Counts, alpha: number): number {
  checkCounts('counts', c);
  checkLevel('alpha', alpha);
  return mixtureBound(c.requests, c.errors, alpha, 'lower');
}

export interface LimitVerdict {
  /** `breach`: the rate is above the limit with confidence 1 − alpha; `within`: below it; else `unknown`. */
  verdict: 'breach' | 'within' | 'unknown';
  lower: number;
  upper: number;
  rate: number;
  reason: string;
}

/**
 * The hard limit `error-rate-threshold`, judged on the confidence sequence, not on a point
 * estimate: `breach` when the lower bound is above the limit (a rate clearly above it breaches
 * after a few dozen requests; one error in 30 does not), `within` when the upper bound is at or
 * below it. Anytime-valid at level alpha on each side.
 */
export function errorRateLimit(c: Counts, threshold: number, alpha: number, label = 'green'): LimitVerdict {
  const lower = lowerBound(c, alpha);
  const upper = upperBound(c, alpha);
  const rate = c.requests > 0 ? c.errors / c.requests : 0;
  const head = `${label} ${formatPercent(rate)} errors (${formatCount(c.requests)} requests)`;
  const conf = `${Number(((1 - alpha) * 100).toPrecision(4))} %`;
  if (lower > threshold) {
    return {
      verdict: 'breach',
      lower,
      upper,
      rate,
      reason: `${head}: above the ${formatPercent(threshold)} limit with ${conf} confidence (at least ${formatPercent(lower)})`,
    };
  }
  if (upper <= threshold) {
    return {
      verdict: 'within',
      lower,
      upper,
      rate,
      reason: `${head}: below the ${formatPercent(threshold)} limit (at most ${formatPercent(upper)})`,
    };
  }
  return {
    verdict: 'unknown',
    lower,
    upper,
    rate,
    reason: `${head}: not yet known against the ${formatPercent(threshold)} limit (between ${formatPercent(lower)} and ${formatPercent(upper)})`,
  };
}

// ---------------------------------------------------------------------------------------------
// Latency

/** One release's percentile over one bucket, as Datadog reports it (null: no point). */
export interface LatencyPoint {
  /** The percentile in ms, null when the bucket has no point. */
  valueMs: number | null;
  /** Requests the release served in the bucket (0 when unknown). */
  requests: number;
}

/** The same bucket for both releases. */
export interface LatencyBucket {
  green: LatencyPoint;
  blue: LatencyPoint;
}

export interface LatencyTestOptions {
  /** Relative margin: green's percentile may be this fraction above blue's (0.2 = 20 %). */
  margin: number;
  alpha: number;
  /** Default 0.05. */
  beta?: number;
  /** Requests per release in a bucket for the bucket to count. Default 20. */
  minBucketRequests?: number;
  /** Usable buckets before any verdict. Default 5. */
  minBuckets?: number;
  /** How the verdict names the control (default `blue`; after 100 %: `blue before the switch`). */
  controlLabel?: string;
}

export interface LatencyVerdict {
  verdict: ErrorVerdictKind;
  evidence: number;
  passEvidence: number;
  /** Usable buckets, and of them those where green was above blue × (1 + margin). */
  buckets: number;
  slower: number;
  /** Those where green was above blue × (1 + 2·margin). */
  muchSlower: number;
  /** Median over the usable buckets of each release's percentile (NaN without a usable bucket). */
  greenMs: number;
  blueMs: number;
  reason: string;
}

/**
 * The latency margin is the errors' relative margin (`relative-margin`, 25 %): green's percentile may be
 * a quarter above blue's. One input for "how much worse than blue, relatively" keeps the two alike.
 */
export const LATENCY_TEST_DEFAULTS = {
  margin: ERROR_TEST_DEFAULTS.relativeMargin,
  minBucketRequests: 20,
  minBuckets: 5,
} as const;

const Q_UP = [0.6, 0.7, 0.8, 0.9, 0.95];
const Q_DOWN = Q_UP.map((q) => 1 - q);

/**
 * A sign-test e-process over `n` buckets of which `s` were "slower": the average over q of
 * (q/½)^s ((1−q)/½)^(n−s). With every q above ½ it is a supermartingale whenever the chance of a
 * slower bucket is at most ½ (each factor has expectation ≤ 1); with every q below ½, whenever it is
 * at least ½.
 */
export function signEvidence(n: number, s: number, qs: readonly number[]): number {
  let log = -Infinity;
  for (const q of qs) log = logAddExp(log, s * Math.log(2 * q) + (n - s) * Math.log(2 * (1 - q)));
  return Math.exp(log - Math.log(qs.length));
}

/** Median of a list (NaN when empty). */
function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** `920 ms`, `1.5 s`. */
function ms(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  return x >= 10_000 ? `${Number((x / 1000).toPrecision(3))} s` : `${Math.round(x)} ms`;
}

function checkPoint(label: string, p: LatencyPoint): void {
  const okValue = p.valueMs === null || (Number.isFinite(p.valueMs) && p.valueMs >= 0);
  if (!okValue || !(Number.isFinite(p.requests) && p.requests >= 0)) {
    throw new RangeError(`${label} latency point must have a non-negative value or null, and requests ≥ 0`);
  }
}

/**
 * Is green's latency percentile worse than blue's by more than the margin? A paired sign test over
 * buckets (see the file's header for what it does and does not promise). Buckets where either
 * release has no point or fewer than `minBucketRequests` are skipped.
 */
export function latencyWorse(buckets: readonly LatencyBucket[], opts: LatencyTestOptions): LatencyVerdict {
  checkLevel('alpha', opts.alpha);
  const beta = opts.beta ?? ERROR_TEST_DEFAULTS.beta;
  checkLevel('beta', beta);
  if (!(Number.isFinite(opts.margin) && opts.margin >= 0))
    throw new RangeError(`margin must be ≥ 0 (got ${opts.margin})`);
  const minReq = opts.minBucketRequests ?? LATENCY_TEST_DEFAULTS.minBucketRequests;
  const minBuckets = opts.minBuckets ?? LATENCY_TEST_DEFAULTS.minBuckets;
  let n = 0;
  let slower = 0;
  let muchSlower = 0;
  const greens: number[] = [];
  const blues: number[] = [];
  for (const b of buckets) {
    checkPoint('green', b.green);
    checkPoint('blue', b.blue);
    if (b.green.valueMs === null || b.blue.valueMs === null) continue;
    if (b.green.requests < minReq || b.blue.requests < minReq) continue;
    n += 1;
    greens.push(b.green.valueMs);
    blues.push(b.blue.valueMs);
    if (b.green.valueMs > b.blue.valueMs * (1 + opts.margin)) slower += 1;
    if (b.green.valueMs > b.blue.valueMs * (1 + 2 * opts.margin)) muchSlower += 1;
  }
  const evidence = signEvidence(n, slower, Q_UP);
  const passEvidence = signEvidence(n, muchSlower, Q_DOWN);
  const pct = Math.round(opts.margin * 100);
  const control = opts.controlLabel ?? 'blue';
  const greenMs = median(greens);
  const blueMs = median(blues);
  const head =
    n === 0
      ? `green latency vs ${control}: no bucket yet where both have a point`
      : `green latency ${ms(greenMs)} vs ${control} ${ms(blueMs)} over ${n} bucket${n === 1 ? '' : 's'} (medians), ` +
        `above ${control}'s by more than ${pct} % in ${slower}`;
  const base = { evidence, passEvidence, buckets: n, slower, muchSlower, greenMs, blueMs };
  if (n < minBuckets) {
    return {
      ...base,
      verdict: 'too-few',
      reason: `${head}: too few buckets to judge (at least ${minBuckets} with ${minReq}+ requests per release)`,
    };
  }
  if (evidence >= 1 / opts.alpha) {
    return {
      ...base,
      verdict: 'worse',
      reason: `${head}: slower by more than the ${pct} % margin with ${Number(((1 - opts.alpha) * 100).toPrecision(4))} % confidence`,
    };
  }
  if (passEvidence >= 1 / beta) {
    return {
      ...base,
      verdict: 'not-worse',
      reason: `${head}: not slower by ${2 * pct} % or more (${Math.round((1 - beta) * 100)} % confidence)`,
    };
  }
  return { ...base, verdict: 'continue', reason: `${head}: no verdict yet` };
}

/**
 * The hard limit `performance-threshold-ms` on green's percentile per bucket, the same sign test:
 * `breach` when green's bucket percentile is above the limit in more than half the buckets with
 * confidence 1 − alpha; `within` when below it in more than half with confidence 1 − beta.
 */
export function latencyLimit(
  points: readonly LatencyPoint[],
  thresholdMs: number,
  alpha: number,
  beta: number = ERROR_TEST_DEFAULTS.beta,
  minBucketRequests: number = LATENCY_TEST_DEFAULTS.minBucketRequests,
): { verdict: 'breach' | 'within' | 'unknown'; buckets: number; above: number; reason: string } {
  checkLevel('alpha', alpha);
  checkLevel('beta', beta);
  let n = 0;
  let above = 0;
  const values: number[] = [];
  for (const p of points) {
    checkPoint('green', p);
    if (p.valueMs === null || p.requests < minBucketRequests) continue;
    n += 1;
    values.push(p.valueMs);
    if (p.valueMs > thresholdMs) above += 1;
  }
  const head =
    `green latency ${ms(median(values))} over ${n} bucket${n === 1 ? '' : 's'} (median), ` +
    `above the ${thresholdMs} ms limit in ${above}`;
  if (signEvidence(n, above, Q_UP) >= 1 / alpha)
    return {
      verdict: 'breach',
      buckets: n,
      above,
      reason: `${head}: over performance-threshold-ms with ${Number(((1 - alpha) * 100).toPrecision(4))} % confidence`,
    };
  if (signEvidence(n, above, Q_DOWN) >= 1 / beta)
    return { verdict: 'within', buckets: n, above, reason: `${head}: within the limit` };
  return { verdict: 'unknown', buckets: n, above, reason: `${head}: not yet known` };
}
