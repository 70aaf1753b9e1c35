/**
 * End to end, one sandbox and two attempts of the same workflow run:
 * 1. a canary whose second Cloudflare PATCH fails (503 through every retry): the switch stops at
 *    10 %, the load balancer is put back exactly as recorded, and the run ends `rolled-back`;
 * 2. the re-run (`GITHUB_RUN_ATTEMPT=2`) reuses attempt 1's green and GitHub deployment — no
 *    second Vercel or GitHub deployment — and takes production to v2.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarioFrom, startSandbox, type Sandbox } from '../../sandbox/index.ts';
import { runAction, type ActionRun } from './harness.ts';
import {
  ourRecords,
  poolOf,
  productionVersions,
  sandboxState,
  specProblems,
  weightHistory,
  type SandboxState,
} from './release-support.ts';

const DIST = process.env.PD_DIST_DIR ?? 'dist';
const LB_PATH = '/client/v4/zones/*/load_balancers/*';
let sb: Sandbox;
let first: ActionRun;
let afterFirst: SandboxState;

beforeAll(async () => {
  sb = await startSandbox({
    scenario: scenarioFrom({
      name: 'fault-second-patch-inline',
      inputs: { strategy: 'canary', 'traffic-steps': '10,50,100', 'step-duration': '2s' },
      // The first PATCH (10 %) goes through; the second (50 %) fails, and so do its 3 retries.
      faults: [
        {
          service: 'cloudflare',
          method: 'PATCH',
          path: LB_PATH,
          after: 1,
          times: 4,
          status: 503,
          body: { success: false, errors: [{ code: 1000, message: 'fault' }], messages: [], result: null },
        },
      ],
    }),
  });
  first = await runAction({ entry: join(DIST, 'index.js'), env: sb.env, timeoutMs: 180_000 });
  afterFirst = await sandboxState(sb);
}, 240_000);
afterAll(async () => sb?.stop());

describe('attempt 1: the second Cloudflare PATCH fails', () => {
  it('ends rolled-back, naming the failed step', () => {
    expect(first.code, `${first.stdout.slice(-4000)}\n${first.stderr}`).not.toBe(0);
    expect(first.outputs.status).toBe('rolled-back');
    expect(first.outputs['rolled-back']).toBe('true');
    const traffic = first.report!.steps.find((s) => s.name === 'traffic')!;
    expect(traffic.status).toBe('failed');
    expect(traffic.reason).toMatch(/Cloudflare patchLoadBalancer failed: HTTP 503.*\(green at 10%\)/);
    expect(first.report!.decisions.map((d) => d.decision).join('\n')).toMatch(/restore finished in \d+ ms/);
  });

  it('put the load balancer back exactly as recorded, and production serves v1', async () => {
    const [record] = ourRecords(afterFirst);
    const before = record!.payload.trafficBefore;
    const [lb] = afterFirst.cloudflare.loadBalancers;
    expect(lb.pool_weights).toEqual(before.poolWeights);
    expect(lb.fallback_pool).toBe(before.fallbackPool);
    expect(lb.default_pools).toEqual(before.defaultPools);
    expect(lb.steering_policy).toBe(before.steeringPolicy);
    const green = poolOf(afterFirst, 'green.example.com');
    expect(weightHistory(afterFirst, green).map((h) => h.weight)).toEqual([0, 0.1, 0]);
    expect(await productionVersions(sb)).toEqual({ v1: 20 });
  });

  it('the record says failure, with the rollback target it was restored to', () => {
    const [record] = ourRecords(afterFirst);
    expect(record!.statuses.at(-1)!.state).toBe('failure');
    expect(record!.payload.blue.id).toBe(first.outputs['previous-deployment-id']);
  });
});

describe('attempt 2: the re-run', () => {
  let second: ActionRun;
  let after: SandboxState;
  beforeAll(async () => {
    second = await runAction({
      entry: join(DIST, 'index.js'),
      env: { ...sb.env, GITHUB_RUN_ATTEMPT: '2' },
      timeoutMs: 180_000,
    });
    after = await sandboxState(sb);
  }, 200_000);

  it('succeeds with the same green and the same GitHub deployment', async () => {
    expect(second.code, `${second.stdout.slice(-4000)}\n${second.stderr}`).toBe(0);
    expect(second.outputs.status).toBe('success');
    expect(second.outputs['deployment-id']).toBe(first.outputs['deployment-id']);
    expect(second.outputs['github-deployment-id']).toBe(first.outputs['github-deployment-id']);
    expect(await productionVersions(sb)).toEqual({ v2: 20 });
  });

  it('created no second Vercel deployment and no second GitHub deployment', () => {
    const greens = (after.vercel.deployments as { id: string; version: string }[]).filter((d) => d.version === 'v2');
    expect(greens.map((d) => d.id)).toEqual([first.outputs['deployment-id']]);
    const creates = sb.world.traffic.requests.filter(
      (r) => r.service === 'vercel' && r.method === 'POST' && r.path === '/v13/deployments' && r.status === 200,
    );
    expect(creates).toHaveLength(1);
    const records = ourRecords(after);
    expect(records).toHaveLength(1);
    const states = records[0]!.statuses.map((s) => s.state);
    expect(states.lastIndexOf('failure')).toBeLessThan(states.lastIndexOf('in_progress'));
    expect(states.at(-1)).toBe('success');
    expect(records[0]!.statuses.some((s) => /^Re-run attempt 2/.test(s.description))).toBe(true);
  });

  it('sent only requests that match the official specs (both attempts)', async () => {
    expect(await specProblems(sb.world.traffic.requests.filter((r) => !r.fault))).toBe('');
  });
});
