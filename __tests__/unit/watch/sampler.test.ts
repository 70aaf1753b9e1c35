/**
 * The sampling loop and the Datadog client's sampler against a real local HTTP server (startService from the
 * sandbox plumbing, with its fault rules), with sub-second intervals.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, Traffic, type RunningService } from '../../../sandbox/core/service.ts';
import { createAnalysis, type AnalysisPolicy } from '../../../src/analysis/index.ts';
import { createDatadog } from '../../../src/providers/index.ts';
import { sampleWindow, type Signals } from '../../../src/watch/sampler.ts';
import type { Logger } from '../../../src/pipeline/types.ts';

const API_KEY = 'dd-api-key-for-tests-123';
const APP_KEY = 'dd-app-key-for-tests-456';

/** query string → values returned call after call (the last repeats); null = no data. */
const script = new Map<string, Array<number | null>>();
const calls = new Map<string, number>();
let monitors: unknown[] = [];
const traffic = new Traffic();
let dd: RunningService;

function log(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const push = (l: string) => lines.push(l);
  return { lines, info: push, warning: push, error: push, debug: push, untrusted: push };
}

beforeAll(async () => {
  dd = await startService({
    name: 'datadog',
    traffic,
    handler: async (req) => {
      if (req.headers['dd-api-key'] !== API_KEY || req.headers['dd-application-key'] !== APP_KEY) {
        return { status: 403, body: { errors: ['Forbidden'] } };
      }
      if (req.path === '/api/v1/monitor') return { status: 200, body: monitors };
      if (req.path !== '/api/v1/query') return { status: 404, body: { errors: ['not found'] } };
      const q = req.url.searchParams.get('query') ?? '';
      const from = Number(req.url.searchParams.get('from'));
      const to = Number(req.url.searchParams.get('to'));
      if (!Number.isInteger(from) || !Number.isInteger(to) || to <= from) {
        return { status: 400, body: { errors: ['from/to must be integer seconds, to > from'] } };
      }
      const n = calls.get(q) ?? 0;
      calls.set(q, n + 1);
      const values = script.get(q) ?? [null];
      const v = values[Math.min(n, values.length - 1)];
      return {
        status: 200,
        body: { status: 'ok', res_type: 'time_series', series: v === null ? [] : [{ pointlist: [[to * 1000, v]] }] },
      };
    },
  });
});
afterAll(async () => dd.close());

function reset(): void {
  script.clear();
  calls.clear();
  monitors = [];
  traffic.faults = [];
  traffic.requests = [];
}

const policy: AnalysisPolicy = {
  errorRateThreshold: 0.01,
  latencyThresholdMs: 500,
  failureLimit: 0,
  consecutiveErrorLimit: 4,
  noData: 'warn',
  comparisonMargin: 0.005,
  relativeMargin: 0.5,
  minRequests: 200,
  insufficientData: 'rollback',
};
const signals: Signals = { errorRateQuery: 'err{*}', latencyQuery: 'lat{*}', monitorTags: [] };

function source(intervalMs: number) {
  return createDatadog({ apiKey: API_KEY, appKey: APP_KEY, baseUrl: dd.url }).sampler(intervalMs);
}

