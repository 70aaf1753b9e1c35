/**
 * End to end: decisions users can trust (issue 15). Blue and green both fail 1 % of requests, as a
 * real app does, at low traffic; the action asks Datadog the same release-scoped count queries of
 * green and of blue (`version:{{version}}` → each release's commit) and judges green against blue
 * with its sequential test.
 * - A good canary succeeds, run after run (three runs).
 * - A release failing 8 × the baseline is rolled back at its first step.
 * - No data for the whole window is not a success.
 * - Data that reaches Datadog later than the interval (ingestion delay > interval) is still judged.
 * - A release much slower than blue (and not failing more) is rolled back on latency against blue,
 *   though its p95 stays under performance-threshold-ms (deployed alongside the good canaries).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarioFrom, startSandbox, type Sandbox } from '../../sandbox/index.ts';
import { runAction, type ActionRun } from './harness.ts';

const DIST = process.env.PD_DIST_DIR ?? 'dist';
const V1_SHA = '4c60a8b4d322696fd694f86492b603349eb97cca';
const REQUESTS = 'sum:trace.http.request.hits{env:production,service:shop,version:{{version}}}.as_count()';
const ERRORS = 'sum:trace.http.request.errors{env:production,service:shop,version:{{version}}}.as_count()';
const P95 = 'p95:trace.http.request.duration{env:production,service:shop,version:{{version}}}';

/** A canary over a 1 % baseline, judged on counts. */
function scenario(
  name: string,
  over: { app?: string; inputs?: Record<string, string>; ingestionDelayMs?: number; maxInFlight?: number },
) {
  const base = scenarioFrom({});
  return scenarioFrom({
    name,
    deploy: { version: over.app ?? 'v2-1pct' },
    vercel: {
      deployments: [
        { app: 'v1-1pct', production: true, aliases: ['blue.example.com'], meta: { githubCommitSha: V1_SHA } },
      ],
    },
    datadog: { ...base.datadog, ingestionDelayMs: over.ingestionDelayMs ?? 0 },
    inputs: {
      // The app fails 1 % of every path but the health path: smoke tests look at that one.
      'smoke-tests': '- name: health\n  path: /api/health\n  status: 200\n',
      'performance-threshold-ms': '5000',
      strategy: 'canary',
      'traffic-steps': '50,100',
      'step-duration': '12s',
      'validation-window': '12s',
      'validation-interval': '1s',
      'evaluation-delay': '1s',
      'request-count-query': REQUESTS,
      'error-count-query': ERRORS,
      // Judged on 1.5 points: with the default relative cap (half of blue's 1 %) a good release needs
      // several thousand requests per release to pass, minutes rather than the seconds of a test;
      // at 1.5 points ~900 per release decide both a good release and one 8 × worse.
      'comparison-margin': '0.015',
      'relative-margin': '0',
      'min-requests': '40',
      'error-rate-threshold': '0.15',
      // Judged on counts alone: the production-wide ratio and latency queries are not set.
      'error-rate-query': '',
      'latency-query': '',
      ...over.inputs,
    },
    // Only paths the app can fail (the health path never does), at a rate a small service sees.
    traffic: {
      rate: 200,
      paths: ['/', '/api/products'],
      ...(over.maxInFlight ? { maxInFlight: over.maxInFlight } : {}),
    },
  });
}

async function deploy(s: ReturnType<typeof scenario>): Promise<{ run: ActionRun; sb: Sandbox }> {
  const sb = await startSandbox({ scenario: s });
  try {
    const run = await runAction({ entry: join(DIST, 'index.js'), env: sb.env, timeoutMs: 240_000 });
    return { run, sb };
  } catch (err) {
    await sb.stop();
    throw err;
  }
}

const why = (run: ActionRun) => `${run.stdout.slice(-5000)}\n${run.stderr}`;
const sandboxes: Sandbox[] = [];
afterAll(async () => {
  await Promise.all(sandboxes.map((sb) => sb.stop()));
});

let slow: ActionRun | undefined;

describe('a good canary over a 1 % baseline at low traffic', () => {
  const runs: ActionRun[] = [];
  beforeAll(async () => {
    // Three independent deploys side by side (each its own sandbox), to keep the test's wall time,
    // and beside them a release 1.5 s slower per request (judged below), its latency asked of both
    // releases. Its requests stay open 1.5 s: room for them keeps the stream at its rate.
    const done = await Promise.all([
      ...[0, 1, 2].map((i) => deploy(scenario(`decisions-good-${i}`, {}))),
      deploy(scenario('decisions-slow', { app: 'bad-slow', inputs: { 'latency-query': P95 }, maxInFlight: 400 })),
    ]);
    for (const { sb } of done) sandboxes.push(sb);
    runs.push(...done.slice(0, 3).map((d) => d.run));
    slow = done[3]!.run;
  }, 600_000);

  it('succeeds run after run', () => {
    for (const run of runs) {
      expect(run.code, why(run)).toBe(0);
      expect(run.outputs.status).toBe('success');
    }
  });

  it('says each verdict with both releases’ counts', () => {
    for (const run of runs) {
      const traffic = run.report!.steps.find((s) => s.name === 'traffic')!;
      const history = traffic.details.weightHistory as { share: number; analysis?: string }[];
      expect(history[0]!.analysis).toMatch(/green [\d.]+ % errors \([\d,]+ requests\) vs blue [\d.]+ % \([\d,]+\)/);
      const validate = run.report!.steps.find((s) => s.name === 'validate')!;
      expect(validate.status).toBe('passed');
      expect(validate.reason).toMatch(/vs blue before the switch/);
    }
  });
});

