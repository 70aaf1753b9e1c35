/**
 * The Deployment Gate signal: the Datadog client's two gate calls against the sandbox's gate routes
 * over real HTTP, the polling (404 while too early, in_progress, timeout, errors in a row), and how a
 * gate's outcome weighs in the decision (fail rolls back; an error fails closed unless on-error: pass).
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { GateScenario } from '../../../sandbox/core/scenario.ts';
import type { World } from '../../../sandbox/core/world.ts';
import { gateRoutes, type GateEvaluation } from '../../../sandbox/services/datadog-gates.ts';
import { Datadog } from '../../../src/providers/datadog.ts';
import type { AnalysisState } from '../../../src/analysis/types.ts';
import type { Config } from '../../../src/config/types.ts';
import type { Watch } from '../../../src/watch/production.ts';
import {
  awaitGate,
  evaluateGate,
  gatePollMs,
  gateVerdict,
  type GateOutcome,
  type RunningGate,
} from '../../../src/watch/gate.ts';
import { deploymentGateCheck } from '../../../src/steps/prepare/gate.ts';
import { isBlocking } from '../../../src/steps/checks.ts';
import { fastRetry, startApi } from '../providers/helpers.ts';

const API_KEY = 'ddapi_Secret0123456789';
const APP_KEY = 'ddapp_Secret9876543210';
const SHA = '4c60a8b4d322696fd694f86492b603349eb97cca';
const REQ = { service: 'shop', env: 'production', identifier: 'default', version: SHA };
const quiet = { info: () => {}, warning: () => {}, debug: () => {} };

function fdd(over: Partial<GateScenario['rules'][number]> = {}): GateScenario['rules'][number] {
  return { name: 'faulty deployment', type: 'faulty_deployment_detection', status: 'pass', ...over };
}

async function setup(gates: GateScenario[]) {
  const evaluations: GateEvaluation[] = [];
  const world = { events: new EventEmitter(), urls: {} } as unknown as World;
  const route = gateRoutes(world, { gates } as never, evaluations);
  const api = await startApi(async (req) => {
    if (req.headers['dd-api-key'] !== API_KEY || req.headers['dd-application-key'] !== APP_KEY)
      return { status: 403, body: { errors: ['Forbidden'] } };
    return route(req) ?? { status: 404, body: { errors: ['Not found'] } };
  }, 'datadog');
  const dd = new Datadog({
    apiKey: API_KEY,
    appKey: APP_KEY,
    baseUrl: api.url,
    timeoutMs: 1_000,
    retry: fastRetry(1, 2_000),
    sample: () => ({ timeoutMs: 500, retry: fastRetry(1, 100) }),
  });
  return { api, dd, evaluations };
}

const gate = (over: Partial<GateScenario> = {}): GateScenario => ({
  service: 'shop',
  env: 'production',
  rules: [fdd()],
  ...over,
});

const evaluate = (dd: Datadog, opts: { timeoutMs?: number; signal?: AbortSignal } = {}) =>
  evaluateGate(dd, REQ, {
    timeoutMs: opts.timeoutMs ?? 10_000,
    pollMs: 5,
    signal: opts.signal ?? new AbortController().signal,
    log: quiet,
  });

describe('evaluating a Deployment Gate', () => {
  it('polls through the 404 of a too-early read and in_progress to pass, sending green’s version', async () => {
    const { api, dd, evaluations } = await setup([gate({ notFoundPolls: 2, inProgressPolls: 2 })]);
    const out = await evaluate(dd);
    expect(out.result).toBe('pass');
    expect(out.polls).toBe(5);
    expect(out.reason).toBe(
      `Deployment Gate "default" (service shop, env production) for version ${SHA.slice(0, 12)} passed, 1 rule(s)`,
    );
    expect(out.evaluationId).toBe(evaluations[0]!.id);
    const start = api.requests('POST', '/api/v2/deployments/gates/evaluation')[0]!;
    expect(start.body).toEqual({
      data: { type: 'deployment_gates_evaluation_request', attributes: REQ },
    });
    expect(start.headers['dd-application-key']).toBe('[redacted]');
    expect(api.requests('GET').map((r) => r.status)).toEqual([404, 404, 200, 200, 200]);
  });

  it('a failing rule fails the gate, naming the rule and Datadog’s reason', async () => {
    const { dd } = await setup([
      gate({
        rules: [
          fdd({ failVersions: [SHA], reason: 'new error type: TypeError in GET /api/products' }),
          { name: 'slo monitors', type: 'monitor', status: 'pass' },
        ],
      }),
    ]);
    const out = await evaluate(dd);
    expect(out.result).toBe('fail');
    expect(out.reason).toContain('failed: "faulty deployment" fail (new error type: TypeError in GET /api/products)');
    const v = gateVerdict(out, 'pass');
    expect(v.ok).toBe(false);
    expect(v.check).toMatchObject({ name: 'deployment gate', status: 'fail' });
  });

  it('rules in dry run are reported, not acted on; a dry-run gate passes whatever its rules find', async () => {
    const { dd } = await setup([
      gate({
        rules: [fdd(), { name: 'canary monitors', type: 'monitor', status: 'fail', reason: 'ALERT', dryRun: true }],
      }),
    ]);
    const out = await evaluate(dd);
    expect(out.result).toBe('pass');
    expect(out.dryRunFailures.map((r) => r.name)).toEqual(['canary monitors']);
    expect(out.reason).toContain('in dry run, not acted on: "canary monitors" fail (ALERT)');
    const v = gateVerdict(out, 'fail');
    expect(v).toMatchObject({ ok: true, check: { status: 'warn' } });

    const dry = await setup([gate({ dryRun: true, rules: [fdd({ status: 'fail', reason: 'error rate up' })] })]);
    const d = await evaluate(dry.dd);
    expect(d.result).toBe('pass');
    expect(d.reason).toContain('the gate is in dry run');
    expect(d.dryRunFailures).toHaveLength(1);
  });

  it('a missing gate (or one without rules) fails closed, naming the settings; on-error: pass lets it through', async () => {
    const { dd } = await setup([gate({ identifier: 'post-deploy' }), gate({ env: 'staging', rules: [] })]);
    const out = await evaluate(dd);
    expect(out.result).toBe('error');
    expect(out.reason).toContain('no gate found for service shop, env production, and identifier default');
    expect(out.reason).toContain('set deployment-gate, datadog-service or environment');
    expect(gateVerdict(out, 'fail')).toMatchObject({ ok: false, check: { status: 'fail' } });
    expect(gateVerdict(out, 'fail').reason).toContain('fails closed (deployment-gate-on-error: fail)');
    expect(gateVerdict(out, 'pass')).toMatchObject({ ok: true, check: { status: 'warn' } });
    expect(gateVerdict(out, 'pass').reason).toContain('counted as passed (deployment-gate-on-error: pass)');
  });

  it('no verdict within deployment-gate-timeout is an error, with the last answer', async () => {
    const { dd } = await setup([gate({ inProgressPolls: 10_000 })]);
    const out = await evaluate(dd, { timeoutMs: 150 });
    expect(out.result).toBe('error');
    expect(out.reason).toMatch(/no verdict within deployment-gate-timeout \(150 ?ms\); last answer: in_progress/);
    expect(out.rules).toEqual([{ name: 'faulty deployment', status: 'in_progress', dryRun: false }]);
  });

  it('a refused evaluation names the permission; a faulty-deployment rule without version is refused', async () => {
    const { api, dd } = await setup([gate()]);
    api.fault({ method: 'POST', status: 403, body: { errors: ['Forbidden'] }, times: 1 });
    const out = await evaluate(dd);
    expect(out.result).toBe('error');
    expect(out.reason).toContain('datadog-app-key needs the deployment_gates_evaluate permission');
    const noVersion = await evaluateGate(dd, { ...REQ, version: undefined } as never, {
      timeoutMs: 1_000,
      pollMs: 5,
      signal: new AbortController().signal,
      log: quiet,
    });
    expect(noVersion.result).toBe('error');
    expect(noVersion.reason).toContain('version is required');
  });

  it('polls that keep failing end in an error after three in a row; one failure is polled again', async () => {
    const flaky = await setup([gate({ notFoundPolls: 0, inProgressPolls: 1 })]);
    // One poll's two attempts fail: the next poll reads on.
    flaky.api.fault({ method: 'GET', status: 500, body: { errors: ['Internal error'] }, times: 2 });
    expect((await evaluate(flaky.dd)).result).toBe('pass');

    const down = await setup([gate()]);
    down.api.fault({ method: 'GET', status: 503, body: { errors: ['Service unavailable'] } });
    const out = await evaluate(down.dd);
    expect(out.result).toBe('error');
    expect(out.polls).toBe(3);
    expect(out.reason).toContain('3 polls in a row failed');
  });

  it('a rate limit on the start is waited out as Datadog asks', async () => {
    const { api, dd } = await setup([gate()]);
    api.fault({
      method: 'POST',
      status: 429,
      headers: { 'x-ratelimit-reset': '0' },
      body: { errors: ['Too many requests'] },
      times: 1,
    });
    expect((await evaluate(dd)).result).toBe('pass');
    expect(api.requests('POST').map((r) => r.status)).toEqual([429, 202]);
  });

  it('an abort rejects (the run was cancelled)', async () => {
    const { dd } = await setup([gate({ inProgressPolls: 10_000 })]);
    const ac = new AbortController();
    const p = evaluate(dd, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('cancelled')), 50);
    await expect(p).rejects.toThrow('cancelled');
  });

  it('polls every validation-interval, between 1 s and the 15 s Datadog recommends at most', () => {
    expect(gatePollMs(200)).toBe(1_000);
    expect(gatePollMs(10_000)).toBe(10_000);
    expect(gatePollMs(60_000)).toBe(15_000);
  });
});

describe("the gate in the watch's decision", () => {
  const config = { validation: { gate: { identifier: 'default', onError: 'fail', timeoutMs: 1_000 } } } as Config;
  const log = { info: () => {}, warning: () => {}, error: () => {}, debug: () => {}, untrusted: () => {} };
  const analysis = (): AnalysisState => ({
    samples: [],
    breaches: 0,
    consecutiveErrors: 0,
    errors: 0,
    noData: 0,
    insufficient: 0,
  });
  const passed: Watch = {
    watched: true,
    decision: { kind: 'continue' },
    samples: [],
    details: {},
    checks: [{ name: 'observability', status: 'pass', reason: 'every query answered' }],
    markdown: '',
  };
  const outcome = (result: GateOutcome['result']): GateOutcome => ({
    result,
    reason: `gate ${result}`,
    rules: [],
    dryRunFailures: [],
    polls: 1,
  });
  const running = (o: GateOutcome): RunningGate & { stopped: boolean } => {
    const g = { outcome: Promise.resolve(o), stopped: false, stop: () => (g.stopped = true) };
    return g;
  };

  it('a failed gate after a passing watch is the rollback decision', async () => {
    const a = analysis();
    const w = await awaitGate({ config, analysis: a, log }, Promise.resolve(passed), running(outcome('fail')));
    expect(w.watched && w.decision).toEqual({ kind: 'rollback', cause: 'breach', reason: 'gate fail' });
    expect(a.decision).toEqual({ kind: 'rollback', cause: 'breach', reason: 'gate fail' });
    expect(w.watched && w.checks.map((c) => `${c.name}:${c.status}`)).toEqual([
      'observability:pass',
      'deployment gate:fail',
    ]);
    expect(w.watched && w.details.gate).toMatchObject({ result: 'fail', polls: 1 });
  });

  it('an error fails closed; a pass lets the watch’s verdict stand', async () => {
    const a = analysis();
    const err = await awaitGate({ config, analysis: a, log }, Promise.resolve(passed), running(outcome('error')));
    expect(err.watched && err.decision.kind).toBe('rollback');
    const ok = await awaitGate(
      { config, analysis: analysis(), log },
      Promise.resolve(passed),
      running(outcome('pass')),
    );
    expect(ok.watched && ok.decision).toEqual({ kind: 'continue' });
    expect(ok.gate?.ok).toBe(true);
  });

  it('with nothing else to watch the gate decides alone', async () => {
    const skip: Watch = { watched: false, skip: 'nothing to watch' };
    const w = await awaitGate({ config, analysis: analysis(), log }, Promise.resolve(skip), running(outcome('fail')));
    expect(w.watched && w.decision.kind).toBe('rollback');
    expect(w.watched && w.details.skipped).toBe('nothing to watch');
  });

  it('a watch that already decided is not held up by the gate', async () => {
    const rolled: Watch = { ...passed, decision: { kind: 'rollback', cause: 'breach', reason: 'error rate' } };
    const g = { outcome: new Promise<GateOutcome>(() => {}), stopped: false, stop: () => (g.stopped = true) };
    const w = await awaitGate({ config, analysis: analysis(), log }, Promise.resolve(rolled), g);
    expect(g.stopped).toBe(true);
    expect(w.watched && w.checks.at(-1)).toEqual({
      name: 'deployment gate',
      status: 'skipped',
      reason: 'not awaited: the watch decided first',
    });
  });
});

describe('the prepare row: the gate exists and has rules, before anything moves', () => {
  const cfg = (identifier: string, onError: 'fail' | 'pass' = 'fail') =>
    ({
      environment: 'production',
      run: { repo: 'shop-repo' },
      prepare: { datadogMonitorTags: ['service:shop'] },
      validation: { versionIdentity: 'sha', gate: { identifier, onError, timeoutMs: 1_000 } },
    }) as unknown as Config;
  const signal = new AbortController().signal;
  const gates: GateScenario[] = [
    gate({ identifier: 'a', service: 'other' }),
    gate({ identifier: 'b', service: 'other' }),
    gate({ identifier: 'pre' }),
    gate({ identifier: 'empty', rules: [] }),
    gate({ identifier: 'dry', dryRun: true }),
    gate(),
  ];

  it('finds the gate on a later page and counts its rules; no row without deployment-gate', async () => {
    const { api, dd } = await setup(gates);
    expect(await deploymentGateCheck(cfg('default'), dd, signal)).toEqual({
      name: 'Deployment Gate',
      status: 'pass',
      reason: 'the Deployment Gate "default" of service shop in env production exists with 1 rule(s)',
    });
    expect(api.requests('GET', '/api/v2/deployment_gates').map((r) => r.query['page[cursor]'] ?? '')).toEqual([
      '',
      '2',
      '4',
    ]);
    const none = { ...cfg('x'), validation: { versionIdentity: 'sha' } } as unknown as Config;
    expect(await deploymentGateCheck(none, dd, signal)).toBeUndefined();
  });

  it('a missing gate or one without rules fails, naming the settings; with on-error: pass it warns', async () => {
    const { dd } = await setup(gates);
    const missing = await deploymentGateCheck(cfg('post-deploy'), dd, signal);
    expect(missing).toMatchObject({ status: 'fail' });
    expect(missing!.reason).toContain('set deployment-gate, datadog-service or environment');
    expect(await deploymentGateCheck(cfg('empty'), dd, signal)).toMatchObject({
      status: 'fail',
      reason: expect.stringContaining('has no rules'),
    });
    expect(await deploymentGateCheck(cfg('post-deploy', 'pass'), dd, signal)).toMatchObject({ status: 'warn' });
    expect(await deploymentGateCheck(cfg('dry'), dd, signal)).toMatchObject({
      status: 'warn',
      reason: expect.stringContaining('in dry run'),
    });
  });

  it('a look-up Datadog refuses is said loudly but does not block (the evaluation still fails closed)', async () => {
    const { api, dd } = await setup(gates);
    api.fault({ method: 'GET', path: '/api/v2/deployment_gates', status: 403, body: { errors: ['Forbidden'] } });
    const row = await deploymentGateCheck(cfg('default'), dd, signal);
    expect(row).toMatchObject({ status: 'not-checked', details: { advisory: true } });
    expect(row!.reason).toContain('deployment_gates_read');
    expect(isBlocking(row!)).toBe(false);
  });
});
