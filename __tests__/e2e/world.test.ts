/**
 * End to end (the bundled action against the sandbox): the traffic set-up as Cloudflare and Vercel
 * really have it. A load balancer with session affinity, a rules override or an unmonitored pool, and
 * slot hostnames that are production domains of the Vercel project, are each refused by pre-flight
 * before anything moves, naming the setting to change. With affinity opted in, a visitor pinned to
 * green is served blue after a rollback. One failing data center out of many does not block a deploy
 * when the monitor probes at a realistic ratio to the action's timeouts.
 *
 * Dist: `PD_DIST_DIR` (a private bundle), else `dist/`.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoggedRequest } from '../../sandbox/core/service.ts';
import { scenarioFrom, startSandbox, type Sandbox } from '../../sandbox/index.ts';
import { cloudflareState } from '../../sandbox/services/cloudflare.ts';
import { vercelState } from '../../sandbox/services/vercel-state.ts';
import { runAction, startAction, type ActionRun } from './harness.ts';

const DIST = process.env.PD_DIST_DIR ?? 'dist';

/** Requests that changed something at Cloudflare or Vercel since `since`. */
async function mutations(sb: Sandbox, since: number): Promise<string[]> {
  const log = (await (await fetch(`${sb.urls.sandbox}/_sandbox/requests?since=${since}`)).json()) as LoggedRequest[];
  return log
    .filter((r) => (r.service === 'cloudflare' || r.service === 'vercel') && r.method !== 'GET')
    .map((r) => `${r.service} ${r.method} ${r.path}`);
}

async function lastSeq(sb: Sandbox): Promise<number> {
  const log = (await (await fetch(`${sb.urls.sandbox}/_sandbox/requests`)).json()) as LoggedRequest[];
  return log.at(-1)?.seq ?? 0;
}

/** Run the action once in a world changed by `overrides`; what it did and what it changed. */
async function refusal(
  name: string,
  overrides: Record<string, unknown>,
  inputs: Record<string, string> = {},
): Promise<{ run: ActionRun; changed: string[] }> {
  const sb = await startSandbox({ scenario: scenarioFrom({ name, ...overrides }), traffic: false });
  try {
    const since = await lastSeq(sb);
    const run = await runAction({ entry: join(DIST, 'index.js'), env: sb.env, inputs, timeoutMs: 120_000 });
    return { run, changed: await mutations(sb, since) };
  } finally {
    await sb.stop();
  }
}

function row(run: ActionRun, name: string) {
  const preflight = run.report!.steps.find((s) => s.name === 'preflight')!;
  return preflight.checks.find((c) => c.name === name);
}

function expectRefused(r: { run: ActionRun; changed: string[] }, name: string, setting: RegExp): void {
  expect(r.run.outputs.status, r.run.stdout.slice(-3000)).toBe('no-go');
  expect(r.run.report!.steps.map((s) => s.name)).toEqual(['preflight']);
  const c = row(r.run, name);
  expect(c?.status, JSON.stringify(r.run.report!.steps[0]!.checks)).toBe('fail');
  expect(c!.reason).toMatch(setting);
  expect(r.changed).toEqual([]);
}

