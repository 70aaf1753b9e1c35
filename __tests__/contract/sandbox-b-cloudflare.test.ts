/**
 * The Cloudflare miniature and the load balancer proxy against the official `cloudflare` SDK
 * (its tree-shakable client, `cloudflare/tree-shakable`, with only the load balancer and DNS
 * record resources): read and patch the load balancer, read real pool health, and watch the
 * proxy's traffic split follow the weights and the health of the pools.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'cloudflare/tree-shakable';
import { LoadBalancers } from 'cloudflare/resources/load-balancers/load-balancers';
import { Records } from 'cloudflare/resources/dns/records';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Traffic, type RunningService } from '../../sandbox/core/service.ts';
import type { LbHit, World } from '../../sandbox/core/world.ts';
import { cloudflareInputs, cloudflareSnapshot, startCloudflare, startLb } from '../../sandbox/services/cloudflare.ts';
import { startEdge } from '../../sandbox/services/vercel-edge.ts';
import { startVercel } from '../../sandbox/services/vercel.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const CF_TOKEN = 'test-cloudflare-token';
const V_TOKEN = 'test-vercel-token';

let world: World;
const services: RunningService[] = [];
let cf: ReturnType<typeof makeClient>;
let ids: ReturnType<typeof cloudflareInputs>;
let blue = '';
let green = '';

function makeClient(token = CF_TOKEN) {
  return createClient({
    apiToken: token,
    baseURL: `${world.urls.cloudflare}/client/v4`,
    maxRetries: 0,
    timeout: 5000,
    resources: [LoadBalancers, Records],
  });
}

async function vercel(method: string, p: string, body?: unknown): Promise<Json> {
  const res = await fetch(`${world.urls.vercel}${p}`, {
    method,
    headers: { authorization: `Bearer ${V_TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return (await res.json()) as Json;
}

/** Send `n` GETs to the production URL, 20 at a time; returns the versions that answered. */
async function traffic(n: number, p = '/'): Promise<string[]> {
  const versions: string[] = [];
  for (let i = 0; i < n; i += 20) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(20, n - i) }, async () => {
        const res = await fetch(`${world.urls.lb}${p}`, { signal: AbortSignal.timeout(5000) });
        await res.arrayBuffer();
        return res.headers.get('x-app-version') ?? `status-${res.status}`;
      }),
    );
    versions.push(...batch);
  }
  return versions;
}

function share(versions: string[], v: string): number {
  return versions.filter((x) => x === v).length / versions.length;
}

async function setWeights(b: number, g: number): Promise<void> {
  await cf.loadBalancers.edit(ids.loadBalancerId, {
    zone_id: ids.zoneId,
    random_steering: { pool_weights: { [blue]: b, [green]: g }, default_weight: 0 },
  });
}

async function poolHealthy(poolId: string): Promise<{ healthy: boolean; origin: Json }> {
  const h = (await cf.loadBalancers.pools.health.get(poolId, { account_id: ids.accountId })) as unknown as Json;
  const pop = Object.values(h.pop_health as Json)[0] as Json;
  return { healthy: pop.healthy, origin: Object.values(pop.origins[0])[0] as Json };
}

