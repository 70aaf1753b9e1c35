/**
 * Latency statistics of smoke samples. Nearest-rank percentiles: with five samples the p95 is the
 * slowest one, which is what a latency budget on "p95" should mean for a handful of requests
 * (an interpolated p95 would quietly forgive the slowest request).
 */

/** The `p`-th percentile (0–100) of `values` by the nearest-rank method; NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((Math.min(Math.max(p, 0), 100) / 100) * sorted.length);
  return sorted[Math.min(Math.max(rank, 1), sorted.length) - 1]!;
}
