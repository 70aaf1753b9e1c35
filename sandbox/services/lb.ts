/**
 * The Cloudflare load balancer itself: its state (`world.state.cloudflare`, shared with the API in
 * `cloudflare.ts`), the health monitors that probe each pool origin, the steering rules, and the
 * proxy.
 *
 * `startLb(world, scenario)` starts a real HTTP proxy on its own port (the production URL) and
 * returns a `RunningService` named `lb` (sets `world.urls.lb`). Each request goes to a pool chosen
 * by the load balancer's configuration (random steering by `pool_weights` over the healthy pools of
 * `default_pools`, else `fallback_pool`), then to one of the pool's origins — the Vercel edge — and
 * the response is streamed back. As Cloudflare documents (sources in sandbox/README.md, "Modelled
 * behaviours and their sources"):
 * - a proxied (layer 7, `proxied: true`) load balancer sends the visitor's `Host` (the load
 *   balancer's hostname) unless the origin has a `header.Host` override; it adds `cf-ray`,
 *   `cf-connecting-ip`, `x-forwarded-for`, `x-forwarded-proto`, `cf-visitor`, `cdn-loop` and no
 *   `x-forwarded-host` (a visitor's own is passed through, as every request header is);
 * - a DNS-only load balancer (`proxied: false`) only answers DNS: the visitor connects to the
 *   chosen origin's address itself, with its own `Host`, so Vercel routes by the public hostname
 *   and nothing moves between two Vercel origins; overrides do not apply and Cloudflare adds no
 *   header to the request or the answer. Each request is recorded as an `LbHit` in `world.hits` and emitted as `world.events` 'hit'.
 * A request with `x-sandbox-synthetic: 1` is recorded as synthetic (the sandbox's traffic stream).
 * `LbHit.pool` is the pool id (as in the Cloudflare API); its name is `cloudflareState(world).pools.get(id).name`.
 * Health is only probed while `startCloudflare` runs; without it monitored pools count as unhealthy.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import { startService, type RunningService } from '../core/service.ts';
import type { LbHit, World } from '../core/world.ts';
import { SERVED_BY, takeServed } from './vercel-edge.ts';

type Obj = Record<string, unknown>;
export type CfPool = Obj & { id: string; name: string; origins: Obj[]; enabled: boolean; monitor?: string };

/** One origin (endpoint) of a pool, in the API's shape. */
export interface CloudflareOriginScenario {
  name?: string;
  /** Default `cname.vercel-dns.com` (any hostname is reached through the Vercel edge). */
  address?: string;
  enabled?: boolean;
  weight?: number;
  /** `header.Host`: the Host override (one value). Without it the origin gets the visitor's Host. */
  header?: { Host?: string[] };
}

/** A pool of the scenario. */
export interface CloudflarePoolScenario {
  id?: string;
  name: string;
  /**
   * The pool's origins (API shape). Default: one origin `cname.vercel-dns.com` with
   * `header.Host: [<name>.<zoneName>]` (the slot hostname). Origins given here get no override
   * unless they say so.
   */
  origins?: CloudflareOriginScenario[];
  enabled?: boolean;
  /** Attach the monitor (default true); an unmonitored pool is always healthy, as on Cloudflare. */
  monitored?: boolean;
}

/** The Cloudflare section of a scenario. Every field is optional; see `CLOUDFLARE_DEFAULTS`. */
export interface CloudflareScenario {
  token?: string;
  accountId?: string;
  zoneId?: string;
  zoneName?: string;
  /** How often every monitored origin is probed (ms). */
  healthIntervalMs?: number;
  /** Monitor fields in Cloudflare's names (`path`, `expected_codes`, `timeout` in seconds, `header`…). */
  monitor?: Obj;
  pools?: CloudflarePoolScenario[];
  loadBalancer?: {
    id?: string;
    /** The hostname it serves (default `www.<zoneName>`). */
    name?: string;
    /** Orange-clouded, layer 7 (default true, the set-up the action needs); false = DNS-only. */
    proxied?: boolean;
    steering_policy?: string;
    /** Pool names or ids, in failover order (default: every pool). */
    default_pools?: string[];
    /** Pool name or id (default: the first pool). */
    fallback_pool?: string;
    /** Pool name or id → weight 0–1 (default: first pool 1, the others 0). */
    weights?: Record<string, number>;
  };
  dnsRecords?: Obj[];
}

