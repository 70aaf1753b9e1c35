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
  /**
   * Attach the monitor (default true). An unmonitored pool's health is unknown: the health API reports
   * no data center, the pool carries no `healthy`, and the proxy still routes to it.
   */
  monitored?: boolean;
  /** Regions the monitor probes from (`WNAM`, `WEU`, … or `ALL_REGIONS`); absent/null: every data center. */
  check_regions?: string[] | null;
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
    /** `none` (default), `cookie`, `ip_cookie` or `header`. */
    session_affinity?: string;
    /** Seconds a session lasts (default 82800 = 23 h for cookie/ip_cookie, 1800 for header), in Cloudflare time. */
    session_affinity_ttl?: number;
    /** `drain_duration` (s), `headers` (for `header` affinity), … */
    session_affinity_attributes?: Obj;
    /** Load balancing rules (`condition`, `overrides`, `fixed_response`, `priority`, `terminates`, `disabled`). */
    rules?: Obj[];
    adaptive_routing?: { failover_across_pools?: boolean };
  };
  dnsRecords?: Obj[];
  /** Data center name (`"Amsterdam, NL"`) → failure reason: that data center's probes fail. */
  dataCenterFaults?: Record<string, string>;
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

/**
 * Cloudflare's health-check regions (the `check_regions` values), three data centers each ("Three
 * health monitor probes per region… a total of 13 regions", cloudflare-docs
 * `_partials/_monitor-health-check-regions-options.md`). The data center names are the sandbox's.
 */
export const REGIONS: Record<string, string[]> = {
  WNAM: ['Los Angeles, US', 'Seattle, US', 'San Jose, US'],
  ENAM: ['Ashburn, US', 'Chicago, US', 'Toronto, CA'],
  WEU: ['Amsterdam, NL', 'London, GB', 'Paris, FR'],
  EEU: ['Warsaw, PL', 'Bucharest, RO', 'Kyiv, UA'],
  NSAM: ['Bogota, CO', 'Lima, PE', 'Panama City, PA'],
  SSAM: ['Sao Paulo, BR', 'Buenos Aires, AR', 'Santiago, CL'],
  OC: ['Sydney, AU', 'Melbourne, AU', 'Auckland, NZ'],
  ME: ['Dubai, AE', 'Riyadh, SA', 'Doha, QA'],
  NAF: ['Cairo, EG', 'Algiers, DZ', 'Casablanca, MA'],
  SAF: ['Johannesburg, ZA', 'Cape Town, ZA', 'Durban, ZA'],
  SAS: ['Mumbai, IN', 'Chennai, IN', 'New Delhi, IN'],
  SEAS: ['Singapore, SG', 'Kuala Lumpur, MY', 'Bangkok, TH'],
  NEAS: ['Tokyo, JP', 'Seoul, KR', 'Hong Kong, HK'],
};
export const REGION_CODES = [...Object.keys(REGIONS), 'ALL_REGIONS'];

/** One data center's view of one origin. */
interface DcHealth {
  healthy: boolean;
  rttMs?: number;
  responseCode?: number;
  failureReason: string;
  ups: number;
  downs: number;
}

interface OriginHealth {
  /** data center → its latest result. */
  dcs: Map<string, DcHealth>;
  inFlight: boolean;
}

