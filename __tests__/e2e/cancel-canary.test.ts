/**
 * End to end: the action is killed with SIGINT in the middle of a canary (green at 10 %,
 * held for its step duration). The main step aborts its in-flight work and exits within the
 * runner's 7.5 s grace, leaving the phase and the recorded traffic state in GITHUB_STATE; the post
 * step (`dist/post.js`) run with that state puts production back on v1 and marks the GitHub
 * deployment `error`. Run a second time with the same state, the post step makes no mutating request.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarioFrom, startSandbox, type Sandbox } from '../../sandbox/index.ts';
import type { RunState } from '../../src/pipeline/types.ts';
import { runAction, startAction, type ActionRun } from './harness.ts';
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
let sb: Sandbox;
let main: ActionRun;
let exitAfterSignalMs: number;
let post: ActionRun;
let afterPost: SandboxState;

const mutating = (from: number) =>
  sb.world.traffic.requests.filter(
    (r) =>
      r.seq > from &&
      ['github', 'vercel', 'cloudflare'].includes(r.service) &&
      !['GET', 'HEAD'].includes(r.method) &&
      !r.path.endsWith('/graphql'), // GitHub GraphQL queries: POSTs but reads
  );

beforeAll(async () => {
  sb = await startSandbox({
    scenario: scenarioFrom({
      name: 'cancel-canary-inline',
      inputs: { strategy: 'canary', 'traffic-steps': '10,50,100', 'step-duration': '30s' },
    }),
  });
  const action = startAction({ entry: join(DIST, 'index.js'), env: sb.env, timeoutMs: 180_000 });
  await action.waitForLine(/now has 10% of production/, 150_000);
  // Mid-step: the routing check and the hold are under way.
  await new Promise((r) => setTimeout(r, 1500));
  const signalled = Date.now();
  action.kill('SIGINT');
  main = await action.result;
  exitAfterSignalMs = Date.now() - signalled;
  post = await runAction({ entry: join(DIST, 'post.js'), env: sb.env, stateFrom: main, timeoutMs: 120_000 });
  afterPost = await sandboxState(sb);
}, 240_000);
afterAll(async () => sb?.stop());

describe('SIGINT mid-canary, then the post step', () => {
  it('the main step stops within the grace period and leaves the state the post step needs', () => {
    expect(exitAfterSignalMs).toBeLessThan(7500);
    expect(main.code).not.toBe(0);
    const saved = JSON.parse(main.state.run!) as RunState;
    expect(saved.phase).toBe('switching');
    expect(saved.greenShare).toBe(10);
    expect(saved.trafficBefore).toMatchObject({ kind: 'cloudflare' });
    expect(saved.blue!.id).toBe(main.outputs['previous-deployment-id']);
    expect(saved.restored).toBeUndefined();
  });

  it('the post step puts production back on v1 and says so in the summary', async () => {
    expect(post.code, `${post.stdout.slice(-3000)}\n${post.stderr}`).toBe(0);
    expect(await productionVersions(sb)).toEqual({ v1: 20 });
    const saved = JSON.parse(main.state.run!) as {
      trafficBefore: { poolWeights: Record<string, number>; fallbackPool: string };
    };
    const [lb] = afterPost.cloudflare.loadBalancers;
    expect(lb.pool_weights).toEqual(saved.trafficBefore.poolWeights);
    expect(lb.fallback_pool).toBe(saved.trafficBefore.fallbackPool);
    const green = poolOf(afterPost, 'green.example.com');
    expect(weightHistory(afterPost, green).map((h) => h.weight)).toEqual([0, 0.1, 0]);
    expect(post.summary).toContain('blue restored');
    expect(JSON.parse(post.state.run!)).toMatchObject({ reconciled: true, restored: true, phase: 'rolled-back' });
  });

  it('the GitHub deployment is marked error', () => {
    const [record] = ourRecords(afterPost);
    expect(record!.statuses.at(-1)).toMatchObject({
      state: 'error',
      description: expect.stringMatching(/blue restored by the post step/),
    });
  });

  it('a second post run with the same saved state makes no mutating request', async () => {
    const mark = sb.world.traffic.requests.at(-1)!.seq;
    const again = await runAction({ entry: join(DIST, 'post.js'), env: sb.env, stateFrom: main, timeoutMs: 120_000 });
    expect(again.code, `${again.stdout.slice(-3000)}\n${again.stderr}`).toBe(0);
    expect(mutating(mark).map((r) => `${r.service} ${r.method} ${r.path}`)).toEqual([]);
    expect(await productionVersions(sb)).toEqual({ v1: 20 });
  });

  it('sent only requests that match the official specs', async () => {
    expect(await specProblems(sb.world.traffic.requests)).toBe('');
  });
});