describe('sampleWindow over a Datadog API', () => {
  it('a healthy window samples once per interval and passes', async () => {
    reset();
    script.set('err{*}', [0.001]);
    script.set('lat{*}', [90]);
    const analysis = createAnalysis();
    const started = Date.now();
    const r = await sampleWindow({
      source: source(150),
      signals,
      policy,
      analysis,
      durationMs: 600,
      intervalMs: 150,
      share: 100,
      signal: new AbortController().signal,
      log: log(),
    });
    expect(r.decision.kind).toBe('continue');
    expect(r.samples).toHaveLength(4);
    expect(r.samples.every((s) => s.outcome === 'pass' && s.share === 100)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(590);
    const q = traffic.requests.find((x) => x.path === '/api/v1/query');
    expect(q?.headers['dd-api-key']).toBe('[redacted]');
  });

  it('rolls back right after the sample that exceeds failure-limit, with the measured value', async () => {
    reset();
    script.set('err{*}', [0.001, 0.002, 0.034]);
    script.set('lat{*}', [90]);
    const analysis = createAnalysis();
    const r = await sampleWindow({
      source: source(100),
      signals,
      policy,
      analysis,
      durationMs: 5000,
      intervalMs: 100,
      signal: new AbortController().signal,
      log: log(),
    });
    expect(r.decision).toMatchObject({ kind: 'rollback', cause: 'breach' });
    expect(r.samples).toHaveLength(3);
    if (r.decision.kind !== 'rollback') throw new Error('unreachable');
    expect(r.decision.reason).toMatch(/^error rate 0\.034 > 0\.01 at \d\d:\d\d:\d\d/);
  });

  it('Datadog answering 500 to everything: rolls back after the consecutive-error limit, saying why', async () => {
    reset();
    traffic.faults = [{ service: 'datadog', status: 500, body: { errors: ['Internal Server Error'] } }];
    const analysis = createAnalysis();
    const logger = log();
    const r = await sampleWindow({
      source: source(100),
      signals,
      policy,
      analysis,
      durationMs: 300,
      intervalMs: 100,
      signal: new AbortController().signal,
      log: logger,
    });
    expect(r.decision).toMatchObject({ kind: 'rollback', cause: 'unobservable' });
    if (r.decision.kind !== 'rollback') throw new Error('unreachable');
    expect(r.decision.reason).toContain(
      'could not observe production: 5 consecutive monitoring query errors (limit 4)',
    );
    expect(r.decision.reason).toContain('HTTP 500');
    expect(r.decision.reason).not.toContain(API_KEY);
    // The window (3 ticks) ended on errors, so sampling went on until the limit was exceeded.
    expect(r.samples).toHaveLength(5);
    expect(logger.lines.some((l) => l.includes('window ended on 3 query error(s)'))).toBe(true);
  });

  it('a window that ends on errors is retried until production is observed', async () => {
    reset();
    script.set('err{*}', [0.001]);
    script.set('lat{*}', [90]);
    // Ticks 2 and 3 fail (each tick: 2 queries × 2 attempts = 4 requests).
    traffic.faults = [{ service: 'datadog', path: '/api/v1/query', after: 2, times: 8, status: 503 }];
    const analysis = createAnalysis();
    const r = await sampleWindow({
      source: source(100),
      signals,
      policy,
      analysis,
      durationMs: 300,
      intervalMs: 100,
      signal: new AbortController().signal,
      log: log(),
    });
    expect(r.decision.kind).toBe('continue');
    expect(r.samples.map((s) => s.outcome)).toEqual(['pass', 'error', 'error', 'pass']);
  });

  it('a monitor in Alert is a breach', async () => {
    reset();
    monitors = [{ id: 7, name: 'checkout errors', overall_state: 'Alert', tags: ['service:shop'] }];
    const analysis = createAnalysis();
    const r = await sampleWindow({
      source: source(100),
      signals: { monitorTags: ['service:shop'] },
      policy,
      analysis,
      durationMs: 1000,
      intervalMs: 100,
      signal: new AbortController().signal,
      log: log(),
    });
    expect(r.decision.kind).toBe('rollback');
    expect(r.samples[0]!.alerting).toEqual(['checkout errors']);
    const req = traffic.requests.find((x) => x.path === '/api/v1/monitor');
    expect(req?.query.monitor_tags).toBe('service:shop');
  });

  it('no-data: inconclusive stops without a rollback decision', async () => {
    reset();
    script.set('lat{*}', [90]);
    const analysis = createAnalysis();
    const r = await sampleWindow({
      source: source(100),
      signals,
      policy: { ...policy, noData: 'inconclusive' },
      analysis,
      durationMs: 1000,
      intervalMs: 100,
      signal: new AbortController().signal,
      log: log(),
    });
    expect(r.decision.kind).toBe('inconclusive');
    expect(r.samples).toHaveLength(1);
  });

  it('a missing application key is a query error, not a silent pass', async () => {
    reset();
    const src = createDatadog({ apiKey: API_KEY, baseUrl: dd.url }).sampler(100);
    const res = await src.query('err{*}', Date.now() - 100, Date.now(), new AbortController().signal);
    expect(res).toMatchObject({ kind: 'error' });
    expect(traffic.requests).toHaveLength(0);
  });

  it('cancellation stops the loop', async () => {
    reset();
    script.set('err{*}', [0.001]);
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('cancelled by test')), 150);
    await expect(
      sampleWindow({
        source: source(100),
        signals,
        policy,
        analysis: createAnalysis(),
        durationMs: 10_000,
        intervalMs: 100,
        signal: ac.signal,
        log: log(),
      }),
    ).rejects.toThrow('cancelled by test');
  });
});
