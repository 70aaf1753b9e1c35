import { describe, expect, it } from 'vitest';
import type { SandboxRequest, SandboxResponse } from '../../../sandbox/core/service.ts';
import { CloudflareLb, parsePoolHealth } from '../../../src/providers/cloudflare.ts';
import { fastRetry, rejection, startApi, TOKEN } from './helpers.ts';

const LB = '/client/v4/zones/z1/load_balancers/lb1';
const POOLS = '/client/v4/accounts/acc1/load_balancers/pools';

async function cloudflare(routes: Record<string, (req: SandboxRequest) => SandboxResponse>) {
  const api = await startApi(async (req) => {
    const route = routes[`${req.method} ${req.path}`];
    if (route) return route(req);
    return {
      status: 404,
      body: { success: false, errors: [{ code: 7003, message: 'No route for the URI' }], messages: [], result: null },
    };
  }, 'cloudflare');
  const cf = new CloudflareLb({
    apiToken: TOKEN,
    accountId: 'acc1',
    zoneId: 'z1',
    loadBalancerId: 'lb1',
    baseUrl: `${api.url}/client/v4`,
    timeoutMs: 1_000,
    retry: fastRetry(3, 30_000),
  });
  return { api, cf };
}

const ok = (result: unknown): SandboxResponse => ({
  status: 200,
  body: { success: true, errors: [], messages: [], result },
});
const lb = {
  id: 'lb1',
  name: 'shop.example.com',
  default_pools: ['blue', 'green'],
  fallback_pool: 'blue',
  steering_policy: 'random',
  random_steering: { pool_weights: { blue: 1, green: 0 }, default_weight: 0 },
};

describe('CloudflareLb', () => {
  it('unwraps result and sends the bearer token', async () => {
    const { api, cf } = await cloudflare({ [`GET ${LB}`]: () => ok(lb) });
    expect(await cf.getLoadBalancer()).toEqual(lb);
    expect(api.requests()[0]!.headers.authorization).toBe('[redacted]');
  });

  it('PATCHes exactly the given fields, once', async () => {
    const { api, cf } = await cloudflare({ [`PATCH ${LB}`]: (req) => ok({ ...lb, ...(req.json as object) }) });
    const weights = { random_steering: { pool_weights: { blue: 0.5, green: 0.5 }, default_weight: 0 } };
    const res = await cf.patchLoadBalancer(weights);
    expect(res.random_steering).toEqual(weights.random_steering);
    expect(api.requests('PATCH')).toHaveLength(1);
    expect(api.requests('PATCH')[0]!.body).toEqual(weights);
  });

  it('turns success:false on a 200 into an error carrying the envelope errors', async () => {
    const { cf } = await cloudflare({
      [`GET ${POOLS}/blue`]: () => ({
        status: 200,
        body: {
          success: false,
          errors: [{ code: 1002, message: 'Pool not found in account' }],
          messages: [],
          result: null,
        },
      }),
    });
    const err = await rejection(cf.getPool('blue'));
    expect(err.message).toBe(
      'Cloudflare getPool failed: HTTP 200 success:false: Pool not found in account (code 1002)',
    );
    expect(err.code).toBe('1002');
  });

  it('retries a 5xx (a PATCH with the same body is safe to repeat)', async () => {
    const { api, cf } = await cloudflare({
      [`PATCH ${POOLS}/green`]: (req) =>
        ok({ id: 'green', name: 'green', origins: (req.json as { origins: unknown }).origins }),
    });
    api.fault({ method: 'PATCH', status: 502, times: 2 });
    const origins = [{ name: 'vercel', address: 'green.example.com', enabled: true, weight: 1 }];
    expect((await cf.patchPool('green', { origins })).origins).toEqual(origins);
    expect(api.requests('PATCH')).toHaveLength(3);
  });

  it('waits for a short retry-after and fails fast past the 30 s cap', async () => {
    const { api, cf } = await cloudflare({ [`GET ${POOLS}`]: () => ok([{ id: 'blue', name: 'blue', origins: [] }]) });
    const limited = {
      success: false,
      errors: [{ code: 971, message: 'Please wait and consider throttling your request speed' }],
      messages: [],
      result: null,
    };
    api.fault({ status: 429, headers: { 'retry-after': '0' }, body: limited, times: 1 });
    expect(await cf.listPools()).toHaveLength(1);
    api.fault({ status: 429, headers: { 'retry-after': '300' }, body: limited });
    const t0 = Date.now();
    const err = await rejection(cf.listPools());
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(err.message).toContain('HTTP 429 971: Please wait and consider throttling your request speed');
    expect(err.message).toContain('asked to wait 300 s');
  });

  it('never shows the token, even when Cloudflare echoes it', async () => {
    const { cf } = await cloudflare({
      [`GET ${LB}`]: (req) => ({
        status: 403,
        body: {
          success: false,
          errors: [{ code: 10000, message: `Authentication error for ${String(req.headers.authorization)}` }],
          messages: [],
          result: null,
        },
      }),
    });
    const err = await rejection(cf.getLoadBalancer());
    expect(err.message).toContain('Authentication error');
    expect(err.message).not.toContain(TOKEN);
  });

  it('reads pool health in the OpenAPI shape', async () => {
    const health = {
      pool_id: 'green',
      pop_health: {
        'Amsterdam, NL': {
          healthy: true,
          origins: [
            {
              'green.example.com': { healthy: true, failure_reason: 'No failures', response_code: 200, rtt: '12.1ms' },
            },
          ],
        },
      },
    };
    const { cf } = await cloudflare({ [`GET ${POOLS}/green/health`]: () => ok(health) });
    expect(await cf.getPoolHealth('green')).toEqual({
      healthy: true,
      regions: ['Amsterdam, NL'],
      origins: [
        {
          address: 'green.example.com',
          healthy: true,
          reason: 'healthy in 1 of 1 data centers',
          healthyIn: 1,
          reportedBy: 1,
        },
      ],
      samples: { 'Amsterdam, NL': 'green.example.com|true|12.1ms|200|No failures' },
    });
  });
});

