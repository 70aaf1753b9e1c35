/**
 * Datadog, the one client of a run: metric queries (for post-deploy validation and `mode: plan`),
 * monitors (for the prepare gate and validation), an event and a DORA deployment record for the run.
 *
 * Plain `requestJson` with `DD-API-KEY` / `DD-APPLICATION-KEY`: the official client is 10 MB bundled and
 * its retry waits whatever `X-RateLimit-Reset` says. A 429's `X-RateLimit-Reset` (seconds until the
 * window resets) is honoured up to the policy's cap. Errors are `{errors:["…"]}`.
 *
 * A call can carry its own policy: a validation sample must answer within its tick, so it uses the
 * `sample` policy (one quick retry, a timeout below the interval, never a long rate-limit wait).
 */
import type { MonitorResult, QueryResult } from '../analysis/types.js';
import type { Logger } from '../pipeline/types.js';
import { alertingMonitors, secondsWindow, totalOfQueryResponse, valueOfQueryResponse } from './datadog-parse.js';
import { query, requestJson, type RetryPolicy, PROVIDER_TEXT_MAX } from './http.js';
import { oneLine } from '../text.js';
import { errorMessage } from '../text.js';

/** A timeout (per attempt) and retry policy for one call, in place of the client's own. */
export interface CallPolicy {
  timeoutMs: number;
  retry: RetryPolicy;
}

/** How one call is made: its policy (default: the client's) and signal (default: the run's). */
export interface CallOptions {
  policy?: CallPolicy;
  signal?: AbortSignal;
}

export interface DatadogOptions {
  apiKey: string;
  /** Needed by queries and monitors; events and DORA need only the API key. */
  appKey?: string;
  /** `https://api.<site>` or a full URL (the sandbox). */
  baseUrl: string;
  timeoutMs: number;
  retry: RetryPolicy;
  /** The policy of one validation sample, taken every `intervalMs`. */
  sample: (intervalMs: number) => CallPolicy;
  signal?: AbortSignal;
  secrets?: string[];
  log?: Pick<Logger, 'debug'>;
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

/** One evaluation of a Deployment Gate: the gate is keyed by (service, env, identifier). */
export interface GateEvaluationRequest {
  service: string;
  env: string;
  identifier: string;
  /** Required by faulty-deployment-detection rules: the release's `version` tag. */
  version?: string;
}

/** One rule's result, as `GET /api/v2/deployments/gates/evaluation/{id}` gives it. */
export interface GateRuleResult {
  name: string;
  /** in_progress, pass or fail (anything else is kept as sent). */
  status: string;
  reason?: string;
  dryRun: boolean;
}

/** An evaluation's state. `status` is `in_progress`, `pass` or `fail`; anything else is kept as sent. */
export interface GateEvaluationResult {
  status: string;
  dryRun: boolean;
  evaluationId: string;
  url?: string;
  gateId?: string;
  rules: GateRuleResult[];
}

/**
 * What the validation sampler reads, at the `sample` policy. Never throws for a provider failure
 * (it becomes `{kind: 'error'}`, counted by the analysis); rejects only when `signal` is aborted.
 */
export interface DatadogSampler {
  /** The value of a metrics query over [fromMs, toMs] (see `queryValue`). */
  query(q: string, fromMs: number, toMs: number, signal: AbortSignal): Promise<QueryResult>;
  /** The total of a count query over [fromMs, toMs] (see `queryTotal`). */
  count(q: string, fromMs: number, toMs: number, signal: AbortSignal): Promise<QueryResult>;
  /** Monitors with all of `tags` that are in Alert. */
  alerting(tags: string[], signal: AbortSignal): Promise<MonitorResult>;
}

const MISSING_APP_KEY = 'datadog-app-key is not set: Datadog needs an application key to read metrics and monitors';

/** The Datadog client of one run (one site, one pair of keys). */
export class Datadog {
  private readonly o: DatadogOptions;

