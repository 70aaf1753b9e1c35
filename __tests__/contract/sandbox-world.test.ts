/**
 * The sandbox itself, on the behaviours of the real traffic plane it models (sandbox/README.md,
 * "Modelled behaviours and their sources"): Cloudflare session affinity (pinned over weights, endpoint
 * drain), load balancing rules, adaptive failover across pools, health by data center and region,
 * unknown health without a monitor, monitor intervals; Vercel slot domains as preview (branch)
 * domains under Deployment Protection.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarioFrom, startSandbox, type Sandbox } from '../../sandbox/index.ts';
import { cloudflareState } from '../../sandbox/services/cloudflare.ts';
import { vercelState } from '../../sandbox/services/vercel-state.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function api(sb: Sandbox) {
  const cf = cloudflareState(sb.world);
  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> => {
    const res = await fetch(`${sb.urls.cloudflare}/client/v4${path}`, {
      method,
      headers: { authorization: `Bearer ${cf.token}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const poolId = (name: string) => [...cf.pools.values()].find((p) => p.name === name)!.id;
  const lbId = [...cf.loadBalancers.keys()][0]!;
  return {
    cf,
    call,
    poolId,
    patchLb: (body: Json) => call('PATCH', `/zones/${cf.zoneId}/load_balancers/${lbId}`, body),
    patchPool: (name: string, body: Json) =>
      call('PATCH', `/accounts/${cf.accountId}/load_balancers/pools/${poolId(name)}`, body),
    health: async (name: string) =>
      (await call('GET', `/accounts/${cf.accountId}/load_balancers/pools/${poolId(name)}/health`)).body.result as Json,
    pool: async (name: string) =>
      (await call('GET', `/accounts/${cf.accountId}/load_balancers/pools/${poolId(name)}`)).body.result as Json,
  };
}

/** One request through the load balancer: the pool that served it and the affinity cookie set. */
async function visit(
  sb: Sandbox,
  path: string,
  cookie?: string,
): Promise<{ pool: string; status: number; cookie?: string; body: string }> {
  const res = await fetch(`${sb.urls.lb}${path}`, { headers: cookie ? { cookie } : {} });
  const body = await res.text();
  const set = /(__cflb=[^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];
  const hit = sb.world.hits.filter((h) => h.path === path).at(-1);
  return { pool: hit?.pool ?? '', status: res.status, body, ...(set ? { cookie: set } : {}) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Point the green slot at blue's deployment (the default world leaves it unassigned), and let it be probed. */
async function greenOnBlue(sb: Sandbox): Promise<void> {
  const id = vercelState(sb.world).aliases.get('blue.example.com')!.deploymentId;
  const res = await fetch(`${sb.env.VERCEL_API_URL}/v2/deployments/${id}/aliases?teamId=team_sandbox`, {
    method: 'POST',
    headers: { authorization: 'Bearer sandbox-vercel-token', 'content-type': 'application/json' },
    body: JSON.stringify({ alias: 'green.example.com' }),
  });
  expect(res.status).toBe(200);
  await sleep(600);
}

describe('Cloudflare session affinity', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({
      scenario: scenarioFrom({ name: 'affinity', cloudflare: { loadBalancer: { session_affinity: 'cookie' } } }),
      traffic: false,
    });
    await greenOnBlue(sb);
  });
  afterAll(async () => sb?.stop());

  it('pins a visitor with the __cflb cookie over any weight, until its endpoint is disabled (drain 0)', async () => {
    const a = api(sb);
    const first = await visit(sb, '/a/1');
    expect(first.pool).toBe(a.poolId('blue'));
    expect(first.cookie).toMatch(/^__cflb=/);
    await a.patchLb({ random_steering: { pool_weights: { [a.poolId('blue')]: 0, [a.poolId('green')]: 1 } } });
    expect((await visit(sb, '/a/2')).pool).toBe(a.poolId('green'));
    // "session affinity takes precedence over any selected weight"
    expect((await visit(sb, '/a/3', first.cookie)).pool).toBe(a.poolId('blue'));
    const pool = await a.pool('blue');
    await a.patchPool('blue', { origins: (pool.origins as Json[]).map((o) => ({ ...o, enabled: false })) });
    expect(((await a.pool('blue')).origins as Json[])[0]!.disabled_at).toEqual(expect.any(String));
    const moved = await visit(sb, '/a/4', first.cookie);
    expect(moved.pool).toBe(a.poolId('green'));
    expect(moved.cookie).toMatch(/^__cflb=/);
    await a.patchPool('blue', { origins: (pool.origins as Json[]).map((o) => ({ ...o, enabled: true })) });
  });

  it('a disabled endpoint keeps its sessions for drain_duration, then lets them go', async () => {
    const a = api(sb);
    await a.patchLb({
      session_affinity_attributes: { drain_duration: 600 }, // 600 s of Cloudflare time: 2 s here (60 s probes every 200 ms)
      random_steering: { pool_weights: { [a.poolId('blue')]: 1, [a.poolId('green')]: 0 } },
    });
    await sleep(500); // blue's origin probed healthy again
    const pinned = await visit(sb, '/d/1');
    expect(pinned.pool).toBe(a.poolId('blue'));
    await a.patchLb({ random_steering: { pool_weights: { [a.poolId('blue')]: 0, [a.poolId('green')]: 1 } } });
    const pool = await a.pool('blue');
    await a.patchPool('blue', { origins: (pool.origins as Json[]).map((o) => ({ ...o, enabled: false })) });
    expect((await visit(sb, '/d/2', pinned.cookie)).pool).toBe(a.poolId('blue'));
    await sleep(2500);
    expect((await visit(sb, '/d/3', pinned.cookie)).pool).toBe(a.poolId('green'));
    await a.patchPool('blue', { origins: (pool.origins as Json[]).map((o) => ({ ...o, enabled: true })) });
    await sleep(500);
  });

  it('refuses a session_affinity_ttl outside 1800–604800 s', async () => {
    expect((await api(sb).patchLb({ session_affinity_ttl: 60 })).status).toBe(400);
  });

  it('header affinity pins by the configured header, whatever the weights', async () => {
    const a = api(sb);
    await a.patchLb({
      session_affinity: 'header',
      session_affinity_ttl: 3600, // 12 s here
      session_affinity_attributes: { headers: ['x-user'], drain_duration: 0 },
      random_steering: { pool_weights: { [a.poolId('blue')]: 0, [a.poolId('green')]: 1 } },
    });
    const user = async (path: string) => {
      await (await fetch(`${sb.urls.lb}${path}`, { headers: { 'x-user': 'ada' } })).arrayBuffer();
      return sb.world.hits.filter((h) => h.path === path).at(-1)!.pool;
    };
    expect(await user('/h/1')).toBe(a.poolId('green'));
    await a.patchLb({ random_steering: { pool_weights: { [a.poolId('blue')]: 1, [a.poolId('green')]: 0 } } });
    expect(await user('/h/2')).toBe(a.poolId('green'));
    expect((await visit(sb, '/h/3')).pool).toBe(a.poolId('blue'));
  });
});

