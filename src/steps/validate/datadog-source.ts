/**
 * Datadog as a MetricsSource for the sampling loop: `GET /api/v1/query` for a value, `GET
 * /api/v1/monitor` for monitors in Alert. Built over `requestJson` with the analysis' own retry
 * policy: one quick retry inside a tick, a timeout below the interval, and never a long wait for a
 * rate limit — the analysis counts a failed tick as a query error and the next tick retries, so the
 * consecutive-error limit (not an HTTP retry budget) decides when production is unobservable.
 * Never throws: every failure becomes `{kind: 'error'}` with a message that holds no secret.
 */
import type { DatadogConfig } from '../../config/types.js';
import type { AlertingMonitor, MonitorResult, QueryResult } from '../../analysis/types.js';
import { oneLine, query as qs, requestJson, type RetryPolicy } from '../../providers/http.js';
import { valueOfQueryResponse } from './points.js';
import type { MetricsSource } from './sampler.js';

/** Per attempt: a query slower than this is an error for this tick (clamped to 2–10 s by the interval). */
export function tickTimeoutMs(intervalMs: number): number {
  return Math.min(10_000, Math.max(2_000, Math.round(intervalMs * 0.8)));
}

/**
 * The seconds window Datadog is asked for: the last interval, in whole seconds that have ended
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

function errorText(err: unknown): string {
  return err instanceof Error ? oneLine(err.message) : oneLine(String(err));
}

/** A MetricsSource over a Datadog site (or the sandbox's miniature, via `datadog-site` as a URL). */
export function datadogSource(dd: DatadogConfig, opts: { intervalMs: number; secrets?: string[] }): MetricsSource {
  const timeoutMs = tickTimeoutMs(opts.intervalMs);
  const retry: RetryPolicy = {
    retries: 1,
    baseDelayMs: Math.min(500, Math.max(50, Math.round(opts.intervalMs / 10))),
    maxDelayMs: 1000,
    maxRetryAfterMs: Math.min(2000, opts.intervalMs),
  };
  const headers: Record<string, string> = { 'DD-API-KEY': dd.apiKey };
  if (dd.appKey) headers['DD-APPLICATION-KEY'] = dd.appKey;
  const secrets = [dd.apiKey, ...(dd.appKey ? [dd.appKey] : []), ...(opts.secrets ?? [])];
  const missingAppKey = dd.appKey
    ? undefined
    : 'datadog-app-key is not set: Datadog needs an application key to read metrics and monitors';

  return {
    async query(q, fromMs, toMs, signal): Promise<QueryResult> {
      if (missingAppKey) return { kind: 'error', error: missingAppKey };
      const w = secondsWindow(fromMs, toMs);
      try {
        const res = await requestJson<unknown>({
          provider: 'datadog',
          operation: 'query metrics',
          method: 'GET',
          url: `${dd.baseUrl}/api/v1/query${qs({ from: w.from, to: w.to, query: q })}`,
          headers,
          timeoutMs,
          retry,
          idempotent: true,
          signal,
          secrets,
        });
        return valueOfQueryResponse(res.body);
      } catch (err) {
        if (signal.aborted) throw err;
        return { kind: 'error', error: errorText(err) };
      }
    },

    async alerting(tags, signal): Promise<MonitorResult> {
      if (missingAppKey) return { kind: 'error', error: missingAppKey };
      try {
        const res = await requestJson<unknown>({
          provider: 'datadog',
          operation: 'list monitors',
          method: 'GET',
          url: `${dd.baseUrl}/api/v1/monitor${qs({ monitor_tags: tags.join(','), page: 0, page_size: 1000 })}`,
          headers,
          timeoutMs,
          retry,
          idempotent: true,
          signal,
          secrets,
        });
        return { kind: 'ok', alerting: alertingMonitors(res.body, tags) };
      } catch (err) {
        if (signal.aborted) throw err;
        return { kind: 'error', error: errorText(err) };
      }
    },
  };
}

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
      name: oneLine(typeof mon.name === 'string' ? mon.name : 'unnamed monitor').slice(0, 120),
      state,
    });
  }
  return out;
}