/** A stable 32-hex id, like Cloudflare's, from a seed. */
export function hexId(seed: string): string {
  return crypto.createHash('sha256').update(seed).digest('hex').slice(0, 32);
}

export const CLOUDFLARE_DEFAULTS = {
  token: 'sandbox-cloudflare-token',
  accountId: hexId('account:sandbox'),
  zoneId: hexId('zone:example.com'),
  zoneName: 'example.com',
  healthIntervalMs: 200,
  monitor: { type: 'http', method: 'GET', path: '/api/health', expected_codes: '200', timeout: 2, retries: 0 } as Obj,
  pools: [{ name: 'blue' }, { name: 'green' }] as CloudflarePoolScenario[],
};

interface OriginHealth {
  healthy: boolean;
  rttMs?: number;
  responseCode?: number;
  failureReason: string;
  ups: number;
  downs: number;
  inFlight: boolean;
}

export interface CfState {
  token: string;
  accountId: string;
  zoneId: string;
  zoneName: string;
  healthIntervalMs: number;
  pools: Map<string, CfPool>;
  monitors: Map<string, Obj>;
  loadBalancers: Map<string, Obj>;
  dns: Map<string, Obj>;
  /** pool id → origin address → health. */
  health: Map<string, Map<string, OriginHealth>>;
  /** Every change of steering or pool origins, oldest first. */
  history: Array<Obj & { time: string; at: number; kind: string; id: string; via: string }>;
  stopped: boolean;
}

export function cloudflareState(world: World): CfState {
  const s = world.state.cloudflare as CfState | undefined;
  if (!s) throw new Error('the Cloudflare miniature is not started in this world');
  return s;
}

export function recordHistory(state: CfState, kind: string, id: string, change: Obj, via: string): void {
  const at = Date.now();
  state.history.push({ time: new Date(at).toISOString(), at, kind, id, via, ...structuredClone(change) });
}