  constructor(o: DatadogOptions) {
    this.o = o;
  }

  private secrets(): string[] {
    return [this.o.apiKey, ...(this.o.appKey ? [this.o.appKey] : []), ...(this.o.secrets ?? [])];
  }

  private async req<R>(
    operation: string,
    method: string,
    path: string,
    opts: { body?: unknown; app?: boolean; call?: CallOptions; repeatable?: boolean; okStatuses?: number[] } = {},
  ) {
    const headers: Record<string, string> = { 'dd-api-key': this.o.apiKey };
    if (opts.app !== false && this.o.appKey) headers['dd-application-key'] = this.o.appKey;
    return requestJson<R>({
      provider: 'datadog',
      operation,
      method,
      url: `${this.o.baseUrl}${path}`,
      headers,
      body: opts.body,
      timeoutMs: opts.call?.policy?.timeoutMs ?? this.o.timeoutMs,
      retry: opts.call?.policy?.retry ?? this.o.retry,
      // Events and DORA records have no lookup: a POST with an unknown outcome is reported, not repeated.
      idempotent: method === 'GET' || opts.repeatable === true,
      ...(opts.okStatuses ? { okStatuses: opts.okStatuses } : {}),
      signal: opts.call?.signal ?? this.o.signal,
      secrets: this.secrets(),
      onRetry: (i) => this.o.log?.debug(`Datadog ${operation}: retry ${i.attempt} in ${i.delayMs} ms (${i.reason})`),
    });
  }

  /**
   * The value of a metrics query (`GET /api/v1/query`) over [fromMs, toMs], asked in whole seconds that
   * have ended: the newest point of the worst series (`valueOfQueryResponse`), so validation and
   * `mode: plan` judge a query grouped `by {…}` alike. Never throws for a provider failure or a query
   * Datadog cannot run: `{kind: 'error'}` with a message that holds no secret. Rejects only when the
   * call's signal is aborted.
   */
  async queryValue(q: string, fromMs: number, toMs: number, call: CallOptions = {}): Promise<QueryResult> {
    return this.queryWith(valueOfQueryResponse, q, fromMs, toMs, call);
  }

  /**
   * The total of a count query (`sum:…{…}.as_count()`) over [fromMs, toMs]: the requests or errors
   * counted in the window (`totalOfQueryResponse`). Never throws for a provider failure; rejects only
   * when aborted.
   */
  async queryTotal(q: string, fromMs: number, toMs: number, call: CallOptions = {}): Promise<QueryResult> {
    return this.queryWith(totalOfQueryResponse, q, fromMs, toMs, call);
  }

  private async queryWith(
    read: (body: unknown) => QueryResult,
    q: string,
    fromMs: number,
    toMs: number,
    call: CallOptions,
  ): Promise<QueryResult> {
    if (!this.o.appKey) return { kind: 'error', error: MISSING_APP_KEY };
    const w = secondsWindow(fromMs, toMs);
    try {
      const path = `/api/v1/query${query({ from: w.from, to: w.to, query: q })}`;
      const { body } = await this.req<unknown>('query metrics', 'GET', path, { call });
      return read(body);
    } catch (err) {
      if ((call.signal ?? this.o.signal)?.aborted) throw err;
      return { kind: 'error', error: oneLine(errorMessage(err), PROVIDER_TEXT_MAX) };
    }
  }

  /**
   * Monitors with all of `tags` that are in Alert (the first page of up to 1000, which a tag set of one
   * service does not exceed). Never throws for a provider failure; rejects only when aborted.
   */
  async monitorsInAlert(tags: string[], call: CallOptions = {}): Promise<MonitorResult> {
    if (!this.o.appKey) return { kind: 'error', error: MISSING_APP_KEY };
    try {
      const path = `/api/v1/monitor${query({ monitor_tags: tags.join(','), page: 0, page_size: 1000 })}`;
      const { body } = await this.req<unknown>('list monitors', 'GET', path, { call });
      return { kind: 'ok', alerting: alertingMonitors(body, tags) };
    } catch (err) {
      if ((call.signal ?? this.o.signal)?.aborted) throw err;
      return { kind: 'error', error: oneLine(errorMessage(err), PROVIDER_TEXT_MAX) };
    }
  }