describe('refused before anything moves', () => {
  let affinity: { run: ActionRun; changed: string[] };
  let rules: { run: ActionRun; changed: string[] };
  let production: { run: ActionRun; changed: string[] };
  let unmonitored: { run: ActionRun; changed: string[] };

  beforeAll(async () => {
    affinity = await refusal('affinity-on', { cloudflare: { loadBalancer: { session_affinity: 'cookie' } } });
    rules = await refusal('rules-override', {
      cloudflare: {
        loadBalancer: {
          rules: [
            {
              name: 'beta',
              condition: 'http.request.uri.path contains "/beta"',
              overrides: { default_pools: ['green'] },
            },
          ],
        },
      },
    });
    production = await refusal('slots-are-production-domains', {
      vercel: {
        project: { productionDomains: ['www.example.com', 'blue.example.com', 'green.example.com'], domains: [] },
      },
    });
    unmonitored = await refusal('green-unmonitored', {
      cloudflare: { pools: [{ name: 'blue' }, { name: 'green', monitored: false }] },
    });
  }, 480_000);

  it('session affinity on: refused, naming session_affinity and allow-session-affinity', () => {
    expectRefused(
      affinity,
      'Session affinity',
      /session_affinity is cookie.*set session affinity to none.*allow-session-affinity/,
    );
  });

  it('a load balancing rule with overrides: refused, naming the rule', () => {
    expectRefused(rules, 'Load balancer rules', /1 enabled rule \(beta\).*disable or delete the load balancer's rules/);
  });

  it('slot hostnames that are production domains of the project: refused', () => {
    expectRefused(
      production,
      'Slot domains',
      /blue\.example\.com, green\.example\.com are production domains of Vercel project sandbox-shop: every promote, Instant Rollback/,
    );
  });

  it('a pool without a monitor: refused (its health is unknown, not healthy)', () => {
    expectRefused(unmonitored, 'Pool monitors', /has no monitor: its health is unknown.*attach a health monitor/);
  });

  it('the other rows of the world check pass in those worlds', () => {
    for (const name of ['Load balancer proxied', 'Origin Host overrides', 'Adaptive routing'])
      expect(row(affinity.run, name)?.status, name).toBe('pass');
  });
});

describe('session affinity opted in: a rollback moves visitors pinned to green', () => {
  let sb: Sandbox;
  let run: ActionRun;
  let pinnedCookie: string | undefined;
  let afterRollback: { pool: string; cookie: string | null };
  let pools: { blue: string; green: string };

  beforeAll(async () => {
    sb = await startSandbox({
      scenario: scenarioFrom({
        name: 'affinity-rollback',
        deploy: { version: 'bad-errors' },
        cloudflare: { loadBalancer: { session_affinity: 'cookie' } },
        inputs: {
          'allow-session-affinity': 'true',
          'performance-threshold-ms': '5000',
          'validation-window': '20s',
          'validation-interval': '1s',
          'failure-limit': '1',
          'error-rate-threshold': '0.05',
        },
        traffic: { rate: 40 },
      }),
    });
    const state = cloudflareState(sb.world);
    const byName = (n: string) => [...state.pools.values()].find((p) => p.name === n)!.id;
    pools = { blue: byName('blue'), green: byName('green') };
    const action = startAction({ entry: join(DIST, 'index.js'), env: sb.env, timeoutMs: 180_000 });
    const production = sb.env['INPUT_PRODUCTION-URL']!;
    // A visitor without a cookie, again and again, until the load balancer pins one to green.
    let done = false;
    void action.result.then(() => (done = true));
    for (let i = 0; !done && !pinnedCookie; i++) {
      const res = await fetch(`${production}/visitor/${i}`).catch(() => undefined);
      const set = res?.headers.get('set-cookie') ?? '';
      await res?.arrayBuffer();
      const value = /__cflb=([^;]+)/.exec(set)?.[1];
      if (value) {
        const [pool] = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as string[];
        if (pool === pools.green) pinnedCookie = `__cflb=${value}`;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    run = await action.result;
    // The same visitor after the rollback, with green's cookie.
    const res = await fetch(`${production}/visitor/after`, { headers: { cookie: pinnedCookie ?? '' } });
    await res.arrayBuffer();
    const hit = sb.world.hits.filter((h) => h.path === '/visitor/after').at(-1)!;
    afterRollback = { pool: hit.pool, cookie: res.headers.get('set-cookie') };
  }, 240_000);
  afterAll(async () => sb?.stop());

  it('the run rolled back', () => {
    expect(run.outputs.status, run.stdout.slice(-3000)).toBe('rolled-back');
    expect(row(run, 'Session affinity')).toMatchObject({ status: 'pass' });
  });

  it('a visitor was pinned to green while it served', () => {
    expect(pinnedCookie).toBeDefined();
  });

  it('that visitor, still holding green’s cookie, is served by blue after the rollback', () => {
    expect(afterRollback.pool).toBe(pools.blue);
    expect(afterRollback.cookie).toMatch(/^__cflb=/);
  });

  it('the restore disabled green’s origins and pointed green’s slot at blue, not at an older release', () => {
    const green = cloudflareState(sb.world).pools.get(pools.green)!;
    expect(green.origins.every((o) => o.enabled === false)).toBe(true);
    expect(run.stdout).toMatch(/Disabled \(drained\) the origins of Cloudflare pool/);
    const aliases = vercelState(sb.world).aliases;
    const blueId = run.outputs['previous-deployment-id'];
    expect(blueId).toBeTruthy();
    expect(aliases.get('blue.example.com')?.deploymentId).toBe(blueId);
    expect(aliases.get('green.example.com')?.deploymentId).toBe(blueId);
  });
});

describe('one failing data center, with the monitor probing at a realistic ratio to the timeouts', () => {
  let sb: Sandbox;
  let run: ActionRun;

  beforeAll(async () => {
    // Monitor interval 60 s against the default health-check-timeout of 300 s, both 20× faster:
    // a probe round every 3 s, a health-check-timeout of 15 s.
    sb = await startSandbox({
      scenario: scenarioFrom({
        name: 'one-bad-data-center',
        timings: { healthCheckIntervalMs: 3000 },
        cloudflare: { monitor: { interval: 60 }, dataCenterFaults: { 'Amsterdam, NL': 'TCP connection failed' } },
        inputs: { 'health-check-timeout': '15s' },
      }),
    });
    run = await runAction({ entry: join(DIST, 'index.js'), env: sb.env, timeoutMs: 180_000 });
  }, 240_000);
  afterAll(async () => sb?.stop());

  it('the deploy succeeds', () => {
    expect(run.outputs.status, run.stdout.slice(-4000)).toBe('success');
  });

  it('the failing data center was really reporting the slot unhealthy', async () => {
    const state = cloudflareState(sb.world);
    const green = [...state.pools.values()].find((p) => p.name === 'green')!;
    const res = await fetch(
      `${sb.urls.cloudflare}/client/v4/accounts/${state.accountId}/load_balancers/pools/${green.id}/health`,
      { headers: { authorization: `Bearer ${state.token}` } },
    );
    const body = (await res.json()) as { result: { pop_health: Record<string, { healthy: boolean }> } };
    const pops = body.result.pop_health;
    expect(pops['Amsterdam, NL']?.healthy).toBe(false);
    expect(Object.values(pops).filter((p) => p.healthy).length).toBe(Object.keys(pops).length - 1);
  });

  it('green took traffic only after a health result newer than the alias change (at least one probe round)', () => {
    const log = sb.world.traffic.requests;
    const alias = log.find((r) => r.service === 'vercel' && r.method === 'POST' && /\/aliases$/.test(r.path))!;
    const firstPatch = log.find(
      (r) => r.service === 'cloudflare' && r.method === 'PATCH' && /load_balancers\/\w+$/.test(r.path),
    )!;
    expect(alias).toBeDefined();
    expect(firstPatch).toBeDefined();
    expect(Date.parse(firstPatch.time) - Date.parse(alias.time)).toBeGreaterThanOrEqual(3000);
  });
});
