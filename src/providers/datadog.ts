/**
 * Datadog (the `Monitor` of ARCHITECTURE.md): metric queries for post-deploy validation, alerting
 * monitors for the prepare gate, an event and a DORA deployment record for the run.
 *
 * Plain `requestJson` with `DD-API-KEY` / `DD-APPLICATION-KEY`: the official client is 10 MB bundled and
 * its retry waits whatever `X-RateLimit-Reset` says. A 429's `X-RateLimit-Reset` (seconds until the
 * window resets) is honoured up to the policy's cap. Errors are `{errors:["…"]}`.
 */
import type { Logger } from '../pipeline/types.js';
import { ProviderError, oneLine, providerMessage, query, redact, requestJson, type RetryPolicy } from './http.js';

export interface DatadogOptions {
  apiKey: string;
  /** Needed by queries and monitors; events and DORA need only the API key. */
  appKey?: string;
  /** `https://api.<site>` or a full URL (the sandbox). */
  baseUrl: string;
  timeoutMs: number;
  retry: RetryPolicy;
  signal?: AbortSignal;
  secrets?: string[];
  log?: Pick<Logger, 'debug'>;
}

/** One sample: `t` in ms since epoch, `v` null when the bucket had no data. */
export interface MetricPoint {
  t: number;
  v: number | null;
}

export interface MetricQueryResult {
  /** Points of the first series (the usual case: the query aggregates to one series), oldest first. */
  points: MetricPoint[];
  /** Every series the query returned, with its scope (`env:prod,service:web`). */
  series: { scope: string; points: MetricPoint[] }[];
}

export interface DatadogMonitor {
  id: number;
  name: string;
  /** Alert, Warn, No Data, OK, Ignored, Skipped, Unknown */
  overallState: string;
  tags: string[];
  type?: string;
}

export interface DatadogEvent {
  title: string;
  /** At most 4000 characters (longer text is cut). */
  text: string;
  tags?: string[];
  alert_type?: 'error' | 'warning' | 'info' | 'success' | 'user_update' | 'recommendation' | 'snapshot';
  aggregation_key?: string;
  source_type_name?: string;
  priority?: 'normal' | 'low';
  /** Seconds since epoch (default: now). */
  date_happened?: number;
}

export interface DoraDeployment {
  service: string;
  env?: string;
  version?: string;
  /** ms since epoch (not ns: ns epochs exceed Number.MAX_SAFE_INTEGER). */
  startedAt: number;
  finishedAt: number;
  git?: { commitSha: string; repositoryUrl: string };
  /** 16–128 chars of [A-Za-z0-9-_.:] */
  id?: string;
  team?: string;
}

/** The newest non-null value of a series, or undefined when every point is null (no data). */
export function lastValue(points: readonly MetricPoint[]): number | undefined {
  for (let i = points.length - 1; i >= 0; i--) {
    const v = points[i]!.v;
    if (v !== null && Number.isFinite(v)) return v;
  }
  return undefined;
}

/** The Datadog client of one run (one site, one pair of keys). */
export class Datadog {
  private readonly o: DatadogOptions;

  constructor(o: DatadogOptions) {
    this.o = o;
  }

  private secrets(): string[] {
    return [this.o.apiKey, ...(this.o.appKey ? [this.o.appKey] : []), ...(this.o.secrets ?? [])];
  }

  private async req<R>(operation: string, method: string, path: string, opts: { body?: unknown; app?: boolean } = {}) {
    const headers: Record<string, string> = { 'dd-api-key': this.o.apiKey };
    if (opts.app !== false && this.o.appKey) headers['dd-application-key'] = this.o.appKey;
    return requestJson<R>({
      provider: 'datadog',
      operation,
      method,
      url: `${this.o.baseUrl}${path}`,
      headers,
      body: opts.body,
      timeoutMs: this.o.timeoutMs,
      retry: this.o.retry,
      // Events and DORA records have no lookup: a POST with an unknown outcome is reported, not repeated.
      idempotent: method === 'GET',
      signal: this.o.signal,
      secrets: this.secrets(),
      onRetry: (i) => this.o.log?.debug(`Datadog ${operation}: retry ${i.attempt} in ${i.delayMs} ms (${i.reason})`),
    });
  }