describe('a release much slower than blue, deployed alongside the good canaries', () => {
  it('is rolled back at its first step on latency against blue, under performance-threshold-ms', () => {
    expect(slow, 'deployed by the good canaries’ beforeAll').toBeDefined();
    const run = slow!;
    expect(run.code, why(run)).not.toBe(0);
    expect(run.outputs.status).toBe('rolled-back');
    const traffic = run.report!.steps.find((s) => s.name === 'traffic')!;
    expect(traffic.status).toBe('failed');
    expect(traffic.reason).toContain('analysis at 50%');
    // performance-threshold-ms is 5000: the release is judged slower than blue, not over the limit.
    expect(traffic.reason).toMatch(
      /green latency \d+ ms vs blue \d+ ms over \d+ buckets \(medians\).*slower by more than the 25 % margin/,
    );
  });
});

describe('a release 8 × worse than the baseline', () => {
  let run: ActionRun;
  let sb: Sandbox;
  beforeAll(async () => {
    ({ run, sb } = await deploy(scenario('decisions-bad', { app: 'v2-8pct' })));
    sandboxes.push(sb);
  }, 300_000);

  it('is rolled back at its first step, green against blue', () => {
    expect(run.code, why(run)).not.toBe(0);
    expect(run.outputs.status).toBe('rolled-back');
    const traffic = run.report!.steps.find((s) => s.name === 'traffic')!;
    expect(traffic.status).toBe('failed');
    expect(traffic.reason).toContain('analysis at 50%');
    expect(traffic.reason).toMatch(/green [\d.]+ % errors .* vs blue [\d.]+ %.*worse/);
    expect(run.report!.steps.find((s) => s.name === 'validate')).toBeUndefined();
  });

  it("Datadog gets the DORA deployment that marks the rollback to blue's commit", async () => {
    const st = (await (await fetch(`${sb.urls.sandbox}/_sandbox/state`)).json()) as {
      datadog: { doraDeployments: Record<string, unknown>[] };
      slack: { messages: { ts: string; threadTs?: string; text?: string }[] };
    };
    const back = st.datadog.doraDeployments.find((d) => d.version === V1_SHA);
    expect(back, JSON.stringify(st.datadog.doraDeployments)).toBeDefined();
    expect(back!.git).toMatchObject({ commit_sha: V1_SHA });
    expect(String(back!.id)).toMatch(/:rollback$/);
    // Slack's thread reply says the verdict as plainly as the report: both releases' rates and counts.
    const replies = st.slack.messages.filter((m) => m.threadTs);
    expect(
      replies.some((m) =>
        /Rolled back.*green [\d.]+ % errors \([\d,]+ requests\) vs blue [\d.]+ % \([\d,]+\)/s.test(m.text ?? ''),
      ),
      JSON.stringify(replies.map((m) => m.text)),
    ).toBe(true);
  });
});

describe('no data for the whole window', () => {
  let run: ActionRun;
  let sb: Sandbox;
  beforeAll(async () => {
    // The version tag names a version nobody reports (a typo in the query): Datadog answers no series.
    ({ run, sb } = await deploy(
      scenario('decisions-no-data', {
        inputs: {
          'request-count-query': REQUESTS.replace('service:shop', 'service:shopp'),
          'error-count-query': ERRORS.replace('service:shop', 'service:shopp'),
          'traffic-steps': '100',
          strategy: 'blue-green',
          'validation-window': '4s',
        },
      }),
    ));
    sandboxes.push(sb);
  }, 300_000);

  it('is not a success: the explicit policy ends it, saying no requests were counted', () => {
    expect(run.code, why(run)).not.toBe(0);
    expect(run.outputs.status).not.toBe('success');
    const validate = run.report!.steps.find((s) => s.name === 'validate')!;
    expect(validate.status).toBe('failed');
    expect(validate.reason).toMatch(/no requests at all were counted/);
    expect(validate.reason).toMatch(/insufficient-data: rollback/);
  });
});

describe('data that reaches Datadog later than the interval', () => {
  let run: ActionRun;
  let sb: Sandbox;
  beforeAll(async () => {
    // Requests become visible 2.5 s after they were served; the interval is 1 s. The evaluation
    // delay covers the lag, so every window is asked about once its data is in.
    ({ run, sb } = await deploy(
      scenario('decisions-late', { app: 'v2-8pct', ingestionDelayMs: 2500, inputs: { 'evaluation-delay': '3s' } }),
    ));
    sandboxes.push(sb);
  }, 300_000);

  it('is still judged: the bad release is rolled back at its first step', () => {
    expect(run.code, why(run)).not.toBe(0);
    expect(run.outputs.status).toBe('rolled-back');
    const traffic = run.report!.steps.find((s) => s.name === 'traffic')!;
    expect(traffic.reason).toContain('analysis at 50%');
    expect(traffic.reason).toMatch(/worse/);
  });
});
