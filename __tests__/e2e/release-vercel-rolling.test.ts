/**
 * End to end, a canary without a load balancer (issue 17): `traffic-manager: vercel` with
 * `strategy: canary` runs a Vercel Rolling Release whose manual-approval stages are `traffic-steps`;
 * the action approves a stage only after the analysis of the one before passed, completes at 100 %,
 * and on a breach aborts it (Instant Rollback to blue). Cloudflare here only proxies the production
 * domain (both pools reach `www.example.com`); the split is Vercel's (sandbox/services/vercel-rolling.ts).
 *
 * Blue and green fail 1 % of requests; green is judged against blue on release-scoped counts.
 * - A good release reaches 100 % with each stage analysed, production on v2.
 * - A release 8 × worse is rolled back at its first stage; production serves v1.
 * - A run cancelled mid-rollout is put back on blue by the post step.
 * - Each time the project's own rolling-release config is as it was before the run.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarioFrom, startSandbox, type Sandbox } from '../../sandbox/index.ts';
import type { RunState } from '../../src/pipeline/types.ts';
import { runAction, startAction, type ActionRun } from './harness.ts';
import { ourRecords, productionVersions, sandboxState, specProblems, type SandboxState } from './release-support.ts';

const DIST = process.env.PD_DIST_DIR ?? 'dist';
const V1_SHA = '4c60a8b4d322696fd694f86492b603349eb97cca';
const REQUESTS = 'sum:trace.http.request.hits{env:production,service:shop,version:{{version}}}.as_count()';
const ERRORS = 'sum:trace.http.request.errors{env:production,service:shop,version:{{version}}}.as_count()';
/** The project's own config before the run: automatic, 5 % for 10 minutes. */
const OWN_CONFIG = {
  target: 'production',
  advancementType: 'automatic',
  stages: [{ targetPercentage: 5, duration: 10 }, { targetPercentage: 100 }],
};

function scenario(name: string, app: string, inputs: Record<string, string> = {}) {
  const base = scenarioFrom({});
  return scenarioFrom({
    name,
    deploy: { version: app },
    vercel: {
      project: { rollingRelease: OWN_CONFIG },
      deployments: [
        { app: 'v1-1pct', production: true, aliases: ['blue.example.com'], meta: { githubCommitSha: V1_SHA } },
      ],
    },
    cloudflare: {
      pools: [
        { name: 'edge-a', origins: [{ header: { Host: ['www.example.com'] } }] },
        { name: 'edge-b', origins: [{ header: { Host: ['www.example.com'] } }] },
      ],
    },
    datadog: { ...base.datadog, ingestionDelayMs: 0 },
    inputs: {
      'traffic-manager': 'vercel',
      strategy: 'canary',
      'traffic-steps': '50,100',
      'smoke-tests': '- name: health\n  path: /api/health\n  status: 200\n',
      'performance-threshold-ms': '5000',
      'step-duration': '12s',
      'validation-window': '3s',
      'validation-interval': '1s',
      'evaluation-delay': '1s',
      'request-count-query': REQUESTS,
      'error-count-query': ERRORS,
      'comparison-margin': '0.015',
      'relative-margin': '0',
      'min-requests': '40',
      'error-rate-threshold': '0.15',
      'error-rate-query': '',
      'latency-query': '',
      ...inputs,
    },
    traffic: { rate: 200, paths: ['/', '/api/products'] },
  });
}

const why = (run: ActionRun) => `${run.stdout.slice(-5000)}\n${run.stderr}`;
type Project = {
  servingProduction: string;
  rollingReleaseConfig: unknown;
  rollingRelease: { state: string; canaryDeploymentId: string; activeStage: number } | null;
  skewProtectionBoundaryAt: number | null;
};
const sandboxes: Sandbox[] = [];
afterAll(async () => {
  await Promise.all(sandboxes.map((sb) => sb.stop()));
});

async function deploy(
  app: string,
): Promise<{ sb: Sandbox; run: ActionRun; before: Project; after: Project; state: SandboxState }> {
  const sb = await startSandbox({ scenario: scenario(`rolling-${app}`, app) });
  sandboxes.push(sb);
  const before = (await sandboxState(sb)).vercel.projects[0] as Project;
  const run = await runAction({ entry: join(DIST, 'index.js'), env: sb.env, timeoutMs: 240_000 });
  const state = await sandboxState(sb);
  return { sb, run, before, after: state.vercel.projects[0] as Project, state };
}

const calls = (sb: Sandbox, method: string, re: RegExp) =>
  sb.world.traffic.requests.filter((r) => r.service === 'vercel' && r.method === method && re.test(r.path));

// The good and the bad release run side by side (each in its own sandbox): most of a run is waiting.
let g: Awaited<ReturnType<typeof deploy>>;
let b: Awaited<ReturnType<typeof deploy>>;
beforeAll(async () => {
  [g, b] = await Promise.all([deploy('v2-1pct'), deploy('v2-8pct')]);
}, 300_000);

