/**
 * End to end: the environment lock stays held for the whole of a long canary. The first run holds
 * green at 10 % for 12 s — three times longer than the old stale threshold (`rollback-timeout` 2 s +
 * `validation-window` 2 s) — and a second workflow run started mid-hold must refuse with the first
 * run named, while the first completes. (Under the old threshold the second run would have called
 * the first stale and overridden its lock.)
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarioFrom, startSandbox, type Sandbox } from '../../sandbox/index.ts';
import { runAction, startAction, type ActionRun } from './harness.ts';
import { ourRecords, productionVersions, sandboxState, type SandboxState } from './release-support.ts';

const DIST = process.env.PD_DIST_DIR ?? 'dist';
let sb: Sandbox;
let first: ActionRun;
let second: ActionRun;
let state: SandboxState;
let firstId: string;

beforeAll(async () => {
  sb = await startSandbox({
    scenario: scenarioFrom({
      name: 'lock-long-canary-inline',
      inputs: {
        strategy: 'canary',
        'traffic-steps': '10,50,100',
        'step-duration': '12s',
        'validation-window': '2s',
        'rollback-timeout': '2s',
      },
      traffic: { rate: 10 },
    }),
  });
  firstId = sb.env.GITHUB_RUN_ID!;
  const running = startAction({ entry: join(DIST, 'index.js'), env: sb.env, timeoutMs: 180_000 });
  await running.waitForLine(/Holding green at 10%/, 120_000);
  // The first run's record was last written when green reached 10 %: let it be silent past 4 s.
  await new Promise((r) => setTimeout(r, 4_500));
  second = await runAction({
    entry: join(DIST, 'index.js'),
    env: { ...sb.env, GITHUB_RUN_ID: String(Number(firstId) + 1) },
    timeoutMs: 120_000,
  });
  first = await running.result;
  state = await sandboxState(sb);
}, 240_000);
afterAll(async () => sb?.stop());

describe('a canary longer than rollback-timeout + validation-window', () => {
  it('keeps its lock: the second run refuses, naming the first, after a silence the old threshold called stale', () => {
    expect(second.code).not.toBe(0);
    expect(second.outputs.status).toBe('failed');
    const error = second.stdout
      .split('\n')
      .filter((l) => l.startsWith('::error::'))
      .join('\n');
    expect(error, second.stdout.slice(-3000)).toMatch(/another run is deploying to production/);
    expect(error).toContain(`run ${firstId}`);
    const age = Number(/last update (\d+) s ago/.exec(error)?.[1]);
    // Silent longer than the old threshold (2 s + 2 s) when the second run looked.
    expect(age).toBeGreaterThan(4);
    expect(second.stdout).not.toMatch(/Overriding it/);
  });

  it('the first run completes: success, production on v2, its record never marked stale', async () => {
    expect(first.code, `${first.stdout.slice(-4000)}\n${first.stderr}`).toBe(0);
    expect(first.outputs.status).toBe('success');
    expect(await productionVersions(sb)).toEqual({ v2: 20 });
    const records = ourRecords(state);
    expect(records).toHaveLength(1);
    const statuses = records[0]!.statuses.map((s) => s.state);
    expect(statuses).not.toContain('error');
    expect(statuses.at(-1)).toBe('success');
    // The record carries the first run's own threshold, so other runs judge it by its settings.
    expect(records[0]!.payload.staleAfterMs).toBeGreaterThan(3 * 12_000 + 2_000 + 2_000);
  });
});
