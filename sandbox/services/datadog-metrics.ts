/**
 * Metric values for the Datadog miniature. In `traffic` mode a query the scenario maps to a measure
 * (`error_rate`, `latency_p95`, `requests`, `errors`…) is computed per bucket from the load balancer's
 * real hits (`world.hits`); empty buckets are `null`, as Datadog leaves count and rate buckets without
 * points null (no interpolation for `as_count()` queries). A query whose scenario template holds
 * `{{version}}` counts only the hits served by the release with that version (the `version` tag APM
 * sets from `DD_VERSION`). Hits become visible `ingestionDelayMs` after they were served (agent
 * metrics are flushed every 10 s and reach Datadog later still: docs.datadoghq.com
 * /developers/guide/data-collection-resolution). Buckets are `bucketSeconds` wide, widened as
 * Datadog's rollup widens them for long windows, or as the query's `.rollup(method, seconds)` asks.
 * In `scripted` mode the n-th call of a query returns the scenario's n-th value over the whole window
 * (the last value repeats; `null` = no data at all).
 */
import type { DatadogScenario, Measure, QueryScenario } from '../core/scenario.ts';
import type { LbHit } from '../core/world.ts';

export type Point = [number, number | null];

/** Values of one measure over hits. */
export function measure(m: Measure, hits: LbHit[]): number | null {
  if (hits.length === 0) return null;
  const errors = hits.filter((h) => h.status >= 500).length;
  const lat = hits.map((h) => h.latencyMs).sort((a, b) => a - b);
  const pct = (p: number) => lat[Math.min(lat.length - 1, Math.max(0, Math.ceil(p * lat.length) - 1))]!;
  switch (m) {
    case 'requests':
      return hits.length;
    case 'errors':
      return errors;
    case 'error_rate':
      return errors / hits.length;
    case 'latency_p95':
      return pct(0.95);
    case 'latency_p50':
      return pct(0.5);
    case 'latency_avg':
      return lat.reduce((a, b) => a + b, 0) / lat.length;
  }
}

/** The release that served a hit: its Vercel deployment id and commit SHA, when known. */
export type ReleaseOf = (h: LbHit) => { id?: string; sha?: string } | undefined;

function servedBy(h: LbHit, version: string, releaseOf: ReleaseOf): boolean {
  const r = releaseOf(h);
  if (!r) return false;
  return version === r.id || (r.sha !== undefined && (version === r.sha || version === r.sha.slice(0, 7)));
}

function matches(q: QueryScenario, h: LbHit): boolean {
  const f = q.filter;
  if (!f) return true;
  if (f.version !== undefined && h.version !== f.version) return false;
  if (f.pool !== undefined && h.pool !== f.pool) return false;
  if (f.synthetic !== undefined && Boolean(h.synthetic) !== f.synthetic) return false;
  return true;
}

/** Normalise a query string for lookup (Datadog ignores whitespace). */
export function normalizeQuery(q: string): string {
  return q.replace(/\s+/g, '');
}

/**
 * Bucket width: the scenario's, widened so a window never has more than 1500 points, or the
 * query's own `.rollup(method, seconds)` when it asks for wider buckets.
 */
export function intervalSeconds(dd: DatadogScenario, fromS: number, toS: number, query = ''): number {
  const span = Math.max(1, toS - fromS);
  const rollup = /\.rollup\(\s*[a-z]+\s*,\s*(\d+)\s*\)/.exec(query);
  const asked = rollup ? Number(rollup[1]) : 0;
  return Math.max(dd.bucketSeconds, Math.ceil(span / 1500), asked);
}

/**
 * The scenario query a sent query is: the same text, or a `{{version}}` template whose placeholder
 * stands for one tag value (returned as `version`).
 */
export function findQuery(dd: DatadogScenario, query: string): { q: QueryScenario; version?: string } | undefined {
  const sent = normalizeQuery(query);
  for (const q of dd.queries) {
    const t = normalizeQuery(q.query);
    if (t === sent) return { q };
    if (!t.includes('{{version}}')) continue;
    const pattern = t
      .split('{{version}}')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('([^,}\\s]+)');
    const m = new RegExp(`^${pattern}$`).exec(sent);
    if (m && m.slice(1).every((v) => v === m[1])) return { q, version: m[1]! };
  }
  return undefined;
}

/**
 * The pointlist of a known query over [fromS, toS), or undefined when the query is unknown or has
 * no data at all (Datadog then answers `series: []`).
 */
export function pointlist(
  dd: DatadogScenario,
  calls: Record<string, number>,
  hits: LbHit[],
  query: string,
  fromS: number,
  toS: number,
  releaseOf: ReleaseOf = () => undefined,
  nowMs: number = Date.now(),
): { q: QueryScenario; points: Point[]; interval: number } | undefined {
  const found = findQuery(dd, query);
  if (!found) return undefined;
  const { q, version } = found;
  const interval = intervalSeconds(dd, fromS, toS, query);
  const starts: number[] = [];
  for (let t = Math.floor(fromS / interval) * interval; t < toS; t += interval) starts.push(t);
  if (dd.metrics === 'scripted') {
    const key = normalizeQuery(q.query);
    const n = calls[key] ?? 0;
    calls[key] = n + 1;
    const values = q.scripted ?? [];
    const v = values.length ? values[Math.min(n, values.length - 1)]! : null;
    if (v === null) return undefined;
    return { q, interval, points: starts.map((t) => [t * 1000, v]) };
  }
  const visibleUntil = nowMs - (dd.ingestionDelayMs ?? 0);
  const inWindow = hits.filter(
    (h) =>
      h.time >= fromS * 1000 &&
      h.time < toS * 1000 &&
      h.time <= visibleUntil &&
      matches(q, h) &&
      (version === undefined || servedBy(h, version, releaseOf)),
  );
  const points: Point[] = starts.map((t) => {
    const inBucket = inWindow.filter((h) => h.time >= t * 1000 && h.time < (t + interval) * 1000);
    return [t * 1000, measure(q.measure, inBucket)];
  });
  if (points.every((p) => p[1] === null)) return undefined;
  return { q, interval, points };
}

/** Unit metadata as Datadog returns it (MetricsQueryUnit), by measure. */
export function unitOf(m: Measure): Array<Record<string, unknown> | null> {
  if (m.startsWith('latency'))
    return [
      { family: 'time', name: 'millisecond', plural: 'milliseconds', scale_factor: 0.001, short_name: 'ms' },
      null,
    ];
  if (m === 'error_rate') return [null, null]; // a ratio of two counts carries no unit
  return [{ family: 'general', name: 'request', plural: 'requests', scale_factor: 1, short_name: 'req' }, null];
}

/** The metric name of a query (`p95:trace.http.request{…}` → `trace.http.request`). */
export function metricName(query: string): string {
  const m = /^(?:[a-z0-9_]+:)?([a-zA-Z0-9_.]+)\{/.exec(query.trim());
  return m ? m[1]! : query.trim();
}

/** The scope of a query (`{env:production,service:shop}` → `env:production,service:shop`). */
export function scopeOf(query: string): string {
  const m = /\{([^}]*)\}/.exec(query);
  return m && m[1] ? m[1] : '*';
}