describe('a good canary through Vercel Rolling Releases', () => {
  it('reaches 100 % with the stage analysed, and production serves v2', async () => {
    expect(g.run.code, why(g.run)).toBe(0);
    expect(g.run.outputs.status).toBe('success');
    const green = g.run.outputs['deployment-id'];
    expect(g.after.servingProduction).toBe(green);
    expect(g.after.rollingRelease).toMatchObject({ state: 'COMPLETE', canaryDeploymentId: green });
    const traffic = g.run.report!.steps.find((s) => s.name === 'traffic')!;
    expect(traffic.status, traffic.reason).toBe('passed');
    expect(traffic.reason).toMatch(/50% \(measured \d+%\) → 100% \(measured 100%\)/);
    const history = (traffic.details as { weightHistory: { share: number; routing: string; analysis?: string }[] })
      .weightHistory;
    expect(history[0]).toMatchObject({ share: 50, routing: expect.stringContaining('rolling release started') });
    expect(history[0].analysis).toBeTruthy();
    expect(history[1].routing).toContain('rolling release completed');
    expect(await productionVersions(g.sb, 10)).toEqual({ v2: 10 });
  });

  it('drove the release through the API: config, promote, complete; never approved past a stage', () => {
    expect(calls(g.sb, 'PATCH', /rolling-release\/config$/).map((r) => (r.body as { stages: unknown }).stages)).toEqual(
      [[{ targetPercentage: 50 }, { targetPercentage: 100 }], OWN_CONFIG.stages],
    );
    expect(calls(g.sb, 'POST', /\/promote\//)).toHaveLength(1);
    expect(calls(g.sb, 'POST', /rolling-release\/complete$/)).toHaveLength(1);
    expect(calls(g.sb, 'POST', /rolling-release\/approve-stage$/)).toHaveLength(0);
  });

  it("recorded the project's rolling-release config before the run and left it as it was", () => {
    expect(g.after.rollingReleaseConfig).toEqual(g.before.rollingReleaseConfig);
    const [record] = ourRecords(g.state);
    expect(record!.payload.trafficBefore).toMatchObject({
      kind: 'vercel',
      productionDeploymentId: g.before.servingProduction,
      rollingReleaseConfig: {
        target: 'production',
        stages: [{ targetPercentage: 5, duration: 10 }, { targetPercentage: 100 }],
      },
    });
  });

  it('sent only requests that match the official specs', async () => {
    expect(await specProblems(g.sb.world.traffic.requests)).toBe('');
  });
});

describe('a release 8 × worse than blue', () => {
  it('is rolled back at its first stage and production serves v1', async () => {
    expect(b.run.code, why(b.run)).not.toBe(0);
    expect(b.run.outputs.status).toBe('rolled-back');
    const traffic = b.run.report!.steps.find((s) => s.name === 'traffic')!;
    expect(traffic.status).toBe('failed');
    expect(traffic.reason).toContain('50%');
    const green = b.run.outputs['deployment-id'];
    expect(b.after.rollingRelease).toMatchObject({ state: 'ABORTED', canaryDeploymentId: green, activeStage: 50 });
    expect(b.after.servingProduction).toBe(b.before.servingProduction);
    expect(calls(b.sb, 'POST', /rolling-release\/(approve-stage|complete)$/)).toHaveLength(0);
    const since = Date.now();
    expect(await productionVersions(b.sb, 20)).toEqual({ v1: 20 });
    // Every visitor is back on blue: what the traffic stream got since the run ended.
    await new Promise((r) => setTimeout(r, 500));
    const served = b.sb.world.hits.filter((h) => h.time > since && h.version);
    expect(served.length).toBeGreaterThan(0);
    expect(new Set(served.map((h) => h.version))).toEqual(new Set(['v1']));
  });

  it('released clients pinned to green and put the config back', () => {
    expect(b.after.skewProtectionBoundaryAt).toBeGreaterThan(0);
    expect(b.after.rollingReleaseConfig).toEqual(b.before.rollingReleaseConfig);
  });
});

describe('a run cancelled mid-rollout, then the post step', () => {
  let sb: Sandbox;
  let main: ActionRun;
  let post: ActionRun;
  let before: Project;
  let mid: Project;
  let after: Project;
  beforeAll(async () => {
    sb = await startSandbox({ scenario: scenario('rolling-cancel', 'v2-1pct', { 'step-duration': '30s' }) });
    sandboxes.push(sb);
    before = (await sandboxState(sb)).vercel.projects[0] as Project;
    const action = startAction({ entry: join(DIST, 'index.js'), env: sb.env, timeoutMs: 180_000 });
    await action.waitForLine(/Rolling release of \S+ started/, 150_000);
    await new Promise((r) => setTimeout(r, 1500));
    mid = (await sandboxState(sb)).vercel.projects[0] as Project;
    action.kill('SIGINT');
    main = await action.result;
    post = await runAction({ entry: join(DIST, 'post.js'), env: sb.env, stateFrom: main, timeoutMs: 120_000 });
    after = (await sandboxState(sb)).vercel.projects[0] as Project;
  }, 240_000);

  it('left an active release and the recorded config in the run state', () => {
    expect(main.code).not.toBe(0);
    expect(mid.rollingRelease).toMatchObject({ state: 'ACTIVE', activeStage: 50 });
    const saved = JSON.parse(main.state.run!) as RunState;
    expect(saved.phase).toBe('switching');
    expect(saved.trafficBefore).toMatchObject({ kind: 'vercel', rollingReleaseConfig: { target: 'production' } });
  });

  it('the post step aborts the release: production on v1, the config as before', async () => {
    expect(post.code, `${post.stdout.slice(-3000)}\n${post.stderr}`).toBe(0);
    expect(after.rollingRelease).toMatchObject({
      state: 'ABORTED',
      canaryDeploymentId: mid.rollingRelease!.canaryDeploymentId,
    });
    expect(after.servingProduction).toBe(before.servingProduction);
    expect(await productionVersions(sb)).toEqual({ v1: 20 });
    expect(after.rollingReleaseConfig).toEqual(before.rollingReleaseConfig);
    expect(post.summary).toContain('blue restored');
  });
});
