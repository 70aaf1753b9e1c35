/**
 * End to end (the bundled action against the sandbox): `mode: plan` on the `default`
 * scenario is a go, reports what deploy would do (the live slot, the rollback target, the weight
 * schedule), and changes nothing: the sandbox's whole state is the same before and after, apart from
 * the PR comment and read-only counters. Every request it sent is a read (but the PR comment) and
 * validates against the official specs.
 *
 * Dist: `PD_DIST_DIR` (a private bundle, `node scripts/bundle.mjs --out DIR`), else `dist/`.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../sandbox/index.ts';
import { validator } from '../../sandbox/contract/testing.ts';
import { formatProblems } from '../../sandbox/contract/validate.ts';
import type { LoggedRequest } from '../../sandbox/core/service.ts';
import { runAction, type ActionRun } from './harness.ts';

const DIST = process.env.PD_DIST_DIR ?? 'dist';
let sb: Sandbox;
let run: ActionRun;
let before: SandboxState;
let after: SandboxState;
let requests: LoggedRequest[];

/** The parts of `/_sandbox/state` this test reads by name (the rest is compared whole). */
interface SandboxState {
  vercel: { projects: { id: string; servingProduction?: string }[] };
  cloudflare: { loadBalancers: { fallback_pool: string }[] };
  github: { comments: { issue: number; body: string }[] };
  [section: string]: unknown;
}

async function get<T>(path: string): Promise<T> {
  return (await fetch(`${sb.urls.sandbox}${path}`)).json() as Promise<T>;
}

/**
 * The state without what reads change or the plan may write: traffic counters (the traffic stream
 * runs throughout), request counts, GitHub's rate-limit counters, Datadog's count of queries read,
 * the dependency endpoints' hit counts, and the PR comment (the one thing a plan writes).
 */
function stable(state: SandboxState): Record<string, unknown> {
  const s = structuredClone(state) as Record<string, Record<string, unknown> | undefined>;
  const drop = (section: string, keys: string[]) => keys.forEach((k) => delete s[section]?.[k]);
  for (const k of ['traffic', 'trafficStream', 'requestCount', 'startedAt', 'githubGraphql']) delete s[k];
  drop('vercel', ['traffic']);
  drop('cloudflare', ['traffic']);
  drop('github', ['comments', 'nextId', 'rateLimitRemaining', 'rateLimitReset']);
  drop('datadog', ['queryCalls']);
  drop('deps', ['hits']);
  return s;
}

beforeAll(async () => {
  sb = await startSandbox({ scenario: 'default' });
  before = await get<SandboxState>('/_sandbox/state');
  const since = (await get<LoggedRequest[]>('/_sandbox/requests')).at(-1)?.seq ?? 0;
  run = await runAction({ entry: join(DIST, 'index.js'), env: sb.env, inputs: { mode: 'plan' }, timeoutMs: 120_000 });
  after = await get<SandboxState>('/_sandbox/state');
  requests = await get<LoggedRequest[]>(`/_sandbox/requests?since=${since}`);
}, 180_000);
afterAll(async () => sb?.stop());

describe('plan on the default scenario', () => {
  it('ends planned and go, with pre-flight, read-only prepare and the plan', () => {
    expect(run.code, `${run.stdout.slice(-4000)}\n${run.stderr}`).toBe(0);
    expect(run.outputs.status).toBe('planned');
    expect(run.outputs.go).toBe('true');
    const steps = run.report!.steps.map((s) => [s.name, s.status]);
    expect(steps.map(([n]) => n)).toEqual(['preflight', 'prepare', 'plan']);
    expect(run.report!.steps[0]!.checks.map((c) => c.status)).toEqual([
      'pass',
      'pass',
      'pass',
      'pass',
      'skipped',
      'pass',
    ]);
    const prepare = run.report!.steps[1]!;
    expect(prepare.details.readOnly).toBe(true);
    expect(prepare.checks[0]!.reason).toMatch(
      /^deploy would stream backup-command to s3:\/\/shop-backups\/production-deploy\/acme\/shop\/production\/…; newest backup .* is \d+ h \d+ min old$/,
    );
    expect(prepare.checks.find((c) => c.name === 'Environment variables')!.status).toBe('pass');
    expect(prepare.checks.find((c) => c.name === 'Service dependencies')!.status).toBe('pass');
    expect(prepare.checks.find((c) => c.name === 'Capacity and incidents')!.status).toBe('pass');
    expect(run.outputs['backup-key']).toBe('');
  });

  it('reports the live slot, the rollback target and the weight schedule', () => {
    const plan = run.report!.steps.find((s) => s.name === 'plan')!;
    const details = plan.details.plan as {
      blue: { id: string };
      livePool: string;
      idlePool: string;
      schedule: unknown;
    };
    expect(details.blue.id).toBe(before.vercel.projects[0]!.servingProduction);
    expect(details.livePool).toBe(before.cloudflare.loadBalancers[0]!.fallback_pool);
    expect(details.livePool).toBeTruthy();
    expect(details.idlePool).not.toBe(details.livePool);
    expect(details.schedule).toEqual([
      { atMs: 0, share: 100, holdMs: 4000, what: 'final switch; watched for validation-window' },
    ]);
    expect(plan.reason).toContain(`rollback target ${details.blue.id}`);
    expect(run.summary).toContain('What deploy would do');
    expect(run.summary).toContain('| T | 100 % | 0 % | 4s | final switch; watched for validation-window |');
    const load = plan.checks.find((c) => c.name === 'Load balancer')!;
    expect(load.status).toBe('pass');
    expect(load.reason).toMatch(/is live with 100 % of the traffic/);
    expect(plan.checks.find((c) => c.name === 'Error rate now')!.status).toMatch(/pass|warn/);
    // The world check (src/traffic/world.ts), one row per setting, read with GET requests only.
    for (const name of [
      'Load balancer proxied',
      'Origin Host overrides',
      'Session affinity',
      'Load balancer rules',
      'Adaptive routing',
      'Pool monitors',
      'Slot domains',
    ])
      expect(plan.checks.find((c) => c.name === name)?.status, name).toBe('pass');
  });

  it('changes nothing in the sandbox but the PR comment', () => {
    expect(stable(after)).toEqual(stable(before));
    const comments = after.github.comments;
    expect(comments).toHaveLength(1);
    expect(comments[0]!.issue).toBe(42);
    expect(comments[0]!.body).toContain('<!-- production-deploy:production -->');
    expect(comments[0]!.body).toContain('Go for production (plan: nothing was changed)');
  });

  it('sent only reads, apart from the comment, and every request matches the official specs', async () => {
    const api = requests.filter((r) => r.service !== 'sandbox');
    // GitHub GraphQL queries are POSTs but reads.
    const writes = api.filter((r) => !['GET', 'HEAD'].includes(r.method) && !r.path.endsWith('/graphql'));
    expect(writes.map((r) => `${r.service} ${r.method} ${r.path}`)).toEqual([
      'github POST /repos/acme/shop/issues/42/comments',
    ]);
    const v = await validator();
    const results = api.map((r) => v.validate(r));
    expect(formatProblems(results)).toBe('');
    // Every provider API the plan reads was checked against its spec (S3 has none here).
    const validated = new Set(results.filter((r) => r.operation).map((r) => r.service));
    expect([...validated].sort()).toEqual(['cloudflare', 'datadog', 'github', 'vercel']);
  });
});
