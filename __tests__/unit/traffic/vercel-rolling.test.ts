/**
 * The Rolling Releases traffic manager against the sandbox's Vercel miniature (real HTTP): the
 * pre-flight refusal of a Hobby team before anything moves, a release driven stage by stage to
 * completion with the project's config put back, an abort by restore (idempotent), a foreign
 * release refused, and rollback mode aborting a release left active.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Traffic, type RunningService } from '../../../sandbox/core/service.ts';
import type { World } from '../../../sandbox/core/world.ts';
import { vercelState } from '../../../sandbox/services/vercel-state.ts';
import { startVercel } from '../../../sandbox/services/vercel.ts';
import type { Logger, TrafficSnapshot } from '../../../src/pipeline/types.ts';
import { VercelApi } from '../../../src/providers/vercel-api.ts';
import { checkRollingReleases, VercelRollingTrafficManager } from '../../../src/traffic/vercel-rolling.ts';

const TOKEN = 'rolling-test-token';
const quiet: Logger = { info: () => {}, warning: () => {}, error: () => {}, debug: () => {}, untrusted: () => {} };
const OWN = {
  target: 'production' as const,
  advancementType: 'automatic' as const,
  stages: [{ targetPercentage: 20, duration: 5 }, { targetPercentage: 100 }],
};

let world: World;
const services: RunningService[] = [];
let vercel: VercelApi;
let manager: VercelRollingTrafficManager;
const project = () => [...vercelState(world).projects.values()][0]!;
const mutations = (from: number) =>
  world.traffic.requests.filter((r) => r.seq > from && r.method !== 'GET').map((r) => `${r.method} ${r.path}`);
const lastSeq = () => world.traffic.requests.at(-1)?.seq ?? 0;

beforeAll(async () => {
  world = {
    traffic: new Traffic(),
    urls: {},
    hits: [],
    state: {},
    events: new EventEmitter(),
    dir: fs.mkdtempSync(path.join(os.tmpdir(), 'rolling-manager-')),
  };
  services.push(
    await startVercel(world, {
      token: TOKEN,
      aliasDelayMs: 60,
      project: { rollingRelease: OWN },
      deployments: [
        { id: 'dpl_blue', app: 'v1', production: true },
        { id: 'dpl_green', app: 'v2' },
        { id: 'dpl_other', app: 'v2' },
      ],
    }),
  );
  vercel = new VercelApi({
    token: TOKEN,
    teamId: 'team_sandbox',
    apiUrl: world.urls.vercel!,
    timeoutMs: 5000,
    retry: { retries: 1, baseDelayMs: 50, maxDelayMs: 100, maxRetryAfterMs: 1000 },
  });
  manager = new VercelRollingTrafficManager({
    vercel,
    projectId: 'prj_sandboxshop',
    aliasTimeoutMs: 5000,
    steps: [25, 60, 100],
    log: quiet,
  });
});
afterAll(async () => {
  await Promise.all(services.map((s) => s.close()));
  fs.rmSync(world.dir, { recursive: true, force: true });
});

const ref = (id: string) => ({ id, url: '' });
const green = ref('dpl_green');

describe('a Hobby team', () => {
  it('is refused by pre-flight and by prepareGreen, naming the setting, before anything moves', async () => {
    project().plan = 'hobby';
    const from = lastSeq();
    try {
      const [row] = await checkRollingReleases(vercel, 'prj_sandboxshop');
      expect(row).toMatchObject({ status: 'fail' });
      expect(row!.reason).toMatch(/Pro or Enterprise.*strategy: blue-green, or traffic-manager: cloudflare/);
      await expect(manager.prepareGreen(green, await manager.snapshot())).rejects.toThrow(/plan_not_supported/);
      expect(mutations(from)).toEqual([]);
    } finally {
      project().plan = 'pro';
    }
  });
});

describe('a release driven to completion', () => {
  let snapshot: TrafficSnapshot;
  it("records the project's own config with production", async () => {
    const live = await manager.readLive();
    snapshot = live.snapshot;
    expect(snapshot).toEqual({
      kind: 'vercel',
      productionDeploymentId: 'dpl_blue',
      rollingReleaseConfig: { target: 'production', stages: OWN.stages },
    });
    expect(live.strayShare).toBe(0);
    expect((await checkRollingReleases(vercel, 'prj_sandboxshop'))[0]).toMatchObject({ status: 'pass' });
  });

  it('starts at the first step, approves the next, completes at 100 % and puts the config back', async () => {
    await manager.prepareGreen(green, snapshot);
    expect(await manager.setGreenShare(25, green, snapshot)).toMatch(/started .*green at 25%/);
    expect(project().rollingRelease).toMatchObject({
      state: 'ACTIVE',
      canaryDeploymentId: 'dpl_green',
      activeIndex: 0,
    });
    expect(project().rollingReleaseConfig?.advancementType).toBe('manual-approval');
    expect((await manager.readLive()).strayShare).toBe(25);
    expect(await manager.setGreenShare(25, green, snapshot)).toMatch(/already at 25%/);
    await expect(manager.setGreenShare(100, ref('dpl_other'), snapshot)).rejects.toThrow(/not ours/);
    expect(await manager.setGreenShare(60, green, snapshot)).toMatch(/stage 1 approved/);
    expect(await manager.setGreenShare(100, green, snapshot)).toMatch(/completed.*config put back/);
    expect(project().rollingRelease?.state).toBe('COMPLETE');
    expect(project().productionDeploymentId).toBe('dpl_green');
    expect(await vercel.getRollingReleaseConfig('prj_sandboxshop')).toEqual({
      target: 'production',
      stages: OWN.stages,
    });
    const from = lastSeq();
    expect((await manager.retireBlue(snapshot)).ok).toBe(true);
    expect(mutations(from)).toEqual([]);
  });
});

describe('restore during a release', () => {
  it('aborts it by Instant Rollback, puts the config back and unpins the canary; again changes nothing', async () => {
    // Production is dpl_green now; a release of dpl_other from a project with no config of its own.
    await vercel.deleteRollingReleaseConfig('prj_sandboxshop');
    const snapshot = await manager.snapshot();
    expect(snapshot).toMatchObject({ productionDeploymentId: 'dpl_green', rollingReleaseConfig: null });
    await manager.setGreenShare(25, ref('dpl_other'), snapshot);
    const done = await manager.restore(snapshot, 'test');
    expect(done.changed).toBe(true);
    expect(done.what).toMatch(
      /aborted by Instant Rollback to dpl_green.*Skew Protection.*config put back \(disabled\)/,
    );
    expect(project().rollingRelease?.state).toBe('ABORTED');
    expect(project().rollingReleaseConfig).toBeNull();
    expect(project().skewProtectionBoundaryAt).toBeGreaterThan(
      vercelState(world).deployments.get('dpl_other')!.createdAt,
    );
    const from = lastSeq();
    expect(await manager.restore(snapshot, 'again')).toMatchObject({ changed: false });
    expect(mutations(from)).toEqual([]);
  });
});

describe('rollback mode', () => {
  it('aborts a release this action left active, even when the target is its current deployment', async () => {
    project().autoAssignCustomDomains = true;
    const snapshot = await manager.snapshot();
    await manager.setGreenShare(25, ref('dpl_other'), snapshot);
    expect(project().rollingRelease?.state).toBe('ACTIVE');
    const what = await manager.moveTo(ref('dpl_green'), snapshot, 'rollback mode');
    expect(what).toMatch(/rolling release of dpl_other aborted/);
    expect(project().rollingRelease?.state).toBe('ABORTED');
    expect(project().productionDeploymentId).toBe('dpl_green');
  });
});

describe('rollback mode when Rolling Releases cannot be read', () => {
  it('is not blocked: it rolls back (aborting any release) and says what it could not read', async () => {
    const refused = () => Promise.reject(new Error('403 forbidden'));
    const api = Object.assign(Object.create(vercel) as VercelApi, {
      getRollingRelease: refused,
      getRollingReleaseConfig: refused,
    });
    const warnings: string[] = [];
    const emergency = new VercelRollingTrafficManager({
      vercel: api,
      projectId: 'prj_sandboxshop',
      aliasTimeoutMs: 5000,
      steps: [100],
      emergency: true,
      log: { ...quiet, warning: (m: string) => warnings.push(m) },
    });
    const live = await emergency.readLive();
    expect(live.snapshot).toEqual({ kind: 'vercel', productionDeploymentId: 'dpl_green' });
    expect(live.notes.join()).toMatch(/could not be read \(403 forbidden\)/);
    const what = await emergency.moveTo(ref('dpl_blue'), live.snapshot, 'emergency');
    expect(what).toMatch(/rolled back to dpl_blue .*any rolling release aborted/);
    expect(warnings.join()).toMatch(/rolling back anyway/);
    expect(project().productionDeploymentId).toBe('dpl_blue');
    // Outside rollback mode the same failure stops the run before anything moves.
    const strict = new VercelRollingTrafficManager({
      vercel: api,
      projectId: 'prj_sandboxshop',
      aliasTimeoutMs: 5000,
      steps: [50, 100],
      log: quiet,
    });
    await expect(strict.readLive()).rejects.toThrow(/403 forbidden/);
  });
});

describe('a restore whose production part fails', () => {
  it('still puts the config back, then throws the failure (the post step retries)', async () => {
    await vercel.updateRollingReleaseConfig('prj_sandboxshop', {
      enabled: true,
      advancementType: 'manual-approval',
      stages: [{ targetPercentage: 50 }, { targetPercentage: 100 }],
    });
    const snapshot: TrafficSnapshot = {
      kind: 'vercel',
      productionDeploymentId: 'dpl_blue',
      rollingReleaseConfig: { target: 'production', stages: OWN.stages },
    };
    const api = Object.assign(Object.create(vercel) as VercelApi, {
      getProject: () => Promise.reject(new Error('502 bad gateway')),
    });
    const m = new VercelRollingTrafficManager({
      vercel: api,
      projectId: 'prj_sandboxshop',
      aliasTimeoutMs: 5000,
      steps: [50, 100],
      log: quiet,
    });
    await expect(m.restore(snapshot, 'test')).rejects.toThrow(/502 bad gateway/);
    expect(await vercel.getRollingReleaseConfig('prj_sandboxshop')).toEqual({
      target: 'production',
      stages: OWN.stages,
    });
  });
});
