/**
 * Step 7's tasks (src) against the sandbox's GitHub, Cloudflare, Datadog and Vercel miniatures, each
 * checked in the sandbox state afterwards. The whole action (dist) is exercised by validate-deploy.test.ts.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarioFrom, startSandbox, type Sandbox } from '../../sandbox/index.ts';
import { fromEnv, parseConfig } from '../../src/config/index.ts';
import type { Config } from '../../src/config/types.ts';
import { finishRun } from '../../src/pipeline/close-run.ts';
import type { Logger, RunState } from '../../src/pipeline/types.ts';
import { createProviders, type Providers } from '../../src/providers/index.ts';
import { PAYLOAD_TOOL } from '../../src/records/payload.ts';
import { createTrafficManager } from '../../src/traffic/index.ts';
import {
  finishRecord,
  pruneDeployments,
  recordInDatadog,
  retireBlue,
  whatShipped,
} from '../../src/steps/cleanup/tasks.ts';

const V1_SHA = '4c60a8b4d322696fd694f86492b603349eb97cca';
const RUN_SHA = 'c063502a72638f829a159c1a27c08e9dc9ef1993';
let sb: Sandbox;
let config: Config;
let providers: Providers;
const lines: string[] = [];
const log: Logger = {
  info: (m) => lines.push(m),
  warning: (m) => lines.push(m),
  error: (m) => lines.push(m),
  debug: () => {},
  untrusted: (m) => lines.push(m),
};

beforeAll(async () => {
  sb = await startSandbox({
    scenario: scenarioFrom({
      vercel: {
        deployments: [
          { id: 'dpl_old3', app: 'v1', ageSeconds: 40_000 },
          { id: 'dpl_old2', app: 'v1', ageSeconds: 30_000 },
          { id: 'dpl_old1', app: 'v1', ageSeconds: 20_000 },
          { id: 'dpl_blue', app: 'v1', ageSeconds: 10_000, meta: { githubCommitSha: V1_SHA } },
          { id: 'dpl_green', app: 'v1', production: true, aliases: ['blue.example.com'], ageSeconds: 100 },
        ],
      },
      traffic: { rate: 0 },
    }),
  });
  const env = { ...sb.env, 'INPUT_KEEP-DEPLOYMENTS': '1' };
  config = parseConfig(fromEnv(env, { readFile: (f) => fs.readFileSync(f, 'utf8') }));
  providers = createProviders(config, log, new AbortController().signal);
});
afterAll(async () => sb?.stop());

async function state(): Promise<Record<string, unknown>> {
  return (await (await fetch(`${sb.urls.sandbox}/_sandbox/state`)).json()) as Record<string, unknown>;
}

function payload(runId: string, green: string, blue?: string) {
  return {
    tool: PAYLOAD_TOOL,
    version: 1,
    kind: 'deploy',
    runId,
    runAttempt: 1,
    runUrl: 'https://github.com/acme/shop/actions/runs/1',
    sha: RUN_SHA,
    environment: 'production',
    strategy: 'blue-green',
    trafficManager: 'cloudflare',
    green: { id: green, url: `${green}.example` },
    ...(blue ? { blue: { id: blue, url: `${blue}.example` } } : {}),
  } as Record<string, unknown> & { runId: string; runAttempt: number };
}

const base: RunState = { phase: 'validated', mode: 'deploy', environment: 'production', sha: RUN_SHA };

describe('cleanup tasks against the sandbox', () => {
  it('what shipped: the commits and PRs between the live commit and green (blue sha from the records)', async () => {
    const r = await whatShipped(providers.github, config, {
      ...base,
      green: { id: 'dpl_green', url: 'x', sha: RUN_SHA },
    });
    expect(r.check.status).toBe('pass');
    expect(r.shipped?.base).toBe(V1_SHA);
    // The PR's own commit comes in through the merge, as on GitHub.
    expect(r.shipped?.commits.map((c) => c.sha.slice(0, 7))).toEqual(['306866b', 'e42680a', 'c063502']);
    expect(r.shipped?.pulls).toEqual([{ number: 42 }]);
    expect(r.check.reason).toBe('3 commit(s) from 4c60a8b to c063502, PRs #42');
    expect(r.shipped?.compareUrl).toBe(`${config.run.serverUrl}/acme/shop/compare/${V1_SHA}...${RUN_SHA}`);
  });

  it('retire blue: green’s pool becomes the fallback pool, blue’s pool keeps weight 0', async () => {
    const manager = createTrafficManager(config, providers, log);
    const live = await manager.readLive();
    expect(live.snapshot.kind).toBe('cloudflare');
    if (live.snapshot.kind !== 'cloudflare') return;
    const bluePool = live.snapshot.livePool;
    const greenPool = Object.keys(live.snapshot.slots).find((p) => p !== bluePool)!;
    // The switch the traffic step would have made: all of production on green's pool.
    await manager.setGreenShare(100, { id: 'dpl_green', url: 'x' }, live.snapshot);
    const check = await retireBlue(manager, { ...base, trafficBefore: live.snapshot, blue: live.blue });
    expect(check.status, check.reason).toBe('pass');
    const lb = await providers.cloudflare!.getLoadBalancer();
    expect(lb.fallback_pool).toBe(greenPool);
    expect(lb.random_steering?.pool_weights?.[bluePool]).toBe(0);
    // A second run changes nothing and still passes.
    expect((await retireBlue(manager, { ...base, trafficBefore: live.snapshot })).status).toBe('pass');
    // Put production back for the other tests.
    await manager.restore(live.snapshot, 'test done');
  });

  it('GitHub: this run’s record becomes success with the environment URL; the previous one inactive', async () => {
    const gh = providers.github;
    const previous = await gh.createDeployment({
      ref: 'main',
      sha: RUN_SHA,
      environment: 'production',
      description: 'prev',
      payload: payload('100', 'dpl_blue'),
    });
    await gh.createDeploymentStatus(previous.id, { state: 'success' });
    const ours = await gh.createDeployment({
      ref: 'main',
      sha: RUN_SHA,
      environment: 'production',
      description: 'ours',
      payload: payload('200', 'dpl_green', 'dpl_blue'),
    });
    await gh.createDeploymentStatus(ours.id, { state: 'in_progress' });
    const shipped = { commits: [], pulls: [{ number: 42 }], total: 2, compareUrl: '', base: V1_SHA, head: RUN_SHA };
    const check = await finishRecord(gh, config, { ...base, githubDeploymentId: ours.id }, shipped);
    expect(check.status, check.reason).toBe('pass');
    const [latest] = await gh.listDeploymentStatuses(ours.id);
    expect(latest).toMatchObject({
      state: 'success',
      environmentUrl: config.productionUrl,
      description: 'Live: c063502, 2 new commits; PRs #42',
    });
    expect((await gh.listDeploymentStatuses(previous.id))[0]!.state).toBe('inactive');
  });

  it('Datadog: a deployment event and a DORA deployment (service, env, version = commit, start and finish)', async () => {
    const started = Date.now() - 30_000;
    const check = await recordInDatadog(
      providers.datadog,
      config,
      { ...base, green: { id: 'dpl_green', url: 'x', sha: RUN_SHA } },
      started,
      undefined,
    );
    expect(check.status, check.reason).toBe('pass');
    const dd = (await state()).datadog as {
      events: Record<string, unknown>[];
      doraDeployments: Record<string, unknown>[];
    };
    expect(dd.events.at(-1)).toMatchObject({
      title: 'Deployed acme/shop@c063502 to production',
      alert_type: 'success',
    });
    expect(dd.events.at(-1)!.tags).toContain(`version:${RUN_SHA}`);
    const dora = dd.doraDeployments.at(-1)!;
    expect(dora).toMatchObject({ service: 'shop', env: 'production', version: RUN_SHA, started_at: started });
    expect(dora.finished_at as number).toBeGreaterThanOrEqual(started);
    expect(dora.git).toEqual({ commit_sha: RUN_SHA, repository_url: `${config.run.serverUrl}/acme/shop` });
    expect(String(dora.id)).toMatch(/^production-deploy:acme\.shop:production:\d+\.1$/);
  });

  it('keep-deployments 1: deletes older production deployments, never blue nor one a record points to', async () => {
    const gh = providers.github;
    // A record still "current" for dpl_old2 (another tool's run left it in progress).
    const held = await gh.createDeployment({
      ref: 'main',
      sha: RUN_SHA,
      environment: 'production',
      description: 'held',
      payload: payload('300', 'dpl_old2'),
    });
    await gh.createDeploymentStatus(held.id, { state: 'in_progress' });
    const check = await pruneDeployments(
      providers.vercel,
      gh,
      config,
      {
        ...base,
        green: { id: 'dpl_green', url: 'x' },
        blue: { id: 'dpl_blue', url: 'y' },
      },
      log,
    );
    expect(check.status, check.reason).toBe('pass');
    expect(check.details).toMatchObject({ deleted: ['dpl_old3'] });
    const vercel = (await state()).vercel as { deployments: { id: string; readyState: string }[] };
    const byId = Object.fromEntries(vercel.deployments.map((d) => [d.id, d.readyState]));
    expect(byId).toMatchObject({
      dpl_green: 'READY',
      dpl_blue: 'READY',
      dpl_old1: 'READY',
      dpl_old2: 'READY',
      dpl_old3: 'DELETED',
    });
  });
  it('a rolled-back run: its still-open record gets failure with the reason, once; Datadog gets an error event', async () => {
    const gh = providers.github;
    const rec = await gh.createDeployment({
      ref: 'main',
      sha: RUN_SHA,
      environment: 'production',
      description: 'rolled back',
      payload: payload('400', 'dpl_green', 'dpl_blue'),
    });
    await gh.createDeploymentStatus(rec.id, { state: 'in_progress' });
    const reason = 'Post-deployment validation failed: error rate 0.3 > 0.05 at 12:00:00';
    const st: RunState = {
      ...base,
      phase: 'rolled-back',
      githubDeploymentId: rec.id,
      green: { id: 'dpl_green', url: 'x' },
      blue: { id: 'dpl_blue', url: 'y' },
    };
    await finishRun({ config, providers, state: st, final: { status: 'rolled-back', reason }, log });
    const statuses = await gh.listDeploymentStatuses(rec.id);
    expect(statuses[0]).toMatchObject({ state: 'failure' });
    expect(statuses[0]!.description).toBe(`Rolled back: ${reason}`.slice(0, 140));
    // Already closed: a second call adds nothing.
    await finishRun({ config, providers, state: st, final: { status: 'rolled-back', reason }, log });
    expect(await gh.listDeploymentStatuses(rec.id)).toHaveLength(statuses.length);
    const ev = (await state()).datadog as { events: { title: string; text: string; alert_type: string }[] };
    const last = ev.events.at(-1)!;
    expect(last.alert_type).toBe('error');
    expect(last.title).toBe('Rolled back acme/shop production: c063502 did not hold');
    expect(last.text).toContain(reason);
  });
});
