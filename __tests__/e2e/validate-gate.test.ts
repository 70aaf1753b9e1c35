/**
 * End to end: a Datadog Deployment Gate (`deployment-gate`) as one signal of post-deploy validation.
 * Two deploys of the healthy v2 side by side (each its own sandbox), the gate keyed by service `shop`
 * and env `production`, evaluated with green's commit SHA as `version`:
 * - the gate passes (after a 404 "polled too early" and two in_progress answers); its monitor rule in
 *   dry run fails and is reported, not acted on: the deploy succeeds;
 * - the gate's faulty-deployment-detection rule fails for green's version: the release is rolled back
 *   although every metric passed, and production serves v1 again.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarioFrom, startSandbox, type Sandbox } from '../../sandbox/index.ts';
import type { GateScenario } from '../../sandbox/core/scenario.ts';
import { runAction, type ActionRun } from './harness.ts';

const DIST = process.env.PD_DIST_DIR ?? 'dist';
const RUN_SHA = 'c063502a72638f829a159c1a27c08e9dc9ef1993';

interface GateState {
  datadog: { gateEvaluations: { identifier: string; service: string; env: string; version?: string; reads: number }[] };
}

function scenario(name: string, gate: GateScenario, inputs: Record<string, string>) {
  return scenarioFrom({
    name,
    datadog: { ...scenarioFrom({}).datadog, gates: [gate] },
    inputs: { 'performance-threshold-ms': '5000', 'deployment-gate': gate.identifier ?? 'default', ...inputs },
  });
}

async function deploy(s: ReturnType<typeof scenario>): Promise<{ run: ActionRun; sb: Sandbox }> {
  const sb = await startSandbox({ scenario: s });
  try {
    return { run: await runAction({ entry: join(DIST, 'index.js'), env: sb.env, timeoutMs: 180_000 }), sb };
  } catch (err) {
    await sb.stop();
    throw err;
  }
}

const why = (run: ActionRun) => `${run.stdout.slice(-5000)}\n${run.stderr}`;
const state = async (sb: Sandbox) => (await (await fetch(`${sb.urls.sandbox}/_sandbox/state`)).json()) as GateState;
let pass: { run: ActionRun; sb: Sandbox };
let fail: { run: ActionRun; sb: Sandbox };

beforeAll(async () => {
  [pass, fail] = await Promise.all([
    deploy(
      scenario(
        'gate-pass',
        {
          identifier: 'post-deploy',
          service: 'shop',
          env: 'production',
          notFoundPolls: 1,
          inProgressPolls: 2,
          rules: [
            { name: 'faulty deployment', type: 'faulty_deployment_detection', status: 'pass' },
            { name: 'shop monitors', type: 'monitor', status: 'fail', reason: 'monitor 1001 in ALERT', dryRun: true },
          ],
        },
        // The service comes from the `service:shop` monitor tag.
        {},
      ),
    ),
    deploy(
      scenario(
        'gate-fail',
        {
          service: 'shop',
          env: 'production',
          rules: [
            {
              name: 'faulty deployment',
              type: 'faulty_deployment_detection',
              status: 'pass',
              failVersions: [RUN_SHA],
              reason: 'new error type in GET /api/products',
            },
          ],
        },
        { 'datadog-service': 'shop' },
      ),
    ),
  ]);
}, 240_000);
afterAll(async () => {
  await Promise.all([pass?.sb.stop(), fail?.sb.stop()]);
});

describe('a Deployment Gate that passes', () => {
  it('lets the deploy succeed, saying so, with the dry-run failure reported', () => {
    expect(pass.run.code, why(pass.run)).toBe(0);
    expect(pass.run.outputs.status).toBe('success');
    const validate = pass.run.report!.steps.find((s) => s.name === 'validate')!;
    expect(validate.status).toBe('warned');
    expect(validate.reason).toContain(
      'Deployment Gate "post-deploy" (service shop, env production) for version c063502a7263 passed',
    );
    expect(validate.reason).toContain('in dry run, not acted on: "shop monitors" fail (monitor 1001 in ALERT)');
    expect(validate.checks!.find((c) => c.name === 'deployment gate')!.status).toBe('warn');
    expect(validate.details.gate).toMatchObject({ result: 'pass', polls: 4 });
  });

  it('was looked up before anything moved', () => {
    const prepare = pass.run.report!.steps.find((s) => s.name === 'prepare')!;
    expect(prepare.checks!.find((c) => c.name === 'Deployment Gate')).toEqual({
      name: 'Deployment Gate',
      status: 'pass',
      reason: 'the Deployment Gate "post-deploy" of service shop in env production exists with 2 rule(s)',
    });
  });

  it("asked Datadog once, with green's version, polling through 404 and in_progress", async () => {
    const evals = (await state(pass.sb)).datadog.gateEvaluations;
    expect(evals).toEqual([
      expect.objectContaining({
        identifier: 'post-deploy',
        service: 'shop',
        env: 'production',
        version: RUN_SHA,
        reads: 4,
      }),
    ]);
  });
});

describe('a Deployment Gate that fails', () => {
  it('rolls the release back although every metric passed', () => {
    expect(fail.run.code, why(fail.run)).not.toBe(0);
    expect(fail.run.outputs.status).toBe('rolled-back');
    expect(fail.run.report!.state.restored).toBe(true);
    const validate = fail.run.report!.steps.find((s) => s.name === 'validate')!;
    expect(validate.status).toBe('failed');
    expect(validate.reason).toBe(
      'Deployment Gate "default" (service shop, env production) for version c063502a7263 failed: ' +
        '"faulty deployment" fail (new error type in GET /api/products)',
    );
    expect(validate.details.cause).toBe('breach');
    const observability = validate.checks!.find((c) => c.name === 'observability')!;
    expect(observability.status).not.toBe('fail');
  });

  it('production serves v1 again', async () => {
    const versions = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${fail.sb.urls.production}/api/health`);
      await res.arrayBuffer();
      versions.add(res.headers.get('x-app-version') ?? '?');
    }
    expect([...versions]).toEqual(['v1']);
  });
});