/** A session of `header` affinity: session key → endpoint, until `expires` (ms). */
interface Session {
  pool: string;
  address: string;
  expires: number;
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
  /** Data center → failure reason (scenario `dataCenterFaults`). */
  dcFaults: Record<string, string>;
  /** `header` affinity sessions. */
  sessions: Map<string, Session>;
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
    check_regions: p.check_regions ?? null,
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
    session_affinity: l.session_affinity ?? 'none',
    ...(l.session_affinity_ttl !== undefined ? { session_affinity_ttl: l.session_affinity_ttl } : {}),
    session_affinity_attributes: {
      samesite: 'Auto',
      secure: 'Auto',
      drain_duration: 0,
      ...(l.session_affinity_attributes ?? {}),
    },
    adaptive_routing: { failover_across_pools: false, ...(l.adaptive_routing ?? {}) },
    location_strategy: { mode: 'pop', prefer_ecs: 'proximity' },
    region_pools: {},
    country_pools: {},
    pop_pools: {},
    rules: (l.rules ?? []).map((r) => ({
      ...r,
      overrides:
        r.overrides && typeof r.overrides === 'object'
          ? {
              ...r.overrides,
              default_pools: ((r.overrides as Obj).default_pools as string[] | undefined)?.map(byRef),
              fallback_pool:
                (r.overrides as Obj).fallback_pool === undefined
                  ? undefined
                  : byRef(String((r.overrides as Obj).fallback_pool)),
            }
          : undefined,
    })),
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
    dcFaults: { ...(sc.dataCenterFaults ?? {}) },
    sessions: new Map(),
    history: [],
    stopped: false,
  };
  const badRules = ruleProblem(lb.rules as Obj[]);
  if (badRules) throw new Error(`cloudflare.loadBalancer.rules: ${badRules}`);
  const badMonitor = monitorProblem(monitor);
  if (badMonitor) throw new Error(`cloudflare.monitor: ${badMonitor}`);
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

/**
 * The data centers that probe a pool, by region: `check_regions: null` is every data center (here:
 * every region's three), `ALL_REGIONS` every region (OpenAPI `load-balancing_check_regions`).
 */
export function dataCenters(pool: Obj): { regions: Record<string, string[]>; everyDataCenter: boolean } {
  const cr = pool.check_regions as string[] | null | undefined;
  if (!cr || cr.length === 0) return { regions: REGIONS, everyDataCenter: true };
  const codes = cr.includes('ALL_REGIONS') ? Object.keys(REGIONS) : cr.filter((c) => REGIONS[c]);
  return { regions: Object.fromEntries(codes.map((c) => [c, REGIONS[c]])), everyDataCenter: false };
}

const majority = (up: number, of: number) => of > 0 && up * 2 > of;

/**
 * Cloudflare's verdict on one monitored origin: a region is healthy when a majority of its data centers
 * say so, the origin when a majority of regions do; with every data center probing, a majority of data
 * centers (cloudflare-docs `understand-basics/health-details`, `_partials/_health-check-regions.md`).
 * No result yet: unhealthy.
 */
function originVerdict(state: CfState, pool: CfPool, o: Obj): boolean {
  const h = state.health.get(pool.id)?.get(String(o.address));
  if (!h) return false;
  const { regions, everyDataCenter } = dataCenters(pool);
  const up = (dc: string) => h.dcs.get(dc)?.healthy === true;
  if (everyDataCenter) {
    const all = Object.values(regions).flat();
    return majority(all.filter(up).length, all.length);
  }
  const verdicts = Object.values(regions).map((dcs) => majority(dcs.filter(up).length, dcs.length));
  return majority(verdicts.filter(Boolean).length, verdicts.length);
}

/** Healthy as far as routing goes: enabled, and (monitored) judged healthy; unmonitored (unknown) is routed. */
function originHealthy(state: CfState, pool: CfPool, o: Obj): boolean {
  if (o.enabled === false) return false;
  if (!pool.monitor) return true;
  return originVerdict(state, pool, o);
}

/** A pool is healthy when enabled and at least `minimum_origins` of its origins are. */
export function poolHealthy(state: CfState, pool: CfPool): boolean {
  if (pool.enabled === false) return false;
  const healthy = pool.origins.filter((o) => originHealthy(state, pool, o)).length;
  return healthy >= Math.max(1, Number(pool.minimum_origins ?? 1));
}

/** The pool's health as the API reports it: undefined (unknown) without a monitor. */
export function reportedHealth(state: CfState, pool: CfPool): boolean | undefined {
  return pool.monitor ? poolHealthy(state, pool) : undefined;
}