  /**
   * `GET /api/v1/query` over [fromSec, toSec] (seconds since epoch). A 200 whose `status` is `error`
   * (a bad query) is a ProviderError.
   */
  async queryMetrics(q: string, fromSec: number, toSec: number): Promise<MetricQueryResult> {
    const path = `/api/v1/query${query({ from: Math.floor(fromSec), to: Math.ceil(toSec), query: q })}`;
    const { status, body } = await this.req<RawQuery>('queryMetrics', 'GET', path);
    if (body?.status === 'error' || body?.error) {
      throw new ProviderError({
        provider: 'datadog',
        operation: 'queryMetrics',
        status,
        code: 'query_error',
        message: redact(
          providerMessage('datadog', 'queryMetrics', `HTTP ${status}: ${oneLine(body.error || 'the query failed')}`),
          this.secrets(),
        ),
      });
    }
    const series = (body?.series ?? []).map((s) => ({
      scope: s.scope ?? '',
      points: (s.pointlist ?? [])
        .filter((p): p is [number, number | null] => Array.isArray(p) && typeof p[0] === 'number')
        .map(([t, v]) => ({ t, v: typeof v === 'number' && Number.isFinite(v) ? v : null })),
    }));
    return { points: series[0]?.points ?? [], series };
  }

  /** Monitors with all of `monitorTags` (e.g. `service:web`), optionally only groups in `groupStates`. */
  async listMonitors(q: { monitorTags: string[]; groupStates?: string[] }): Promise<DatadogMonitor[]> {
    const out: DatadogMonitor[] = [];
    const pageSize = 1000;
    for (let page = 0; page < 50; page++) {
      const path = `/api/v1/monitor${query({
        monitor_tags: q.monitorTags.join(','),
        group_states: q.groupStates?.join(','),
        page,
        page_size: pageSize,
      })}`;
      const { body } = await this.req<RawMonitor[]>('listMonitors', 'GET', path);
      const list = Array.isArray(body) ? body : [];
      for (const m of list) {
        out.push({
          id: m.id,
          name: m.name ?? String(m.id),
          overallState: m.overall_state ?? 'Unknown',
          tags: m.tags ?? [],
          type: m.type,
        });
      }
      if (list.length < pageSize) break;
    }
    return out;
  }

  /** Posts an event (202). Not repeated when its outcome is unknown: a lost event is better than two. */
  async createEvent(e: DatadogEvent): Promise<{ id?: number; url?: string }> {
    const { body } = await this.req<{ event?: { id?: number; url?: string } }>(
      'createEvent',
      'POST',
      '/api/v1/events',
      {
        body: { ...e, text: e.text.slice(0, 4000), title: e.title.slice(0, 500) },
        app: false,
      },
    );
    return { id: body?.event?.id, url: body?.event?.url };
  }

  /** Records a deployment for DORA metrics (200, or 202 when Datadog delays it). */
  async createDoraDeployment(d: DoraDeployment): Promise<{ id?: string }> {
    const attributes: Record<string, unknown> = {
      service: d.service,
      env: d.env,
      version: d.version,
      started_at: Math.round(d.startedAt),
      finished_at: Math.round(d.finishedAt),
      id: d.id,
      team: d.team,
      git: d.git ? { commit_sha: d.git.commitSha, repository_url: d.git.repositoryUrl } : undefined,
    };
    const { body } = await this.req<{ data?: { id?: string } }>(
      'createDoraDeployment',
      'POST',
      '/api/v2/dora/deployment',
      {
        body: { data: { attributes } },
        app: false,
      },
    );
    return { id: body?.data?.id };
  }

  /** Checks the API key (`GET /api/v1/validate`); throws ProviderError (403) when it is not valid. */
  async validate(): Promise<boolean> {
    const { body } = await this.req<{ valid?: boolean }>('validate', 'GET', '/api/v1/validate', { app: false });
    return body?.valid === true;
  }
}

interface RawQuery {
  status?: string;
  error?: string;
  series?: { scope?: string; pointlist?: unknown[] }[];
}

interface RawMonitor {
  id: number;
  name?: string;
  overall_state?: string;
  tags?: string[];
  type?: string;
}
