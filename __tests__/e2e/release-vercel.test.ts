/**
 * End to end, `traffic-manager: vercel`: green is staged without the production domain,
 * smoke-tested, then promoted in one move (Vercel moves every production domain, no rebuild) and
 * followed until the project's `lastAliasRequest` succeeds. Production here is Cloudflare proxying
 * the project's production domain (both pools reach `www.example.com`), so what users see follows
 * the promote and nothing on Cloudflare is changed.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarioFrom, startSandbox, type Sandbox } from '../../sandbox/index.ts';
import { runAction, type ActionRun } from './harness.ts';
import { ourRecords, productionVersions, sandboxState, specProblems, type SandboxState } from './release-support.ts';

const DIST = process.env.PD_DIST_DIR ?? 'dist';
let sb: Sandbox;
let run: ActionRun;
let state: SandboxState;
let v1: string;

beforeAll(async () => {
  sb = await startSandbox({
    scenario: scenarioFrom({
      name: 'vercel-promote-inline',
      cloudflare: {
        pools: [
          { name: 'edge-a', origins: [{ header: { Host: ['www.example.com'] } }] },
          { name: 'edge-b', origins: [{ header: { Host: ['www.example.com'] } }] },
        ],
      },
      inputs: { 'traffic-manager': 'vercel' },
    }),
  });
  v1 = (await sandboxState(sb)).vercel.projects[0].servingProduction;
  run = await runAction({ entry: join(DIST, 'index.js'), env: sb.env, timeoutMs: 180_000 });
  state = await sandboxState(sb);
}, 240_000);
afterAll(async () => sb?.stop());

describe('traffic-manager: vercel', () => {
  it('succeeds, with green promoted and production serving v2', async () => {
    expect(run.code, `${run.stdout.slice(-4000)}\n${run.stderr}`).toBe(0);
    expect(run.outputs.status).toBe('success');
    expect(run.outputs['previous-deployment-id']).toBe(v1);
    const [project] = state.vercel.projects;
    expect(project.servingProduction).toBe(run.outputs['deployment-id']);
    expect(project.lastAliasRequest).toMatchObject({
      type: 'promote',
      jobStatus: 'succeeded',
      toDeploymentId: run.outputs['deployment-id'],
    });
    expect(state.vercel.aliases['www.example.com']).toBe(run.outputs['deployment-id']);
    expect(await productionVersions(sb)).toEqual({ v2: 20 });
  });

  it('promoted once, after the smoke test, and never touched Cloudflare', () => {
    const api = sb.world.traffic.requests;
    const promotes = api.filter(
      (r) => r.service === 'vercel' && r.method === 'POST' && /^\/v10\/projects\/[^/]+\/promote\//.test(r.path),
    );
    expect(promotes.map((r) => r.path)).toEqual([
      `/v10/projects/prj_sandboxshop/promote/${run.outputs['deployment-id']}`,
    ]);
    expect(api.filter((r) => r.service === 'cloudflare' && r.method !== 'GET')).toEqual([]);
    const traffic = run.report!.steps.find((s) => s.name === 'traffic')!;
    expect(traffic.status).toBe('passed');
    expect(traffic.reason).toMatch(/serves production: 100% \(measured 100%\)/);
  });

  it('recorded the Vercel production deployment as the state to restore', () => {
    const [record] = ourRecords(state);
    expect(record!.payload.trafficBefore).toEqual({ kind: 'vercel', productionDeploymentId: v1 });
    expect(record!.payload.trafficManager).toBe('vercel');
    expect(record!.statuses.at(-1)!.state).toBe('success');
  });

  it('sent only requests that match the official specs', async () => {
    expect(await specProblems(sb.world.traffic.requests)).toBe('');
  });
});