/** One data center's view of a pool (for `pop_health`): at least `minimum_origins` origins healthy there. */
export function dcView(state: CfState, pool: CfPool, dc: string): { healthy: boolean; origins: Obj[] } | undefined {
  const byPool = state.health.get(pool.id);
  const origins: Obj[] = [];
  let up = 0;
  let any = false;
  for (const o of pool.origins) {
    const d = byPool?.get(String(o.address))?.dcs.get(dc);
    if (d) any = true;
    const healthy = o.enabled !== false && d?.healthy === true;
    if (healthy) up++;
    origins.push({
      [String(o.address)]: {
        healthy,
        rtt: d?.rttMs !== undefined ? `${d.rttMs.toFixed(1)}ms` : '0ms',
        failure_reason: o.enabled === false ? 'Origin disabled' : (d?.failureReason ?? 'No health checks run yet'),
        response_code: d?.responseCode ?? 0,
      },
    });
  }
  if (!any) return undefined;
  return { healthy: pool.enabled !== false && up >= Math.max(1, Number(pool.minimum_origins ?? 1)), origins };
}

/**
 * How much faster than Cloudflare's clock the sandbox runs: the monitor's `interval` (seconds of
 * Cloudflare time) is probed every `healthIntervalMs` of real time. Session lifetimes and drain
 * durations are scaled by the same factor.
 */
export function clockSpeed(state: CfState): number {
  const monitor = [...state.monitors.values()][0];
  const interval = Number(monitor?.interval ?? 60);
  return Math.max(1, (interval * 1000) / Math.max(1, state.healthIntervalMs));
}

/** Monitor fields the API would refuse (interval below the Enterprise minimum of 10 s). */
export function monitorProblem(m: Obj): string | undefined {
  if (m.interval !== undefined && (typeof m.interval !== 'number' || m.interval < 10 || m.interval > 3600))
    return 'interval must be between 10 and 3600 seconds (minimum 60 s Pro, 15 s Business, 10 s Enterprise)';
  return undefined;
}

/**
 * The subset of the Cloudflare Rules language the sandbox evaluates in load balancing rules: an empty
 * condition (always true), `http.request.uri.path` / `http.host` with `eq`, `==`, `ne`, `contains`,
 * `starts_with(field, "x")`, and `not`. Anything else is refused when the rule is set.
 */
function compileCondition(cond: string): ((req: { path: string; host: string }) => boolean) | undefined {
  const c = cond.trim();
  if (c === '' || c === 'true') return () => true;
  const neg = /^not\s+(.+)$/.exec(c);
  if (neg) {
    const inner = compileCondition(neg[1]);
    return inner && ((r) => !inner(r));
  }
  const field = (f: string) => (f === 'http.request.uri.path' ? 'path' : f === 'http.host' ? 'host' : undefined);
  const sw = /^starts_with\(\s*(http\.request\.uri\.path|http\.host)\s*,\s*"([^"]*)"\s*\)$/.exec(c);
  if (sw) return (r) => r[field(sw[1])!].startsWith(sw[2]);
  const m = /^(http\.request\.uri\.path|http\.host)\s+(eq|==|ne|!=|contains)\s+"([^"]*)"$/.exec(c);
  if (!m) return undefined;
  const f = field(m[1])!;
  if (m[2] === 'contains') return (r) => r[f].includes(m[3]);
  if (m[2] === 'ne' || m[2] === '!=') return (r) => r[f] !== m[3];
  return (r) => r[f] === m[3];
}

/** Why a rules list would be refused, or undefined. */
export function ruleProblem(rules: unknown): string | undefined {
  if (rules === undefined) return undefined;
  if (!Array.isArray(rules)) return 'rules must be an array';
  for (const r of rules as Obj[]) {
    if (!r || typeof r !== 'object') return 'every rule must be an object';
    if (compileCondition(String(r.condition ?? '')) === undefined)
      return `condition ${JSON.stringify(r.condition)} is not one the sandbox evaluates (see sandbox/README.md)`;
  }
  return undefined;
}

const RULE_OVERRIDES = [
  'default_pools',
  'fallback_pool',
  'steering_policy',
  'random_steering',
  'session_affinity',
  'session_affinity_ttl',
  'session_affinity_attributes',
  'adaptive_routing',
];

/**
 * The load balancer as it applies to one request: enabled rules in `priority` order, each matching
 * rule's `overrides` merged over the configuration; a `fixed_response` answers at once; `terminates`
 * (or a fixed response) stops the evaluation (cloudflare-docs `load-balancing/additional-options/load-balancing-rules`).
 */
