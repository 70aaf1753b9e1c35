/**
 * The traffic managers against the sandbox's Vercel, edge, Cloudflare and load balancer
 * miniatures (real HTTP end to end): read who is live, stage green on the idle slot, shift weights
 * and verify the share with real requests through the proxy, restore exactly and idempotently.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Traffic, type RunningService } from '../../../sandbox/core/service.ts';
import type { World } from '../../../sandbox/core/world.ts';
import { cloudflareInputs, cloudflareState, startCloudflare, startLb } from '../../../sandbox/services/cloudflare.ts';
import { startEdge, startVercel } from '../../../sandbox/services/vercel.ts';
import type { Logger, TrafficSnapshot } from '../../../src/pipeline/types.ts';
import { CloudflareLb } from '../../../src/providers/cloudflare.ts';
import { deploymentBaseUrl } from '../../../src/providers/health.ts';
import { VercelApi } from '../../../src/providers/vercel-api.ts';
import { CloudflareTrafficManager } from '../../../src/traffic/cloudflare.ts';
import { VercelTrafficManager } from '../../../src/traffic/vercel.ts';

const V_TOKEN = 'managers-test-vercel-token';
const CF_TOKEN = 'managers-test-cloudflare-token';
const policy = { retries: 1, baseDelayMs: 50, maxDelayMs: 100, maxRetryAfterMs: 1000 };
const quiet: Logger = { info: () => {}, warning: () => {}, error: () => {}, debug: () => {}, untrusted: () => {} };

let world: World;
const services: RunningService[] = [];
let vercel: VercelApi;
let lb: CloudflareLb;
let pools: [string, string];

const mutations = (from: number) =>
  world.traffic.requests
    .filter((r) => r.seq > from && r.method !== 'GET')
    .map((r) => `${r.service} ${r.method} ${r.path}`);
const lastSeq = () => world.traffic.requests.at(-1)?.seq ?? 0;

beforeAll(async () => {
  world = {
    traffic: new Traffic(),
    urls: {},
    hits: [],
    state: {},
    events: new EventEmitter(),
    dir: fs.mkdtempSync(path.join(os.tmpdir(), 'h5-managers-')),
  };
  services.push(
    await startVercel(world, {
      token: V_TOKEN,
      buildDelayMs: 100,
      aliasDelayMs: 200,
      deployments: [
        { id: 'dpl_blue_v1', app: 'v1', production: true, aliases: ['blue.example.com'] },
        { id: 'dpl_green_v2', app: 'v2' },
        { id: 'dpl_sick', app: 'bad-health' },
      ],
    }),
  );
  services.push(await startEdge(world));
  services.push(await startCloudflare(world, { token: CF_TOKEN, healthIntervalMs: 100 }));
  services.push(await startLb(world, {}));
  const ids = cloudflareInputs(world);
  pools = [ids.pools[0]!, ids.pools[1]!];
  vercel = new VercelApi({ token: V_TOKEN, apiUrl: world.urls.vercel!, timeoutMs: 5000, retry: policy });
  lb = new CloudflareLb({
    apiToken: CF_TOKEN,
    accountId: ids.accountId,
    zoneId: ids.zoneId,
    loadBalancerId: ids.loadBalancerId,
    baseUrl: `${world.urls.cloudflare}/client/v4`,
    timeoutMs: 5000,
    retry: policy,
  });
});
afterAll(async () => {
  await Promise.all(services.map((s) => s.close()));
  fs.rmSync(world.dir, { recursive: true, force: true });
});

const verify = () => ({
  url: `${world.urls.lb}/api/health`,
  samples: 40,
  deadlineMs: 3000,
  intervalMs: 200,
  baseUrlOf: deploymentBaseUrl,
  attribution: { source: 'header' as const, name: 'x-app-version' },
  log: quiet,
});

/** A Cloudflare manager over the sandbox's two slots (a new one: nothing read yet). */
const cloudflareManager = () =>
  new CloudflareTrafficManager({
    lb,
    vercel,
    projectId: 'prj_sandboxshop',
    pools,
    healthTimeoutMs: 5000,
    healthIntervalMs: 100,
    verify: verify(),
    log: quiet,
  });

