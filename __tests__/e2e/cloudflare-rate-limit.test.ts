/**
 * End to end: a storm of Cloudflare 429s (`retry-after: 1`, as Cloudflare sends it once over its
 * limit: https://developers.cloudflare.com/fundamentals/api/reference/limits/) lasting a few seconds
 * is waited out within the step's rate-limit budget (POLICIES.cloudflare.rateLimitPerStepMs), not
 * failed on: the canary ends in `success`. Five 429s in a row on one call are more than its retries
 * (3), so before the budget this run rolled back.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarioFrom, startSandbox, type Sandbox } from '../../sandbox/index.ts';
import { runAction, type ActionRun } from './harness.ts';
import { poolOf, productionVersions, sandboxState, weightHistory, type SandboxState } from './release-support.ts';

const DIST = process.env.PD_DIST_DIR ?? 'dist';
const LB_PATH = '/client/v4/zones/*/load_balancers/*';
const RATE_LIMITED = {
  status: 429,
  headers: { 'retry-after': '1' },
  body: { success: false, errors: [{ code: 10013, message: 'Rate limit exceeded' }], messages: [], result: null },
};
let sb: Sandbox;
let run: ActionRun;
let state: SandboxState;

beforeAll(async () => {
  sb = await startSandbox({
    scenario: scenarioFrom({
      name: 'cloudflare-429-storm-inline',
      inputs: { strategy: 'canary', 'traffic-steps': '10,50,100', 'step-duration': '2s' },
      faults: [
        // The first Cloudflare reads of the run: five 429s, a second apart.
        { service: 'cloudflare', method: 'GET', path: '/client/v4/**', times: 5, ...RATE_LIMITED },
        // The switch to 50 %: five 429s on the PATCH.
        { service: 'cloudflare', method: 'PATCH', path: LB_PATH, after: 1, times: 5, ...RATE_LIMITED },
      ],
    }),
  });
  run = await runAction({ entry: join(DIST, 'index.js'), env: sb.env, timeoutMs: 180_000 });
  state = await sandboxState(sb);
}, 240_000);
afterAll(async () => sb?.stop());

describe('a Cloudflare 429 storm of a few seconds', () => {
  it('ends in success, with production on v2', async () => {
    expect(run.code, `${run.stdout.slice(-4000)}\n${run.stderr}`).toBe(0);
    expect(run.outputs.status).toBe('success');
    expect(await productionVersions(sb)).toEqual({ v2: 20 });
  });

  it('was really rate-limited: ten 429s answered, each waited out for about a second', () => {
    const limited = sb.world.traffic.requests.filter((r) => r.service === 'cloudflare' && r.status === 429);
    expect(limited).toHaveLength(10);
    const patches = sb.world.traffic.requests.filter((r) => r.service === 'cloudflare' && r.method === 'PATCH');
    const times = patches.map((r) => Date.parse(r.time));
    // PATCH 2..6 were answered 429; each retry came after the second Cloudflare asked for.
    for (let i = 2; i < 7; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(950);
  });

  it('moved the weights once per step, in order, after the storm', () => {
    const green = poolOf(state, 'green.example.com');
    const changes = weightHistory(state, green).filter((h) => h.via !== 'scenario');
    expect(changes.map((h) => h.weight)).toEqual([0.1, 0.5, 1]);
  });
});