export function applyRules(lb: Obj, req: { path: string; host: string }): { cfg: Obj; fixed?: Obj; rule?: string } {
  const rules = ((lb.rules as Obj[] | undefined) ?? [])
    .filter((r) => r.disabled !== true)
    .map((r, i) => ({ r, i }))
    .sort((a, b) => Number(a.r.priority ?? 0) - Number(b.r.priority ?? 0) || a.i - b.i);
  const cfg: Obj = { ...lb };
  let rule: string | undefined;
  for (const { r } of rules) {
    const test = compileCondition(String(r.condition ?? ''));
    if (!test || !test(req)) continue;
    rule = String(r.name ?? r.condition ?? '');
    if (r.fixed_response) return { cfg, fixed: r.fixed_response as Obj, rule };
    const o = (r.overrides ?? {}) as Obj;
    for (const k of RULE_OVERRIDES) if (o[k] !== undefined) cfg[k] = o[k];
    if (r.terminates === true) break;
  }
  return { cfg, ...(rule !== undefined ? { rule } : {}) };
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

/** Probe one origin as the pool's monitor would, from every data center that checks the pool. */
function probe(world: World, state: CfState, pool: CfPool, o: Obj, monitor: Obj): Promise<void> {
  const byPool = state.health.get(pool.id) ?? new Map<string, OriginHealth>();
  state.health.set(pool.id, byPool);
  const key = String(o.address);
  const h = byPool.get(key) ?? { dcs: new Map<string, DcHealth>(), inFlight: false };
  byPool.set(key, h);
  if (h.inFlight) return Promise.resolve();
  h.inFlight = true;
  const started = performance.now();
  // One real request stands for every data center's probe (they reach the same Vercel edge); each
  // data center adds its own distance, and one in `dataCenterFaults` fails on its own.
  const done = (ok: boolean, reason: string, code?: number) => {
    h.inFlight = false;
    if (state.stopped) return;
    const rtt = performance.now() - started;
    const was = originVerdict(state, pool, o);
    const { regions } = dataCenters(pool);
    let n = 0;
    for (const dc of Object.values(regions).flat()) {
      n++;
      const d = h.dcs.get(dc) ?? { healthy: false, failureReason: 'No health checks run yet', ups: 0, downs: 0 };
      h.dcs.set(dc, d);
      const fault = state.dcFaults[dc];
      const dcOk = ok && !fault;
      d.rttMs = rtt + 5 + (n % 13) * 7 + Math.random() * 20;
      d.responseCode = fault ? 0 : code;
      d.failureReason = fault ?? reason;
      if (dcOk) [d.ups, d.downs] = [d.ups + 1, 0];
      else [d.ups, d.downs] = [0, d.downs + 1];
      if (dcOk && d.ups >= Math.max(1, Number(monitor.consecutive_up ?? 1))) d.healthy = true;
      if (!dcOk && d.downs >= Math.max(1, Number(monitor.consecutive_down ?? 1))) d.healthy = false;
    }
    if (was !== originVerdict(state, pool, o)) world.events.emit('change', 'cloudflare');
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

const failoverAcrossPools = (cfg: Obj) =>
  (cfg.adaptive_routing as { failover_across_pools?: boolean } | undefined)?.failover_across_pools === true;

/** Another pool's healthy origin, in failover order (`default_pools`, then the fallback pool). */
function failoverEndpoint(
  world: World,
  state: CfState,
  cfg: Obj,
  from: string,
): { pool: string; origin: Obj; target: { host: string; port: number } } | undefined {
  const order = [...((cfg.default_pools as string[]) ?? []), String(cfg.fallback_pool ?? '')];
  for (const id of order) {
    const pool = state.pools.get(id);
    if (!pool || id === from || !poolHealthy(state, pool)) continue;
    const origin = pick(
      pool.origins.filter((o) => originHealthy(state, pool, o)),
      (o) => Number(o.weight ?? 1) || 0.000001,
    );
    const target = origin && originTarget(world, origin);
    if (origin && target) return { pool: id, origin, target };
  }
  return undefined;
}

/** The session affinity cookie (`__cflb`): opaque to the visitor; here the endpoint and its expiry. */
const AFFINITY_COOKIE = '__cflb';
function encodeSession(pool: string, address: string, expires: number): string {
  return Buffer.from(JSON.stringify([pool, address, expires])).toString('base64url');
}
function decodeSession(value: string | undefined): Session | undefined {
  if (!value) return undefined;
  try {
    const [pool, address, expires] = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as unknown[];
    if (typeof pool === 'string' && typeof address === 'string' && typeof expires === 'number')
      return { pool, address, expires };
  } catch {
    // not ours: a new session
  }
  return undefined;
}
function cookieValue(header: string | string[] | undefined, name: string): string | undefined {
  for (const part of String(header ?? '').split(/;\s*/)) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i) === name) return part.slice(i + 1);
  }
  return undefined;
}