describe('Cloudflare: two slots behind the load balancer', () => {
  let cf: CloudflareTrafficManager;
  let snapshot: TrafficSnapshot;
  const green = { id: 'dpl_green_v2', url: '' };
  const blue = { id: 'dpl_blue_v1', url: '' };

  beforeAll(async () => {
    cf = cloudflareManager();
    green.url = (await vercel.getDeployment('dpl_green_v2')).url;
    blue.url = (await vercel.getDeployment('dpl_blue_v1')).url;
  });

  it('reads blue from the weights and the live slot’s hostname', async () => {
    const live = await cf.readLive();
    expect(live.blue.id).toBe('dpl_blue_v1');
    expect(live.strayShare).toBe(0);
    expect(live.notes).toEqual([]);
    snapshot = live.snapshot;
    expect(snapshot).toMatchObject({
      kind: 'cloudflare',
      livePool: pools[0],
      fallbackPool: pools[0],
      poolWeights: { [pools[0]]: 1, [pools[1]]: 0 },
    });
    expect(snapshot.kind === 'cloudflare' && snapshot.slots[pools[0]]).toEqual({
      hostname: 'blue.example.com',
      deploymentId: 'dpl_blue_v1',
    });
  });

  it('reads the load balancer anew every time, the pools once, and sees a change made by someone else', async () => {
    const mark = lastSeq();
    const cfReads = () =>
      world.traffic.requests
        .filter((r) => r.seq > mark && r.service === 'cloudflare')
        .map((r) => `${r.method} ${r.path.replace(/[0-9a-f]{32}/g, '{id}')}`);
    // Someone else (another client) moves 10 % to the idle slot: the next reading sees it.
    await lb.patchLoadBalancer({ random_steering: { pool_weights: { [pools[0]]: 0.9, [pools[1]]: 0.1 } } });
    expect((await cf.readLive()).strayShare).toBe(10);
    await lb.patchLoadBalancer({ random_steering: { pool_weights: { [pools[0]]: 1, [pools[1]]: 0 } } });
    expect((await cf.readLive()).strayShare).toBe(0);
    expect(cfReads()).toEqual([
      'PATCH /client/v4/zones/{id}/load_balancers/{id}',
      'GET /client/v4/zones/{id}/load_balancers/{id}',
      'PATCH /client/v4/zones/{id}/load_balancers/{id}',
      'GET /client/v4/zones/{id}/load_balancers/{id}',
    ]);
  });

  it('reads a deployment once per run, and stages right after a reading without asking for the alias again', async () => {
    const own = cloudflareManager();
    const mark = lastSeq();
    const vercelReads = () =>
      world.traffic.requests
        .filter((r) => r.seq > mark && r.service === 'vercel' && r.method === 'GET')
        .map((r) => r.path);
    const first = await own.readLive();
    await own.readLive();
    // Blue's deployment (id, URL, commit never change) once; both slots' aliases at every reading.
    expect(vercelReads().filter((p) => p.startsWith('/v13/deployments/'))).toEqual(['/v13/deployments/dpl_blue_v1']);
    expect(vercelReads().filter((p) => p.startsWith('/v4/aliases/'))).toHaveLength(4);
    // Staging on the idle slot right after: its alias is as just read, so it is only written.
    const before = vercelReads().length;
    await own.prepareGreen(green, first.snapshot);
    expect(
      vercelReads()
        .slice(before)
        .filter((p) => p.startsWith('/v4/aliases/')),
    ).toEqual([]);
    expect((await vercel.getAlias('green.example.com'))?.deploymentId).toBe('dpl_green_v2');
    // A restore re-points slots: what was read no longer stands, and staging asks again.
    await own.restore(first.snapshot, 'test');
    const afterRestore = vercelReads().length;
    await own.prepareGreen(green, first.snapshot);
    expect(vercelReads().slice(afterRestore)).toContain('/v4/aliases/green.example.com');
    await own.restore(first.snapshot, 'test');
  });

  it('describes production for a plan with reads only: both slots, their shares and deployments', async () => {
    const mark = lastSeq();
    const view = await cf.describeProduction();
    expect(mutations(mark)).toEqual([]);
    expect(view.kind).toBe('cloudflare');
    expect(view.vercel).toMatchObject({ state: 'read', value: { deployment: { id: 'dpl_blue_v1' } } });
    expect(view.blue?.id).toBe('dpl_blue_v1');
    expect(view.blue?.url).toBeTruthy();
    expect(view.slotMismatch).toBeUndefined();
    expect(view.slots?.state).toBe('read');
    if (view.slots?.state !== 'read') return;
    expect(view.slots.value).toMatchObject({
      livePool: pools[0],
      idlePool: pools[1],
      hostnames: { [pools[0]]: 'blue.example.com', [pools[1]]: 'green.example.com' },
      shares: { [pools[0]]: 100, [pools[1]]: 0 },
      notes: [],
    });
    expect(view.slots.value.deployments[pools[0]]).toBe('dpl_blue_v1');
  });

  it('stages green on the idle slot and waits until its pool is healthy', async () => {
    const done = await cf.prepareGreen(green, snapshot);
    expect(done).toMatch(/^assigned green.example.com to green \(dpl_green_v2\); pool \w+ is healthy$/);
    expect((await vercel.getAlias('green.example.com'))?.deploymentId).toBe('dpl_green_v2');
    // Again: nothing to move.
    const mark = lastSeq();
    expect(await cf.prepareGreen(green, snapshot)).toMatch(/already points at green/);
    expect(mutations(mark)).toEqual([]);
  });

  it('shifts green to 50 % with one PATCH, and real traffic follows', async () => {
    const mark = lastSeq();
    await cf.setGreenShare(50, green, snapshot);
    expect(mutations(mark)).toEqual([
      expect.stringMatching(/^cloudflare PATCH \/client\/v4\/zones\/\w+\/load_balancers\/\w+$/),
    ]);
    const check = await cf.verify({ share: 50, green, blue });
    expect(check.ok).toBe(true);
    expect(check.kind === 'share' && check.counts.green + check.counts.blue).toBe(40);
  });

  it('catches routing that does not follow: 100 % expected while 50 % is set', async () => {
    const check = await cf.verify({ share: 100, green, blue });
    expect(check.ok).toBe(false);
    expect(check.reason).toMatch(/expected 100 %/);
  });

  it('restores the recorded state exactly, then finds nothing left to change', async () => {
    const done = await cf.restore(snapshot, 'test');
    expect(done.changed).toBe(true);
    const now = await lb.getLoadBalancer();
    expect(now.random_steering?.pool_weights).toEqual({ [pools[0]]: 1, [pools[1]]: 0 });
    expect(now.fallback_pool).toBe(pools[0]);
    expect((await cf.verify({ deployment: blue, other: green })).ok).toBe(true);
    const mark = lastSeq();
    expect(await cf.restore(snapshot, 'again')).toMatchObject({ changed: false });
    expect(mutations(mark)).toEqual([]);
  });

  it('refuses to shift traffic to a slot whose pool stays unhealthy', async () => {
    await vercel.assignAlias('dpl_sick', 'green.example.com');
    // Let the load balancer's monitor probe the slot again (every 100 ms here).
    await new Promise((r) => setTimeout(r, 600));
    const sick = new CloudflareTrafficManager({
      lb,
      vercel,
      projectId: 'prj_sandboxshop',
      pools,
      healthTimeoutMs: 800,
      healthIntervalMs: 100,
      verify: verify(),
      log: quiet,
    });
    const err = await sick.prepareGreen({ id: 'dpl_sick', url: '' }, snapshot).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^Cloudflare pool \w+ did not become healthy within 1 s \(.*HTTP 503/);
    // Put the idle slot back on v2 for the next test.
    await vercel.assignAlias('dpl_green_v2', 'green.example.com');
    await new Promise((r) => setTimeout(r, 300));
  });

  it('rollback mode: moves all traffic to a deployment already on the idle slot with one PATCH', async () => {
    const before = await cf.snapshot();
    const mark = lastSeq();
    expect(await cf.moveTo(green, before, 'test rollback')).toMatch(/has all of production/);
    expect(mutations(mark)).toHaveLength(1);
    expect((await cf.verify({ deployment: green, other: blue })).ok).toBe(true);
    const after = await cf.readLive();
    expect(after.blue.id).toBe('dpl_green_v2');
    expect(after.snapshot.kind === 'cloudflare' && after.snapshot.livePool).toBe(pools[1]);
    await cf.restore(before, 'back');
    expect(cloudflareState(world).loadBalancers.size).toBe(1);
  });

  it('cleanup: retires blue (green’s pool the fallback, blue’s weight 0), then finds nothing to change', async () => {
    const before = await cf.snapshot();
    await cf.setGreenShare(100, green, before);
    // Green's slot is live now while Vercel still names blue as production: plan says so.
    const view = await cf.describeProduction();
    expect(view.blue?.id).toBe('dpl_green_v2');
    expect(view.slotMismatch).toBe(
      "the live slot green.example.com serves dpl_green_v2, but Vercel's production deployment is dpl_blue_v1",
    );
    const retired = await cf.retireBlue(before, blue);
    expect(retired).toEqual({
      ok: true,
      what: `fallback pool is now green's ${pools[1]}; blue's pool ${pools[0]} keeps weight 0 and blue.example.com stays on dpl_blue_v1 for rollback`,
    });
    expect((await lb.getLoadBalancer()).fallback_pool).toBe(pools[1]);
    const mark = lastSeq();
    expect((await cf.retireBlue(before)).ok).toBe(true);
    expect(mutations(mark)).toEqual([]);
    await cf.restore(before, 'back');
  });
});

