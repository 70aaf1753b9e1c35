/**
 * The validate step (src) against the sandbox: real traffic through the load balancer to v1, the
 * Datadog miniature computing metrics from it. Healthy production passes with every sample kept and
 * charted; Datadog answering 500 rolls back after the consecutive-error limit, saying production
 * could not be observed; a monitor going to Alert is a breach. The whole action (dist) is exercised
 * by validate-deploy.test.ts.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../sandbox/index.ts';
import { fromEnv, parseConfig } from '../../src/config/index.ts';
import type { Config } from '../../src/config/types.ts';
import { createRunServices, type RunContext } from '../../src/pipeline/context.ts';
import type { Logger, RunState } from '../../src/pipeline/types.ts';
import { createProviders } from '../../src/providers/index.ts';
import { validateStep } from '../../src/steps/validate.ts';

let sb: Sandbox;

beforeAll(async () => {
  sb = await startSandbox({ scenario: 'default' });
  // Let the traffic stream fill a few one-second buckets.
  await new Promise((r) => setTimeout(r, 2500));
});
afterAll(async () => sb?.stop());

function config(extra: Record<string, string> = {}): Config {
  const env: Record<string, string> = {
    ...sb.env,
    'INPUT_VALIDATION-WINDOW': '3s',
    'INPUT_VALIDATION-INTERVAL': '500ms',
  };
  for (const [k, v] of Object.entries(extra)) env[`INPUT_${k.toUpperCase()}`] = v;
  return parseConfig(fromEnv(env, { readFile: (f) => fs.readFileSync(f, 'utf8') }));
}

function ctx(c: Config): RunContext & { lines: string[] } {
  const lines: string[] = [];
  const log: Logger = {
    info: (m) => lines.push(`info ${m}`),
    warning: (m) => lines.push(`warning ${m}`),
    error: (m) => lines.push(`error ${m}`),
    debug: () => {},
    untrusted: (m) => lines.push(`untrusted ${m}`),
  };
  let state: RunState = {
    phase: 'switched',
    mode: 'deploy',
    environment: 'production',
    sha: c.run.sha,
    greenShare: 100,
  };
  const signal = new AbortController().signal;
  const core = {
    config: c,
    get state() {
      return state;
    },
    log,
    signal,
    update: (p: Partial<RunState>) => {
      state = { ...state, ...p };
    },
    results: [],
    lines,
  };
  return Object.assign(core, createRunServices(c, createProviders(c, log, signal), log, signal));
}

describe('validate step against the sandbox', () => {
  it('healthy production passes; every sample is kept with value and threshold, and charted', async () => {
    // A generous latency budget: parallel sandboxes on a 2-core machine can push the proxy's p95 high.
    const c = ctx(config({ 'performance-threshold-ms': '10000' }));
    const out = await validateStep.run(c);
    expect(out.status, out.reason).toBe('passed');
    expect(c.state.phase).toBe('validated');
    const samples = out.details!.samples as { errorRate: number | null; latencyMs: number | null; outcome: string }[];
    expect(samples.length).toBe(6);
    expect(samples.every((s) => s.outcome === 'pass' && s.errorRate === 0 && (s.latencyMs ?? -1) >= 0)).toBe(true);
    expect(out.reason).toMatch(
      /^6 samples .*error rate max 0 ≤ 0\.05; latency max [\d.]+ ms ≤ 10000 ms; no monitor stayed in Alert$/,
    );
    expect(String(out.markdown)).toContain('xychart-beta');
    expect(out.checks!.map((k) => `${k.name}:${k.status}`)).toEqual([
      'error rate:pass',
      'latency:pass',
      'monitors:pass',
      'observability:pass',
    ]);
  });

  it('Datadog answering 500 to every query: fails after the consecutive-error limit, "could not observe production"', async () => {
    sb.world.traffic.faults.push({ service: 'datadog', status: 500, body: { errors: ['Internal Server Error'] } });
    try {
      const c = ctx(config());
      const started = Date.now();
      const out = await validateStep.run(c);
      expect(out.status).toBe('failed');
      expect(out.reason).toContain('could not observe production: 5 consecutive monitoring query errors (limit 4)');
      expect(out.details!.cause).toBe('unobservable');
      expect(out.stopWithoutRollback).toBeUndefined();
      expect((out.details!.samples as unknown[]).length).toBe(5);
      // 5 ticks of 0.5 s, each with a retry: well under the window plus the limit.
      expect(Date.now() - started).toBeLessThan(8000);
      expect(c.state.phase).toBe('switched');
    } finally {
      sb.world.traffic.faults = [];
    }
  });

  it('a monitor going to Alert is a breach that fails the step at once', async () => {
    const dd = sb.world.state.datadog as { monitors: { name: string; state: string }[] };
    const monitor = dd.monitors.find((m) => m.name === 'shop: 5xx error budget')!;
    monitor.state = 'Alert';
    try {
      const c = ctx(config());
      const out = await validateStep.run(c);
      expect(out.status).toBe('failed');
      expect(out.reason).toMatch(
        /^monitor "shop: 5xx error budget" \(1001\) is in Alert at \d\d:\d\d:\d\d \(1 breaching sample, failure-limit 0\)$/,
      );
      expect(out.details!.cause).toBe('breach');
    } finally {
      monitor.state = 'OK';
    }
  });

  it('a measured value above its threshold, more than failure-limit times, fails with value > threshold', async () => {
    // v1 serves no errors: a latency budget of 0 ms (below what the input accepts) is what it cannot meet.
    const c0 = config({ 'failure-limit': '1' });
    const c = ctx({ ...c0, validation: { ...c0.validation, performanceThresholdMs: 0 } });
    const out = await validateStep.run(c);
    expect(out.status).toBe('failed');
    expect(out.reason).toMatch(
      /^latency \d+(\.\d)? ms > 0 ms at \d\d:\d\d:\d\d \(2 breaching samples, failure-limit 1\)$/,
    );
    expect((out.details!.samples as unknown[]).length).toBe(2);
  });

  it('no-data: inconclusive stops without a rollback', async () => {
    sb.world.traffic.faults.push({
      service: 'datadog',
      path: '/api/v1/query',
      status: 200,
      body: {
        status: 'ok',
        res_type: 'time_series',
        series: [],
        query: 'x',
        from_date: 0,
        to_date: 1,
        group_by: [],
        message: '',
      },
    });
    try {
      const c = ctx(config({ 'no-data': 'inconclusive' }));
      const out = await validateStep.run(c);
      expect(out.status).toBe('failed');
      expect(out.stopWithoutRollback).toBe(true);
      expect(out.reason).toContain('no-data: inconclusive stops without rolling back');
    } finally {
      sb.world.traffic.faults = [];
    }
  });

  it('without Datadog the step is skipped and the release stands', async () => {
    const c0 = config();
    const c = ctx({ ...c0, validation: { ...c0.validation, datadog: undefined } });
    const out = await validateStep.run(c);
    expect(out.status).toBe('skipped');
    expect(out.reason).toContain('Datadog is not configured');
    expect(c.state.phase).toBe('validated');
  });
});