/**
 * A pinned endpoint still takes its session: the session has not expired, the pool is enabled and the
 * origin healthy ("for the duration of the cookie and as long as the endpoint remains healthy"); a
 * disabled origin keeps its sessions only during `drain_duration` after it was disabled
 * (cloudflare-docs `understand-basics/session-affinity.mdx`, `additional-options/planned-maintenance.mdx`).
 */
function pinnedEndpoint(state: CfState, cfg: Obj, session: Session | undefined): Obj | undefined {
  if (!session || session.expires <= Date.now()) return undefined;
  const pool = state.pools.get(session.pool);
  if (!pool || pool.enabled === false) return undefined;
  const origin = pool.origins.find((o) => String(o.address) === session.address);
  if (!origin) return undefined;
  if (origin.enabled === false) {
    const drainMs =
      (Number((cfg.session_affinity_attributes as Obj | undefined)?.drain_duration ?? 0) * 1000) / clockSpeed(state);
    const since = origin.disabled_at ? Date.parse(String(origin.disabled_at)) : 0;
    // Cloudflare stops probing a disabled origin: during the drain its sessions simply continue.
    return drainMs > 0 && Date.now() < since + drainMs ? origin : undefined;
  }
  return originHealthy(state, pool, origin) ? origin : undefined;
}

/**
 * Where one request goes: a visitor pinned by session affinity (`cookie`, `ip_cookie`: the `__cflb`
 * cookie; `header`: a session keyed by the configured headers) to its endpoint — "session affinity
 * takes precedence over any selected weight" — else a pool by the steering and one of its origins;
 * a new session is set for affinity modes.
 */
function chooseEndpoint(
  world: World,
  state: CfState,
  cfg: Obj,
  headers: Record<string, string | string[] | undefined>,
): { pool: string; origin?: Obj; setCookie?: string } {
  const mode = String(cfg.session_affinity ?? 'none');
  // Default session life: 23 h for cookie and ip_cookie, 1800 s for header (OpenAPI `session_affinity_ttl`).
  const ttl = Number(cfg.session_affinity_ttl ?? (mode === 'header' ? 1800 : 82800));
  const ttlMs = (ttl * 1000) / clockSpeed(state);
  const attrs = (cfg.session_affinity_attributes ?? {}) as { headers?: string[] };
  const headerKey =
    mode === 'header'
      ? (attrs.headers ?? []).map((h) => `${h}=${String(headers[h.toLowerCase()] ?? '')}`).join('&')
      : undefined;
  if (mode === 'cookie' || mode === 'ip_cookie') {
    const s = decodeSession(cookieValue(headers.cookie, AFFINITY_COOKIE));
    const origin = pinnedEndpoint(state, cfg, s);
    if (origin) return { pool: s!.pool, origin };
  } else if (headerKey) {
    const s = state.sessions.get(headerKey);
    const origin = pinnedEndpoint(state, cfg, s);
    // Header sessions expire only after going unused for the session's life.
    if (origin) {
      s!.expires = Date.now() + ttlMs;
      return { pool: s!.pool, origin };
    }
  }
  const shares = effectiveShares(state, cfg);
  const ids = Object.keys(shares);
  // ip_cookie: "the initial origin selection is stable and based on the client's ip address".
  const ip = String(headers['cf-connecting-ip'] ?? '127.0.0.1');
  const seed =
    mode === 'ip_cookie' ? crypto.createHash('sha256').update(ip).digest().readUInt32BE(0) / 2 ** 32 : undefined;
  const poolId = (seed === undefined ? pick(ids, (id) => shares[id]) : pickAt(ids, (id) => shares[id], seed)) ?? '';
  const pool = state.pools.get(poolId);
  const healthy = pool ? pool.origins.filter((o) => originHealthy(state, pool, o)) : [];
  const usable = healthy.length ? healthy : (pool?.origins.filter((o) => o.enabled !== false) ?? []);
  const origin = pick(usable, (o) => Number(o.weight ?? 1) || 0.000001);
  if (!origin || mode === 'none' || mode === '') return { pool: poolId, origin };
  const expires = Date.now() + ttlMs;
  if (headerKey) {
    state.sessions.set(headerKey, { pool: poolId, address: String(origin.address), expires });
    return { pool: poolId, origin };
  }
  const cookie = `${AFFINITY_COOKIE}=${encodeSession(poolId, String(origin.address), expires)}; Max-Age=${Math.max(1, Math.ceil(ttlMs / 1000))}; Path=/; HttpOnly`;
  return { pool: poolId, origin, setCookie: cookie };
}