describe('Vercel: promote and Instant Rollback', () => {
  let vm: VercelTrafficManager;
  beforeAll(() => {
    vm = new VercelTrafficManager({
      vercel,
      projectId: 'prj_sandboxshop',
      aliasTimeoutMs: 5000,
      verify: verify(),
      log: quiet,
    });
  });

  it('promotes green, waits for the alias job, and restores blue by rollback, once', async () => {
    const live = await vm.readLive();
    expect(live.blue.id).toBe('dpl_blue_v1');
    expect(live.snapshot).toEqual({ kind: 'vercel', productionDeploymentId: 'dpl_blue_v1' });
    const green = { id: 'dpl_green_v2', url: (await vercel.getDeployment('dpl_green_v2')).url };
    expect(await vm.prepareGreen(green)).toMatch(/READY/);
    await expect(vm.setGreenShare(50, green)).rejects.toThrow(/needs traffic-manager: cloudflare/);
    await vm.setGreenShare(100, green);
    expect((await vercel.getProject('prj_sandboxshop')).productionDeployment?.id).toBe('dpl_green_v2');
    const done = await vm.restore(live.snapshot, 'test');
    expect(done).toMatchObject({ changed: true });
    const project = await vercel.getProject('prj_sandboxshop');
    expect(project.productionDeployment?.id).toBe('dpl_blue_v1');
    expect(project.lastAliasRequest).toMatchObject({ type: 'rollback', jobStatus: 'succeeded' });
    const mark = lastSeq();
    expect(await vm.restore(live.snapshot, 'again')).toEqual({
      changed: false,
      what: 'dpl_blue_v1 already serves production',
    });
    expect(mutations(mark)).toEqual([]);
  });

  it('describes production as the project’s production deployment, and retires nothing', async () => {
    const mark = lastSeq();
    const view = await vm.describeProduction();
    expect(view).toMatchObject({ kind: 'vercel', blue: { id: 'dpl_blue_v1' } });
    expect(view.slots).toBeUndefined();
    expect(await vm.retireBlue({ kind: 'vercel', productionDeploymentId: 'dpl_blue_v1' })).toEqual({
      ok: true,
      what: 'Vercel keeps dpl_blue_v1 as the instant-rollback target',
    });
    expect(mutations(mark)).toEqual([]);
  });

  it('refuses a Cloudflare snapshot', async () => {
    await expect(
      vm.restore(
        {
          kind: 'cloudflare',
          loadBalancerId: 'x',
          poolWeights: {},
          defaultPools: [],
          fallbackPool: 'a',
          livePool: 'a',
          slots: {},
        },
        'x',
      ),
    ).rejects.toThrow(/cannot be applied with traffic-manager: vercel/);
  });
});
