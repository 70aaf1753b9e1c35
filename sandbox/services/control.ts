/**
 * The sandbox's control endpoints on `SANDBOX_URL` (not logged, never faulted):
 * - `GET  /_sandbox/state`           the whole world as JSON
 * - `GET  /_sandbox/requests`        the API request log (`?service=`, `?since=SEQ`); `DELETE` clears it
 * - `GET|POST|DELETE /_sandbox/faults` read, replace (`[rules]` or `{rules, mode:'replace'}`), add
 *   (`{rules, mode:'add'}`) or clear fault rules
 * - `POST /_sandbox/latency`         `{ms}`: latency added to every API request
 * - `POST /_sandbox/echo-credentials` `{enabled}`: services echo received credentials in errors
 * - `POST /_sandbox/traffic`         `{rate}`: the traffic stream's requests per second
 */
import type { FaultRule, RunningService, SandboxResponse, ServiceName } from '../core/service.ts';
import { startService } from '../core/service.ts';
import type { LbHit, World } from '../core/world.ts';

const SERVICES: ServiceName[] = [
  'github',
  'vercel',
  'vercel-edge',
  'cloudflare',
  'lb',
  'datadog',
  'slack',
  's3',
  'deps',
];

const SECRET_KEY = /^(token|secret|password|api_?key|app_?key|bypass_?secret)$/i;

/** Extra state views: a service whose state needs more than JSON conversion registers one here. */
export type Snapshots = Record<string, () => unknown | Promise<unknown>>;

/**
 * Convert any state to plain JSON: Maps → objects, Sets → arrays; servers, timers and functions
 * dropped; credential fields (`token`, `apiKey`, …) redacted.
 */
export function jsonSafe(v: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (v === null || typeof v !== 'object') return typeof v === 'function' || typeof v === 'symbol' ? undefined : v;
  if (depth > 12 || seen.has(v)) return undefined;
  seen.add(v);
  try {
    if (v instanceof Date) return v.toISOString();
    if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), jsonSafe(x, depth + 1, seen)]));
    if (v instanceof Set) return [...v].map((x) => jsonSafe(x, depth + 1, seen));
    if (Buffer.isBuffer(v)) return { bytes: v.length };
    if (Array.isArray(v)) return v.map((x) => jsonSafe(x, depth + 1, seen));
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return undefined; // servers, sockets, timers
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      // The miniatures' own credentials stay out, so a leak check over the state finds only leaks.
      if (SECRET_KEY.test(k) && typeof x === 'string') {
        out[k] = '[redacted]';
        continue;
      }
      const j = jsonSafe(x, depth + 1, seen);
      if (j !== undefined) out[k] = j;
    }
    return out;
  } finally {
    seen.delete(v);
  }
}

/** Traffic through the load balancer, counted per deployment, version, pool and status class. */
export function hitSummary(hits: LbHit[], now = Date.now()) {
  const count = (key: (h: LbHit) => string | undefined, list = hits) => {
    const out: Record<string, { requests: number; errors: number }> = {};
    for (const h of list) {
      const k = key(h) ?? 'unknown';
      const o = (out[k] ??= { requests: 0, errors: 0 });
      o.requests++;
      if (h.status >= 500) o.errors++;
    }
    return out;
  };
  const recent = hits.filter((h) => h.time >= now - 10_000);
  return {
    total: hits.length,
    synthetic: hits.filter((h) => h.synthetic).length,
    byDeployment: count((h) => h.deploymentId),
    byVersion: count((h) => h.version),
    byPool: count((h) => h.pool),
    last10s: {
      requests: recent.length,
      errorRate: recent.length ? recent.filter((h) => h.status >= 500).length / recent.length : null,
      byVersion: count((h) => h.version, recent),
    },
  };
}

