import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { scenarioFrom, type Scenario } from '../../../../sandbox/core/scenario.ts';
import { Traffic, type RunningService } from '../../../../sandbox/core/service.ts';
import type { World } from '../../../../sandbox/core/world.ts';
import { startGithub } from '../../../../sandbox/services/github.ts';
import type { Config } from '../../../../src/config/types.ts';
import { GitHub } from '../../../../src/providers/github.ts';
import { checksPolicy, evaluatePreflight } from '../../../../src/steps/preflight.ts';
import { choosePull, gatherPreflight, pollDelay } from '../../../../src/steps/preflight/fetch.ts';
import { isGo } from '../../../../src/steps/preflight/report.ts';
import type { PullRequest } from '../../../../src/providers/github-types.ts';
import { POLICIES } from '../../../../src/providers/index.ts';

let running: RunningService | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

/** The GitHub miniature alone, and the real adapter pointed at it. */
async function github(scenario: Scenario): Promise<{ gh: GitHub; world: World }> {
  const world: World = {
    traffic: new Traffic(),
    urls: {},
    hits: [],
    state: {},
    events: new EventEmitter(),
    dir: '/tmp',
  };
  running = await startGithub(world, scenario);
  world.urls.github = running.url;
  const gh = new GitHub({
    token: scenario.github.token,
    baseUrl: running.url,
    owner: scenario.repo.owner,
    repo: scenario.repo.name,
    timeoutMs: 5000,
    retries: 1,
    maxRateLimitWaitMs: 1000,
    createBackoff: POLICIES.github.createBackoff,
    retryBaseMs: 10,
  });
  return { gh, world };
}

/** The Config fields pre-flight reads, for a scenario's run. */
function config(s: Scenario, preflight: Partial<Config['preflight']> = {}): Config {
  return {
    mode: 'deploy',
    environment: 'production',
    branch: s.run.branch,
    run: { sha: s.run.sha, event: {}, job: s.run.job, runId: String(s.run.runId), runAttempt: 1 },
    preflight: {
      allowedBranches: ['main', 'hotfix/*'],
      requireBranchProtection: true,
      requiredApprovals: 1,
      requiredChecks: 'all',
      checksTimeoutMs: 3000,
      securityBlockSeverities: ['critical', 'high'],
      benchmarkThresholds: [],
      ...preflight,
    },
  } as unknown as Config;
}

