/**
 * End to end, in the world as Vercel and Cloudflare really behave (sandbox/README.md, "Modelled
 * behaviours and their sources"): answers name no deployment, so the action must be able to
 * attribute them by the app's own version header — or refuse before anything moves — and must not
 * take a production that does not answer for a pass. A set-up that cannot switch (origins without a
 * Host override, a DNS-only load balancer) is refused before anything moves, naming the setting.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarioFrom, startSandbox, type Sandbox } from '../../sandbox/index.ts';
import { runAction, type ActionRun } from './harness.ts';
import { productionVersions, sandboxState, type SandboxState } from './release-support.ts';

const DIST = process.env.PD_DIST_DIR ?? 'dist';

/** Every request that changed Cloudflare or moved a Vercel alias/production (none may happen on a refusal). */
function moves(sb: Sandbox): string[] {
  return sb.world.traffic.requests
    .filter(
      (r) =>
        (r.service === 'cloudflare' && r.method !== 'GET') ||
        (r.service === 'vercel' && r.method === 'POST' && /\/aliases$|\/promote\/|\/rollback\//.test(r.path)),
    )
    .map((r) => `${r.service} ${r.method} ${r.path}`);
}

/** The failed step and its reason (the run stops at the first failure). */
function failure(run: ActionRun): { step: string; reason: string } {
  const step = run.report!.steps.find((s) => s.status === 'failed');
  return { step: step?.name ?? '', reason: step?.reason ?? '' };
}

/**
 * Everything the failed step said: its reason and its failed checks' (a refusal may come from the
 * deploy step reading the slots, or from a pre-flight check of the set-up).
 */
function refusal(run: ActionRun): string {
  const step = run.report!.steps.find((s) => s.status === 'failed');
  return [step?.reason ?? '', ...(step?.checks ?? []).filter((c) => c.status === 'fail').map((c) => c.reason)].join(
    '\n',
  );
}

async function refused(name: string, over: Record<string, unknown>): Promise<{ sb: Sandbox; run: ActionRun }> {
  const sb = await startSandbox({ scenario: scenarioFrom({ name, ...over }) });
  const run = await runAction({ entry: join(DIST, 'index.js'), env: sb.env, timeoutMs: 180_000 });
  return { sb, run };
}

describe('an app that sends no version header', () => {
  let sb: Sandbox;
  let run: ActionRun;
  beforeAll(async () => {
    // The environment exists without protection rules: pre-flight says so plainly, and goes on.
    ({ sb, run } = await refused('no-version-header', {
      deploy: { version: 'v2-no-version-header' },
      github: { environments: [{ name: 'production' }] },
    }));
  }, 240_000);
  afterAll(async () => sb?.stop());

  it('pre-flight says plainly that the environment has no protection rules, without blocking', () => {
    const preflight = run.report!.steps.find((s) => s.name === 'preflight')!;
    expect(preflight.status).toBe('warned');
    const row = preflight.checks.find((c) => c.name === 'GitHub environment')!;
    expect(row.status).toBe('warn');
    expect(row.reason).toContain('environment production has no protection rules');
  });

  it('is refused before any traffic moves, naming the fix', async () => {
    expect(run.code).not.toBe(0);
    expect(run.outputs.status).toBe('failed');
    const { step, reason } = failure(run);
    expect(step).toBe('traffic');
    expect(reason).toMatch(/^refused before any traffic moved: answers cannot be attributed to green or blue: /);
    expect(reason).toMatch(/green \(dpl_\w+\) sends no x-app-version header/);
    expect(reason).toContain('version-header');
    expect(reason).toContain('version-path');
    expect(run.report!.state.trafficBefore).toBeUndefined();
    expect(moves(sb)).toEqual([]);
    expect(await productionVersions(sb)).toEqual({ v1: 20 });
  });
});

describe('production answering 503 while green and blue are healthy', () => {
  let sb: Sandbox;
  let run: ActionRun;
  let state: SandboxState;
  beforeAll(async () => {
    sb = await startSandbox({
      scenario: scenarioFrom({
        name: 'production-503',
        traffic: { rate: 0 },
        faults: [{ service: 'lb', status: 503, body: 'error code: 503' }],
      }),
    });
    const running = runAction({ entry: join(DIST, 'index.js'), env: sb.env, timeoutMs: 240_000 });
    // Production comes back once blue's weights are restored, so the restore can see blue answer.
    const pools = (await sandboxState(sb)).cloudflare.pools as { id: string; name: string }[];
    const blue = pools.find((p) => p.name === 'blue')!.id;
    let switched = false;
    for (let i = 0; i < 2400; i++) {
      const history = (await sandboxState(sb)).cloudflare.history as {
        kind: string;
        via: string;
        random_steering?: { pool_weights?: Record<string, number> };
      }[];
      const weights = history.filter((h) => h.kind === 'load_balancer' && h.via !== 'scenario');
      if (weights.some((h) => h.random_steering?.pool_weights?.[blue] === 0)) switched = true;
      if (switched && weights.at(-1)?.random_steering?.pool_weights?.[blue] === 1) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await fetch(`${sb.urls.sandbox}/_sandbox/faults`, { method: 'DELETE' });
    run = await running;
    state = await sandboxState(sb);
  }, 300_000);
  afterAll(async () => sb?.stop());

  it('fails the switch saying production does not answer, and restores blue', async () => {
    expect(run.code).not.toBe(0);
    const traffic = run.report!.steps.find((s) => s.name === 'traffic')!;
    expect(traffic.status).toBe('failed');
    expect(traffic.reason).toMatch(
      /routing check at 100% failed: production does not answer: 40\/40 requests failed \(HTTP 503 ×40\)/,
    );
    expect(run.outputs.status).toBe('rolled-back');
    expect(run.report!.state.restored).toBeTruthy();
    const lb = (state.cloudflare.loadBalancers as { pool_weights: Record<string, number> }[])[0]!;
    const pools = state.cloudflare.pools as { id: string; name: string }[];
    expect(lb.pool_weights[pools.find((p) => p.name === 'blue')!.id]).toBe(1);
    expect(await productionVersions(sb)).toEqual({ v1: 20 });
  });
});

describe('origins without a Host override', () => {
  let sb: Sandbox;
  let run: ActionRun;
  beforeAll(async () => {
    ({ sb, run } = await refused('no-host-override', {
      cloudflare: {
        pools: [
          { name: 'blue', origins: [{ address: 'cname.vercel-dns.com' }] },
          { name: 'green', origins: [{ address: 'cname.vercel-dns.com' }] },
        ],
      },
    }));
  }, 240_000);
  afterAll(async () => sb?.stop());

  it('are refused before anything moves, naming header.Host', () => {
    expect(run.code).not.toBe(0);
    // Pre-flight's world check reads the pools first: a no-go, before any step that could move traffic.
    expect(run.outputs.status).toBe('no-go');
    expect(refusal(run)).toContain('header.Host');
    expect(run.report!.state.trafficBefore).toBeUndefined();
    expect(moves(sb)).toEqual([]);
  });
});

describe('a DNS-only load balancer', () => {
  let sb: Sandbox;
  let run: ActionRun;
  beforeAll(async () => {
    ({ sb, run } = await refused('dns-only', { cloudflare: { loadBalancer: { proxied: false } } }));
  }, 240_000);
  afterAll(async () => sb?.stop());

  it('is refused before anything moves, naming proxied', () => {
    expect(run.code).not.toBe(0);
    // Pre-flight's world check reads the load balancer first: a no-go, before anything could move.
    expect(run.outputs.status).toBe('no-go');
    expect(refusal(run)).toMatch(/proxied/);
    expect(run.report!.state.trafficBefore).toBeUndefined();
    expect(moves(sb)).toEqual([]);
  });
});
