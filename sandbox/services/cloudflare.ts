/**
 * The Cloudflare API miniature (`/client/v4`): load-balancer pools, pool health, monitors, load
 * balancers (zone- or account-scoped) and DNS records, in Cloudflare's `{success, errors,
 * messages, result}` envelope with real HTTP statuses, as the `cloudflare` SDK calls them.
 *
 * `startCloudflare(world, scenario)` builds the state (`world.state.cloudflare`), runs the first
 * round of health checks, and returns a `RunningService` named `cloudflare` (sets
 * `world.urls.cloudflare` to the service root; the SDK's baseURL is that plus `/client/v4`).
 * Its `close()` stops the health checks.
 *
 * Pool health is real: every `healthIntervalMs` each enabled origin of a monitored pool is probed
 * over HTTP at the monitor's path through the Vercel edge, with the origin's `Host` header.
 * The state, the health checks and the proxy that routes real traffic live in `lb.ts`. Every change of a load balancer's steering
 * (weights, default/fallback pools, policy) and of pool origins is kept in a timestamped history.
 */
import { startService, type RunningService, type SandboxRequest, type SandboxResponse } from '../core/service.ts';
import type { World } from '../core/world.ts';
import {
  createCloudflareState,
  cloudflareState,
  checkAllPools,
  dataCenters,
  dcView,
  effectiveShares,
  monitorProblem,
  poolHealthy,
  recordHistory,
  reportedHealth,
  ruleProblem,
  type CfPool,
  type CfState,
  type CloudflareScenario,
} from './lb.ts';

export type { CloudflareScenario } from './lb.ts';
export { CLOUDFLARE_DEFAULTS, cloudflareState, effectiveShares, startLb } from './lb.ts';

type Obj = Record<string, unknown>;

function envelope(result: unknown, status = 200, extra: Obj = {}): SandboxResponse {
  return { status, body: { success: true, errors: [], messages: [], result, ...extra } };
}

function failure(world: World, req: SandboxRequest, status: number, code: number, message: string): SandboxResponse {
  const echo = world.traffic.echoCredentials ? ` (received: ${String(req.headers.authorization ?? '')})` : '';
  return { status, body: { success: false, errors: [{ code, message: message + echo }], messages: [], result: null } };
}

const POLICIES = [
  'off',
  'geo',
  'random',
  'dynamic_latency',
  'proximity',
  'least_outstanding_requests',
  'least_connections',
  '',
];
const READ_ONLY = ['id', 'created_on', 'modified_on', 'healthy', 'zone_name'];

function strip(body: Obj): Obj {
  const out = { ...body };
  for (const k of READ_ONLY) delete out[k];
  return out;
}

/** Validate a pool body (PATCH: only the fields given). Returns an error message or undefined. */
function badPool(body: Obj, full: boolean): string | undefined {
  if (full && (typeof body.name !== 'string' || !Array.isArray(body.origins))) return 'name and origins are required';
  if (body.origins !== undefined) {
    if (!Array.isArray(body.origins)) return 'origins must be an array';
    for (const o of body.origins as Obj[]) {
      if (!o || typeof o.address !== 'string' || !o.address) return 'every origin needs an address';
      if (o.weight !== undefined && (typeof o.weight !== 'number' || o.weight < 0 || o.weight > 1))
        return 'origin weight must be between 0 and 1';
    }
  }
  if (body.enabled !== undefined && typeof body.enabled !== 'boolean') return 'enabled must be a boolean';
  return undefined;
}