function checkRules(rules: unknown): FaultRule[] | string {
  if (!Array.isArray(rules)) return 'rules must be a list of fault rules';
  for (const [i, r] of rules.entries()) {
    if (!r || typeof r !== 'object') return `rules[${i}] must be an object`;
    const rule = r as FaultRule;
    if (!SERVICES.includes(rule.service)) return `rules[${i}].service must be one of ${SERVICES.join(', ')}`;
    for (const k of ['after', 'times', 'status', 'delayMs'] as const)
      if (rule[k] !== undefined && (typeof rule[k] !== 'number' || rule[k]! < 0))
        return `rules[${i}].${k} must be a number >= 0`;
    for (const k of ['method', 'path', 'operation'] as const)
      if (rule[k] !== undefined && typeof rule[k] !== 'string') return `rules[${i}].${k} must be a string`;
  }
  return (rules as FaultRule[]).map((r) => ({ ...r, seen: 0 }));
}

/** Start the control service. `info` is merged into the state (scenario name, urls…). */
export async function startControl(
  world: World,
  opts: { snapshots: Snapshots; info: () => Record<string, unknown>; setTrafficRate?: (rate: number) => void },
): Promise<RunningService> {
  const ok = (body: unknown): SandboxResponse => ({ status: 200, body });
  const bad = (message: string): SandboxResponse => ({ status: 400, body: { error: message } });
  return startService({
    name: 'sandbox',
    traffic: world.traffic,
    log: false,
    handler: async (req) => {
      const t = world.traffic;
      const route = `${req.method} ${req.path.replace(/\/+$/, '')}`;
      const body = (req.json ?? {}) as Record<string, unknown>;
      switch (route) {
        case 'GET /_sandbox':
          return ok({
            endpoints: ['state', 'requests', 'faults', 'latency', 'echo-credentials', 'traffic'].map(
              (e) => `/_sandbox/${e}`,
            ),
            urls: world.urls,
          });
        case 'GET /_sandbox/state': {
          const state: Record<string, unknown> = { ...opts.info() };
          for (const [k, v] of Object.entries(world.state)) state[k] = jsonSafe(v);
          for (const [k, f] of Object.entries(opts.snapshots)) state[k] = jsonSafe(await f());
          state.traffic = hitSummary(world.hits);
          state.faults = t.faults;
          state.latencyMs = t.latencyMs;
          state.echoCredentials = t.echoCredentials;
          state.requestCount = t.requests.length;
          return ok(state);
        }
        case 'GET /_sandbox/requests': {
          const service = req.url.searchParams.get('service');
          const since = Number(req.url.searchParams.get('since') ?? 0);
          return ok(t.requests.filter((r) => (!service || r.service === service) && r.seq > since));
        }
        case 'DELETE /_sandbox/requests':
          t.requests.length = 0;
          return ok({ cleared: true });
        case 'GET /_sandbox/faults':
          return ok(t.faults);
        case 'DELETE /_sandbox/faults':
          t.faults = [];
          return ok(t.faults);
        case 'POST /_sandbox/faults': {
          const input = Array.isArray(req.json) ? { rules: req.json, mode: 'replace' } : body;
          const rules = checkRules(input.rules);
          if (typeof rules === 'string') return bad(rules);
          if (input.mode !== undefined && input.mode !== 'add' && input.mode !== 'replace')
            return bad('mode: add or replace');
          t.faults = input.mode === 'add' ? [...t.faults, ...rules] : rules;
          return ok(t.faults);
        }
        case 'POST /_sandbox/latency': {
          const ms = Number(body.ms);
          if (!Number.isFinite(ms) || ms < 0 || ms > 60_000) return bad('ms: a number of milliseconds, 0–60000');
          t.latencyMs = ms;
          return ok({ latencyMs: ms });
        }
        case 'POST /_sandbox/echo-credentials':
          if (typeof body.enabled !== 'boolean') return bad('enabled: true or false');
          t.echoCredentials = body.enabled;
          return ok({ echoCredentials: t.echoCredentials });
        case 'POST /_sandbox/traffic': {
          const rate = Number(body.rate);
          if (!opts.setTrafficRate) return bad('no traffic stream is running');
          if (!Number.isFinite(rate) || rate < 0 || rate > 200) return bad('rate: requests per second, 0–200');
          opts.setTrafficRate(rate);
          return ok({ rate });
        }
        default:
          return { status: 404, body: { error: `no control endpoint ${route}; see GET /_sandbox` } };
      }
    },
  });
}
