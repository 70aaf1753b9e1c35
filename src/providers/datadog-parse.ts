/**
 * Reading Datadog's answers, pure (the response is treated as unknown). A metrics answer (`GET
 * /api/v1/query`) becomes one value: the newest non-null point of each series, and across series (a
 * query grouped `by {…}`) the worst, i.e. the largest, since both error rate and latency are "higher is
 * worse". This is the one judgement of a query: validation samples and `mode: plan` both use it.
 */
import type { AlertingMonitor, QueryResult } from '../analysis/types.js';
import { oneLine } from '../text.js';

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
  const series = seriesOf(body);
  if (!Array.isArray(series)) return series;
  let worst: { at: number; value: number } | undefined;
  for (const s of series) {
    const p = newestPoint((s as { pointlist?: unknown } | null)?.pointlist);
    if (p && (!worst || p.value > worst.value)) worst = p;
  }
  return worst ? { kind: 'value', value: worst.value, pointAt: worst.at } : { kind: 'no-data' };
}

/**
 * The total of a count query's answer (`sum:…{…}.as_count()`): every non-null point of every series
 * added up, so a window of any length (whatever rollup Datadog chose for it) gives the requests or
 * errors counted in it. Null points are buckets without data, not zeros Datadog measured, and are
 * skipped; an answer with no point at all is no data (the caller decides what no requests means).
 */
export function totalOfQueryResponse(body: unknown): QueryResult {
  const series = seriesOf(body);
  if (!Array.isArray(series)) return series;
  let total = 0;
  let points = 0;
  let newest: number | undefined;
  for (const s of series) {
    const list = (s as { pointlist?: unknown } | null)?.pointlist;
    if (!Array.isArray(list)) continue;
    for (const p of list) {
      if (!Array.isArray(p) || p.length < 2) continue;
      const [at, value] = p as [unknown, unknown];
      if (typeof value !== 'number' || !Number.isFinite(value)) continue;
      if (value < 0) return { kind: 'error', error: 'a count query answered a negative value' };
      total += value;
      points += 1;
      if (typeof at === 'number' && (newest === undefined || at > newest)) newest = at;
    }
  }
  if (points === 0) return { kind: 'no-data' };
  return newest === undefined ? { kind: 'value', value: total } : { kind: 'value', value: total, pointAt: newest };
}

/**
 * The seconds window Datadog is asked for: [fromMs, toMs] in whole seconds that have ended
 * (`to = floor(now)`), at least one second wide. The second still in progress is left out: its
 * bucket holds only part of its traffic, and one error among three requests is not an error rate.
 */
export function secondsWindow(fromMs: number, toMs: number): { from: number; to: number } {
  const to = Math.floor(toMs / 1000);
  const from = Math.min(to - 1, Math.floor(fromMs / 1000));
  return { from, to };
}

/** States that count as "in Alert" for post-deploy validation. */
const ALERT = new Set(['Alert']);

/**
 * Monitors in Alert among those that carry every tag (Datadog filters by `monitor_tags` already;
 * the check here keeps a broader answer from counting unrelated monitors). Names are remote text.
 */
export function alertingMonitors(body: unknown, tags: string[]): AlertingMonitor[] {
  if (!Array.isArray(body)) throw new Error('Datadog list monitors: the answer was not a list');
  const out: AlertingMonitor[] = [];
  for (const m of body) {
    if (!m || typeof m !== 'object') continue;
    const mon = m as { id?: unknown; name?: unknown; overall_state?: unknown; tags?: unknown };
    const own = Array.isArray(mon.tags) ? mon.tags.map(String) : [];
    if (tags.some((t) => !own.includes(t))) continue;
    const state = typeof mon.overall_state === 'string' ? mon.overall_state : '';
    if (!ALERT.has(state)) continue;
    out.push({
      id: typeof mon.id === 'number' || typeof mon.id === 'string' ? mon.id : '?',
      name: oneLine(typeof mon.name === 'string' ? mon.name : 'unnamed monitor', 200).slice(0, 120),
      state,
    });
  }
  return out;
}

/**
 * The series of a v1 query answer, or what the answer means when it has none: `status: "error"` or an
 * `error` field is a query error (Datadog answers 200 with them for a query it cannot run); no series
 * list is no data.
 */
function seriesOf(body: unknown): unknown[] | QueryResult {
  if (!body || typeof body !== 'object') return { kind: 'error', error: 'the answer was not a JSON object' };
  const b = body as { status?: unknown; error?: unknown; series?: unknown };
  if (b.status === 'error' || (typeof b.error === 'string' && b.error !== '')) {
    const why = typeof b.error === 'string' && b.error ? b.error : 'status error';
    return { kind: 'error', error: `Datadog could not run the query: ${oneLine(why, 200)}` };
  }
  if (b.series === undefined || b.series === null) return { kind: 'no-data' };
  if (!Array.isArray(b.series)) return { kind: 'error', error: 'the answer has no series list' };
  return b.series as unknown[];
}