function badLb(state: CfState, body: Obj, full: boolean): string | undefined {
  if (full && (typeof body.name !== 'string' || !Array.isArray(body.default_pools) || !body.fallback_pool))
    return 'name, default_pools and fallback_pool are required';
  const known = (id: unknown) => typeof id === 'string' && state.pools.has(id);
  if (body.default_pools !== undefined) {
    if (!Array.isArray(body.default_pools) || body.default_pools.length === 0) return 'default_pools must list pools';
    const unknown = body.default_pools.find((p) => !known(p));
    if (unknown !== undefined) return `pool ${String(unknown)} does not exist`;
  }
  if (body.fallback_pool !== undefined && !known(body.fallback_pool))
    return `fallback pool ${String(body.fallback_pool)} does not exist`;
  if (body.steering_policy !== undefined && !POLICIES.includes(body.steering_policy as string))
    return `steering_policy must be one of ${POLICIES.filter(Boolean).join(', ')}`;
  if (
    body.session_affinity !== undefined &&
    !['none', 'cookie', 'ip_cookie', 'header', ''].includes(String(body.session_affinity))
  )
    return 'session_affinity must be one of none, cookie, ip_cookie, header';
  // Accepted ranges per policy (OpenAPI `load-balancing_session_affinity_ttl`): cookie/ip_cookie 1800–604800, header 30–3600.
  const header =
    String(body.session_affinity ?? state.loadBalancers.values().next().value?.session_affinity) === 'header';
  const [lo, hi] = header ? [30, 3600] : [1800, 604800];
  if (
    body.session_affinity_ttl !== undefined &&
    (typeof body.session_affinity_ttl !== 'number' || body.session_affinity_ttl < lo || body.session_affinity_ttl > hi)
  )
    return `session_affinity_ttl must be between ${lo} and ${hi} seconds`;
  const badRules = ruleProblem(body.rules);
  if (badRules) return badRules;
  const rs = body.random_steering as { pool_weights?: Obj; default_weight?: unknown } | undefined;
  if (rs !== undefined) {
    if (typeof rs !== 'object' || rs === null) return 'random_steering must be an object';
    for (const [id, w] of Object.entries(rs.pool_weights ?? {})) {
      if (!known(id)) return `pool_weights names an unknown pool ${id}`;
      if (typeof w !== 'number' || w < 0 || w > 1) return 'pool weights must be between 0 and 1';
    }
    if (
      rs.default_weight !== undefined &&
      (typeof rs.default_weight !== 'number' || rs.default_weight < 0 || rs.default_weight > 1)
    )
      return 'default_weight must be between 0 and 1';
  }
  return undefined;
}

/** A pool as the API shows it; `healthy` only when a monitor gives a verdict (unknown otherwise). */
function poolJson(state: CfState, p: CfPool): Obj {
  const healthy = reportedHealth(state, p);
  return { ...p, ...(healthy !== undefined ? { healthy } : {}) };
}

/**
 * The OpenAPI shape of pool health (`load-balancing_health_details`): `pop_health` keyed by data center,
 * each with its own view of the pool and of every origin (`{<address>: {healthy, rtt, failure_reason,
 * response_code}}`). A data center that has not probed yet, and every data center of an unmonitored
 * pool, is absent. No time is reported (the API has none).
 */
function healthJson(state: CfState, p: CfPool): Obj {
  const popHealth: Obj = {};
  if (p.monitor) {
    for (const dc of Object.values(dataCenters(p).regions).flat()) {
      const view = dcView(state, p, dc);
      if (view) popHealth[dc] = view;
    }
  }
  return { pool_id: p.id, pop_health: popHealth };
}

type Handle = (world: World, req: SandboxRequest, m: string[]) => SandboxResponse | Promise<SandboxResponse>;

/** What a PUT leaves in the fields it does not send (Cloudflare's defaults). */
const PUT_DEFAULTS: Record<'pool' | 'lb' | 'dns', Obj> = {
  pool: {
    enabled: true,
    minimum_origins: 1,
    origin_steering: { policy: 'random' },
    check_regions: null,
    description: '',
  },
  lb: { enabled: true, proxied: false, ttl: 30, steering_policy: '', session_affinity: 'none', description: '' },
  dns: { ttl: 1, proxied: false, tags: [] },
};

