/**
 * Routing verification: after each traffic change, real requests to `production-url` must reach
 * green in about the expected share. Each response is attributed to a deployment by the header
 * `x-vercel-deployment-id` when the edge sends it, else by a fingerprint header (`x-app-version`…)
 * whose value was learned from green's and blue's own URLs. The share is judged with a binomial
 * tolerance so that a correct 10 % step is not failed by chance, while 0 % and 100 % are exact.
 */

/** Who served one production request. */
export type Served = 'green' | 'blue' | 'other' | 'error';

export interface ShareVerdict {
  ok: boolean;
  /** Green's measured share in percent (of attributed answers). */
  measured: number;
  expected: number;
  /** Allowed deviation in percentage points (0 at 0 % and 100 %). */
  tolerance: number;
  counts: Record<Served, number>;
  reason: string;
}

/** Allowed deviation in percentage points for `n` samples at `expected` percent: max(15, 3σ). */
export function shareTolerance(expected: number, n: number): number {
  if (expected <= 0 || expected >= 100) return 0;
  const p = expected / 100;
  const sigma = Math.sqrt((p * (1 - p)) / Math.max(1, n)) * 100;
  return Math.max(15, 3 * sigma);
}

/**
 * Judge a batch of attributed answers against the expected share. Failed requests and answers from
 * neither deployment fail the verdict outright: production must be served by blue or green only.
 */
export function judgeShare(served: readonly Served[], expected: number, target = 'green'): ShareVerdict {
  const counts: Record<Served, number> = { green: 0, blue: 0, other: 0, error: 0 };
  for (const s of served) counts[s]++;
  const attributed = counts.green + counts.blue;
  const measured = attributed === 0 ? 0 : (counts.green / attributed) * 100;
  const tolerance = shareTolerance(expected, attributed);
  const base = { measured, expected, tolerance, counts };
  const summary = `${target} served ${counts.green}/${served.length} (${measured.toFixed(0)} %), expected ${expected} %${tolerance > 0 ? ` ± ${tolerance.toFixed(0)}` : ''}`;
  if (served.length === 0) return { ...base, ok: false, reason: 'no production request was made' };
  if (counts.error > 0)
    return { ...base, ok: false, reason: `${counts.error}/${served.length} production requests failed; ${summary}` };
  if (counts.other > 0) {
    return {
      ...base,
      ok: false,
      reason: `${counts.other}/${served.length} answers came from neither green nor blue; ${summary}`,
    };
  }
  const ok = Math.abs(measured - expected) <= tolerance + 1e-9;
  return { ...base, ok, reason: summary };
}

/** How to tell green's answers from blue's. */
export interface Fingerprint {
  header: string;
  green: string;
  blue?: string;
}

/**
 * Choose the attribution: the deployment id header when the edge sends one (exact), else the first
 * candidate header whose value differs between green's and blue's own answers. Undefined when the
 * two cannot be told apart (verification is then not possible, and is reported as such).
 */
export function chooseFingerprint(
  greenHeaders: Headers,
  blueHeaders: Headers | undefined,
  green: { id: string },
  blue: { id: string } | undefined,
  candidates: readonly string[] = ['x-app-version', 'x-deployment-version'],
): Fingerprint | undefined {
  if (greenHeaders.get('x-vercel-deployment-id')) {
    return { header: 'x-vercel-deployment-id', green: green.id, ...(blue ? { blue: blue.id } : {}) };
  }
  for (const header of candidates) {
    const g = greenHeaders.get(header);
    const b = blueHeaders?.get(header) ?? undefined;
    if (g && (!blueHeaders || (b && b !== g))) return { header, green: g, ...(b ? { blue: b } : {}) };
  }
  return undefined;
}

/** Attribute one production answer. */
export function attribute(headers: Headers, fp: Fingerprint): Served {
  const v = headers.get(fp.header);
  if (v === fp.green) return 'green';
  if (fp.blue !== undefined && v === fp.blue) return 'blue';
  // Without blue's value (blue unknown or unreachable), anything that is not green counts as blue.
  if (fp.blue === undefined && v !== null) return 'blue';
  return 'other';
}