/** Build the state once per world (`startCloudflare` and `startLb` both call it). */
export function createCloudflareState(world: World, sc: CloudflareScenario): CfState {
  if (world.state.cloudflare) return world.state.cloudflare as CfState;
  const now = new Date().toISOString();
  const zoneName = sc.zoneName ?? CLOUDFLARE_DEFAULTS.zoneName;
  const accountId = sc.accountId ?? CLOUDFLARE_DEFAULTS.accountId;
  const monitor: Obj = {
    id: hexId(`monitor:${accountId}`),
    description: 'sandbox health monitor',
    ...CLOUDFLARE_DEFAULTS.monitor,
    consecutive_up: 1,
    consecutive_down: 1,
    interval: 60,
    port: 0,
    allow_insecure: false,
    follow_redirects: false,
    expected_body: '',
    header: {},
    ...(sc.monitor ?? {}),
    created_on: now,
    modified_on: now,
  };
  for (const p of sc.pools ?? []) {
    if ('host' in p || 'address' in p)
      throw new Error(
        `cloudflare.pools[${p.name}]: "host" and "address" are gone; use origins: [{address, header: {Host: [...]}}] (the API's shape)`,
      );
  }
  const pools = (sc.pools ?? CLOUDFLARE_DEFAULTS.pools).map<CfPool>((p) => ({
    id: p.id ?? hexId(`pool:${accountId}:${p.name}`),
    name: p.name,
    description: `${p.name} slot`,
    enabled: p.enabled ?? true,
    minimum_origins: 1,
    monitor: p.monitored === false ? undefined : String(monitor.id),
    check_regions: null,
    origin_steering: { policy: 'random' },
    origins: (p.origins ?? [{ header: { Host: [`${p.name}.${zoneName}`] } }]).map((o, i) => ({
      name: o.name ?? `${p.name}-vercel${i === 0 ? '' : `-${i + 1}`}`,
      address: o.address ?? 'cname.vercel-dns.com',
      enabled: o.enabled ?? true,
      weight: o.weight ?? 1,
      ...(o.header?.Host?.length ? { header: { Host: [o.header.Host[0]] } } : {}),
    })),
    notification_email: '',
    created_on: now,
    modified_on: now,
  }));
  const byRef = (ref: string) => pools.find((p) => p.id === ref || p.name === ref)?.id ?? ref;
  const l = sc.loadBalancer ?? {};
  const weights = l.weights ?? Object.fromEntries(pools.map((p, i) => [p.id, i === 0 ? 1 : 0]));
  const lb: Obj = {
    id: l.id ?? hexId(`lb:${zoneName}`),
    name: l.name ?? `www.${zoneName}`,
    description: 'blue-green load balancer (sandbox)',
    enabled: true,
    proxied: l.proxied ?? true,
    ttl: 30,
    steering_policy: l.steering_policy ?? 'random',
    default_pools: (l.default_pools ?? pools.map((p) => p.id)).map(byRef),
    fallback_pool: byRef(l.fallback_pool ?? pools[0].id),
    random_steering: {
      default_weight: 0,
      pool_weights: Object.fromEntries(Object.entries(weights).map(([k, w]) => [byRef(k), w])),
    },
    session_affinity: 'none',
    adaptive_routing: { failover_across_pools: false },
    location_strategy: { mode: 'pop', prefer_ecs: 'proximity' },
    region_pools: {},
    country_pools: {},
    pop_pools: {},
    rules: [],
    created_on: now,
    modified_on: now,
  };
  const dns = (sc.dnsRecords ?? [{ type: 'CNAME', name: lb.name, content: 'cname.vercel-dns.com', proxied: true }]).map(
    (r, i) => ({
      id: String(r.id ?? hexId(`dns:${zoneName}:${i}`)),
      zone_id: sc.zoneId ?? CLOUDFLARE_DEFAULTS.zoneId,
      zone_name: zoneName,
      ttl: 1,
      proxied: false,
      proxiable: true,
      tags: [],
      meta: { auto_added: false, source: 'primary' },
      ...r,
      created_on: now,
      modified_on: now,
    }),
  );
  const state: CfState = {
    token: sc.token ?? CLOUDFLARE_DEFAULTS.token,
    accountId,
    zoneId: sc.zoneId ?? CLOUDFLARE_DEFAULTS.zoneId,
    zoneName,
    healthIntervalMs: sc.healthIntervalMs ?? CLOUDFLARE_DEFAULTS.healthIntervalMs,
    pools: new Map(pools.map((p) => [p.id, p])),
    monitors: new Map([[String(monitor.id), monitor]]),
    loadBalancers: new Map([[String(lb.id), lb]]),
    dns: new Map(dns.map((r) => [r.id, r])),
    health: new Map(),
    history: [],
    stopped: false,
  };
  const { random_steering, default_pools, fallback_pool, steering_policy, enabled } = lb;
  recordHistory(
    state,
    'load_balancer',
    String(lb.id),
    { random_steering, default_pools, fallback_pool, steering_policy, enabled },
    'scenario',
  );
  world.state.cloudflare = state;
  return state;
}

function originHealthy(state: CfState, pool: CfPool, o: Obj): boolean {
  if (o.enabled === false) return false;
  if (!pool.monitor) return true;
  return state.health.get(pool.id)?.get(String(o.address))?.healthy ?? false;
}