/** PATCH overwrites the supplied properties; PUT replaces the object (keeping id and creation time). */
function touch(world: World, obj: Obj, body: Obj, replace: false | 'pool' | 'lb' | 'dns'): void {
  const keep = { id: obj.id, created_on: obj.created_on, zone_id: obj.zone_id, zone_name: obj.zone_name };
  if (replace) for (const k of Object.keys(obj)) delete obj[k];
  const base = replace ? { ...PUT_DEFAULTS[replace], ...keep } : {};
  Object.assign(obj, base, strip(body), { modified_on: new Date().toISOString() });
  for (const k of Object.keys(obj)) if (obj[k] === undefined) delete obj[k];
  world.events.emit('change', 'cloudflare');
}

const pools: Handle = (world, req) => {
  const state = cloudflareState(world);
  const monitor = req.url.searchParams.get('monitor');
  const list = [...state.pools.values()].filter((p) => !monitor || p.monitor === monitor);
  return envelope(
    list.map((p) => poolJson(state, p)),
    200,
    { result_info: { page: 1, per_page: list.length, count: list.length, total_count: list.length } },
  );
};

function withPool(
  fn: (world: World, req: SandboxRequest, p: CfPool, state: CfState) => SandboxResponse | Promise<SandboxResponse>,
): Handle {
  return (world, req, [, poolId]) => {
    const state = cloudflareState(world);
    const p = state.pools.get(poolId);
    return p ? fn(world, req, p, state) : failure(world, req, 404, 1002, `Pool ${poolId} not found`);
  };
}

const getPool = withPool((_w, _r, p, state) => envelope(poolJson(state, p)));
const poolHealth = withPool((_w, _r, p, state) => envelope(healthJson(state, p)));

function editPool(replace: boolean): Handle {
  return withPool(async (world, req, p, state) => {
    const body = (req.json ?? {}) as Obj;
    const bad = badPool(body, replace);
    if (bad) return failure(world, req, 400, 1002, bad);
    const wasEnabled = new Map(p.origins.map((o) => [String(o.address), o.enabled !== false]));
    touch(world, p, body, replace && 'pool');
    // `disabled_at` (OpenAPI `load-balancing_origin`) starts an endpoint's drain; a disabled origin is
    // no longer probed, so its health is forgotten until it is enabled and probed again.
    for (const o of p.origins) {
      const address = String(o.address);
      if (o.enabled === false) {
        if (wasEnabled.get(address) !== false) o.disabled_at = new Date().toISOString();
        state.health.get(p.id)?.delete(address);
      } else delete o.disabled_at;
    }
    recordHistory(state, 'pool', p.id, { origins: p.origins, enabled: p.enabled }, req.method);
    await checkAllPools(world, p.id);
    return envelope(poolJson(state, p));
  });
}

const monitors: Handle = (world) => {
  const list = [...cloudflareState(world).monitors.values()];
  return envelope(list, 200, {
    result_info: { page: 1, per_page: list.length, count: list.length, total_count: list.length },
  });
};

const getMonitor: Handle = (world, req, [, id]) => {
  const m = cloudflareState(world).monitors.get(id);
  return m ? envelope(m) : failure(world, req, 404, 1002, `Monitor ${id} not found`);
};

const patchMonitor: Handle = (world, req, [, id]) => {
  const m = cloudflareState(world).monitors.get(id);
  if (!m) return failure(world, req, 404, 1002, `Monitor ${id} not found`);
  const bad = monitorProblem((req.json ?? {}) as Obj);
  if (bad) return failure(world, req, 400, 1002, bad);
  touch(world, m, (req.json ?? {}) as Obj, false);
  return envelope(m);
};

function lbJson(state: CfState, lb: Obj): Obj {
  return { ...lb, zone_name: state.zoneName };
}

const loadBalancers: Handle = (world) => {
  const state = cloudflareState(world);
  const list = [...state.loadBalancers.values()].map((lb) => lbJson(state, lb));
  return envelope(list, 200, {
    result_info: { page: 1, per_page: list.length, count: list.length, total_count: list.length },
  });
};

const getLb: Handle = (world, req, [, id]) => {
  const state = cloudflareState(world);
  const lb = state.loadBalancers.get(id);
  return lb ? envelope(lbJson(state, lb)) : failure(world, req, 404, 1002, `Load balancer ${id} not found`);
};