describe('gatherPreflight against the GitHub miniature', () => {
  it('the default scenario is a go: every check passes, looked up concurrently', async () => {
    const s = scenarioFrom({});
    const { gh, world } = await github(s);
    // Every API request takes at least 150 ms, so requests made together are in flight together.
    world.traffic.latencyMs = 150;
    const facts = await gatherPreflight(gh, config(s), { checksPolicy: checksPolicy(config(s)) });
    const checks = evaluatePreflight(facts, config(s));
    expect(checks.map((c) => [c.name, c.status])).toEqual([
      ['Branch', 'pass'],
      ['Code review', 'pass'],
      ['CI checks', 'pass'],
      ['Security alerts', 'pass'],
      ['Benchmarks', 'skipped'],
      ['GitHub environment', 'pass'],
    ]);
    expect(isGo(checks)).toBe(true);
    expect(facts.pull.ok && facts.pull.value?.number).toBe(42);
    // One GraphQL query settles protection, the PR and its reviews, checks and the environment; the
    // alerts (and the repository, the event naming no default branch) are REST beside it, all at once.
    const ops = world.traffic.requests.map((r) => `${r.method} ${r.path}${r.operation ? ` ${r.operation}` : ''}`);
    expect(ops.sort()).toEqual([
      'GET /repos/acme/shop',
      'GET /repos/acme/shop/code-scanning/alerts',
      'GET /repos/acme/shop/dependabot/alerts',
      'POST /graphql PreflightFacts',
    ]);
    const spans = world.traffic.requests.map((r) => [Date.parse(r.time), Date.parse(r.time) + (r.durationMs ?? 0)]);
    const overlap = Math.max(...spans.map(([t]) => spans.filter(([a, b]) => a! <= t! && t! < b!).length));
    expect(overlap).toBeGreaterThanOrEqual(4);
  });

  it('waits for a pending check with backoff until it completes', async () => {
    const s = scenarioFrom({
      github: {
        checkRuns: [
          { name: 'build', conclusion: 'success' },
          { name: 'e2e', status: 'in_progress', conclusion: 'success', completeAfterMs: 700 },
        ],
      },
    });
    const { gh, world } = await github(s);
    const started = Date.now();
    const facts = await gatherPreflight(gh, config(s), { checksPolicy: checksPolicy(config(s)) });
    const checks = evaluatePreflight(facts, config(s));
    expect(checks[2]).toMatchObject({ name: 'CI checks', status: 'pass' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    // The first read is pre-flight's query; each later poll is one CommitChecks query (no REST reads).
    const polls = world.traffic.requests.filter((r) => r.operation === 'CommitChecks').length;
    expect(polls).toBeGreaterThanOrEqual(1);
    expect(polls).toBeLessThan(8);
    expect(world.traffic.requests.filter((r) => r.path.endsWith('/check-runs'))).toEqual([]);
  });

  it('gives up on pending checks at checks-timeout', async () => {
    const s = scenarioFrom({ github: { checkRuns: [{ name: 'slow', status: 'queued' }] } });
    const { gh } = await github(s);
    const cfg = config(s, { checksTimeoutMs: 600 });
    const started = Date.now();
    const facts = await gatherPreflight(gh, cfg, { checksPolicy: checksPolicy(cfg) });
    const elapsed = Date.now() - started;
    const ci = evaluatePreflight(facts, cfg)[2]!;
    expect(ci.status).toBe('fail');
    expect(ci.reason).toMatch(/^still pending after 6\d\dms \(checks-timeout\): 'slow'$/);
    expect(elapsed).toBeGreaterThanOrEqual(600);
    expect(elapsed).toBeLessThan(3000);
  });

  it('reports alert APIs answering 403/404 as not checked, which alone does not block', async () => {
    const s = scenarioFrom({ github: { codeScanning: 404, dependabot: 403 } });
    const { gh } = await github(s);
    const facts = await gatherPreflight(gh, config(s), { checksPolicy: checksPolicy(config(s)) });
    const checks = evaluatePreflight(facts, config(s));
    expect(checks[3]!.status).toBe('not-checked');
    expect(checks[3]!.reason).toContain('Dependabot alerts: read');
    expect(isGo(checks)).toBe(true);
  });

  it('reads every gate over REST when the GraphQL query fails, to the same verdict', async () => {
    const s = scenarioFrom({});
    const { gh, world } = await github(s);
    world.traffic.faults.push({
      service: 'github',
      method: 'POST',
      path: '/graphql',
      operation: 'PreflightFacts',
      status: 502,
    });
    const failed: unknown[] = [];
    const facts = await gatherPreflight(gh, config(s), {
      checksPolicy: checksPolicy(config(s)),
      onGraphFailed: (e) => failed.push(e),
    });
    const checks = evaluatePreflight(facts, config(s));
    expect(isGo(checks)).toBe(true);
    expect(failed).toHaveLength(1);
    const rest = world.traffic.requests.filter((r) => r.method === 'GET').map((r) => r.path);
    for (const path of [
      '/branches/main',
      '/rules/branches/main',
      '/pulls',
      '/pulls/42/reviews',
      '/environments/production',
    ])
      expect(rest.some((p) => p.endsWith(path))).toBe(true);
    // The checks have a query of their own, still asked.
    expect(world.traffic.requests.filter((r) => r.operation === 'CommitChecks' && r.status === 200)).toHaveLength(1);
  });

  it('a part GraphQL could not read (FORBIDDEN) is read over REST, which names the permission', async () => {
    const s = scenarioFrom({ github: { environments: 403 } });
    const { gh, world } = await github(s);
    const facts = await gatherPreflight(gh, config(s), { checksPolicy: checksPolicy(config(s)) });
    const env = evaluatePreflight(facts, config(s))[5]!;
    expect(env).toMatchObject({ name: 'GitHub environment', status: 'not-checked' });
    expect(env.reason).toContain('actions: read');
    // The rest of the answer was used: no REST read of the PR, its reviews or the checks.
    const paths = world.traffic.requests.map((r) => r.path);
    expect(paths.some((p) => p.endsWith('/environments/production'))).toBe(true);
    expect(paths.some((p) => p.endsWith('/reviews') || p.endsWith('/check-runs'))).toBe(false);
  });

  it('a branch GraphQL shows unprotected is confirmed over REST before the gate fails', async () => {
    const s = scenarioFrom({
      repo: { branches: [{ name: 'main' }] },
    });
    const { gh, world } = await github(s);
    const facts = await gatherPreflight(gh, config(s), { checksPolicy: checksPolicy(config(s)) });
    expect(facts.protection).toEqual({ ok: true, value: { classic: false, rulesets: [] } });
    const paths = world.traffic.requests.map((r) => r.path);
    expect(paths.some((p) => p.endsWith('/branches/main'))).toBe(true);
    expect(evaluatePreflight(facts, config(s))[0]).toMatchObject({ name: 'Branch', status: 'fail' });
  });

  it('lists every failure at once, not the first only', async () => {
    const s = scenarioFrom({
      github: {
        pulls: [
          {
            number: 42,
            title: 'x',
            author: 'bob',
            state: 'closed',
            merged: true,
            base: 'main',
            head: 'checkout-v2',
            headSha: '306866b74e6f89e55c09f8847253419dfdbd318b',
            mergeCommitSha: 'c063502a72638f829a159c1a27c08e9dc9ef1993',
            reviews: [{ user: 'carol', state: 'CHANGES_REQUESTED' }],
          },
        ],
        checkRuns: [{ name: 'build', conclusion: 'failure' }],
        dependabot: [{ package: 'lodash', severity: 'critical', summary: 'Prototype pollution' }],
      },
    });
    const { gh } = await github(s);
    const facts = await gatherPreflight(gh, config(s), { checksPolicy: checksPolicy(config(s)) });
    const checks = evaluatePreflight(facts, config(s));
    expect(checks.filter((c) => c.status === 'fail').map((c) => c.name)).toEqual([
      'Code review',
      'CI checks',
      'Security alerts',
    ]);
    expect(isGo(checks)).toBe(false);
  });
});

describe('choosePull', () => {
  const pr = (n: number, over: Partial<PullRequest>): PullRequest => ({
    number: n,
    title: '',
    state: 'closed',
    merged: false,
    draft: false,
    baseRef: 'main',
    headRef: `b${n}`,
    headSha: 'x',
    htmlUrl: '',
    ...over,
  });

  it('prefers the merged PR into the branch for a push, the open PR from the branch for a dispatch', () => {
    const merged = pr(1, { merged: true, mergedAt: '2026-01-01T00:00:00Z' });
    const open = pr(2, { state: 'open', headRef: 'hotfix/x', headSha: 'abc' });
    expect(choosePull([open, merged], 'main', 'abc')?.number).toBe(1);
    expect(choosePull([merged, open], 'hotfix/x', 'abc')?.number).toBe(2);
    expect(choosePull([merged, open], 'main', 'abc', 2)?.number).toBe(2);
    expect(choosePull([], 'main', 'abc')).toBeNull();
  });
});

describe('pollDelay', () => {
  it('starts small relative to checks-timeout, grows, and is capped at 30 s', () => {
    expect(pollDelay(1, 600)).toBe(250);
    expect(pollDelay(1, 600_000)).toBe(5000);
    expect(pollDelay(2, 600_000)).toBe(7500);
    expect(pollDelay(20, 600_000)).toBe(30_000);
  });
});