  /** The client as the validation sampler sees it: every call at the `sample` policy of `intervalMs`. */
  sampler(intervalMs: number): DatadogSampler {
    const policy = this.o.sample(intervalMs);
    return {
      query: (q, fromMs, toMs, signal) => this.queryValue(q, fromMs, toMs, { policy, signal }),
      count: (q, fromMs, toMs, signal) => this.queryTotal(q, fromMs, toMs, { policy, signal }),
      alerting: (tags, signal) => this.monitorsInAlert(tags, { policy, signal }),
    };
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

  /**
   * Starts a Deployment Gate evaluation (`POST /api/v2/deployments/gates/evaluation`, 202, preview). A
   * 404 is an answer: no gate for that service, env and identifier, or a gate without rules
   * (`{notFound: detail}`). Repeated when its outcome is unknown: a second evaluation of the same
   * gate changes nothing. Throws ProviderError otherwise (400, 401/403 without the
   * `deployment_gates_evaluate` permission, a 429 beyond the step's rate-limit budget, 5xx after retries).
   */
  async startGateEvaluation(
    g: GateEvaluationRequest,
    call: CallOptions = {},
  ): Promise<{ evaluationId: string } | { notFound: string }> {
    const attributes: Record<string, string> = { service: g.service, env: g.env, identifier: g.identifier };
    if (g.version) attributes.version = g.version;
    const { status, body } = await this.req<unknown>(
      'start deployment gate evaluation',
      'POST',
      '/api/v2/deployments/gates/evaluation',
      {
        body: { data: { type: 'deployment_gates_evaluation_request', attributes } },
        call,
        repeatable: true,
        okStatuses: [404],
      },
    );
    if (status === 404) return { notFound: errorDetail(body) ?? 'gate not found' };
    const id = (body as { data?: { attributes?: { evaluation_id?: unknown } } })?.data?.attributes?.evaluation_id;
    if (typeof id !== 'string' || id === '') {
      throw new Error('Datadog start deployment gate evaluation: the answer has no data.attributes.evaluation_id');
    }
    return { evaluationId: id };
  }

  /**
   * An evaluation's state (`GET /api/v2/deployments/gates/evaluation/{id}`). Datadog answers 404 when
   * polled too soon after the start: that is `{notYet: detail}`, for the caller to poll again.
   * Throws ProviderError for any other failure, Error for an answer without `gate_status`.
   */
  async gateEvaluation(id: string, call: CallOptions = {}): Promise<GateEvaluationResult | { notYet: string }> {
    const { status, body } = await this.req<unknown>(
      'read deployment gate evaluation',
      'GET',
      `/api/v2/deployments/gates/evaluation/${encodeURIComponent(id)}`,
      { call, okStatuses: [404] },
    );
    if (status === 404) return { notYet: errorDetail(body) ?? 'evaluation not found yet' };
    return parseGateEvaluation(body, id);
  }

  /**
   * The Deployment Gate keyed by (service, env, identifier), or undefined when Datadog has none
   * (`GET /api/v2/deployment_gates`, every page by `page[cursor]`), with its rule count
   * (`GET /api/v2/deployment_gates/{id}/rules`). Throws ProviderError (403 without
   * `deployment_gates_read`).
   */
  async findDeploymentGate(
    key: Pick<GateEvaluationRequest, 'service' | 'env' | 'identifier'>,
  ): Promise<{ id: string; dryRun: boolean; rules: number } | undefined> {
    let cursor: string | undefined;
    for (let page = 0; page < 50; page++) {
      const path = `/api/v2/deployment_gates${query({ 'page[cursor]': cursor })}`;
      const { body } = await this.req<RawGateList>('list deployment gates', 'GET', path);
      for (const g of Array.isArray(body?.data) ? body.data : []) {
        const a = g?.attributes;
        if (a?.service !== key.service || a.env !== key.env || a.identifier !== key.identifier) continue;
        if (typeof g.id !== 'string') continue;
        const rules = await this.req<{ data?: { attributes?: { rules?: unknown[] } } }>(
          'list deployment gate rules',
          'GET',
          `/api/v2/deployment_gates/${encodeURIComponent(g.id)}/rules`,
        );
        const list = rules.body?.data?.attributes?.rules;
        return { id: g.id, dryRun: a.dry_run === true, rules: Array.isArray(list) ? list.length : 0 };
      }
      cursor = body?.meta?.page?.next_cursor || undefined;
      if (!cursor) return undefined;
    }
    return undefined;
  }

  /** Checks the API key (`GET /api/v1/validate`); throws ProviderError (403) when it is not valid. */
  async validate(): Promise<boolean> {
    const { body } = await this.req<{ valid?: boolean }>('validate', 'GET', '/api/v1/validate', { app: false });
    return body?.valid === true;
  }
}

/** The first error's `detail` (or `title`, or a plain string) of a `{errors:[…]}` body. */
function errorDetail(body: unknown): string | undefined {
  const first = (body as { errors?: unknown[] })?.errors?.[0];
  if (typeof first === 'string') return oneLine(first, PROVIDER_TEXT_MAX);
  const e = first as { detail?: unknown; title?: unknown } | undefined;
  const text = typeof e?.detail === 'string' ? e.detail : typeof e?.title === 'string' ? e.title : undefined;
  return text ? oneLine(text, PROVIDER_TEXT_MAX) : undefined;
}

/**
 * `{data:{id, type:'deployment_gates_evaluation_result_response', attributes:{dry_run, evaluation_id,
 * evaluation_url, gate_id, gate_status, rules:[{name, status, reason?, dry_run}]}}}` (the shapes of
 * DataDog/datadog-api-client-typescript's DeploymentGatesEvaluationResultResponse and its recorded
 * answers). An answer without `gate_status` is an error, never a pass.
 */
export function parseGateEvaluation(body: unknown, id: string): GateEvaluationResult {
  const a = (body as { data?: { attributes?: Record<string, unknown> } })?.data?.attributes;
  const status = a?.gate_status;
  if (!a || typeof status !== 'string' || status === '') {
    throw new Error('Datadog read deployment gate evaluation: the answer has no data.attributes.gate_status');
  }
  const rules = Array.isArray(a.rules) ? (a.rules as Record<string, unknown>[]) : [];
  return {
    status,
    dryRun: a.dry_run === true,
    evaluationId: typeof a.evaluation_id === 'string' ? a.evaluation_id : id,
    ...(typeof a.evaluation_url === 'string' ? { url: a.evaluation_url } : {}),
    ...(typeof a.gate_id === 'string' ? { gateId: a.gate_id } : {}),
    rules: rules.map((r, i) => ({
      name: typeof r?.name === 'string' && r.name ? oneLine(r.name, 200) : `rule ${i + 1}`,
      status: typeof r?.status === 'string' ? r.status : 'unknown',
      ...(typeof r?.reason === 'string' && r.reason ? { reason: oneLine(r.reason, PROVIDER_TEXT_MAX) } : {}),
      dryRun: r?.dry_run === true,
    })),
  };
}

interface RawGateList {
  data?: Array<{
    id?: unknown;
    attributes?: { service?: unknown; env?: unknown; identifier?: unknown; dry_run?: unknown };
  }>;
  meta?: { page?: { next_cursor?: string } };
}

interface RawMonitor {
  id: number;
  name?: string;
  overall_state?: string;
  tags?: string[];
  type?: string;
}
