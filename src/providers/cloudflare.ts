/**
 * Cloudflare Load Balancer (what src/traffic/cloudflare.ts reads and moves): the load balancer, its
 * two pools (the blue and green slots), their health.
 *
 * Plain `requestJson` against `CLOUDFLARE_BASE_URL` (`…/client/v4`) with `Authorization: Bearer`, not the
 * `cloudflare` SDK: it is simpler and lighter, it lets us cap a `retry-after` (the SDK sleeps for whatever
 * Cloudflare asks, 5 minutes when the account is blocked), and it lets us check the envelope's
 * `success:false`, which the SDK passes through as a success. Pool health is parsed from the OpenAPI
 * shape: the `cloudflare` SDK's type for it (`pop_health.healthy`, `origins[].ip`) does not match what the API
 * sends (`pop_health` keyed by region, origins keyed by address).
 */
import type { Logger } from '../pipeline/types.js';
import { ProviderError, extractProviderError, providerMessage, requestJson, type RetryPolicy } from './http.js';
import { redact } from '../text.js';

export interface CloudflareOptions {
  apiToken: string;
  accountId: string;
  zoneId: string;
  loadBalancerId: string;
  /** `CLOUDFLARE_BASE_URL`, default https://api.cloudflare.com/client/v4 */
  baseUrl: string;
  timeoutMs: number;
  retry: RetryPolicy;
  signal?: AbortSignal;
  secrets?: string[];
  log?: Pick<Logger, 'debug'>;
}

/** The load balancer fields traffic steps read and write. Unknown fields are kept in `raw`. */
export interface LoadBalancer {
  id: string;
  name: string;
  enabled?: boolean;
  /** Failover order of pool ids. */
  default_pools: string[];
  fallback_pool: string;
  steering_policy?: string;
  random_steering?: { pool_weights?: Record<string, number>; default_weight?: number };
  session_affinity?: string;
  /** Seconds a session lasts (Cloudflare's default 82800, 23 h). */
  session_affinity_ttl?: number;
  session_affinity_attributes?: { drain_duration?: number; [k: string]: unknown };
  /** Load balancing rules: a matching rule's overrides or fixed response go around the weights. */
  rules?: {
    name?: string;
    condition?: string;
    disabled?: boolean;
    overrides?: Record<string, unknown>;
    fixed_response?: unknown;
  }[];
  adaptive_routing?: { failover_across_pools?: boolean };
  proxied?: boolean;
}

/** Fields a PATCH may set ("overwriting the supplied properties"). */
export type LoadBalancerPatch = Partial<
  Pick<
    LoadBalancer,
    'default_pools' | 'fallback_pool' | 'steering_policy' | 'random_steering' | 'enabled' | 'session_affinity'
  >
>;

export interface PoolOrigin {
  name: string;
  /** IP or hostname of the origin. */
  address: string;
  enabled?: boolean;
  weight?: number;
  /** `header.Host[0]` is the hostname requests carry (the slot hostname Vercel serves). */
  header?: { Host?: string[] };
}

export interface Pool {
  id: string;
  name: string;
  enabled?: boolean;
  origins: PoolOrigin[];
  /** Cloudflare's own verdict, when it sends one. */
  healthy?: boolean;
  monitor?: string | null;
  /** Regions the monitor probes from; `null` means every data center. */
  check_regions?: string[] | null;
}

/** The monitor fields the switch reads. */
export interface Monitor {
  id: string;
  /** Seconds between probes from each data center. */
  interval?: number;
  consecutive_up?: number;
}

export type PoolPatch = Partial<Pick<Pool, 'enabled' | 'origins' | 'name'>>;

/**
 * `GET …/pools/{id}/health`, folded over the data centers that reported (`pop_health` keys). An origin
 * is healthy when a majority of the reporting data centers see it healthy: Cloudflare's own rule is a
 * majority of data centers per region, then a majority of regions, but the API names data centers
 * without their region, so the action folds over data centers (Cloudflare's rule for "All Data Centers").
 */
export interface PoolHealth {
  /** At least one data center reported, and every origin is healthy by that majority. */
  healthy: boolean;
  /** Data centers that reported (`pop_health` keys). */
  regions: string[];
  /** One entry per origin address. */
  origins: { address: string; healthy: boolean; reason: string; healthyIn: number; reportedBy: number }[];
  /**
   * What each data center reported, one string per data center (rtt, code, reason): it changes with
   * every new probe, which is how a result newer than a change is told apart (the API has no time).
   */
  samples: Record<string, string>;
}

interface Envelope<R> {
  success?: boolean;
  errors?: { code?: number; message?: string }[];
  result?: R;
}

/** The Cloudflare client of one run: one load balancer in one zone, its pools in one account. */
export class CloudflareLb {
  private readonly o: CloudflareOptions;

  constructor(o: CloudflareOptions) {
    this.o = o;
  }

  private secrets(): string[] {
    return [this.o.apiToken, ...(this.o.secrets ?? [])];
  }