describe('Cloudflare load balancing rules and adaptive routing', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({
      scenario: scenarioFrom({
        name: 'rules',
        cloudflare: {
          pools: [
            { name: 'blue' },
            { name: 'green' },
            {
              name: 'dead',
              origins: [{ address: '127.0.0.1:1', header: { Host: ['dead.example.com'] } }],
              monitored: false,
            },
          ],
          loadBalancer: {
            default_pools: ['blue', 'green'],
            rules: [
              {
                name: 'beta',
                condition: 'http.request.uri.path contains "/beta"',
                overrides: { default_pools: ['green'] },
              },
              {
                name: 'maintenance',
                condition: 'starts_with(http.request.uri.path, "/down")',
                fixed_response: { status_code: 503, content_type: 'text/plain', message_body: 'maintenance' },
              },
            ],
          },
        },
      }),
      traffic: false,
    });
    await greenOnBlue(sb);
  });
  afterAll(async () => sb?.stop());

  it("a matching rule's overrides route around the weights", async () => {
    const a = api(sb);
    expect((await visit(sb, '/beta/x')).pool).toBe(a.poolId('green'));
    expect((await visit(sb, '/other')).pool).toBe(a.poolId('blue'));
  });

  it('a fixed response answers without any pool', async () => {
    const r = await visit(sb, '/down/1');
    expect(r).toMatchObject({ status: 503, body: 'maintenance', pool: '' });
  });

  it('refuses a rule condition the sandbox cannot evaluate', async () => {
    expect((await api(sb).patchLb({ rules: [{ condition: 'ip.src in {10.0.0.0/8}' }] })).status).toBe(400);
  });

  it('failover_across_pools retries a refused connection on another pool; without it the visitor gets 521', async () => {
    const a = api(sb);
    await a.patchLb({
      rules: [],
      default_pools: [a.poolId('dead'), a.poolId('blue')],
      random_steering: { pool_weights: { [a.poolId('dead')]: 1, [a.poolId('blue')]: 0 } },
    });
    expect((await visit(sb, '/f/1')).status).toBe(521);
    await a.patchLb({ adaptive_routing: { failover_across_pools: true } });
    const r = await visit(sb, '/f/2');
    expect(r.status).not.toBe(521); // the app's own answer (404 for this path), from blue
    expect(r.pool).toBe(a.poolId('blue'));
  });
});