/** A pool is healthy when enabled and at least `minimum_origins` of its origins are. */
export function poolHealthy(state: CfState, pool: CfPool): boolean {
  if (pool.enabled === false) return false;
  const healthy = pool.origins.filter((o) => originHealthy(state, pool, o)).length;
  return healthy >= Math.max(1, Number(pool.minimum_origins ?? 1));
}

/** Share of traffic each pool gets now (healthy pools only; the fallback pool when none is). */
export function effectiveShares(state: CfState, lb: Obj): Record<string, number> {
  const defaults = ((lb.default_pools as string[]) ?? []).filter((id) => state.pools.has(id));
  const candidates = defaults.filter((id) => poolHealthy(state, state.pools.get(id)!));
  if (lb.enabled === false || candidates.length === 0) return lb.fallback_pool ? { [String(lb.fallback_pool)]: 1 } : {};
  if (lb.steering_policy === 'random') {
    const rs = (lb.random_steering ?? {}) as { pool_weights?: Record<string, number>; default_weight?: number };
    const w = candidates.map((id) => rs.pool_weights?.[id] ?? rs.default_weight ?? 1);
    const total = w.reduce((a, b) => a + b, 0);
    if (total > 0) return Object.fromEntries(candidates.map((id, i) => [id, w[i] / total]).filter(([, s]) => s !== 0));
  }
  return { [candidates[0]]: 1 }; // failover order ('off', '', or every weight zero)
}

function pick<T>(items: T[], weight: (t: T) => number): T | undefined {
  const total = items.reduce((a, t) => a + weight(t), 0);
  let r = Math.random() * total;
  for (const t of items) if ((r -= weight(t)) < 0) return t;
  return items[0];
}

/** Where an origin is reached: a loopback `host:port` address directly, anything else via the Vercel edge. */
function originTarget(world: World, o: Obj): { host: string; port: number } | undefined {
  const direct = /^(127\.0\.0\.1|localhost):(\d+)$/.exec(String(o.address));
  if (direct) return { host: '127.0.0.1', port: Number(direct[2]) };
  const edge = world.urls['vercel-edge'];
  return edge ? { host: '127.0.0.1', port: Number(new URL(edge).port) } : undefined;
}

/** The origin's `header.Host` override, if any. */
export function hostOverride(o: Obj): string | undefined {
  return (o.header as { Host?: string[] } | undefined)?.Host?.[0];
}

function codeMatches(expected: string, status: number): boolean {
  return String(expected || '200')
    .split(',')
    .some((c) => (/^\dxx$/i.test(c.trim()) ? Math.floor(status / 100) === Number(c.trim()[0]) : Number(c) === status));
}