async function waitHealth(poolId: string, healthy: boolean): Promise<Json> {
  const end = Date.now() + 5000;
  for (;;) {
    const h = await poolHealthy(poolId);
    if (h.healthy === healthy) return h.origin;
    if (Date.now() > end) throw new Error(`pool ${poolId} did not become ${healthy ? 'healthy' : 'unhealthy'}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  world = {
    traffic: new Traffic(),
    urls: {},
    hits: [],
    state: {},
    events: new EventEmitter(),
    dir: fs.mkdtempSync(path.join(os.tmpdir(), 'sandbox-b-cf-')),
  };
  services.push(
    await startVercel(world, {
      token: V_TOKEN,
      buildDelayMs: 300,
      aliasDelayMs: 300,
      deployments: [
        { id: 'dpl_blue_v1', app: 'v1', production: true, aliases: ['blue.example.com'] },
        { id: 'dpl_green_v2', app: 'v2', aliases: ['green.example.com'] },
        { id: 'dpl_sick', app: 'bad-health', target: 'preview' },
        { id: 'dpl_slow', app: 'bad-slow', target: 'preview' },
      ],
    }),
  );
  services.push(await startEdge(world));
  services.push(await startCloudflare(world, { token: CF_TOKEN, healthIntervalMs: 100 }));
  services.push(await startLb(world, {}));
  cf = makeClient();
  ids = cloudflareInputs(world);
  [blue, green] = ids.pools;
});

afterAll(async () => {
  await Promise.all(services.map((s) => s.close()));
  fs.rmSync(world.dir, { recursive: true, force: true });
});

describe('the cloudflare SDK (tree-shakable client) against the miniature', () => {
  it('reads the load balancer and the pools', async () => {
    const lb = await cf.loadBalancers.get(ids.loadBalancerId, { zone_id: ids.zoneId });
    expect(lb).toMatchObject({
      id: ids.loadBalancerId,
      name: 'www.example.com',
      steering_policy: 'random',
      default_pools: [blue, green],
      fallback_pool: blue,
      random_steering: { pool_weights: { [blue]: 1, [green]: 0 } },
    });
    const pools = [];
    for await (const p of cf.loadBalancers.pools.list({ account_id: ids.accountId })) pools.push(p);
    expect(pools.map((p) => p.name)).toEqual(['blue', 'green']);
    expect(pools[1].origins![0]).toMatchObject({
      address: 'cname.vercel-dns.com',
      header: { Host: ['green.example.com'] },
    });
    const one = await cf.loadBalancers.pools.get(green, { account_id: ids.accountId });
    expect(one.id).toBe(green);
  });

  it('reads real pool health in the OpenAPI shape', async () => {
    const h = (await cf.loadBalancers.pools.health.get(green, { account_id: ids.accountId })) as unknown as Json;
    expect(h.pool_id).toBe(green);
    const [region] = Object.keys(h.pop_health);
    const pop = h.pop_health[region];
    expect(pop.healthy).toBe(true);
    expect(Object.keys(pop.origins[0])).toEqual(['cname.vercel-dns.com']);
    expect(pop.origins[0]['cname.vercel-dns.com']).toMatchObject({
      healthy: true,
      response_code: 200,
      failure_reason: 'No failures',
      rtt: expect.stringMatching(/^\d+(\.\d+)?ms$/),
    });
  });

  it('reads and patches a DNS record', async () => {
    const records = (cloudflareSnapshot(world).dnsRecords as Json[])[0];
    const rec = await cf.dns.records.get(records.id, { zone_id: ids.zoneId });
    expect(rec).toMatchObject({ type: 'CNAME', name: 'www.example.com', content: 'cname.vercel-dns.com' });
    const edited = await cf.dns.records.edit(records.id, {
      zone_id: ids.zoneId,
      type: 'CNAME',
      name: 'www.example.com',
      content: 'green.example.com',
      ttl: 1,
      proxied: true,
    });
    expect(edited.content).toBe('green.example.com');
    await expect(
      cf.dns.records.edit(records.id, {
        zone_id: ids.zoneId,
        type: 'A',
        name: 'www.example.com',
        content: 'nope',
        ttl: 1,
      }),
    ).rejects.toMatchObject({ status: 400, errors: [expect.objectContaining({ code: 9005 })] });
  });

  it('answers errors with statuses and the envelope the SDK maps to its error classes', async () => {
    await expect(
      makeClient('wrong').loadBalancers.get(ids.loadBalancerId, { zone_id: ids.zoneId }),
    ).rejects.toMatchObject({
      status: 403,
      errors: [expect.objectContaining({ code: 10000 })],
    });
    await expect(cf.loadBalancers.pools.get('0'.repeat(32), { account_id: ids.accountId })).rejects.toMatchObject({
      status: 404,
    });
    await expect(
      cf.loadBalancers.edit(ids.loadBalancerId, {
        zone_id: ids.zoneId,
        random_steering: { pool_weights: { [green]: 2 } },
      }),
    ).rejects.toMatchObject({ status: 400 });
    const lb = await cf.loadBalancers.get(ids.loadBalancerId, { zone_id: ids.zoneId });
    expect(lb.random_steering?.pool_weights?.[green]).toBe(0);
  });
});

describe('the load balancer proxy', () => {
  it('serves v1 from the blue pool and records the hit', async () => {
    const hits: LbHit[] = [];
    world.events.on('hit', (h: LbHit) => hits.push(h));
    const res = await fetch(`${world.urls.lb}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-app-version')).toBe('v1');
    expect(await res.text()).toContain('<strong id="version">v1</strong>');
    expect(hits).toHaveLength(1);
    expect(hits[0]).toMatchObject({ pool: blue, deploymentId: 'dpl_blue_v1', version: 'v1', status: 200, path: '/' });
    expect(world.hits[world.hits.length - 1]).toEqual(hits[0]);
    world.events.removeAllListeners('hit');
  });

  it('splits traffic by the weights set through the API (50/50, then 90/10)', async () => {
    await setWeights(0.5, 0.5);
    const half = await traffic(400);
    expect(share(half, 'v2')).toBeGreaterThan(0.4);
    expect(share(half, 'v2')).toBeLessThan(0.6);
    expect(share(half, 'v1') + share(half, 'v2')).toBe(1);

    await setWeights(0.9, 0.1);
    const tenth = await traffic(400);
    expect(share(tenth, 'v2')).toBeGreaterThan(0.04);
    expect(share(tenth, 'v2')).toBeLessThan(0.17);

    const snap = cloudflareSnapshot(world) as Json;
    const weights = (snap.history as Json[])
      .filter((h) => h.kind === 'load_balancer')
      .map((h) => h.random_steering.pool_weights);
    expect(weights.slice(-2)).toEqual([
      { [blue]: 0.5, [green]: 0.5 },
      { [blue]: 0.9, [green]: 0.1 },
    ]);
    for (const h of snap.history as Json[]) expect(Date.parse(h.time)).toBe(h.at);
    expect(snap.loadBalancers[0].shares).toEqual({ [blue]: 0.9, [green]: 0.1 });
    expect(snap.traffic[green].requests).toBeGreaterThan(0);
  });

  it('stops sending traffic to a pool whose origin fails its health check', async () => {
    await setWeights(0.5, 0.5);
    await vercel('POST', '/v2/deployments/dpl_sick/aliases', { alias: 'green.example.com' });
    const origin = await waitHealth(green, false);
    expect(origin.response_code).toBe(503);
    expect(origin.failure_reason).toContain('503');
    const pool = await cf.loadBalancers.pools.get(green, { account_id: ids.accountId });
    expect((pool as unknown as Json).healthy).toBe(false);
    expect(share(await traffic(60), 'v1')).toBe(1);

    await vercel('POST', '/v2/deployments/dpl_green_v2/aliases', { alias: 'green.example.com' });
    await waitHealth(green, true);
    expect(share(await traffic(100), 'v2')).toBeGreaterThan(0.2);
  });

  it('uses the remaining healthy pool when one is disabled, and the fallback pool when none is healthy', async () => {
    await cf.loadBalancers.pools.edit(blue, { account_id: ids.accountId, enabled: false });
    expect(share(await traffic(40), 'v2')).toBe(1);
    await cf.loadBalancers.pools.edit(green, { account_id: ids.accountId, enabled: false });
    expect(share(await traffic(40), 'v1')).toBe(1); // fallback_pool (blue) even though disabled
    await cf.loadBalancers.pools.edit(blue, { account_id: ids.accountId, enabled: true });
    await cf.loadBalancers.pools.edit(green, { account_id: ids.accountId, enabled: true });
    await waitHealth(blue, true);
    await waitHealth(green, true);
  });

  it('routes with the failover order when steering is off', async () => {
    await cf.loadBalancers.edit(ids.loadBalancerId, {
      zone_id: ids.zoneId,
      steering_policy: 'off',
      default_pools: [green, blue],
    });
    expect(share(await traffic(40), 'v2')).toBe(1);
    await cf.loadBalancers.edit(ids.loadBalancerId, {
      zone_id: ids.zoneId,
      steering_policy: 'random',
      default_pools: [blue, green],
    });
  });

  it('drops a request whose client gave up, records nothing for it, and keeps serving', async () => {
    await vercel('POST', '/v2/deployments/dpl_slow/aliases', { alias: 'green.example.com' });
    await setWeights(0, 1);
    const before = world.hits.length;
    await expect(fetch(`${world.urls.lb}/`, { signal: AbortSignal.timeout(300) })).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 1600));
    expect(world.hits.length).toBe(before);
    const t0 = performance.now();
    const slow = await fetch(`${world.urls.lb}/products`);
    expect(slow.headers.get('x-app-version')).toBe('bad-slow');
    expect(performance.now() - t0).toBeGreaterThan(1400);
    expect(world.hits[world.hits.length - 1]).toMatchObject({ deploymentId: 'dpl_slow', path: '/products' });
    expect(world.hits[world.hits.length - 1].latencyMs).toBeGreaterThan(1400);
    await vercel('POST', '/v2/deployments/dpl_green_v2/aliases', { alias: 'green.example.com' });
    await setWeights(1, 0);
  });

  it('forwards method, query and body, and answers 530 when no origin is reachable', async () => {
    const res = await fetch(`${world.urls.lb}/api/checkout?x=1`, { method: 'POST', body: '{"cart":[1]}' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Json).ok).toBe(true);
    const edgeUrl = world.urls['vercel-edge'];
    delete world.urls['vercel-edge'];
    try {
      const down = await fetch(`${world.urls.lb}/`);
      expect(down.status).toBe(530);
      expect(world.hits[world.hits.length - 1].status).toBe(530);
    } finally {
      world.urls['vercel-edge'] = edgeUrl;
    }
  });
});

