/**
 * The hardening suite's own judgement (docs/safety.md): the fault matrix is only as good as the way it derives
 * its cases and the way the invariant checker decides a case held. These tests pin the pure parts —
 * call sites from a request log, the fault rule of each kind, the case list, leak forms, the re-run
 * counts and what a repeated post step may do — so a checker that silently passes everything fails here.
 */
import { describe, expect, it } from 'vitest';
import { type LoggedRequest, type ServiceName, Traffic } from '../../../sandbox/core/service.ts';
import type { ActionRun } from '../../e2e/harness.ts';
import {
  checkRerun,
  findLeaks,
  leakForms,
  repeatedPostActions,
  type RunEvidence,
} from '../../e2e/hardening/invariant.ts';
import {
  allCases,
  appliesTo,
  callSites,
  FAULT_KINDS,
  faultRule,
  operationKey,
  sliceCases,
  stepAt,
} from '../../e2e/hardening/matrix.ts';

let seq = 0;
function req(service: ServiceName, method: string, path: string, time: string, extra: Partial<LoggedRequest> = {}) {
  return { seq: ++seq, time, service, method, path, query: {}, headers: {}, body: null, ...extra } as LoggedRequest;
}

function run(code: number, stdout = ''): ActionRun {
  return { code, stdout } as ActionRun;
}

const STEPS = [
  { name: 'preflight', startedAt: '2026-12-03T10:00:00.000Z', durationMs: 1000 },
  { name: 'deploy', startedAt: '2026-12-03T10:00:02.000Z', durationMs: 1000 },
  { name: 'cleanup', startedAt: '2026-12-03T10:00:04.000Z', durationMs: 1000 },
];

describe('call sites from a clean run', () => {
  const log = [
    req('github', 'GET', '/repos/acme/shop/deployments', '2026-12-03T10:00:02.100Z'),
    req('github', 'GET', '/repos/acme/shop/deployments', '2026-12-03T10:00:02.200Z'),
    req('github', 'POST', '/repos/acme/shop/deployments/17/statuses', '2026-12-03T10:00:02.300Z'),
    req('github', 'GET', '/repos/acme/shop/deployments', '2026-12-03T10:00:04.100Z'),
    req('vercel', 'GET', '/v13/deployments/dpl_abc', '2026-12-03T10:00:02.400Z'),
    req('s3', 'PUT', '/shop-backups/a/b.dump', '2026-12-03T10:00:00.500Z', { query: { 'x-id': 'PutObject' } }),
    req('sandbox', 'GET', '/_sandbox/state', '2026-12-03T10:00:00.600Z'),
    req('github', 'GET', '/repos/acme/shop', '2026-12-03T10:00:03.500Z'),
  ];
  const sites = callSites(log, STEPS);

  it('names operations by template, not by id', () => {
    expect(operationKey(log[2]!)).toBe('github POST /repos/*/*/deployments/*/statuses');
    expect(operationKey(log[4]!)).toBe('vercel GET /v13/deployments/*');
    expect(operationKey(log[5]!)).toBe('s3 PUT PutObject');
  });

  it('gives an operation made in two steps a site in each, faulted from its first request there', () => {
    const list = sites.filter((s) => s.op === 'github GET /repos/*/*/deployments');
    expect(list.map((s) => [s.step, s.after, s.count])).toEqual([
      ['deploy', 0, 2],
      ['cleanup', 2, 1],
    ]);
  });

  it('leaves out the sandbox itself and places requests between steps in `runner`', () => {
    expect(sites.some((s) => s.service === 'sandbox')).toBe(false);
    expect(sites.find((s) => s.op === 'github GET /repos/*/*')?.step).toBe('runner');
    expect(stepAt('2026-12-03T10:00:00.500Z', STEPS)).toBe('preflight');
  });

  it('crosses every site with every kind that applies, each once', () => {
    const cases = allCases(sites);
    const applicable = sites.reduce((n, s) => n + FAULT_KINDS.filter((k) => appliesTo(k, s.service)).length, 0);
    expect(cases).toHaveLength(applicable);
    expect(new Set(cases.map((c) => c.id)).size).toBe(cases.length);
    // Interleaved: the first round touches every site before any site gets its second kind.
    expect(new Set(cases.slice(0, sites.length).map((c) => c.site.op + c.site.step)).size).toBe(sites.length);
  });

  it('keeps the rollback path apart in names', () => {
    const rb = callSites(log, STEPS, 'rollback');
    expect(rb.map((s) => s.op).every((op) => op.startsWith('[rollback] '))).toBe(true);
    expect(rb.every((s) => s.path === 'rollback')).toBe(true);
  });

  it('slices one case per provider and step', () => {
    const slice = sliceCases(sites);
    expect(slice.map((c) => `${c.site.service} @${c.site.step}`).sort()).toEqual(
      [...new Set(sites.map((s) => `${s.service} @${s.step}`))].sort(),
    );
  });
});