/** Probe one origin as the pool's monitor would, and update its health. */
function probe(world: World, state: CfState, pool: CfPool, o: Obj, monitor: Obj): Promise<void> {
  const byPool = state.health.get(pool.id) ?? new Map<string, OriginHealth>();
  state.health.set(pool.id, byPool);
  const key = String(o.address);
  const h = byPool.get(key) ?? {
    healthy: false,
    failureReason: 'No health checks run yet',
    ups: 0,
    downs: 0,
    inFlight: false,
  };
  byPool.set(key, h);
  if (h.inFlight) return Promise.resolve();
  h.inFlight = true;
  const started = performance.now();
  const done = (ok: boolean, reason: string, code?: number) => {
    h.inFlight = false;
    if (state.stopped) return;
    h.rttMs = performance.now() - started;
    h.responseCode = code;
    h.failureReason = reason;
    const was = h.healthy;
    if (ok) [h.ups, h.downs] = [h.ups + 1, 0];
    else [h.ups, h.downs] = [0, h.downs + 1];
    if (ok && h.ups >= Math.max(1, Number(monitor.consecutive_up ?? 1))) h.healthy = true;
    if (!ok && h.downs >= Math.max(1, Number(monitor.consecutive_down ?? 1))) h.healthy = false;
    if (was !== h.healthy) world.events.emit('change', 'cloudflare');
  };
  const target = originTarget(world, o);
  if (!target) {
    done(false, 'Origin unreachable: the Vercel edge is not running');
    return Promise.resolve();
  }
  const { Host: monitorHost, ...extra } = (monitor.header ?? {}) as Record<string, string[]>;
  const headers: Record<string, string> = {
    'user-agent': `Mozilla/5.0 (compatible; Cloudflare-Traffic-Manager/1.0; pool-id: ${pool.id})`,
  };
  for (const [k, v] of Object.entries(extra)) headers[k.toLowerCase()] = v[0];
  // The endpoint's override wins over the monitor's; with neither, the request names the address.
  headers.host = hostOverride(o) ?? monitorHost?.[0] ?? String(o.address);
  return new Promise<void>((resolve) => {
    const req = http.request(
      { ...target, method: String(monitor.method ?? 'GET'), path: String(monitor.path ?? '/'), headers, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c.length + body.length < 65536 ? c : ''));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const want = String(monitor.expected_body ?? '');
          if (!codeMatches(String(monitor.expected_codes ?? '200'), status))
            done(
              false,
              `HTTP response code ${status} does not match expected code ${String(monitor.expected_codes)}`,
              status,
            );
          else if (want && !body.toLowerCase().includes(want.toLowerCase()))
            done(false, 'Response body does not match', status);
          else done(true, 'No failures', status);
          resolve();
        });
      },
    );
    req.setTimeout(Number(monitor.timeout ?? 5) * 1000, () => req.destroy(new Error('timeout')));
    req.on('error', (e) => {
      done(false, e.message === 'timeout' ? 'Timeout' : `Connection failed: ${e.message}`);
      resolve();
    });
    req.end();
  });
}

/** One round of health checks (every pool, or one pool after it changed). */
export async function checkAllPools(world: World, poolId?: string): Promise<void> {
  const state = cloudflareState(world);
  if (state.stopped) return;
  const probes: Array<Promise<void>> = [];
  for (const pool of state.pools.values()) {
    if (poolId && pool.id !== poolId) continue;
    const monitor = pool.monitor ? state.monitors.get(pool.monitor) : undefined;
    if (!monitor) continue;
    const addresses = new Set(pool.origins.map((o) => String(o.address)));
    for (const key of state.health.get(pool.id)?.keys() ?? [])
      if (!addresses.has(key)) state.health.get(pool.id)!.delete(key);
    for (const o of pool.origins) if (o.enabled !== false) probes.push(probe(world, state, pool, o, monitor));
  }
  await Promise.all(probes);
}

const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);
const MAX_HITS = 50_000;

function recordHit(world: World, hit: LbHit): void {
  world.hits.push(hit);
  if (world.hits.length > MAX_HITS) world.hits.splice(0, world.hits.length - MAX_HITS);
  world.events.emit('hit', hit);
}