/**
 * Host and headers as Cloudflare documents them (sandbox/README.md, "Modelled behaviours and their
 * sources"): a proxied load balancer passes the visitor's request headers, sends the visitor's Host
 * (the load balancer's hostname) unless the origin has a `header.Host` override, adds `cf-ray`,
 * `cf-connecting-ip`, `x-forwarded-for`, `x-forwarded-proto` and no `x-forwarded-host`; a DNS-only one
 * only answers DNS, so the visitor reaches Vercel with the public hostname and nothing moves.
 */
describe('Host and headers at the origin', () => {
  let capture: http.Server;
  let captured: http.IncomingHttpHeaders[] = [];
  let captureAddress = '';
  const origins = async (poolId: string, list: Json[]) =>
    cf.loadBalancers.pools.edit(poolId, { account_id: ids.accountId, origins: list as never });
  const slot = (name: string) => [
    {
      name: `${name}-vercel`,
      address: 'cname.vercel-dns.com',
      enabled: true,
      weight: 1,
      header: { Host: [`${name}.example.com`] },
    },
  ];

  beforeAll(async () => {
    capture = http.createServer((req, res) => {
      if (req.url !== '/api/health') captured.push(req.headers);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('captured');
    });
    await new Promise<void>((r) => capture.listen(0, '127.0.0.1', r));
    captureAddress = `127.0.0.1:${(capture.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await origins(green, slot('green'));
    await origins(blue, slot('blue'));
    await cf.loadBalancers.edit(ids.loadBalancerId, { zone_id: ids.zoneId, proxied: true });
    await setWeights(1, 0);
    await new Promise((r) => capture.close(r));
  });

  it("sends the visitor's Host without an override, the override with one, and no x-forwarded-host", async () => {
    await origins(green, [{ name: 'capture', address: captureAddress, enabled: true, weight: 1 }]);
    await waitHealth(green, true);
    await setWeights(0, 1);
    captured = [];
    const res = await fetch(`${world.urls.lb}/page`);
    expect(await res.text()).toBe('captured');
    expect(captured).toHaveLength(1);
    const h = captured[0]!;
    expect(h.host).toBe('www.example.com');
    expect(h['x-forwarded-host']).toBeUndefined();
    expect(h['cf-ray']).toBe(res.headers.get('cf-ray'));
    expect(h).toMatchObject({
      'x-forwarded-proto': 'https',
      'cf-connecting-ip': '127.0.0.1',
      'x-forwarded-for': '127.0.0.1',
    });
    expect(res.headers.get('server')).toBe('cloudflare');

    await origins(green, [
      { name: 'capture', address: captureAddress, enabled: true, weight: 1, header: { Host: ['green.example.com'] } },
    ]);
    captured = [];
    // A visitor's own x-forwarded-host passes through untouched, as every request header does.
    await (await fetch(`${world.urls.lb}/page`, { headers: { 'x-forwarded-host': 'visitor.example' } })).text();
    expect(captured[0]).toMatchObject({ host: 'green.example.com', 'x-forwarded-host': 'visitor.example' });
  });

  it('without Host overrides every pool reaches the deployment of the public hostname, and the monitors fail', async () => {
    const bare = (name: string) => [
      { name: `${name}-vercel`, address: 'cname.vercel-dns.com', enabled: true, weight: 1 },
    ];
    await origins(green, bare('green'));
    await origins(blue, bare('blue'));
    await setWeights(0, 1);
    // The monitor asks for the address (cname.vercel-dns.com), which is no deployment of Vercel's.
    const origin = await waitHealth(green, false);
    expect(origin.response_code).toBe(404);
    // Visitors still reach Vercel (fallback pool) as www.example.com: Vercel's production deployment, v1.
    expect(share(await traffic(40), 'v1')).toBe(1);
    await origins(green, slot('green'));
    await origins(blue, slot('blue'));
    await waitHealth(green, true);
    await waitHealth(blue, true);
  });

  it('through a Host override the app sees the slot hostname (host and x-forwarded-host), not the public one', async () => {
    await setWeights(0, 1);
    const seen = (await (await fetch(`${world.urls.lb}/api/request`)).json()) as Json;
    expect(seen).toEqual({
      host: 'green.example.com',
      'x-forwarded-host': 'green.example.com',
      absoluteUrl: 'https://green.example.com/api/request',
    });
  });

  it('a DNS-only load balancer moves nothing: the visitor reaches Vercel as the public hostname', async () => {
    await cf.loadBalancers.edit(ids.loadBalancerId, { zone_id: ids.zoneId, proxied: false });
    await setWeights(0, 1);
    expect(share(await traffic(40), 'v1')).toBe(1);
    const res = await fetch(`${world.urls.lb}/api/request`);
    expect(res.headers.get('cf-ray')).toBeNull();
    expect(res.headers.get('server')).toBe('Vercel');
    expect(((await res.json()) as Json).host).toBe('www.example.com');
    await cf.loadBalancers.edit(ids.loadBalancerId, { zone_id: ids.zoneId, proxied: true });
    expect(share(await traffic(40), 'v2')).toBe(1);
  });
});
