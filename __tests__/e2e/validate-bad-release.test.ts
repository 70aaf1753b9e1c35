/**
 * End to end: a bad release. v2 is replaced by `bad-errors`, whose own app answers 30 % of
 * requests with 500 through the load balancer; the Datadog miniature computes the error rate from
 * those real hits. Post-deploy validation rolls back within one interval of failure-limit being
 * exceeded; production serves v1 again; Slack has the rollback reply with the measured value; the
 * run fails as `rolled-back`.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarioFrom, startSandbox, type Sandbox } from '../../sandbox/index.ts';
import { runAction, type ActionRun } from './harness.ts';
import { sandboxState as readState, type RecordsState } from './release-support.ts';

const DIST = process.env.PD_DIST_DIR ?? 'dist';
const INTERVAL_MS = 1000;
let sb: Sandbox;
let run: ActionRun;

const sandboxState = () => readState<RecordsState>(sb);

beforeAll(async () => {
  sb = await startSandbox({
    scenario: scenarioFrom({
      name: 'bad-release-inline',
      deploy: { version: 'bad-errors' },
      // A longer window than the default, so the rollback clearly comes from the breach, not the end.
      // A generous latency budget: parallel sandboxes on a 2-core machine can slow the local proxy; this is about errors.
      inputs: {
        'performance-threshold-ms': '5000',
        'validation-window': '20s',
        'validation-interval': '1s',
        'failure-limit': '1',
        'error-rate-threshold': '0.05',
      },
      traffic: { rate: 40 },
    }),
  });
  run = await runAction({ entry: join(DIST, 'index.js'), env: sb.env, timeoutMs: 180_000 });
}, 240_000);
afterAll(async () => sb?.stop());

describe('bad-release: automatic rollback', () => {
  it('the run fails as rolled-back', () => {
    expect(run.code, `${run.stdout.slice(-4000)}\n${run.stderr}`).not.toBe(0);
    expect(run.outputs.status).toBe('rolled-back');
    expect(run.outputs['rolled-back']).toBe('true');
    expect(run.report!.state.restored).toBe(true);
  });

  it('rolls back within one interval after failure-limit is exceeded, saying value > threshold', () => {
    const validate = run.report!.steps.find((s) => s.name === 'validate')!;
    expect(validate.status).toBe('failed');
    const samples = validate.details.samples as { at: string; breach: boolean; errorRate: number | null }[];
    // failure-limit 1: the second breaching sample is the last one taken.
    expect(samples.filter((s) => s.breach)).toHaveLength(2);
    const last = samples.at(-1)!;
    expect(last.breach).toBe(true);
    expect(last.errorRate!).toBeGreaterThan(0.05);
    const ended = Date.parse(validate.startedAt) + validate.durationMs;
    expect(ended - Date.parse(last.at)).toBeLessThan(INTERVAL_MS);
    // It did not wait for the 20 s window.
    expect(validate.durationMs).toBeLessThan(15_000);
    expect(validate.reason).toMatch(
      /^error rate 0\.\d+ > 0\.05 at \d\d:\d\d:\d\d \(2 breaching samples, failure-limit 1\)$/,
    );
    expect(run.report!.decisions.some((d) => /restore finished/.test(d.decision))).toBe(true);
  });

  it('production serves v1 again', async () => {
    const versions = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${sb.urls.production}/api/health`);
      await res.arrayBuffer();
      versions.add(res.headers.get('x-app-version') ?? '?');
    }
    expect([...versions]).toEqual(['v1']);
  });

  it('Slack has the rollback as a thread reply with the measured value', async () => {
    const slack = (await sandboxState()).slack as { messages: { ts: string; threadTs?: string; text: string }[] };
    const top = slack.messages.filter((m) => !m.threadTs);
    expect(top).toHaveLength(1);
    expect(top[0]!.text).toContain('Rolled back');
    const replies = slack.messages.filter((m) => m.threadTs === top[0]!.ts);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.text).toMatch(/Rolled back.*error rate 0\.\d+ &gt; 0\.05 at \d\d:\d\d:\d\d/);
  });

  it('the job summary charts the samples that decided it', () => {
    expect(run.summary).toContain('xychart-beta');
    expect(run.summary).toMatch(/error rate 0\.\d+ &gt; 0\.05|error rate 0\.\d+ > 0\.05/);
  });
});
