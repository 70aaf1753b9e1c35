/**
 * Routing verification: after each traffic change, real requests to `production-url` must reach
 * green in about the expected share. Vercel names no deployment in its answers, so each answer is
 * attributed by what the app itself sends: its version header (`version-header`) or the body of its
 * version endpoint (`version-path`), whose values were learned from green's and blue's own URLs.
 * Failed requests and non-2xx answers are judged first and on their own: production that does not
 * answer fails the check whoever would have served it. The share is judged with a binomial tolerance
 * so that a correct 10 % step is not failed by chance, while 0 % and 100 % are exact.
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
export function judgeShare(
  served: readonly Served[],
  expected: number,
  target = 'green',
  /** Why requests failed: `HTTP 503`, `timeout after 10000 ms`… → how many times. */
  failures?: Record<string, number>,
): ShareVerdict {
  const counts: Record<Served, number> = { green: 0, blue: 0, other: 0, error: 0 };
  for (const s of served) counts[s]++;
  const attributed = counts.green + counts.blue;
  const measured = attributed === 0 ? 0 : (counts.green / attributed) * 100;
  const tolerance = shareTolerance(expected, attributed);
  const base = { measured, expected, tolerance, counts };
  const summary = `${target} served ${counts.green}/${served.length} (${measured.toFixed(0)} %), expected ${expected} %${tolerance > 0 ? ` ± ${tolerance.toFixed(0)}` : ''}`;
  if (served.length === 0) return { ...base, ok: false, reason: 'no production request was made' };
  if (counts.error > 0) {
    const what = failures && Object.keys(failures).length > 0 ? ` (${describeFailures(failures)})` : '';
    return {
      ...base,
      ok: false,
      reason:
        counts.error === served.length
          ? `production does not answer: ${counts.error}/${served.length} requests failed${what}`
          : `${counts.error}/${served.length} production requests failed${what}; ${summary}`,
    };
  }
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

/** `HTTP 503 ×40, ECONNREFUSED ×2`, most frequent first. */
export function describeFailures(failures: Record<string, number>): string {
  return Object.entries(failures)
    .sort((a, b) => b[1] - a[1])
    .map(([why, n]) => `${why} ×${n}`)
    .join(', ');
}

/** How to tell green's answers from blue's: a response header, or the body of a version endpoint. */
export interface Fingerprint {
  source: 'header' | 'body';
  /** The header name, or the path of the version endpoint. */
  name: string;
  green: string;
  /** Absent when blue is not known (then only green's value counts; anything else is `other`). */
  blue?: string;
}

/** One production answer, as attribution reads it. */
export interface AnswerView {
  headers: Headers;
  body: string;
}

/** The value an answer carries for this fingerprint (`undefined`: none). */
export function valueOf(answer: AnswerView, source: Fingerprint['source'], name: string): string | undefined {
  if (source === 'header') return answer.headers.get(name)?.trim() || undefined;
  return answer.body.trim() || undefined;
}

/** Attribute one successful production answer. */
export function attribute(answer: AnswerView, fp: Fingerprint): Served {
  const v = valueOf(answer, fp.source, fp.name);
  if (v === undefined) return 'other';
  if (v === fp.green) return 'green';
  if (fp.blue !== undefined && v === fp.blue) return 'blue';
  return 'other';
}
