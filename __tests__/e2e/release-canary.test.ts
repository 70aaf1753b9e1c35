/**
 * End to end: a canary (`traffic-steps: 10,50,100`) of the good v2. The load balancer's own
 * history shows green's weight at each step, in order; the real requests the proxy routed between
 * two changes (the sandbox's steady traffic plus the action's routing checks) follow each weight;
 * the run's report keeps the same history with what its routing checks measured.
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
let sb: Sandbox;
let run: ActionRun;
let state: SandboxState;

beforeAll(async () => {
  sb = await startSandbox({
    scenario: scenarioFrom({
      name: 'canary-good-inline',
      inputs: { strategy: 'canary', 'traffic-steps': '10,50,100', 'step-duration': '4s' },
      traffic: { rate: 50 },
    }),
  });
  run = await runAction({ entry: join(DIST, 'index.js'), env: sb.env, timeoutMs: 180_000 });
  state = await sandboxState(sb);
}, 240_000);
afterAll(async () => sb?.stop());

describe('canary 10 → 50 → 100', () => {
  it('succeeds, with production on v2', async () => {
    expect(run.code, `${run.stdout.slice(-4000)}\n${run.stderr}`).toBe(0);
    expect(run.outputs.status).toBe('success');
    expect(await productionVersions(sb)).toEqual({ v2: 20 });
  });

  it("the load balancer's history shows one change per step, in order", () => {
    const green = poolOf(state, 'green.example.com');
    const changes = weightHistory(state, green).filter((h) => h.via !== 'scenario');
    expect(changes.map((h) => h.weight)).toEqual([0.1, 0.5, 1]);
    expect(changes.map((h) => h.fallback === green)).toEqual([false, false, true]);
  });

  it('the traffic routed between two changes follows each weight', () => {
    const green = poolOf(state, 'green.example.com');
    const changes = weightHistory(state, green).filter((h) => h.via !== 'scenario');
    const greenId = run.outputs['deployment-id'];
    const end = Date.parse(run.report!.finishedAt!);
    for (const [i, change] of changes.entries()) {
      const until = changes[i + 1]?.at ?? end;
      // Requests already in flight at the change may still go by the old weights: skip 200 ms.
      const hits = sb.world.hits.filter((h) => h.time > change.at + 200 && h.time < until);
      expect(hits.length, `requests at ${change.weight}`).toBeGreaterThan(60);
      const share = hits.filter((h) => h.deploymentId === greenId).length / hits.length;
      const sigma = Math.sqrt((change.weight * (1 - change.weight)) / hits.length);
      expect(
        Math.abs(share - change.weight),
        `share ${share.toFixed(3)} at weight ${change.weight}`,
      ).toBeLessThanOrEqual(Math.max(0.08, 4 * sigma));
    }
  });

  it("the run's report keeps the weight history with each routing check", () => {
    const traffic = run.report!.steps.find((s) => s.name === 'traffic')!;
    expect(traffic.status).toBe('passed');
    const history = traffic.details.weightHistory as {
      share: number;
      measured: number;
      verified: string;
      analysis?: string;
    }[];
    expect(history.map((h) => h.share)).toEqual([10, 50, 100]);
    expect(history.every((h) => h.verified === 'ok')).toBe(true);
    expect(history[2]!.measured).toBe(100);
    expect(Math.abs(history[1]!.measured - 50)).toBeLessThanOrEqual(30);
    // Steps before the last were held for step-duration with analysis.
    expect(history[0]!.analysis).toMatch(/10%/);
    expect(history[1]!.analysis).toMatch(/50%/);
    expect(traffic.durationMs).toBeGreaterThanOrEqual(8000);
  });

  it('the GitHub deployment shows each step as it happened, then success', () => {
    const [record] = ourRecords(state);
    const descriptions = record!.statuses.map((s) => `${s.state}: ${s.description}`);
    expect(descriptions.filter((d) => d.startsWith('in_progress: Traffic: green at'))).toEqual([
      expect.stringMatching(/^in_progress: Traffic: green at 10% \(measured \d+%\)$/),
      expect.stringMatching(/^in_progress: Traffic: green at 50% \(measured \d+%\)$/),
      'in_progress: Traffic: green at 100% (measured 100%)',
    ]);
    expect(record!.statuses.at(-1)!.state).toBe('success');
    expect(record!.payload.strategy).toBe('canary');
  });

  it('sent only requests that match the official specs', async () => {
    expect(await specProblems(sb.world.traffic.requests)).toBe('');
  });
});
