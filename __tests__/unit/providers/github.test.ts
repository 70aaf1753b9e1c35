import { describe, expect, it } from 'vitest';
import type { SandboxRequest, SandboxResponse } from '../../../sandbox/core/service.ts';
import { GitHub } from '../../../src/providers/github.ts';
import { ProviderError } from '../../../src/providers/http.ts';
import { rejection, startApi, TOKEN } from './helpers.ts';
import { POLICIES } from '../../../src/providers/index.ts';

type Route = (
  req: SandboxRequest,
  res: import('node:http').ServerResponse,
) => Promise<SandboxResponse | 'handled'> | SandboxResponse | 'handled';

/** A tiny GitHub: `METHOD /path` → handler; anything else is GitHub's 404. */
async function github(routes: Record<string, Route>) {
  const api = await startApi(async (req, res) => {
    const route = routes[`${req.method} ${req.path}`];
    if (route) return route(req, res);
    return { status: 404, body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' } };
  }, 'github');
  const warnings: string[] = [];
  const gh = new GitHub({
    token: TOKEN,
    baseUrl: api.url,
    owner: 'acme',
    repo: 'shop',
    timeoutMs: 1_000,
    retries: 2,
    maxRateLimitWaitMs: 2_000,
    createBackoff: POLICIES.github.createBackoff,
    retryBaseMs: 10,
    log: { debug: () => {}, warning: (m) => warnings.push(m) },
  });
  return { api, gh, warnings };
}

const repo = {
  name: 'shop',
  full_name: 'acme/shop',
  default_branch: 'main',
  private: true,
  html_url: 'https://github.test/acme/shop',
};
const denied = {
  status: 403,
  body: { message: 'Resource not accessible by integration', documentation_url: 'https://docs.github.com' },
};

describe('GitHub adapter: a broken body is not a success', () => {
  it('a 2xx whose JSON does not parse fails (Octokit would hand back the text as data)', async () => {
    const { api, gh } = await github({ 'GET /repos/acme/shop': () => ({ status: 200, body: repo }) });
    api.fault({
      path: '/repos/acme/shop',
      status: 200,
      body: '{"truncated": ',
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    const err = await rejection(gh.getRepo());
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toContain('malformed JSON (HTTP 200)');
    expect(err.message).not.toContain(TOKEN);
  });
});

describe('GitHub adapter: retry and throttling plugins', () => {
  it('retries a 502 and returns the typed repository', async () => {
    const { api, gh } = await github({ 'GET /repos/acme/shop': () => ({ status: 200, body: repo }) });
    api.fault({ path: '/repos/acme/shop', status: 502, times: 1 });
    expect(await gh.getRepo()).toEqual({
      name: 'shop',
      fullName: 'acme/shop',
      defaultBranch: 'main',
      private: true,
      htmlUrl: 'https://github.test/acme/shop',
    });
    expect(api.requests('GET', '/repos/acme/shop')).toHaveLength(2);
    expect(api.requests()[0]!.headers.authorization).toBe('[redacted]'); // the token was sent
  });

  it('times out a hanging request and retries it', async () => {
    const { api, gh } = await github({ 'GET /repos/acme/shop': () => ({ status: 200, body: repo }) });
    api.fault({ path: '/repos/acme/shop', hang: true, times: 1 });
    expect((await gh.getRepo()).fullName).toBe('acme/shop');
    expect(api.requests()).toHaveLength(2);
  });

  it('gives up after its retries with the status and attempts in the message', async () => {
    const { api, gh } = await github({});
    api.fault({ path: '/repos/acme/shop', status: 503, body: { message: 'Service unavailable' } });
    const err = await rejection(gh.getRepo());
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toBe('GitHub getRepo failed: HTTP 503: Service unavailable (after 3 attempts)');
    expect(api.requests()).toHaveLength(3);
  });

  it('does not retry a 404: a missing branch is null, a missing PR an error', async () => {
    const { api, gh } = await github({});
    expect(await gh.getBranch('nope')).toBeNull();
    const err = await rejection(gh.getPull(9));
    expect(err.status).toBe(404);
    expect(err.message).toBe('GitHub getPull failed: HTTP 404: Not Found');
    expect(api.requests()).toHaveLength(2);
  });

  it('retries a secondary rate limit once when the wait is short, and fails at once when it is long', async () => {
    const limited = { message: 'You have exceeded a secondary rate limit. Please wait a few minutes.' };
    const { api, gh, warnings } = await github({ 'GET /repos/acme/shop': () => ({ status: 200, body: repo }) });
    api.fault({ path: '/repos/acme/shop', status: 403, headers: { 'retry-after': '1' }, body: limited, times: 1 });
    expect((await gh.getRepo()).name).toBe('shop');
    expect(api.requests()).toHaveLength(2);

    api.fault({
      path: '/repos/acme/shop',
      status: 403,
      headers: { 'retry-after': '600' },
      body: limited,
      after: 0,
      times: 5,
    });
    const err = await rejection(gh.getRepo());
    expect(err.message).toContain('HTTP 403: You have exceeded a secondary rate limit');
    expect(api.requests()).toHaveLength(3);
    expect(warnings.some((w) => w.includes('not waiting 600 s'))).toBe(true);
  });

  it('names the missing permission on "Resource not accessible by integration", without retrying', async () => {
    const { api, gh } = await github({ 'POST /repos/acme/shop/deployments/7/statuses': () => denied });
    const err = await rejection(gh.createDeploymentStatus(7, { state: 'in_progress' }));
    expect(err.message).toContain('the token needs the "deployments: write" permission');
    expect(err.permission).toBe('deployments: write');
    expect(api.requests()).toHaveLength(1);
  });

  it('never puts the token in an error, even when GitHub echoes it', async () => {
    const { gh } = await github({
      'GET /repos/acme/shop': (req) => ({
        status: 401,
        body: { message: `Bad credentials: ${String(req.headers.authorization)}` },
      }),
    });
    const err = await rejection(gh.getRepo());
    expect(err.message).toContain('Bad credentials');
    expect(err.message).not.toContain(TOKEN);
  });
});

describe('GitHub adapter: reads', () => {
  it('branch protection: 200 parsed, 404 → null, 403 → not checked with the permission', async () => {
    const { gh } = await github({
      'GET /repos/acme/shop/branches/main/protection': () => ({
        status: 200,
        body: {
          required_pull_request_reviews: { required_approving_review_count: 2 },
          required_status_checks: { contexts: ['ci'], checks: [{ context: 'ci', app_id: null }] },
          enforce_admins: { enabled: true },
          allow_force_pushes: { enabled: false },
        },
      }),
      'GET /repos/acme/shop/branches/dev/protection': () => ({
        status: 404,
        body: { message: 'Branch not protected' },
      }),
      'GET /repos/acme/shop/branches/locked/protection': () => denied,
    });
    expect(await gh.getBranchProtection('main')).toEqual({
      requiredApprovingReviewCount: 2,
      requiredStatusChecks: ['ci'],
      enforceAdmins: true,
      allowForcePushes: false,
    });
    expect(await gh.getBranchProtection('dev')).toBeNull();
    const locked = await gh.getBranchProtection('locked');
    expect(locked).toMatchObject({ permission: 'administration: read' });
    expect((locked as { notChecked: string }).notChecked).toContain('Resource not accessible by integration');
  });

  it('follows pagination for reviews', async () => {
    const { api, gh } = await github({
      'GET /repos/acme/shop/pulls/5/reviews': (req) => {
        const page = Number(req.url.searchParams.get('page') ?? '1');
        const review = (id: number, state: string) => ({
          id,
          user: { login: `u${id}` },
          state,
          submitted_at: '2026-01-01T00:00:00Z',
          commit_id: 'abc',
        });
        if (page === 1) {
          const next = `${api.url}/repos/acme/shop/pulls/5/reviews?per_page=100&page=2`;
          return {
            status: 200,
            headers: { link: `<${next}>; rel="next"` },
            body: [review(1, 'COMMENTED'), review(2, 'APPROVED')],
          };
        }
        return { status: 200, body: [review(3, 'CHANGES_REQUESTED')] };
      },
    });
    const reviews = await gh.listReviews(5);
    expect(reviews.map((r) => [r.id, r.user, r.state])).toEqual([
      [1, 'u1', 'COMMENTED'],
      [2, 'u2', 'APPROVED'],
      [3, 'u3', 'CHANGES_REQUESTED'],
    ]);
  });

  it('alerts: 403 → not checked (never a pass), 404 → not checked, 200 → typed alerts', async () => {
    const { gh } = await github({
      'GET /repos/acme/shop/code-scanning/alerts': () => denied,
      'GET /repos/acme/shop/dependabot/alerts': () => ({
        status: 200,
        body: [
          {
            number: 4,
            html_url: 'https://github.test/a/4',
            dependency: { package: { name: 'lodash', ecosystem: 'npm' } },
            security_advisory: { severity: 'high', summary: 'Prototype pollution' },
          },
        ],
      }),
    });
    expect(await gh.listCodeScanningAlerts({ state: 'open' })).toEqual({
      notChecked: expect.stringContaining('HTTP 403: Resource not accessible by integration'),
      permission: 'security-events: read',
    });
    expect(await gh.listDependabotAlerts({ state: 'open' })).toEqual([
      { number: 4, severity: 'high', summary: 'lodash: Prototype pollution', htmlUrl: 'https://github.test/a/4' },
    ]);
  });

  it('check runs and combined status are mapped to our shapes', async () => {
    const { gh } = await github({
      'GET /repos/acme/shop/commits/abc/check-runs': () => ({
        status: 200,
        body: {
          total_count: 1,
          check_runs: [
            {
              id: 1,
              name: 'test',
              status: 'completed',
              conclusion: 'success',
              html_url: 'h',
              app: { slug: 'github-actions' },
              check_suite: { id: 9 },
              started_at: 's',
              completed_at: 'c',
            },
          ],
        },
      }),
      'GET /repos/acme/shop/commits/abc/status': () => ({
        status: 200,
        body: {
          state: 'pending',
          statuses: [{ context: 'ci/legacy', state: 'pending', description: null, target_url: null }],
        },
      }),
    });
    expect(await gh.listCheckRunsForRef('abc')).toEqual([
      {
        id: 1,
        name: 'test',
        status: 'completed',
        conclusion: 'success',
        htmlUrl: 'h',
        appSlug: 'github-actions',
        checkSuiteId: 9,
        startedAt: 's',
        completedAt: 'c',
      },
    ]);
    expect(await gh.getCombinedStatus('abc')).toEqual({
      state: 'pending',
      statuses: [{ context: 'ci/legacy', state: 'pending' }],
    });
  });
});

describe('GitHub adapter: creates are never repeated blindly', () => {
  it('createDeployment: an answer lost after the create is found by run id, not created twice', async () => {
    const deployments: Record<string, unknown>[] = [];
    let lose = true;
    const { api, gh } = await github({
      'POST /repos/acme/shop/deployments': (req, res) => {
        const b = req.json as Record<string, unknown>;
        expect(b).toMatchObject({
          auto_merge: false,
          required_contexts: [],
          production_environment: true,
          transient_environment: false,
        });
        const d = {
          id: deployments.length + 1,
          sha: b.ref,
          ref: b.ref,
          environment: b.environment,
          payload: b.payload,
          created_at: 'now',
          creator: null,
        };
        deployments.push(d);
        if (lose) {
          lose = false;
          res.socket?.resetAndDestroy();
          return 'handled';
        }
        return { status: 201, body: d };
      },
      'GET /repos/acme/shop/deployments': (req) => ({
        status: 200,
        body: deployments.filter(
          (d) => d.sha === req.url.searchParams.get('sha') && d.environment === req.url.searchParams.get('environment'),
        ),
      }),
    });
    const created = await gh.createDeployment({
      ref: 'main',
      sha: 'abc123',
      environment: 'production',
      description: 'deploy',
      payload: { runId: '42', runAttempt: 1, green: 'dpl_1' },
    });
    expect(created).toMatchObject({
      id: 1,
      sha: 'abc123',
      environment: 'production',
      payload: { runId: '42', runAttempt: 1, green: 'dpl_1' },
    });
    expect(deployments).toHaveLength(1);
    expect(api.requests('POST')).toHaveLength(1);
  });

  it('createDeployment: a 5xx with nothing created is repeated once the lookup says so', async () => {
    const { api, gh } = await github({
      'POST /repos/acme/shop/deployments': () => ({
        status: 201,
        body: {
          id: 5,
          sha: 'abc',
          ref: 'abc',
          environment: 'production',
          payload: { runId: '1', runAttempt: 1 },
          created_at: 'now',
          creator: null,
        },
      }),
      'GET /repos/acme/shop/deployments': () => ({ status: 200, body: [] }),
    });
    api.fault({ method: 'POST', path: '/repos/acme/shop/deployments', status: 502, times: 1 });
    const d = await gh.createDeployment({
      sha: 'abc',
      environment: 'production',
      description: 'd',
      payload: { runId: '1', runAttempt: 1 },
    });
    expect(d.id).toBe(5);
    expect(api.requests('GET', '/repos/acme/shop/deployments')).toHaveLength(1);
    expect(api.requests('POST')).toHaveLength(2);
  });

  it("createDeployment: 409 is an error with GitHub's message, not retried", async () => {
    const { api, gh } = await github({
      'POST /repos/acme/shop/deployments': () => ({ status: 409, body: { message: 'Conflict: merge conflict' } }),
    });
    const err = await rejection(
      gh.createDeployment({
        sha: 'abc',
        environment: 'production',
        description: 'd',
        payload: { runId: '1', runAttempt: 1 },
      }),
    );
    expect(err.message).toBe('GitHub createDeployment failed: HTTP 409: Conflict: merge conflict');
    expect(api.requests()).toHaveLength(1);
  });

  it('comments: find by marker, create (looked up by marker after a lost answer), update', async () => {
    const comments: { id: number; body: string; html_url: string; user: { login: string } }[] = [
      { id: 1, body: 'unrelated', html_url: 'u1', user: { login: 'x' } },
    ];
    let lose = true;
    const { api, gh } = await github({
      'GET /repos/acme/shop/issues/5/comments': () => ({ status: 200, body: comments }),
      'POST /repos/acme/shop/issues/5/comments': (req, res) => {
        const c = {
          id: comments.length + 1,
          body: (req.json as { body: string }).body,
          html_url: 'u',
          user: { login: 'bot' },
        };
        comments.push(c);
        if (lose) {
          lose = false;
          res.socket?.resetAndDestroy();
          return 'handled';
        }
        return { status: 201, body: c };
      },
      'PATCH /repos/acme/shop/issues/comments/2': (req) => ({
        status: 200,
        body: { ...comments[1], body: (req.json as { body: string }).body },
      }),
    });
    const marker = '<!-- production-deploy:production -->';
    expect(await gh.findComment(5, marker)).toBeNull();
    const c = await gh.createComment(5, `${marker}\nreport`, marker);
    expect(c).toMatchObject({ id: 2, body: `${marker}\nreport` });
    expect(comments).toHaveLength(2);
    expect(api.requests('POST')).toHaveLength(1);
    expect((await gh.findComment(5, marker))?.id).toBe(2);
    expect((await gh.updateComment(2, `${marker}\nnew`)).body).toBe(`${marker}\nnew`);
    // The run's own comment is kept as last written: finding it again lists nothing.
    const gets = api.requests('GET').length;
    expect(await gh.findComment(5, marker)).toMatchObject({ id: 2, body: `${marker}\nnew` });
    expect(api.requests('GET')).toHaveLength(gets);
  });
});

describe('GitHub adapter: writes', () => {
  it('go one at a time, in the order they were made', async () => {
    const spans: { id: string; start: number; end: number }[] = [];
    const { gh } = await github({
      'POST /repos/acme/shop/deployments/7/statuses': async (req) => {
        const start = performance.now();
        await new Promise((r) => setTimeout(r, 40));
        spans.push({ id: (req.json as { description: string }).description, start, end: performance.now() });
        return { status: 201, body: { id: spans.length, state: 'in_progress', created_at: new Date().toISOString() } };
      },
    });
    await Promise.all(
      ['a', 'b', 'c'].map((d) => gh.createDeploymentStatus(7, { state: 'in_progress', description: d })),
    );
    expect(spans.map((s) => s.id)).toEqual(['a', 'b', 'c']);
    for (let i = 1; i < spans.length; i++) expect(spans[i]!.start).toBeGreaterThanOrEqual(spans[i - 1]!.end);
  });
});

describe('GitHub adapter: GraphQL and kept answers', () => {
  it('posts a named query; keeps partial data with its errors; an answer without data throws', async () => {
    const seen: unknown[] = [];
    let answer: SandboxResponse = { status: 200, body: {} };
    const { gh } = await github({
      'POST /graphql': (req) => {
        seen.push(req.json);
        return answer;
      },
    });
    answer = {
      status: 200,
      body: {
        data: { repository: { deployments: null } },
        errors: [{ type: 'FORBIDDEN', path: ['repository', 'deployments'], message: 'Resource not accessible' }],
      },
    };
    // An answer with an error is not whole: undefined, for the caller to read over REST.
    expect(await gh.listDeploymentsWithStatus({ environment: 'production', limit: 20 })).toBeUndefined();
    expect(seen[0]).toMatchObject({
      operationName: 'EnvironmentDeployments',
      variables: { owner: 'acme', name: 'shop', environment: 'production', first: 20 },
    });
    answer = { status: 200, body: { errors: [{ message: "Field 'x' doesn't exist on type 'Repository'" }] } };
    const err = await rejection(gh.readChecksGraph('a'.repeat(40)));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toContain("Field 'x' doesn't exist");
  });

  it('a GraphQL query is a read: it does not wait behind a write in the write queue', async () => {
    let release: (() => void) | undefined;
    const { gh } = await github({
      'POST /repos/acme/shop/deployments/1/statuses': () =>
        new Promise<SandboxResponse>((resolve) => {
          release = () =>
            resolve({ status: 201, body: { id: 5, state: 'success', created_at: '2026-12-01T00:00:00Z' } });
        }),
      'POST /graphql': () => ({
        status: 200,
        body: { data: { repository: { deployments: { nodes: [] } } } },
      }),
    });
    const write = gh.createDeploymentStatus(1, { state: 'success' });
    await new Promise((r) => setTimeout(r, 50));
    expect(await gh.listDeploymentsWithStatus({ environment: 'production', limit: 5 })).toEqual([]);
    release?.();
    await write;
  });

  it('writesSettled waits for every write queued so far, failed ones included', async () => {
    const order: string[] = [];
    const { gh } = await github({
      'POST /repos/acme/shop/deployments/1/statuses': async () => {
        await new Promise((r) => setTimeout(r, 40));
        order.push('status 1');
        return { status: 201, body: { id: 5, state: 'in_progress', created_at: '2026-12-01T00:00:00Z' } };
      },
      'POST /repos/acme/shop/deployments/2/statuses': () => {
        order.push('status 2');
        return { status: 422, body: { message: 'Validation Failed' } };
      },
    });
    const first = gh.createDeploymentStatus(1, { state: 'in_progress' });
    const second = gh.createDeploymentStatus(2, { state: 'in_progress' }).catch(() => 'failed');
    await gh.writesSettled();
    order.push('settled');
    expect(order).toEqual(['status 1', 'status 2', 'settled']);
    await first;
    expect(await second).toBe('failed');
  });

  it("keeps a comparison's answer for the run, but not a failure", async () => {
    let calls = 0;
    const { gh } = await github({
      'GET /repos/acme/shop/compare/aaa...bbb': () => {
        calls++;
        if (calls === 1) return { status: 404, body: { message: 'Not Found' } };
        return { status: 200, body: { status: 'ahead', ahead_by: 1, behind_by: 0, commits: [] } };
      },
    });
    await expect(gh.compareCommits('aaa', 'bbb')).rejects.toThrow();
    const [a, b] = await Promise.all([gh.compareCommits('aaa', 'bbb'), gh.compareCommits('aaa', 'bbb')]);
    expect(a).toEqual({ status: 'ahead', aheadBy: 1, behindBy: 0, commits: [] });
    expect(b).toBe(a);
    expect(await gh.compareCommits('aaa', 'bbb')).toBe(a);
    expect(calls).toBe(2);
  });
});