describe('Cloudflare pool health by data center and region', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({
      scenario: scenarioFrom({
        name: 'health',
        cloudflare: {
          pools: [
            { name: 'blue' },
            { name: 'green' },
            {
              name: 'regional',
              origins: [{ header: { Host: ['blue.example.com'] } }],
              check_regions: ['WEU', 'ENAM', 'WNAM'],
            },
            { name: 'bare', monitored: false },
          ],
          dataCenterFaults: {
            'Amsterdam, NL': 'Timeout',
            'London, GB': 'Timeout',
            'Ashburn, US': 'Timeout',
            'Chicago, US': 'Timeout',
          },
        },
      }),
      traffic: false,
    });
    await sleep(600);
  });
  afterAll(async () => sb?.stop());

  it('check_regions null: every data center reports; a few failing ones leave the majority healthy', async () => {
    const a = api(sb);
    const h = await a.health('blue');
    const pops = Object.entries(h.pop_health as Record<string, Json>);
    expect(pops).toHaveLength(39);
    expect(
      pops
        .filter(([, p]) => !p.healthy)
        .map(([dc]) => dc)
        .sort(),
    ).toEqual(['Amsterdam, NL', 'Ashburn, US', 'Chicago, US', 'London, GB']);
    expect((await a.pool('blue')).healthy).toBe(true);
  });

  it('regional checks: a majority of data centers per region, then a majority of regions', async () => {
    // WEU and ENAM have 2 of 3 data centers failing: 2 of 3 regions unhealthy, though 5 of 9 data centers are fine.
    const a = api(sb);
    const h = await a.health('regional');
    const pops = Object.values(h.pop_health as Record<string, Json>);
    expect(pops).toHaveLength(9);
    expect(pops.filter((p) => p.healthy)).toHaveLength(5);
    expect((await a.pool('regional')).healthy).toBe(false);
  });

  it('a pool without a monitor has unknown health: no data center reports, no verdict', async () => {
    const a = api(sb);
    expect((await a.health('bare')).pop_health).toEqual({});
    expect((await a.pool('bare')).healthy).toBeUndefined();
  });

  it('refuses a monitor interval below 10 s', async () => {
    const a = api(sb);
    const id = [...a.cf.monitors.keys()][0]!;
    expect(
      (await a.call('PATCH', `/accounts/${a.cf.accountId}/load_balancers/monitors/${id}`, { interval: 5 })).status,
    ).toBe(400);
  });
});

/** A request to the Vercel edge under a hostname. */
function edge(sb: Sandbox, host: string): Promise<number> {
  const url = new URL(sb.world.urls['vercel-edge']!);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: url.port, path: '/api/health', headers: { host } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('Vercel slot domains', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({ scenario: 'default', traffic: false });
  });
  afterAll(async () => sb?.stop());

  const vercel = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${sb.env.VERCEL_API_URL}${path}${path.includes('?') ? '&' : '?'}teamId=team_sandbox`, {
      method,
      headers: { authorization: 'Bearer sandbox-vercel-token', 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return (await res.json()) as Json;
  };

  it('slot hostnames are preview (git branch) domains, not production domains', async () => {
    const all = (await vercel('GET', '/v9/projects/prj_sandboxshop/domains')).domains as Json[];
    expect(all.find((d) => d.name === 'blue.example.com')?.gitBranch).toBe('blue');
    expect(all.find((d) => d.name === 'www.example.com')?.gitBranch).toBeNull();
    const prod = (await vercel('GET', '/v9/projects/prj_sandboxshop/domains?production=true')).domains as Json[];
    expect(prod.map((d) => d.name)).toEqual(['www.example.com']);
  });

  it('Standard Protection covers them (401 without the bypass); "all except custom domains" does not', async () => {
    expect(await edge(sb, 'blue.example.com')).toBe(200);
    await vercel('PATCH', '/v9/projects/prj_sandboxshop', {
      ssoProtection: { deploymentType: 'prod_deployment_urls_and_all_previews' },
    });
    expect(await edge(sb, 'blue.example.com')).toBe(401);
    expect(await edge(sb, 'www.example.com')).toBe(200);
    await vercel('PATCH', '/v9/projects/prj_sandboxshop', {
      ssoProtection: { deploymentType: 'all_except_custom_domains' },
    });
    expect(await edge(sb, 'blue.example.com')).toBe(200);
    await vercel('PATCH', '/v9/projects/prj_sandboxshop', { ssoProtection: null });
  });
});