function pickAt<T>(items: T[], weight: (t: T) => number, at: number): T | undefined {
  const total = items.reduce((a, t) => a + weight(t), 0);
  let r = at * total;
  for (const t of items) if ((r -= weight(t)) < 0) return t;
  return items[0];
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
      const ray = `${crypto.randomBytes(8).toString('hex')}-SBX`;
      const { cfg, fixed } = applyRules(lb, { path: req.path, host });
      const base: LbHit = { time: 0, pool: '', status: 0, latencyMs: 0, path: req.path };
      if (req.headers['x-sandbox-synthetic'] === '1') base.synthetic = true;
      if (fixed) {
        // A rule's fixed response: Cloudflare answers without any pool.
        const status = Number(fixed.status_code ?? 200);
        res.writeHead(status, {
          'content-type': String(fixed.content_type ?? 'text/plain'),
          server: 'cloudflare',
          'cf-ray': ray,
          ...(fixed.location ? { location: String(fixed.location) } : {}),
        });
        res.end(String(fixed.message_body ?? ''));
        recordHit(world, { ...base, time: Date.now(), status, latencyMs: performance.now() - started });
        return 'handled';
      }
      const chosen = chooseEndpoint(world, state, cfg, req.headers);
      const poolId = chosen.pool;
      const origin = chosen.origin;
      const target = origin && originTarget(world, origin);
      base.pool = poolId;
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
      let current = { pool: poolId, origin, target };
      for (let attempt = 0; ; attempt++) {
        const outcome = await new Promise<'done' | 'refused'>((resolve) => {
          const up = http.request(
            { ...current.target, agent, method: req.method, path: req.path + search, headers },
            (upRes) => {
              const out: Record<string, string | string[]> = {};
              for (const [k, v] of Object.entries(upRes.headers)) if (!HOP.has(k) && v !== undefined) out[k] = v;
              if (chosen.setCookie) out['set-cookie'] = [...[out['set-cookie'] ?? []].flat(), chosen.setCookie];
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
                resolve('done');
              });
              upRes.on('error', () => resolve('done'));
            },
          );
          up.setTimeout(100_000, () => up.destroy(new Error('timeout')));
          // The client went away (e.g. its timeout): stop the upstream request too; nothing is recorded.
          res.on('close', () => {
            if (!res.writableFinished) {
              up.destroy();
              resolve('done');
            }
          });
          up.on('error', (e) => {
            if (res.destroyed) return resolve('done');
            // Adaptive routing: a connection refused (521) is retried once on another pool's healthy origin.
            if (!res.headersSent && e.message !== 'timeout' && attempt === 0 && failoverAcrossPools(cfg))
              return resolve('refused');
            if (!res.headersSent)
              fail(
                e.message === 'timeout' ? 524 : 521,
                e.message === 'timeout' ? 'A timeout occurred' : 'Web server is down',
              );
            else res.destroy();
            resolve('done');
          });
          up.end(req.raw);
        });
        if (outcome === 'done') break;
        const alt = failoverEndpoint(world, state, cfg, current.pool);
        if (!alt) {
          fail(521, 'Web server is down');
          break;
        }
        current = alt;
        base.pool = alt.pool;
        if (proxied) headers.host = hostOverride(alt.origin) ?? publicHost;
      }
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
