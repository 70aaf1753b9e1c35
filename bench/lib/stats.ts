/**
 * Small statistics and formatting helpers shared by the benchmarks. Figures are reported as medians
 * of several runs where runs are short (one slow run on a shared machine must not decide a figure).
 */

/** Median of a non-empty list (mean of the two middle values for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of an empty list');
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Median of the finite values, NaN when there is none (a reading that could not be taken). */
export function medianOfFinite(xs: readonly (number | undefined)[]): number {
  const ok = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return ok.length ? median(ok) : NaN;
}

/** The q-quantile (0–1) by linear interpolation between closest ranks. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) throw new Error('quantile of an empty list');
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/** Least-squares line through (x, y) points: `slope` in y-units per x-unit. Needs two distinct x values. */
export function linearFit(points: readonly { x: number; y: number }[]): { slope: number; intercept: number } {
  const n = points.length;
  if (n < 2) throw new Error('a slope needs at least two points');
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.x - mx) * (p.y - my);
    sxx += (p.x - mx) ** 2;
  }
  if (sxx === 0) throw new Error('a slope needs two distinct x values');
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

/** The index of the run whose value is the median (the run whose details are shown). */
export function medianIndex(xs: readonly number[]): number {
  const m = median(xs);
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (Math.abs(xs[i]! - m) < Math.abs(xs[best]! - m)) best = i;
  return best;
}

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
/** Decimal megabyte: the "4 MB" and "150 MB" goals. */
export const MB = 1_000_000;

/** `1.2 s`, `340 ms`. */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  if (Math.abs(ms) >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (Math.abs(ms) >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  return `${Math.round(ms)} ms`;
}

/** `2.31` (a ratio, two decimals). */
export function fmtRatio(r: number): string {
  return Number.isFinite(r) ? r.toFixed(2) : 'n/a';
}

/** Decimal megabytes with one decimal: `5.2 MB`. */
export function fmtMB(bytes: number): string {
  return `${(bytes / MB).toFixed(1)} MB`;
}

/** Decimal megabytes, or kilobytes below 0.1 MB: `1.5 MB`, `35 kB`. */
export function fmtBytes(bytes: number): string {
  return bytes < 100_000 ? `${Math.round(bytes / 1000)} kB` : fmtMB(bytes);
}

/** Throughput in MiB/s. */
export function fmtRate(bytesPerSec: number): string {
  return `${(bytesPerSec / MiB).toFixed(1)} MiB/s`;
}

/** `256 MiB`, `4 GiB`. */
export function fmtSize(bytes: number): string {
  const TiB = 1024 * GiB;
  if (bytes >= TiB) return `${bytes % TiB === 0 ? bytes / TiB : (bytes / TiB).toFixed(2)} TiB`;
  if (bytes >= GiB && bytes % GiB === 0) return `${bytes / GiB} GiB`;
  if (bytes >= GiB) return `${(bytes / GiB).toFixed(2)} GiB`;
  return `${Math.round(bytes / MiB)} MiB`;
}

/** Parses `256M`, `1G`, `64MiB`, `4GiB`, `1048576` into bytes. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(k|ki|kib|m|mi|mib|g|gi|gib)?b?$/i.exec(text.trim());
  if (!m) throw new Error(`not a size: "${text}" (e.g. 256M, 1G)`);
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toLowerCase()[0];
  const mult = unit === 'k' ? 1024 : unit === 'm' ? MiB : unit === 'g' ? GiB : 1;
  return Math.round(n * mult);
}
