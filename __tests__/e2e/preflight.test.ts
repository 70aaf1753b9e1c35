/**
 * End to end (the bundled action against the sandbox): a `no-go`. The PR that brought the
 * commit has changes requested, a check failed, a critical Dependabot alert is open, code scanning
 * cannot be read, and a benchmark is over its bound. The run ends `no-go` without touching anything,
 * the PR comment lists every failed check with its reason, and a second run edits that same comment.
 *
 * Dist: `PD_DIST_DIR` (a private bundle, `node scripts/bundle.mjs --out DIR`), else `dist/`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validator } from '../../sandbox/contract/testing.ts';
import { formatProblems } from '../../sandbox/contract/validate.ts';
import type { LoggedRequest } from '../../sandbox/core/service.ts';
import { scenarioFrom, startSandbox, type Sandbox } from '../../sandbox/index.ts';
import { parseSections } from '../../src/surfaces/pr-comment.ts';
import { runAction, type ActionRun } from './harness.ts';

const DIST = process.env.PD_DIST_DIR ?? 'dist';
const PR_HEAD = '306866b74e6f89e55c09f8847253419dfdbd318b';
const MERGE = 'c063502a72638f829a159c1a27c08e9dc9ef1993';

/** The default world, with four reasons to refuse the deploy and one check that cannot be made. */
const noGo = scenarioFrom({
  name: 'no-go',
  description: 'Changes requested, a failed check, a critical alert, a slow benchmark',
  github: {
    pulls: [
      {
        number: 42,
        title: 'Checkout v2 <img src=x onerror=alert(1)> @acme/everyone',
        author: 'bob',
        state: 'closed',
        merged: true,
        base: 'main',
        head: 'checkout-v2',
        headSha: PR_HEAD,
        mergeCommitSha: MERGE,
        reviews: [
          { user: 'carol', state: 'APPROVED', agoSeconds: 7200 },
          { user: 'dave', state: 'CHANGES_REQUESTED', agoSeconds: 3600 },
        ],
      },
    ],
    checkRuns: [
      { name: 'build', conclusion: 'failure' },
      { name: 'test', conclusion: 'success' },
      { name: 'deploy', status: 'in_progress' },
    ],
    codeScanning: 403,
    dependabot: [{ package: 'minimist', severity: 'critical', summary: 'Prototype pollution in minimist' }],
  },
});

let sb: Sandbox;
let dir: string;
let first: ActionRun;
let second: ActionRun;
let before: SandboxState;
let after: SandboxState;
let commentAfterFirst: { id: number; body: string };
let requests: LoggedRequest[];

/** The parts of `/_sandbox/state` this test reads. */
interface SandboxState {
  github: { comments: { id: number; issue: number; body: string }[]; deployments: unknown[] };
  vercel: { deployments: unknown; aliases: unknown };
  cloudflare: { loadBalancers: unknown; pools: unknown };
  s3: unknown;
}

