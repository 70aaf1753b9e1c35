/**
 * Reading a Datadog metrics answer (`GET /api/v1/query`) into one value: the newest non-null point
 * of each series, and across series (a query grouped `by {…}`) the worst, i.e. the largest, since
 * both error rate and latency are "higher is worse". Pure; the response is treated as unknown.
 */
import type { QueryResult } from '../../analysis/types.js';

/** The newest non-null point of one `pointlist` (`[[ts_ms, value|null], …]`), or undefined. */
export function newestPoint(pointlist: unknown): { at: number; value: number } | undefined {
  if (!Array.isArray(pointlist)) return undefined;
  let best: { at: number; value: number } | undefined;
  for (const p of pointlist) {
    if (!Array.isArray(p) || p.length < 2) continue;
    const [at, value] = p as [unknown, unknown];
    if (typeof at !== 'number' || typeof value !== 'number' || !Number.isFinite(value)) continue;
    if (!best || at >= best.at) best = { at, value };
  }
  return best;
}

/**
 * The value of a v1 query answer. `status: "error"` or an `error` field is a query error (Datadog
 * answers 200 with them for a query it cannot run); no series or only null points is no data.
 */
export function valueOfQueryResponse(body: unknown): QueryResult {
  if (!body || typeof body !== 'object') return { kind: 'error', error: 'the answer was not a JSON object' };
  const b = body as { status?: unknown; error?: unknown; series?: unknown };
  if (b.status === 'error' || (typeof b.error === 'string' && b.error !== '')) {
    const why = typeof b.error === 'string' && b.error ? b.error : 'status error';
    return { kind: 'error', error: `Datadog could not run the query: ${oneLine(why)}` };
  }
  if (b.series === undefined || b.series === null) return { kind: 'no-data' };
  if (!Array.isArray(b.series)) return { kind: 'error', error: 'the answer has no series list' };
  let worst: { at: number; value: number } | undefined;
  for (const s of b.series) {
    const p = newestPoint((s as { pointlist?: unknown } | null)?.pointlist);
    if (p && (!worst || p.value > worst.value)) worst = p;
  }
  return worst ? { kind: 'value', value: worst.value, pointAt: worst.at } : { kind: 'no-data' };
}

function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 197)}...` : flat;
}
