/**
 * End to end: a canary of a bad release. Green (`bad-errors`) gets 10 % first; the analysis
 * held at that step sees the errors and the rollout stops there: rolled back at the first step, and
 * green never reached a higher weight (checked in the load balancer's history).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarioFrom, startSandbox, type Sandbox } from '../../sandbox/index.ts';
import { runAction, type ActionRun } from './harness.ts';
import { sandboxState as readState, type RecordsState } from './release-support.ts';

const DIST = process.env.PD_DIST_DIR ?? 'dist';
let sb: Sandbox;
let run: ActionRun;

const sandboxState = () => readState<RecordsState>(sb);

beforeAll(async () => {
  sb = await startSandbox({
    scenario: scenarioFrom({
      name: 'canary-bad-inline',
      deploy: { version: 'bad-errors' },
      // 10 % of 50 req/s on a release failing 30 %: ~1.5 errors a second among 50 requests (3 %).
      // A generous latency budget: parallel sandboxes on a 2-core machine can slow the local proxy; this is about errors.
      inputs: {
        'performance-threshold-ms': '5000',
        strategy: 'canary',
        'traffic-steps': '10,50,100',
        'step-duration': '5s',
        'validation-interval': '1s',
        'error-rate-threshold': '0.01',
        'failure-limit': '0',
      },
      traffic: { rate: 50 },
    }),
  });
  run = await runAction({ entry: join(DIST, 'index.js'), env: sb.env, timeoutMs: 180_000 });
}, 240_000);
afterAll(async () => sb?.stop());

describe('canary with a bad release', () => {
  it('rolls back at the first step', () => {
    expect(run.code, `${run.stdout.slice(-4000)}\n${run.stderr}`).not.toBe(0);
    expect(run.outputs.status).toBe('rolled-back');
    const traffic = run.report!.steps.find((s) => s.name === 'traffic')!;
    expect(traffic.status).toBe('failed');
    expect(traffic.reason).toMatch(/error rate 0\.\d+ > 0\.01 at \d\d:\d\d:\d\d/);
    expect(traffic.reason).toContain('10%');
    expect(run.report!.steps.find((s) => s.name === 'validate')).toBeUndefined();
  });

  it('green never reached a higher weight than the first step', async () => {
    const cf = (await sandboxState()).cloudflare;
    const lb = cf.loadBalancers[0];
    const pools = cf.pools as { id: string; origins: { host: string }[] }[];
    const green = pools.find((p) => p.origins.some((o) => o.host === 'green.example.com'))!.id;
    const weights = (cf.history as { kind: string; random_steering?: { pool_weights?: Record<string, number> } }[])
      .filter((h) => h.kind === 'load_balancer')
      .map((h) => h.random_steering?.pool_weights?.[green] ?? 0);
    expect(Math.max(...weights)).toBeLessThanOrEqual(0.1);
    expect(weights).toContain(0.1);
    expect(lb.pool_weights[green]).toBe(0);
  });

  it('Slack has the rollback reply', async () => {
    const slack = (await sandboxState()).slack as { messages: { ts: string; threadTs?: string; text: string }[] };
    const top = slack.messages.filter((m) => !m.threadTs);
    expect(top).toHaveLength(1);
    expect(
      slack.messages
        .filter((m) => m.threadTs === top[0]!.ts)
        .map((m) => m.text)
        .join('\n'),
    ).toMatch(/Rolled back.*error rate 0\.\d+ &gt; 0\.01/);
  });
});