async function get<T>(path: string): Promise<T> {
  return (await fetch(`${sb.urls.sandbox}${path}`)).json() as Promise<T>;
}
const comments = (state: SandboxState) => state.github.comments.filter((c) => c.issue === 42);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pd-bench-'));
  writeFileSync(join(dir, 'slow.json'), JSON.stringify([{ name: 'checkout p95', unit: 'ms', value: 180 }]));
  writeFileSync(join(dir, 'fast.json'), JSON.stringify([{ name: 'checkout p95', unit: 'ms', value: 90 }]));
  sb = await startSandbox({ scenario: noGo });
  before = await get<SandboxState>('/_sandbox/state');
  const since = (await get<LoggedRequest[]>('/_sandbox/requests')).at(-1)?.seq ?? 0;
  const inputs = { 'benchmark-thresholds': 'checkout p95<=120' };
  first = await runAction({
    entry: join(DIST, 'index.js'),
    env: sb.env,
    inputs: { ...inputs, 'benchmark-results': join(dir, 'slow.json') },
    timeoutMs: 120_000,
  });
  commentAfterFirst = comments(await get<SandboxState>('/_sandbox/state'))[0]!;
  second = await runAction({
    entry: join(DIST, 'index.js'),
    env: sb.env,
    inputs: { ...inputs, 'benchmark-results': join(dir, 'fast.json') },
    timeoutMs: 120_000,
  });
  after = await get<SandboxState>('/_sandbox/state');
  requests = await get<LoggedRequest[]>(`/_sandbox/requests?since=${since}`);
}, 240_000);
afterAll(async () => {
  await sb?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('no-go', () => {
  it('fails the run as no-go, with go=false, after pre-flight only', () => {
    expect(first.code, first.stdout.slice(-3000)).not.toBe(0);
    expect(first.outputs.status).toBe('no-go');
    expect(first.outputs.go).toBe('false');
    expect(first.report!.steps.map((s) => s.name)).toEqual(['preflight']);
    expect(first.stdout).toMatch(/::error::No-go for production/);
  });

  it('reports every failed check with its reason, not the first only', () => {
    const checks = first.report!.steps[0]!.checks;
    expect(checks.map((c) => [c.name, c.status])).toEqual([
      ['Branch', 'pass'],
      ['Code review', 'fail'],
      ['CI checks', 'fail'],
      ['Security alerts', 'fail'],
      ['Benchmarks', 'fail'],
      ['GitHub environment', 'pass'],
      // The traffic set-up (src/traffic/world.ts): fine in this world.
      ['Load balancer proxied', 'pass'],
      ['Origin Host overrides', 'pass'],
      ['Session affinity', 'pass'],
      ['Load balancer rules', 'pass'],
      ['Adaptive routing', 'pass'],
      ['Pool monitors', 'pass'],
      ['Slot domains', 'pass'],
    ]);
    expect(checks[1]!.reason).toBe('changes requested by dave on PR #42');
    expect(checks[2]!.reason).toBe("failed: 'build' (failure)");
    expect(checks[3]!.reason).toContain(
      "Dependabot: 1 open critical/high alert (#1 critical 'minimist: Prototype pollution in minimist')",
    );
    expect(checks[3]!.reason).toContain('code scanning not checked (HTTP 403)');
    expect(checks[4]!.reason).toBe("failed: 'checkout p95' 180 ms (bound <= 120)");
    expect(first.summary).toContain('No-go');
    expect(first.summary).toContain('changes requested by dave');
  });

  it('the PR comment lists every failed check, and remote text in it is escaped', () => {
    const body = commentAfterFirst.body;
    expect(body).toContain('<!-- production-deploy:production -->');
    expect(body).toContain('### ⛔ No-go for production');
    for (const row of [
      '| Code review | ❌ fail | changes requested by dave on PR \\#42 |',
      "| CI checks | ❌ fail | failed: 'build' \\(failure\\) |",
    ]) {
      expect(body).toContain(row);
    }
    expect(body).toContain('| Benchmarks | ❌ fail |');
    expect(body).toContain('| Security alerts | ❌ fail |');
    expect(body).toContain('4 checks block the deploy');
    expect(body).not.toContain('<img');
  });

  it('a second run edits the same comment in place', () => {
    expect(second.outputs.status).toBe('no-go');
    const ours = comments(after);
    expect(ours).toHaveLength(1);
    expect(ours[0]!.id).toBe(commentAfterFirst.id);
    const section = parseSections(ours[0]!.body).preflight!;
    expect(section).toContain('| Benchmarks | ✅ pass |');
    expect(section).toContain('3 checks block the deploy');
    const edits = requests.filter(
      (r) => r.method === 'PATCH' && r.path === `/repos/acme/shop/issues/comments/${commentAfterFirst.id}`,
    );
    expect(edits).toHaveLength(1);
  });

  it('touched nothing: no deployment, no traffic change, no backup, no GitHub deployment', () => {
    expect(after.vercel.deployments).toEqual(before.vercel.deployments);
    expect(after.vercel.aliases).toEqual(before.vercel.aliases);
    expect(after.cloudflare.loadBalancers).toEqual(before.cloudflare.loadBalancers);
    expect(after.cloudflare.pools).toEqual(before.cloudflare.pools);
    expect(after.s3).toEqual(before.s3);
    expect(after.github.deployments).toEqual(before.github.deployments);
    const writes = requests.filter((r) => r.service !== 'sandbox' && !['GET', 'HEAD'].includes(r.method));
    expect(writes.every((r) => r.service === 'github' || r.service === 'slack')).toBe(true);
  });

  it('every request the runs sent validates against the official specs', async () => {
    const v = await validator();
    expect(formatProblems(requests.filter((r) => r.service !== 'sandbox').map((r) => v.validate(r)))).toBe('');
  });
});
