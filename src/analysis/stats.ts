/**
 * Numerical building blocks of the anytime-valid tests in compare.ts, pure: log-gamma, the
 * beta-binomial mixture martingale of one error rate, confidence-sequence bounds from it, and a
 * golden-section minimiser. No I/O, no randomness.
 */

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7; relative error below 1e-13 over the range used here). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** ln B(a, b). */
export function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

/** x·ln(y) with 0·ln(0) = 0. */
function xlogy(x: number, y: number): number {
  return x === 0 ? 0 : x * Math.log(y);
}

/**
 * The prior of the mixture: Beta(½, ½) (Jeffreys). Any fixed prior keeps the guarantee; this one
 * puts enough weight near 0 for the small error rates of real services and still covers 50 %.
 */
export const PRIOR = { a: 0.5, b: 0.5 } as const;

/**
 * ln M_n(p): the beta-binomial mixture martingale of `errors` failures in `requests` Bernoulli
 * trials against the point rate `p` (Robbins' mixture). Under p, M is a non-negative martingale with
 * mean 1 in the requests, so by Ville's inequality P(sup_n M_n(p) ≥ 1/α) ≤ α: looking after every
 * request, or after any bucket of them, keeps the level. It depends on the counts only.
 */
export function logMixture(requests: number, errors: number, p: number): number {
  return mixture(requests, errors)(p);
}

/** `logMixture` with the counts fixed: the Beta-function constant is computed once. */
export function mixture(requests: number, errors: number): (p: number) => number {
  const { a, b } = PRIOR;
  const ok = requests - errors;
  const c = logBeta(a + errors, b + ok) - logBeta(a, b);
  return (p: number) => c - xlogy(errors, p) - xlogy(ok, 1 - p);
}

/**
 * The bounds of the anytime-valid confidence sequence {p : M_n(p) < 1/α}. Its upper end is an
 * upper bound valid at every n simultaneously with probability ≥ 1 − α (the set is two-sided, so each
 * end alone is conservative). Found by bisection on the convex ln M(p).
 */
export function mixtureBound(requests: number, errors: number, alpha: number, side: 'upper' | 'lower'): number {
  const target = Math.log(1 / alpha);
  const mle = requests === 0 ? 0.5 : errors / requests;
  const m = mixture(requests, errors);
  const f = (p: number) => m(p) - target;
  if (side === 'upper') {
    if (requests === 0) return 1;
    if (f(1 - 1e-15) < 0 || errors === requests) return 1;
    let lo = mle;
    let hi = 1 - 1e-15;
    for (let i = 0; i < 45; i++) {
      const mid = (lo + hi) / 2;
      if (f(mid) < 0) lo = mid;
      else hi = mid;
    }
    return hi;
  }
  if (requests === 0 || errors === 0) return 0;
  if (f(1e-300) < 0) return 0;
  let lo = 1e-300;
  let hi = mle;
  for (let i = 0; i < 45; i++) {
    const mid = (lo + hi) / 2;
    if (f(mid) < 0) hi = mid;
    else lo = mid;
  }
  return lo;
}

/** ln(e^x + e^y). */
export function logAddExp(x: number, y: number): number {
  if (x === -Infinity) return y;
  if (y === -Infinity) return x;
  const m = Math.max(x, y);
  return m + Math.log(Math.exp(x - m) + Math.exp(y - m));
}

/** The minimum of a unimodal (here convex) function on [lo, hi] by golden-section search. */
export function goldenMin(
  f: (x: number) => number,
  lo: number,
  hi: number,
  iterations = 45,
): { x: number; value: number } {
  const g = (Math.sqrt(5) - 1) / 2;
  let a = lo;
  let b = hi;
  let c = b - g * (b - a);
  let d = a + g * (b - a);
  let fc = f(c);
  let fd = f(d);
  for (let i = 0; i < iterations && b - a > 1e-15; i++) {
    if (fc < fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - g * (b - a);
      fc = f(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + g * (b - a);
      fd = f(d);
    }
  }
  let best = { x: (a + b) / 2, value: f((a + b) / 2) };
  for (const x of [lo, hi]) {
    const v = f(x);
    if (v < best.value) best = { x, value: v };
  }
  return best;
}
