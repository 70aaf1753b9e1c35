/**
 * Datadog API miniature: `GET /api/v1/query`, `POST /api/v2/query/timeseries`, `GET /api/v1/monitor`,
 * `POST /api/v1/events` (202), `POST /api/v2/events` (202), `POST /api/v2/dora/deployment` (200),
 * `GET /api/v1/validate`, and Deployment Gate evaluations (`datadog-gates.ts`). Keys: `DD-API-KEY` on every call, `DD-APPLICATION-KEY` as well for metric
 * queries and monitors (403 `{"errors":["Forbidden"]}` otherwise, as Datadog answers). Every answer
 * carries the `X-RateLimit-*` headers. Events and DORA deployments are kept in `world.state.datadog`.
 */
import type { DatadogScenario, MonitorScenario } from '../core/scenario.ts';
import { type RunningService, type SandboxRequest, type SandboxResponse, startService } from '../core/service.ts';
import type { World } from '../core/world.ts';
import { gateRoutes, type GateEvaluation } from './datadog-gates.ts';
import { metricName, pointlist, scopeOf, unitOf, type ReleaseOf } from './datadog-metrics.ts';
import type { VercelState } from './vercel-state.ts';

export interface DatadogState {
  events: Array<Record<string, unknown> & { id: number; receivedAt: string }>;
  doraDeployments: Array<Record<string, unknown> & { id: string; receivedAt: string }>;
  monitors: MonitorScenario[];
  /** Calls per query (scripted mode uses the count). */
  queryCalls: Record<string, number>;
  /** Deployment Gate evaluations started (sandbox/services/datadog-gates.ts). */
  gateEvaluations: GateEvaluation[];
}

const forbidden: SandboxResponse = { status: 403, body: { errors: ['Forbidden'] } };
const bad = (msg: string): SandboxResponse => ({ status: 400, body: { errors: [msg] } });

function rateHeaders(name: string, remaining: number): Record<string, string> {
  const period = 10;
  return {
    'x-ratelimit-limit': '1000',
    'x-ratelimit-period': String(period),
    'x-ratelimit-remaining': String(Math.max(0, remaining)),
    'x-ratelimit-reset': String(period - (Math.floor(Date.now() / 1000) % period)),
    'x-ratelimit-name': name,
  };
}

function monitorJson(m: MonitorScenario, i: number) {
  const id = m.id ?? 1000 + i;
  const groups = m.groups ?? { '*': m.state };
  const now = Math.floor(Date.now() / 1000);
  return {
    id,
    name: m.name,
    type: m.type ?? 'query alert',
    query: m.query ?? `avg(last_5m):avg:trace.http.request.errors{${m.tags.join(',')}} > 0.05`,
    message: `${m.name} @slack-deploys`,
    tags: m.tags,
    options: { notify_no_data: false, thresholds: { critical: 0.05 }, include_tags: true, notify_audit: false },
    overall_state: m.state,
    overall_state_modified: new Date((now - 600) * 1000).toISOString(),
    priority: null,
    multi: Object.keys(groups).length > 1,
    created: '2025-06-01T10:00:00.000000+00:00',
    modified: '2025-06-01T10:00:00.000000+00:00',
    creator: { email: 'sre@example.com', handle: 'sre@example.com', name: 'SRE' },
    deleted: null,
    restricted_roles: null,
    draft_status: 'published',
    state: {
      groups: Object.fromEntries(
        Object.entries(groups).map(([g, status]) => [
          g,
          {
            name: g,
            status,
            last_triggered_ts: status === 'Alert' ? now - 300 : 0,
            last_resolved_ts: 0,
            last_notified_ts: status === 'Alert' ? now - 300 : 0,
            last_nodata_ts: 0,
          },
        ]),
      ),
    },
  };
}