/** Start the load balancer proxy (see the file comment). */
export async function startLb(world: World, scenario: CloudflareScenario = {}): Promise<RunningService> {
  const state = createCloudflareState(world, scenario);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
  const svc = await startService({
    name: 'lb',
    traffic: world.traffic,
    log: false,
    handler: async (req, res) => {
      const started = performance.now();
      const host = String(req.headers.host ?? '').replace(/:\d+$/, '');
      const lbs = [...state.loadBalancers.values()];
      const lb = lbs.find((l) => l.name === host) ?? lbs[0];
      // Visitors reach the load balancer by its hostname (the sandbox's port stands in for it).
      const publicHost = lb.name === host ? host : String(lb.name);
      const proxied = lb.proxied !== false;
      const shares = effectiveShares(state, lb);
      const poolId = pick(Object.keys(shares), (id) => shares[id]) ?? '';
      const pool = state.pools.get(poolId);
      const healthy = pool ? pool.origins.filter((o) => originHealthy(state, pool, o)) : [];
      const usable = healthy.length ? healthy : (pool?.origins.filter((o) => o.enabled !== false) ?? []);
      const origin = pick(usable, (o) => Number(o.weight ?? 1) || 0.000001);
      const target = origin && originTarget(world, origin);
      const ray = `${crypto.randomBytes(8).toString('hex')}-SBX`;
      const base: LbHit = { time: 0, pool: poolId, status: 0, latencyMs: 0, path: req.path };
      if (req.headers['x-sandbox-synthetic'] === '1') base.synthetic = true;
      const fail = (status: number, text: string) => {
        res.writeHead(
          status,
          proxied
            ? { 'content-type': 'text/plain; charset=utf-8', server: 'cloudflare', 'cf-ray': ray }
            : { 'content-type': 'text/plain; charset=utf-8' },
        );
        res.end(`error code: ${status}\n${text}\n`);
        recordHit(world, { ...base, time: Date.now(), status, latencyMs: performance.now() - started });
      };
      if (!origin || !target) {
        fail(530, 'No origin is available for this load balancer');
        return 'handled';
      }
      // Every request header passes through (a visitor's own x-forwarded-host too).
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers))
        if (!HOP.has(k) && v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      if (proxied) {
        Object.assign(headers, {
          host: hostOverride(origin) ?? publicHost,
          'x-forwarded-proto': 'https',
          'x-forwarded-for': '127.0.0.1',
          'cf-connecting-ip': '127.0.0.1',
          'cf-visitor': '{"scheme":"https"}',
          'cdn-loop': 'cloudflare',
          'cf-ray': ray,
        });
      } else {
        // DNS-only: the visitor resolved the hostname to the origin's address and talks to it
        // directly, naming the public hostname; Cloudflare is not in the request at all.
        headers.host = publicHost;
      }
      headers['content-length'] = String(req.raw.length);
      // Sandbox bookkeeping (not an HTTP header of either provider): the edge notes who served it.
      headers[SERVED_BY] = ray;
      const search = req.url.search;
      await new Promise<void>((resolve) => {
        const up = http.request({ ...target, agent, method: req.method, path: req.path + search, headers }, (upRes) => {
          const out: Record<string, string | string[]> = {};
          for (const [k, v] of Object.entries(upRes.headers)) if (!HOP.has(k) && v !== undefined) out[k] = v;
          res.writeHead(
            upRes.statusCode ?? 502,
            proxied ? { ...out, server: 'cloudflare', 'cf-ray': ray, 'cf-cache-status': 'DYNAMIC' } : out,
          );
          upRes.pipe(res);
          upRes.on('end', () => {
            const served = takeServed(world, ray);
            recordHit(world, {
              ...base,
              time: Date.now(),
              ...(served ? { deploymentId: served.deploymentId, version: served.version } : {}),
              status: upRes.statusCode ?? 0,
              latencyMs: performance.now() - started,
            });
            resolve();
          });
          upRes.on('error', () => resolve());
        });
        up.setTimeout(100_000, () => up.destroy(new Error('timeout')));
        // The client went away (e.g. its timeout): stop the upstream request too; nothing is recorded.
        res.on('close', () => {
          if (!res.writableFinished) {
            up.destroy();
            resolve();
          }
        });
        up.on('error', (e) => {
          if (res.destroyed) return resolve();
          if (!res.headersSent)
            fail(
              e.message === 'timeout' ? 524 : 521,
              e.message === 'timeout' ? 'A timeout occurred' : 'Web server is down',
            );
          else res.destroy();
          resolve();
        });
        up.end(req.raw);
      });
      return 'handled';
    },
  });
  world.urls.lb = svc.url;
  return {
    ...svc,
    close: async () => {
      agent.destroy();
      await svc.close();
    },
  };
}