  /** One call; unwraps `result` and turns `success:false` (even on a 200) into a ProviderError. */
  private async call<R>(operation: string, method: string, path: string, body?: unknown): Promise<R> {
    const { status, body: env } = await requestJson<Envelope<R>>({
      provider: 'cloudflare',
      operation,
      method,
      url: `${this.o.baseUrl}${path}`,
      headers: { authorization: `Bearer ${this.o.apiToken}` },
      body,
      timeoutMs: this.o.timeoutMs,
      retry: this.o.retry,
      // GET, and PATCH with the same body, leave the same state however often they are sent.
      idempotent: true,
      signal: this.o.signal,
      secrets: this.secrets(),
      onRetry: (i) => this.o.log?.debug(`Cloudflare ${operation}: retry ${i.attempt} in ${i.delayMs} ms (${i.reason})`),
    });
    if (!env || env.success !== true || env.result === undefined || env.result === null) {
      const pe = extractProviderError(env);
      throw new ProviderError({
        provider: 'cloudflare',
        operation,
        status,
        code: pe.code,
        message: redact(
          providerMessage(
            'cloudflare',
            operation,
            `HTTP ${status} success:false: ${pe.message ?? 'no result in the answer'}`,
          ),
          this.secrets(),
        ),
      });
    }
    return env.result;
  }

  private lbPath(): string {
    return `/zones/${enc(this.o.zoneId)}/load_balancers/${enc(this.o.loadBalancerId)}`;
  }

  private poolPath(poolId?: string): string {
    return `/accounts/${enc(this.o.accountId)}/load_balancers/pools${poolId ? `/${enc(poolId)}` : ''}`;
  }

  async getLoadBalancer(): Promise<LoadBalancer> {
    return this.call<LoadBalancer>('getLoadBalancer', 'GET', this.lbPath());
  }

  /** One PATCH of the given fields only; returns the load balancer as Cloudflare now has it. */
  async patchLoadBalancer(fields: LoadBalancerPatch): Promise<LoadBalancer> {
    return this.call<LoadBalancer>('patchLoadBalancer', 'PATCH', this.lbPath(), fields);
  }

  async getPool(poolId: string): Promise<Pool> {
    return this.call<Pool>('getPool', 'GET', this.poolPath(poolId));
  }

  /** PATCH a pool; `origins`, when given, replaces the whole list. */
  async patchPool(poolId: string, fields: PoolPatch): Promise<Pool> {
    return this.call<Pool>('patchPool', 'PATCH', this.poolPath(poolId), fields);
  }

  async listPools(): Promise<Pool[]> {
    return this.call<Pool[]>('listPools', 'GET', this.poolPath());
  }

  async getMonitor(monitorId: string): Promise<Monitor> {
    return this.call<Monitor>(
      'getMonitor',
      'GET',
      `/accounts/${enc(this.o.accountId)}/load_balancers/monitors/${enc(monitorId)}`,
    );
  }

  async getPoolHealth(poolId: string): Promise<PoolHealth> {
    const raw = await this.call<unknown>('getPoolHealth', 'GET', `${this.poolPath(poolId)}/health`);
    return parsePoolHealth(raw);
  }
}

/**
 * Folds the OpenAPI `load-balancing_health_details` shape —
 * `{pop_health: {"Amsterdam, NL": {healthy, origins: [{"<address>": {healthy, failure_reason, …}}]}}}` —
 * into one verdict per origin (a majority of the reporting data centers) and per pool. Anything
 * unexpected counts as not healthy; no data center reporting is no verdict (`healthy: false`).
 */
export function parsePoolHealth(raw: unknown): PoolHealth {
  const pop = (raw as { pop_health?: unknown } | null)?.pop_health;
  const regions: string[] = [];
  const samples: Record<string, string> = {};
  const origins = new Map<string, { up: number; seen: number; reason?: string }>();
  if (pop && typeof pop === 'object' && !Array.isArray(pop)) {
    for (const [region, r] of Object.entries(pop as Record<string, unknown>)) {
      const rr = (r ?? {}) as { healthy?: unknown; origins?: unknown };
      if (!Array.isArray(rr.origins)) continue;
      regions.push(region);
      const parts: string[] = [];
      for (const entry of rr.origins) {
        for (const [address, d] of Object.entries((entry ?? {}) as Record<string, unknown>)) {
          const detail = (d ?? {}) as {
            healthy?: unknown;
            failure_reason?: unknown;
            response_code?: unknown;
            rtt?: unknown;
          };
          const o = origins.get(address) ?? { up: 0, seen: 0 };
          origins.set(address, o);
          o.seen++;
          if (detail.healthy === true) o.up++;
          else if (o.reason === undefined) {
            const code = detail.response_code !== undefined ? ` (HTTP ${String(detail.response_code)})` : '';
            o.reason = `${region}: ${String(detail.failure_reason ?? 'unhealthy')}${code}`;
          }
          parts.push(
            `${address}|${String(detail.healthy)}|${String(detail.rtt)}|${String(detail.response_code)}|${String(detail.failure_reason)}`,
          );
        }
      }
      samples[region] = parts.join(';');
    }
  }
  const list = [...origins].map(([address, o]) => {
    const healthy = o.up * 2 > o.seen;
    const reason = healthy
      ? `healthy in ${o.up} of ${o.seen} data centers`
      : `unhealthy in ${o.seen - o.up} of ${o.seen} data centers (${o.reason ?? 'no reason given'})`;
    return { address, healthy, reason, healthyIn: o.up, reportedBy: o.seen };
  });
  return {
    healthy: regions.length > 0 && list.length > 0 && list.every((o) => o.healthy),
    regions,
    origins: list,
    samples,
  };
}

function enc(s: string): string {
  return encodeURIComponent(s);
}