describe('parsePoolHealth', () => {
  it('an origin is healthy in a majority of the data centers that report, not in every one', () => {
    const dc = (a: boolean, b: boolean) => ({
      healthy: a && b,
      origins: [
        {
          '10.0.0.1': a
            ? { healthy: true }
            : { healthy: false, failure_reason: 'HTTP timeout occurred', response_code: 0 },
        },
        { '10.0.0.2': { healthy: b } },
      ],
    });
    const h = parsePoolHealth({
      pop_health: { 'Amsterdam, NL': dc(true, true), 'Tokyo, JP': dc(false, true), 'Paris, FR': dc(true, true) },
    });
    expect(h.healthy).toBe(true);
    expect(h.regions).toEqual(['Amsterdam, NL', 'Tokyo, JP', 'Paris, FR']);
    expect(h.origins.map((o) => [o.address, o.healthy, o.healthyIn, o.reportedBy])).toEqual([
      ['10.0.0.1', true, 2, 3],
      ['10.0.0.2', true, 3, 3],
    ]);
    const split = parsePoolHealth({ pop_health: { 'Amsterdam, NL': dc(true, true), 'Tokyo, JP': dc(false, true) } });
    expect(split.healthy).toBe(false);
    expect(split.origins[0]).toMatchObject({
      healthy: false,
      reason: 'unhealthy in 1 of 2 data centers (Tokyo, JP: HTTP timeout occurred (HTTP 0))',
    });
  });

  it('no data, or the SDK-typed shape, is not healthy', () => {
    expect(parsePoolHealth({ pool_id: 'x' })).toEqual({ healthy: false, regions: [], origins: [], samples: {} });
    expect(parsePoolHealth(null).healthy).toBe(false);
    expect(
      parsePoolHealth({ pop_health: { healthy: true, origins: [{ ip: '1.2.3.4', healthy: true }] } }).healthy,
    ).toBe(false);
  });
});
