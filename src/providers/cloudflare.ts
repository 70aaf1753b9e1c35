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
}

export type PoolPatch = Partial<Pick<Pool, 'enabled' | 'origins' | 'name'>>;

/** `GET …/pools/{id}/health`, folded over regions. */
export interface PoolHealth {
  /** At least one region reported, and every region says healthy. */
  healthy: boolean;
  /** Regions that reported (`pop_health` keys). */
  regions: string[];
  /** One entry per origin address: unhealthy if any region saw it unhealthy (with that region's reason). */
  origins: { address: string; healthy: boolean; reason: string }[];
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

  async getPoolHealth(poolId: string): Promise<PoolHealth> {
    const raw = await this.call<unknown>('getPoolHealth', 'GET', `${this.poolPath(poolId)}/health`);
    return parsePoolHealth(raw);
  }
}

/**
 * Folds the OpenAPI `load-balancing_health_details` shape —
 * `{pop_health: {"Amsterdam, NL": {healthy, origins: [{"<address>": {healthy, failure_reason, …}}]}}}` —
 * into one verdict per pool and per origin. Anything unexpected counts as not healthy.
 */
export function parsePoolHealth(raw: unknown): PoolHealth {
  const pop = (raw as { pop_health?: unknown } | null)?.pop_health;
  const regions: string[] = [];
  const origins = new Map<string, { healthy: boolean; reason: string }>();
  let allHealthy = true;
  if (pop && typeof pop === 'object') {
    for (const [region, r] of Object.entries(pop as Record<string, unknown>)) {
      regions.push(region);
      const rr = (r ?? {}) as { healthy?: unknown; origins?: unknown };
      if (rr.healthy !== true) allHealthy = false;
      for (const entry of Array.isArray(rr.origins) ? rr.origins : []) {
        for (const [address, d] of Object.entries((entry ?? {}) as Record<string, unknown>)) {
          const detail = (d ?? {}) as { healthy?: unknown; failure_reason?: unknown; response_code?: unknown };
          const healthy = detail.healthy === true;
          const prev = origins.get(address);
          if (prev && !prev.healthy) continue; // the first unhealthy region's reason is kept
          const code = detail.response_code !== undefined ? ` (HTTP ${String(detail.response_code)})` : '';
          const reason = healthy ? 'healthy' : `${region}: ${String(detail.failure_reason ?? 'unhealthy')}${code}`;
          origins.set(address, { healthy, reason });
        }
      }
    }
  }
  return {
    healthy: regions.length > 0 && allHealthy,
    regions,
    origins: [...origins].map(([address, v]) => ({ address, ...v })),
  };
}

function enc(s: string): string {
  return encodeURIComponent(s);
}