function editLb(replace: boolean): Handle {
  return (world, req, [, id]) => {
    const state = cloudflareState(world);
    const lb = state.loadBalancers.get(id);
    if (!lb) return failure(world, req, 404, 1002, `Load balancer ${id} not found`);
    const body = (req.json ?? {}) as Obj;
    const bad = badLb(state, body, replace);
    if (bad) return failure(world, req, 400, 1002, bad);
    touch(world, lb, body, replace && 'lb');
    const { random_steering, default_pools, fallback_pool, steering_policy, enabled, session_affinity, rules } = lb;
    recordHistory(
      state,
      'load_balancer',
      id,
      { random_steering, default_pools, fallback_pool, steering_policy, enabled, session_affinity, rules },
      req.method,
    );
    return envelope(lbJson(state, lb));
  };
}

const dnsRecords: Handle = (world, req) => {
  const q = req.url.searchParams;
  const list = [...cloudflareState(world).dns.values()].filter(
    (r) => (!q.get('name') || r.name === q.get('name')) && (!q.get('type') || r.type === q.get('type')),
  );
  return envelope(list, 200, {
    result_info: { page: 1, per_page: list.length, count: list.length, total_count: list.length },
  });
};

const getDns: Handle = (world, req, [, id]) => {
  const r = cloudflareState(world).dns.get(id);
  return r ? envelope(r) : failure(world, req, 404, 81044, 'Record does not exist.');
};

function editDns(replace: boolean): Handle {
  return (world, req, [, id]) => {
    const state = cloudflareState(world);
    const r = state.dns.get(id);
    if (!r) return failure(world, req, 404, 81044, 'Record does not exist.');
    const body = (req.json ?? {}) as Obj;
    const next = { ...(replace ? {} : r), ...strip(body) };
    if (replace && (!next.type || !next.name || next.content === undefined))
      return failure(world, req, 400, 9000, 'type, name and content are required');
    if (next.type === 'A' && !/^(\d{1,3}\.){3}\d{1,3}$/.test(String(next.content)))
      return failure(world, req, 400, 9005, 'Content for A record is invalid. Must be a valid IPv4 address');
    touch(world, r, body, replace && 'dns');
    return envelope(r);
  };
}

const ID = '([0-9a-zA-Z_-]+)';
const SCOPE = '(?:accounts|zones)/([0-9a-zA-Z_-]+)';
const route = (method: string, path: string, handle: Handle) => ({
  method,
  pattern: new RegExp(`^/client/v4/${path.replaceAll('{}', ID).replace('{scope}', SCOPE)}/?$`),
  handle,
});

const ROUTES = [
  route('GET', 'accounts/{}/load_balancers/pools', pools),
  route('GET', 'accounts/{}/load_balancers/pools/{}', getPool),
  route('PATCH', 'accounts/{}/load_balancers/pools/{}', editPool(false)),
  route('PUT', 'accounts/{}/load_balancers/pools/{}', editPool(true)),
  route('GET', 'accounts/{}/load_balancers/pools/{}/health', poolHealth),
  route('GET', 'accounts/{}/load_balancers/monitors', monitors),
  route('GET', 'accounts/{}/load_balancers/monitors/{}', getMonitor),
  route('PATCH', 'accounts/{}/load_balancers/monitors/{}', patchMonitor),
  route('GET', '{scope}/load_balancers', loadBalancers),
  route('GET', '{scope}/load_balancers/{}', getLb),
  route('PATCH', '{scope}/load_balancers/{}', editLb(false)),
  route('PUT', '{scope}/load_balancers/{}', editLb(true)),
  route('GET', 'zones/{}/dns_records', dnsRecords),
  route('GET', 'zones/{}/dns_records/{}', getDns),
  route('PATCH', 'zones/{}/dns_records/{}', editDns(false)),
  route('PUT', 'zones/{}/dns_records/{}', editDns(true)),
];

