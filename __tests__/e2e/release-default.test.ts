/**
 * End to end: the `default` scenario deploys v2 blue-green through Cloudflare. Afterwards,
 * in the sandbox: production (the load balancer proxy) serves v2, the run's one GitHub deployment
 * is `success` with the rollback target in its payload, the PR comment carries both the go/no-go
 * and the smoke report, the build log was streamed fenced, and every API request the action sent
 * matches the official specs.
 *
 * Dist: `PD_DIST_DIR` (a private bundle, `node scripts/bundle.mjs --out DIR`), else `dist/`.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../sandbox/index.ts';
import { runAction, type ActionRun } from './harness.ts';
import { ourRecords, poolOf, productionVersions, sandboxState, specProblems } from './release-support.ts';

const DIST = process.env.PD_DIST_DIR ?? 'dist';
const RUN_SHA = 'c063502a72638f829a159c1a27c08e9dc9ef1993';
let sb: Sandbox;
let run: ActionRun;

beforeAll(async () => {
  sb = await startSandbox({ scenario: 'default' });
  run = await runAction({ entry: join(DIST, 'index.js'), env: sb.env, timeoutMs: 180_000 });
}, 240_000);
afterAll(async () => sb?.stop());

describe('default: blue-green through Cloudflare', () => {
  it('succeeds, naming green and blue in the outputs', () => {
    expect(run.code, `${run.stdout.slice(-4000)}\n${run.stderr}`).toBe(0);
    expect(run.outputs.status).toBe('success');
    expect(run.outputs['deployment-id']).toMatch(/^dpl_/);
    expect(run.outputs['previous-deployment-id']).toMatch(/^dpl_/);
    expect(run.outputs['deployment-id']).not.toBe(run.outputs['previous-deployment-id']);
    for (const step of ['deploy', 'smoke', 'traffic']) {
      expect(run.report!.steps.find((s) => s.name === step)?.status, step).toBe('passed');
    }
  });

  it('production serves v2 through the load balancer proxy, from the green slot', async () => {
    expect(await productionVersions(sb)).toEqual({ v2: 20 });
    const st = await sandboxState(sb);
    const green = st.vercel.deployments.find((d: { id: string }) => d.id === run.outputs['deployment-id']);
    expect(green.version).toBe('v2');
    expect(green.meta).toMatchObject({
      githubCommitSha: RUN_SHA,
      githubRunId: '1658821493',
      githubRunAttempt: '1',
      productionDeploy: 'true',
    });
    // Staged without production domains: the production domain never moved (Cloudflare moved traffic).
    expect(green.aliases).toEqual(['green.example.com']);
    expect(st.vercel.aliases['www.example.com']).toBe(run.outputs['previous-deployment-id']);
    const [lb] = st.cloudflare.loadBalancers;
    const greenPool = poolOf(st, 'green.example.com');
    expect(lb.pool_weights[greenPool]).toBe(1);
    expect(lb.fallback_pool).toBe(greenPool);
  });

  it('records one GitHub deployment, success, whose payload holds what a rollback needs', async () => {
    const deployments = ourRecords(await sandboxState(sb));
    expect(deployments).toHaveLength(1);
    const d = deployments[0]!;
    expect(String(d.id)).toBe(run.outputs['github-deployment-id']);
    expect(d.sha).toBe(RUN_SHA);
    expect(d.environment).toBe('production');
    expect(d.payload).toMatchObject({
      kind: 'deploy',
      runId: '1658821493',
      runAttempt: 1,
      strategy: 'blue-green',
      trafficManager: 'cloudflare',
      green: { id: run.outputs['deployment-id'] },
      blue: { id: run.outputs['previous-deployment-id'] },
      trafficBefore: { kind: 'cloudflare', slots: expect.any(Object), poolWeights: expect.any(Object) },
      backup: { key: run.outputs['backup-key'], sha256: run.outputs['backup-sha256'] },
    });
    const before = d.payload.trafficBefore;
    expect(before.slots[before.livePool]).toMatchObject({
      hostname: 'blue.example.com',
      deploymentId: run.outputs['previous-deployment-id'],
    });
    expect(before.poolWeights[before.livePool]).toBe(1);
    const states = d.statuses.map((s) => s.state);
    expect(states[0]).toBe('in_progress');
    expect(d.statuses[0]!.logUrl).toMatch(/\/actions\/runs\/1658821493$/);
    expect(states.at(-1)).toBe('success');
  });

  it('the PR comment carries the go/no-go report and the smoke report', async () => {
    const comments = (await sandboxState(sb)).github.comments as { issue: number; body: string }[];
    expect(comments).toHaveLength(1);
    const body = comments[0]!.body;
    expect(body).toContain('production-deploy:section:preflight:start');
    expect(body).toContain('production-deploy:section:smoke:start');
    expect(body).toContain('**Smoke tests: 1/1 checks passed**');
    expect(body).toMatch(/\| ✅ \| GET \/api\/health \| `GET \/api\/health` \| 3\/3 \|/);
  });

  it('streams the build log fenced, so it can never become a workflow command', () => {
    const lines = run.stdout.split('\n');
    const at = lines.findIndex((l) => l.includes('Building sandbox shop v2'));
    expect(at).toBeGreaterThan(0);
    const open = lines
      .slice(0, at)
      .reverse()
      .find((l) => l.startsWith('::stop-commands::'));
    expect(open).toBeDefined();
    const token = open!.slice('::stop-commands::'.length);
    expect(lines.slice(at).some((l) => l === `::${token}::`)).toBe(true);
  });

  it('sent only requests that match the official specs', async () => {
    expect(await specProblems(sb.world.traffic.requests)).toBe('');
    const api = sb.world.traffic.requests;
    const creates = api.filter((r) => r.service === 'vercel' && r.method === 'POST' && r.path === '/v13/deployments');
    expect(creates.map((r) => (r.body as Record<string, unknown>).target)).toContain('production');
    expect(creates.every((r) => (r.body as Record<string, unknown>).autoAssignCustomDomains === false)).toBe(true);
  });
});