describe('GitHub GraphQL call sites', () => {
  const gql = (op: string, time: string) => req('github', 'POST', '/graphql', time, { operation: op });
  const log = [
    gql('PreflightFacts', '2026-12-03T10:00:00.100Z'),
    gql('CommitChecks', '2026-12-03T10:00:00.200Z'),
    gql('CommitChecks', '2026-12-03T10:00:00.300Z'),
    gql('EnvironmentDeployments', '2026-12-03T10:00:02.100Z'),
    gql('EnvironmentDeployments', '2026-12-03T10:00:04.100Z'),
  ];
  const sites = callSites(log, STEPS);

  it('are one per operation name and step, counted within their operation', () => {
    expect(sites.map((s) => [s.op, s.step, s.after, s.count])).toEqual([
      ['github POST /graphql PreflightFacts', 'preflight', 0, 1],
      ['github POST /graphql CommitChecks', 'preflight', 0, 2],
      ['github POST /graphql EnvironmentDeployments', 'deploy', 0, 1],
      ['github POST /graphql EnvironmentDeployments', 'cleanup', 1, 1],
    ]);
  });

  it('fault only their own operation', () => {
    const traffic = new Traffic();
    traffic.faults = [faultRule(sites[3]!, '500')];
    expect(traffic.faults[0]).toMatchObject({ path: '/graphql', operation: 'EnvironmentDeployments', after: 1 });
    expect(traffic.match('github', 'POST', '/graphql', 'CommitChecks')).toBeUndefined();
    expect(traffic.match('github', 'POST', '/graphql', 'EnvironmentDeployments')).toBeUndefined(); // after: 1
    expect(traffic.match('github', 'POST', '/graphql', 'EnvironmentDeployments')).toMatchObject({ status: 500 });
  });
});

describe('fault rules', () => {
  const site = {
    path: 'deploy' as const,
    op: 'cloudflare PATCH /x',
    service: 'cloudflare' as const,
    method: 'PATCH',
    glob: '/x',
    step: 'traffic',
    after: 2,
    count: 1,
  };

  it('are persistent from the site on, except a hang, which hangs one attempt', () => {
    for (const kind of FAULT_KINDS) {
      const rule = faultRule(site, kind, Date.parse('2026-12-03T10:00:00Z'));
      expect(rule.after, kind).toBe(2);
      expect(rule.times, kind).toBe(kind === 'hang' ? 1 : undefined);
    }
  });

  it('ask to wait a second, and as an HTTP-date further off than any rate-limit budget (a block)', () => {
    const now = Date.parse('2026-12-03T10:00:00Z');
    expect(faultRule(site, '429-seconds', now).headers?.['retry-after']).toBe('1');
    expect(faultRule(site, '429-date', now).headers?.['retry-after']).toBe('Thu, 03 Dec 2026 10:15:00 GMT');
  });

  it('send an error envelope with 200 only where the provider has one', () => {
    expect(faultRule(site, 'error-envelope')).toMatchObject({ status: 200, body: { success: false } });
    expect(appliesTo('error-envelope', 'slack')).toBe(true);
    expect(appliesTo('error-envelope', 'github')).toBe(false);
  });
});

describe('secrets', () => {
  it('are looked for in every form they take on the way out', () => {
    const secret = 'a"b\\c/d%e+f=g&h?i#j';
    const text = `x ${encodeURIComponent(secret)} y`;
    expect(leakForms(secret)).toContain(encodeURIComponent(secret));
    expect(findLeaks('log', text, [secret])).toHaveLength(1);
    expect(findLeaks('log', `::add-mask::${secret}`, [secret])).toEqual([]);
    expect(findLeaks('log', Buffer.from(secret).toString('base64'), [secret])).not.toEqual([]);
  });
});

describe('a repeated post step', () => {
  const del = (path: string, extra: Partial<LoggedRequest> = {}) =>
    req('s3', 'DELETE', path, '2026-12-03T10:00:09Z', extra);

  it('may not act after a first post step that finished', () => {
    const ev: RunEvidence = {
      main: run(1),
      posts: [run(0), run(0)],
      firstPostRequests: [del('/b/k')],
      lastPostRequests: [del('/b/k')],
    };
    expect(repeatedPostActions(ev).map((r) => r.path)).toEqual(['/b/k']);
  });

  it('may repeat what a first post step that failed saying so could not finish, and nothing else', () => {
    const ev: RunEvidence = {
      main: run(1),
      posts: [run(1, '::error::production-deploy post: s3://b/k may still be there'), run(1)],
      firstPostRequests: [del('/b/k')],
      lastPostRequests: [del('/b/k'), del('/b/other')],
    };
    expect(repeatedPostActions(ev).map((r) => r.path)).toEqual(['/b/other']);
  });

  it('is not charged with requests the fault answered', () => {
    const ev: RunEvidence = {
      main: run(1),
      posts: [run(0), run(0)],
      lastPostRequests: [del('/b/k', { fault: 'rule 0' })],
    };
    expect(repeatedPostActions(ev)).toEqual([]);
  });

  it('counts a silent failure of the first post step as finished', () => {
    const ev: RunEvidence = {
      main: run(1),
      posts: [run(1, 'no error line'), run(0)],
      firstPostRequests: [del('/b/k')],
      lastPostRequests: [del('/b/k')],
    };
    expect(repeatedPostActions(ev)).toHaveLength(1);
  });
});

describe('a re-run', () => {
  const none = { greens: 1, records: 1, comments: 1, slackMessages: 1, eventTitles: { deployed: 1 } };

  it('passes with one of everything', () => {
    expect(checkRerun({ code: 0, stdout: '', outputs: { status: 'success' } } as unknown as ActionRun, none)).toEqual(
      [],
    );
  });

  it('of a rollback may make no Vercel deployment at all', () => {
    const run = { code: 0, stdout: '', outputs: { status: 'success' } } as unknown as ActionRun;
    expect(checkRerun(run, none, 'rollback').map((x) => x.detail)).toEqual([
      '1 new Vercel deployments of the release (none expected)',
    ]);
  });

  it('fails on any duplicate and on a failure that does not fail the job', () => {
    const dup = { greens: 2, records: 2, comments: 2, slackMessages: 2, eventTitles: { deployed: 2 } };
    const v = checkRerun({ code: 0, stdout: '', outputs: { status: 'failed' } } as unknown as ActionRun, dup);
    expect(v.map((x) => x.clause)).toEqual(['result', 'rerun', 'rerun', 'rerun', 'rerun', 'rerun']);
  });
});