/** Start the Cloudflare API miniature and its health checks (see the file comment). */
export async function startCloudflare(world: World, scenario: CloudflareScenario = {}): Promise<RunningService> {
  const state = createCloudflareState(world, scenario);
  const svc = await startService({
    name: 'cloudflare',
    traffic: world.traffic,
    handler: async (req) => {
      let pathMatched = false;
      for (const r of ROUTES) {
        const m = r.pattern.exec(req.path);
        if (!m) continue;
        pathMatched = true;
        if (r.method !== req.method) continue;
        const auth = String(req.headers.authorization ?? '');
        if (!auth && !req.headers['x-auth-key'])
          return failure(world, req, 400, 9106, 'Missing X-Auth-Key, X-Auth-Email or Authorization headers');
        if (auth !== `Bearer ${state.token}`) return failure(world, req, 403, 10000, 'Authentication error');
        const scoped = req.path.startsWith('/client/v4/zones/') ? state.zoneId : state.accountId;
        if (m[1] !== scoped) return failure(world, req, 403, 9109, 'Unauthorized to access requested resource');
        const out = await r.handle(world, req, m.slice(1));
        // A snapshot, not live state: the request log must keep what was sent at the time.
        return { ...out, body: JSON.parse(JSON.stringify(out.body)) };
      }
      return failure(
        world,
        req,
        pathMatched ? 405 : 404,
        7003,
        `Could not route to ${req.path}, perhaps your object identifier is invalid?`,
      );
    },
  });
  world.urls.cloudflare = svc.url;
  await checkAllPools(world);
  const timer = setInterval(() => void checkAllPools(world), state.healthIntervalMs);
  return {
    ...svc,
    close: async () => {
      clearInterval(timer);
      state.stopped = true;
      await svc.close();
    },
  };
}

/** What the action's inputs need to reach this miniature (for `--write-env`). */
export function cloudflareInputs(world: World): {
  token: string;
  accountId: string;
  zoneId: string;
  loadBalancerId: string;
  pools: string[];
} {
  const state = cloudflareState(world);
  return {
    token: state.token,
    accountId: state.accountId,
    zoneId: state.zoneId,
    loadBalancerId: [...state.loadBalancers.keys()][0],
    pools: [...state.pools.keys()],
  };
}

/** The Cloudflare part of `/_sandbox/state`: pools with health, weights now and their history, traffic per pool. */
export function cloudflareSnapshot(world: World): Obj {
  const state = cloudflareState(world);
  const traffic: Record<string, { requests: number; errors: number }> = {};
  for (const h of world.hits) {
    const t = (traffic[h.pool] ??= { requests: 0, errors: 0 });
    t.requests++;
    if (h.status >= 500) t.errors++;
  }
  return {
    pools: [...state.pools.values()].map((p) => ({
      id: p.id,
      name: p.name,
      enabled: p.enabled,
      healthy: reportedHealth(state, p) ?? null,
      monitored: !!p.monitor,
      origins: (p.origins as Obj[]).map((o) => ({
        address: o.address,
        enabled: o.enabled !== false,
        // The origin's header.Host override; null = none (a proxied LB sends the visitor's Host).
        host: (o.header as { Host?: string[] } | undefined)?.Host?.[0] ?? null,
        healthy: p.monitor ? poolHealthy(state, { ...p, origins: [o], minimum_origins: 1 }) : null,
        unhealthyDataCenters: [...(state.health.get(p.id)?.get(String(o.address))?.dcs ?? [])]
          .filter(([, d]) => !d.healthy)
          .map(([dc]) => dc),
      })),
    })),
    loadBalancers: [...state.loadBalancers.values()].map((lb) => ({
      id: lb.id,
      name: lb.name,
      steering_policy: lb.steering_policy,
      default_pools: lb.default_pools,
      fallback_pool: lb.fallback_pool,
      pool_weights: (lb.random_steering as { pool_weights?: Obj } | undefined)?.pool_weights ?? {},
      session_affinity: lb.session_affinity,
      rules: lb.rules,
      adaptive_routing: lb.adaptive_routing,
      shares: effectiveShares(state, lb),
    })),
    history: state.history,
    dnsRecords: [...state.dns.values()],
    traffic,
  };
}