/** Start the Datadog miniature; state in `world.state.datadog`. */
export async function startDatadog(world: World, dd: DatadogScenario): Promise<RunningService> {
  const st: DatadogState = {
    events: [],
    doraDeployments: [],
    monitors: dd.monitors,
    queryCalls: {},
    gateEvaluations: [],
  };
  const gates = gateRoutes(world, dd, st.gateEvaluations);
  world.state.datadog = st;
  const calls = st.queryCalls;
  let nextEvent = 7_000_000_001;
  // The release behind a hit: the Vercel deployment that served it, and the commit it was built from.
  const releaseOf: ReleaseOf = (h) => {
    if (!h.deploymentId) return undefined;
    const d = (world.state.vercel as VercelState | undefined)?.deployments.get(h.deploymentId);
    const sha = d?.meta.githubCommitSha;
    return { id: h.deploymentId, ...(sha ? { sha } : {}) };
  };
  let remaining = 1000;

  const v1Query = (req: SandboxRequest): SandboxResponse => {
    const q = req.url.searchParams;
    const missing = ['from', 'to', 'query'].filter((k) => !q.get(k));
    if (missing.length) return bad(`The following query parameters are required: ${missing.join(', ')}`);
    const from = Number(q.get('from'));
    const to = Number(q.get('to'));
    if (!Number.isFinite(from) || !Number.isFinite(to) || from >= to)
      return bad('Invalid time range: from must be before to');
    const query = q.get('query')!;
    const r = pointlist(dd, calls, world.hits, query, Math.floor(from), Math.floor(to), releaseOf);
    const series = r
      ? [
          {
            metric: metricName(query),
            display_name: metricName(query),
            expression: query,
            scope: scopeOf(query),
            tag_set: [],
            aggr: /^(avg|sum|min|max|p\d+):/.exec(query)?.[1] ?? 'avg',
            interval: r.interval,
            length: r.points.length,
            start: r.points[0]![0],
            end: r.points[r.points.length - 1]![0] + r.interval * 1000 - 1,
            query_index: 0,
            unit: unitOf(r.q.measure),
            pointlist: r.points,
            attributes: {},
          },
        ]
      : [];
    return {
      status: 200,
      body: {
        status: 'ok',
        res_type: 'time_series',
        resp_version: 1,
        query,
        from_date: from * 1000,
        to_date: to * 1000,
        series,
        values: [],
        times: [],
        message: '',
        group_by: [],
      },
    };
  };

  const v2Timeseries = (req: SandboxRequest): SandboxResponse => {
    const attrs = (req.json as { data?: { attributes?: Record<string, unknown> } })?.data?.attributes;
    const queries = attrs?.queries as Array<{ name?: string; query?: string }> | undefined;
    if (!attrs || typeof attrs.from !== 'number' || typeof attrs.to !== 'number' || !Array.isArray(queries))
      return { status: 400, body: { errors: ['data.attributes.from, to and queries are required'] } };
    const fromS = Math.floor(attrs.from / 1000);
    const toS = Math.floor(attrs.to / 1000);
    const results = queries.map((qq) =>
      pointlist(dd, calls, world.hits, String(qq.query ?? ''), fromS, toS, releaseOf),
    );
    const formulas = (attrs.formulas as Array<{ formula?: string }> | undefined) ?? [];
    const outputs = formulas.length
      ? formulas.map((f) => results[queries.findIndex((qq) => qq.name === String(f.formula ?? '').trim())])
      : results;
    const present = outputs.map((r, i) => ({ r, i })).filter((x) => x.r !== undefined);
    const times = present[0]?.r?.points.map((p) => p[0]) ?? [];
    return {
      status: 200,
      body: {
        data: {
          type: 'timeseries_response',
          attributes: {
            series: present.map((x) => ({ group_tags: [], query_index: x.i, unit: unitOf(x.r!.q.measure) })),
            times,
            values: present.map((x) => x.r!.points.map((p) => p[1])),
          },
        },
      },
    };
  };

  const monitors = (req: SandboxRequest): SandboxResponse => {
    const q = req.url.searchParams;
    const tagList = (k: string) =>
      (q.get(k) ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    const monitorTags = tagList('monitor_tags');
    const scopeTags = tagList('tags');
    const name = q.get('name');
    let out = st.monitors.map(monitorJson);
    if (monitorTags.length) out = out.filter((m) => monitorTags.every((t) => m.tags.includes(t)));
    if (scopeTags.length) out = out.filter((m) => scopeTags.every((t) => m.query.includes(t) || m.tags.includes(t)));
    if (name) out = out.filter((m) => m.name.toLowerCase().includes(name.toLowerCase()));
    const groupStates = tagList('group_states').map((s) => s.toLowerCase());
    // Without group_states Datadog leaves `state.groups` empty; `all` keeps every group.
    if (groupStates.length && !groupStates.includes('all')) {
      out = out.map((m) => ({
        ...m,
        state: {
          groups: Object.fromEntries(
            Object.entries(m.state.groups).filter(([, g]) => groupStates.includes(String(g.status).toLowerCase())),
          ),
        },
      }));
    } else if (!groupStates.length) out = out.map((m) => ({ ...m, state: { groups: {} } }));
    const idOffset = Number(q.get('id_offset') ?? 0);
    if (idOffset) out = out.filter((m) => m.id > idOffset);
    if (q.get('page') !== null) {
      const size = Math.min(1000, Math.max(1, Number(q.get('page_size') ?? 100)));
      const page = Math.max(0, Number(q.get('page')));
      out = out.slice(page * size, (page + 1) * size);
    }
    return { status: 200, body: out };
  };

  const v1Event = (req: SandboxRequest): SandboxResponse => {
    const b = req.json as Record<string, unknown> | undefined;
    if (!b || typeof b.title !== 'string' || !b.title) return bad("Event title is required ('title')");
    if (typeof b.text !== 'string') return bad("Event text is required ('text')");
    if (b.text.length > 4000) return bad('Event text is limited to 4000 characters');
    const id = nextEvent++;
    const event = {
      id,
      id_str: String(id),
      title: b.title,
      text: b.text,
      date_happened: typeof b.date_happened === 'number' ? b.date_happened : Math.floor(Date.now() / 1000),
      priority: b.priority ?? 'normal',
      tags: Array.isArray(b.tags) ? b.tags : [],
      alert_type: b.alert_type ?? 'info',
      ...(b.aggregation_key ? { aggregation_key: b.aggregation_key } : {}),
      ...(b.source_type_name ? { source_type_name: b.source_type_name } : {}),
      url: `/event/event?id=${id}`,
    };
    st.events.push({ ...event, api: 'v1', receivedAt: new Date().toISOString() });
    world.events.emit('change', 'datadog');
    return { status: 202, body: { status: 'ok', event } };
  };

  const v2Event = (req: SandboxRequest): SandboxResponse => {
    const a = (req.json as { data?: { attributes?: Record<string, unknown> } })?.data?.attributes;
    if (!a || typeof a.title !== 'string' || !a.category)
      return {
        status: 400,
        body: {
          errors: [{ status: '400', title: 'Bad Request', detail: 'data.attributes.title and category are required' }],
        },
      };
    const id = nextEvent++;
    st.events.push({ ...a, id, api: 'v2', receivedAt: new Date().toISOString() });
    world.events.emit('change', 'datadog');
    return {
      status: 202,
      body: {
        data: {
          type: 'event',
          attributes: { attributes: { evt: { id: String(id), id_str: String(id), uid: `AZ${id}` } } },
        },
        links: { self: `${world.urls.datadog ?? ''}/event/event?uid=AZ${id}` },
      },
    };
  };

  const dora = (req: SandboxRequest): SandboxResponse => {
    const a = (req.json as { data?: { attributes?: Record<string, unknown> } })?.data?.attributes;
    const jerr = (detail: string): SandboxResponse => ({
      status: 400,
      body: { errors: [{ status: '400', title: 'Bad Request', detail }] },
    });
    if (!a) return jerr('missing data.attributes');
    for (const k of ['service', 'started_at', 'finished_at'])
      if (a[k] === undefined) return jerr(`missing required attribute ${k}`);
    if (typeof a.started_at !== 'number' || typeof a.finished_at !== 'number' || a.finished_at < a.started_at)
      return jerr('started_at and finished_at must be epoch timestamps with finished_at >= started_at');
    const id = typeof a.id === 'string' && a.id ? a.id : Math.random().toString(16).slice(2, 18).padEnd(16, '0');
    st.doraDeployments.push({ ...a, id, receivedAt: new Date().toISOString() });
    world.events.emit('change', 'datadog');
    return { status: 200, body: { data: { id, type: 'dora_deployment' } } };
  };

  type H = [
    method: string,
    path: string,
    appKey: boolean,
    fn: (req: SandboxRequest) => SandboxResponse | undefined,
    limit: string,
  ];
  const table: H[] = [
    ['GET', '/api/v1/query', true, v1Query, 'query'],
    ['POST', '/api/v2/query/timeseries', true, v2Timeseries, 'query'],
    ['GET', '/api/v1/monitor', true, monitors, 'monitor_list'],
    ['POST', '/api/v1/events', false, v1Event, 'event_create'],
    ['POST', '/api/v2/events', false, v2Event, 'event_create'],
    ['POST', '/api/v2/dora/deployment', false, dora, 'dora'],
    ['GET', '/api/v1/validate', false, () => ({ status: 200, body: { valid: true } }), 'validate'],
  ];

  return startService({
    name: 'datadog',
    traffic: world.traffic,
    handler: async (req) => {
      const gate = /^\/api\/v2\/(deployments\/gates\/|deployment_gates(\/|$))/.test(req.path) ? gates : undefined;
      const h = gate
        ? (['', '', true, gate, 'deployment_gates'] as unknown as H)
        : table.find(([m, p]) => m === req.method && p === req.path);
      if (!h) return { status: 404, body: { errors: ['Not found'] } };
      const [, , needsApp, route, limitName] = h;
      const fn = (r: SandboxRequest): SandboxResponse => route(r) ?? { status: 404, body: { errors: ['Not found'] } };
      remaining = remaining <= 1 ? 1000 : remaining - 1;
      const headers = rateHeaders(limitName, remaining);
      const apiKey = req.headers['dd-api-key'];
      const appKey = req.headers['dd-application-key'];
      if (apiKey !== dd.apiKey || (needsApp && appKey !== dd.appKey)) {
        const body = world.traffic.echoCredentials
          ? { errors: ['Forbidden', `received DD-API-KEY=${String(apiKey)} DD-APPLICATION-KEY=${String(appKey)}`] }
          : forbidden.body;
        return { status: 403, headers, body };
      }
      const out = fn(req);
      return { ...out, headers: { ...headers, ...out.headers } };
    },
  });
}
