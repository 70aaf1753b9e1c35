/**
 * End to end: a release whose checkout journey fails (`bad-journey`: /api/checkout answers
 * 500) is staged and smoke-tested; the failing check blocks the switch. No load balancer weight ever
 * changed, production still serves v1, and the smoke report (with the failure and its reason) is in
 * the job summary and the PR comment.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarioFrom, startSandbox, type Sandbox } from '../../sandbox/index.ts';
import { runAction, type ActionRun } from './harness.ts';
import { ourRecords, productionVersions, sandboxState, specProblems, type SandboxState } from './release-support.ts';

const DIST = process.env.PD_DIST_DIR ?? 'dist';
const SMOKE = `
- name: health
  path: /api/health
  json: { /status: ok }
- name: checkout journey
  path: /api/checkout
  method: POST
  body: { items: [1] }
  contains: ['"ok":true']
- name: home page
  path: /
  contains: ['<html']
  max-ms: 2000
`;
let sb: Sandbox;
let run: ActionRun;
let state: SandboxState;

beforeAll(async () => {
  sb = await startSandbox({
    scenario: scenarioFrom({
      name: 'smoke-fail-inline',
      deploy: { version: 'bad-journey' },
      inputs: { 'smoke-tests': SMOKE },
    }),
  });
  run = await runAction({ entry: join(DIST, 'index.js'), env: sb.env, timeoutMs: 180_000 });
  state = await sandboxState(sb);
}, 240_000);
afterAll(async () => sb?.stop());

describe('smoke-fail: a failing journey blocks the switch', () => {
  it('fails at the smoke step, naming the check, its reason and green', () => {
    expect(run.code).not.toBe(0);
    expect(run.outputs.status).toBe('failed');
    const smoke = run.report!.steps.find((s) => s.name === 'smoke')!;
    expect(smoke.status).toBe('failed');
    expect(smoke.reason).toContain(run.outputs['deployment-id']);
    expect(smoke.reason).toMatch(/checkout journey: 3\/3 samples failed: expected status 200, got 500/);
    expect(smoke.checks.map((c) => [c.name, c.status])).toEqual([
      ['health', 'pass'],
      ['checkout journey', 'fail'],
      ['home page', 'pass'],
    ]);
    expect(run.report!.steps.find((s) => s.name === 'traffic')).toBeUndefined();
    expect(run.report!.state.trafficBefore).toBeUndefined();
  });

  it('no load balancer weight ever changed and production still serves v1', async () => {
    const changes = (state.cloudflare.history as { kind: string; via: string }[]).filter(
      (h) => h.kind === 'load_balancer' && h.via !== 'scenario',
    );
    expect(changes).toEqual([]);
    const writes = sb.world.traffic.requests.filter((r) => r.service === 'cloudflare' && r.method !== 'GET');
    expect(writes).toEqual([]);
    expect(await productionVersions(sb)).toEqual({ v1: 20 });
  });

  it('the smoke report is in the job summary and in the PR comment', () => {
    expect(run.summary).toContain('checkout journey');
    expect(run.summary).toMatch(/3\/3 samples failed: expected status 200, got 500/);
    const body = (state.github.comments as { body: string }[])[0]!.body;
    expect(body).toContain('production-deploy:section:preflight:start');
    expect(body).toContain('**Smoke tests: 2/3 checks passed**');
    expect(body).toMatch(/\| ❌ \| checkout journey \| `POST \/api\/checkout` \| 0\/3 \|/);
  });

  it('the run is recorded as failed, green named', () => {
    const [record] = ourRecords(state);
    expect(record!.payload.green.id).toBe(run.outputs['deployment-id']);
    expect(record!.statuses.at(-1)!.state).toBe('failure');
  });

  it('sent only requests that match the official specs', async () => {
    expect(await specProblems(sb.world.traffic.requests)).toBe('');
  });
});
