/**
 * `analyzeStep`, the traffic step's hold-and-analyse hook: without monitoring it holds the step for
 * its duration; with Datadog (a local server) it stops the rollout at the first breach, and its
 * samples join the run's one analysis (so the validate step's chart shows them too).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, Traffic, type RunningService } from '../../../../sandbox/core/service.ts';
import type { Config } from '../../../../src/config/types.ts';
import { createAnalysis } from '../../../../src/analysis/analysis.ts';
import type { AnalysisState } from '../../../../src/analysis/types.ts';
import type { Logger } from '../../../../src/pipeline/types.ts';
import { createDatadog } from '../../../../src/providers/index.ts';
import { analyzeStep } from '../../../../src/steps/traffic/hold.ts';
import type { WatchContext } from '../../../../src/watch/production.ts';

let dd: RunningService;
let errorRate = 0.001;

beforeAll(async () => {
  dd = await startService({
    name: 'datadog',
    traffic: new Traffic(),
    handler: async (req) => {
      if (req.path === '/api/v1/monitor') return { status: 200, body: [] };
      const to = Number(req.url.searchParams.get('to'));
      return { status: 200, body: { status: 'ok', series: [{ pointlist: [[to * 1000, errorRate]] }] } };
    },
  });
});
afterAll(async () => dd.close());

function config(datadog: boolean): Config {
  return {
    mode: 'deploy',
    secrets: [],
    prepare: { datadogMonitorTags: [] },
    validation: {
      ...(datadog ? { datadog: { apiKey: 'k'.repeat(32), appKey: 'a'.repeat(40), baseUrl: dd.url } } : {}),
      errorRateQuery: 'errors{*}',
      errorRateThreshold: 0.01,
      performanceThresholdMs: 500,
      windowMs: 1000,
      intervalMs: 100,
      failureLimit: 0,
      noData: 'warn',
      rollbackWindowMs: 1000,
      rollbackTimeoutMs: 1000,
    },
  } as unknown as Config;
}

function ctx(c: Config, analysis: AnalysisState = createAnalysis()): WatchContext {
  const noop = () => {};
  const log: Logger = { info: noop, warning: noop, error: noop, debug: noop, untrusted: noop };
  const dd = c.validation.datadog;
  const providers = dd ? { datadog: createDatadog(dd) } : {};
  return { config: c, analysis, providers, log, signal: new AbortController().signal };
}

describe('analyzeStep', () => {
  it('without monitoring, holds the step for its duration and says it was not analysed', async () => {
    const t0 = Date.now();
    const r = await analyzeStep(ctx(config(false)), { share: 10, durationMs: 300 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(r).toMatchObject({ ok: true, unanalysed: true, samples: [] });
    expect(r.reason).toContain('held 300ms at 10% without analysis (Datadog is not configured');
  });

  it('a healthy step passes; its samples carry green’s share and join the run’s analysis', async () => {
    errorRate = 0.001;
    const c = config(true);
    const analysis = createAnalysis();
    const r = await analyzeStep(ctx(c, analysis), { share: 10, durationMs: 300 });
    expect(r.ok).toBe(true);
    expect(r.samples).toHaveLength(3);
    expect(r.samples.every((s) => s.share === 10)).toBe(true);
    expect(r.reason).toMatch(/^green at 10% for 300ms: 3 samples/);
    expect(analysis.samples).toHaveLength(3);
    expect(r.markdown).toContain('| 10% |');
  });

  it('a breach stops the rollout at that step, with value against threshold', async () => {
    errorRate = 0.2;
    const c = config(true);
    const analysis = createAnalysis();
    const r = await analyzeStep(ctx(c, analysis), { share: 10, durationMs: 5000 });
    expect(r.ok).toBe(false);
    expect(r.samples).toHaveLength(1);
    expect(r.reason).toMatch(
      /^error rate 0\.2 > 0\.01 at \d\d:\d\d:\d\d \(1 breaching sample, failure-limit 0\) \(at 10%\)$/,
    );
    expect(r.stopWithoutRollback).toBeUndefined();
    // The run's analysis has decided: the next step's hold returns at once with the same decision.
    const again = await analyzeStep(ctx(c, analysis), { share: 50, durationMs: 5000 });
    expect(again.ok).toBe(false);
    expect(again.samples).toHaveLength(0);
  });
});
