/**
 * The GitHub miniature against the official client (Octokit through @actions/github's getOctokit),
 * and every logged request/response against @octokit/openapi's api.github.com.json.
 */
import { getOctokit } from '@actions/github';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarioFrom } from '../../sandbox/core/scenario.ts';
import type { RunningService } from '../../sandbox/core/service.ts';
import { makeWorld, validator } from '../../sandbox/contract/testing.ts';
import { formatProblems } from '../../sandbox/contract/validate.ts';
import { startGithub } from '../../sandbox/services/github.ts';

const scenario = scenarioFrom({});
const world = makeWorld();
let svc: RunningService;
let gh: ReturnType<typeof getOctokit>;
const repo = { owner: scenario.repo.owner, repo: scenario.repo.name };
const sha = scenario.run.sha;

beforeAll(async () => {
  svc = await startGithub(world, scenario);
  gh = getOctokit(scenario.github.token, { baseUrl: svc.url, request: { retries: 0 } });
});
afterAll(async () => {
  await svc.close();
  world.cleanup();
});

describe('GitHub miniature with Octokit', () => {
  it('serves the repository and branches, with protection and rules', async () => {
    const r = await gh.rest.repos.get(repo);
    expect(r.data.full_name).toBe('acme/shop');
    expect(r.data.default_branch).toBe('main');
    expect(r.headers['x-ratelimit-remaining']).toMatch(/^\d+$/);

    const main = await gh.rest.repos.getBranch({ ...repo, branch: 'main' });
    expect(main.data.protected).toBe(true);
    expect(main.data.commit.sha).toBe(sha);
    const prot = await gh.rest.repos.getBranchProtection({ ...repo, branch: 'main' });
    expect(prot.data.required_pull_request_reviews?.required_approving_review_count).toBe(1);
    expect(prot.data.required_status_checks?.contexts).toEqual(['build', 'test']);
    const rules = await gh.rest.repos.getBranchRules({ ...repo, branch: 'main' });
    expect(rules.data.map((x) => x.type)).toEqual([
      'pull_request',
      'required_status_checks',
      'deletion',
      'non_fast_forward',
    ]);

    const err = await gh.rest.repos.getBranchProtection({ ...repo, branch: 'checkout-v2' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 404, message: expect.stringContaining('Branch not protected') });
    expect((await gh.rest.repos.getBranchRules({ ...repo, branch: 'checkout-v2' })).data).toEqual([]);
  });

  it('maps the commit to its merged PR, with reviews', async () => {
    const prs = await gh.rest.repos.listPullRequestsAssociatedWithCommit({ ...repo, commit_sha: sha });
    expect(prs.data.map((p) => [p.number, p.merged_at !== null, p.user?.login])).toEqual([[42, true, 'bob']]);
    const pr = await gh.rest.pulls.get({ ...repo, pull_number: 42 });
    expect(pr.data).toMatchObject({ merged: true, base: { ref: 'main' }, head: { ref: 'checkout-v2' } });
    const reviews = await gh.rest.pulls.listReviews({ ...repo, pull_number: 42 });
    expect(reviews.data.map((r) => r.state)).toEqual(['COMMENTED', 'APPROVED']);
    const missing = await gh.rest.pulls.get({ ...repo, pull_number: 999 }).catch((e: unknown) => e);
    expect(missing).toMatchObject({ status: 404 });
  });

  it('lists check runs (paginated) and the combined status', async () => {
    const runs = await gh.rest.checks.listForRef({ ...repo, ref: sha });
    expect(runs.data.total_count).toBe(5);
    const deploy = runs.data.check_runs.find((c) => c.name === 'deploy');
    expect(deploy).toMatchObject({ status: 'in_progress', conclusion: null });
    // Octokit follows the Link header page by page.
    const all = await gh.paginate(gh.rest.checks.listForRef, { ...repo, ref: 'main', per_page: 2 });
    expect(all.map((c) => c.name).sort()).toEqual(['CodeQL', 'build', 'deploy', 'lint', 'test']);
    const first = await gh.rest.checks.listForRef({ ...repo, ref: sha, per_page: 2 });
    expect(first.headers.link).toMatch(/rel="next"/);
    const status = await gh.rest.repos.getCombinedStatusForRef({ ...repo, ref: sha });
    expect(status.data).toMatchObject({ state: 'success', total_count: 1, sha });
    const unknown = await gh.rest.checks.listForRef({ ...repo, ref: 'f'.repeat(40) }).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ status: 422 });
  });

  it('lists code-scanning and Dependabot alerts with filters', async () => {
    const cs = await gh.rest.codeScanning.listAlertsForRepo({ ...repo, state: 'open' });
    expect(cs.data.map((a) => a.rule.security_severity_level)).toEqual(['medium']);
    const dep = await gh.rest.dependabot.listAlertsForRepo({ ...repo, state: 'open', severity: 'critical,high' });
    expect(dep.data).toEqual([]);
    const all = await gh.rest.dependabot.listAlertsForRepo({ ...repo, per_page: 1 });
    expect(all.data).toHaveLength(1);
    expect(all.headers.link).toMatch(/after=/);
  });

  it('creates deployments with GitHub semantics for required_contexts, and keeps the payload', async () => {
    // Omitted required_contexts: every context must be success; this job's own check is in progress.
    const conflict = await gh.rest.repos
      .createDeployment({ ...repo, ref: sha, environment: 'production' })
      .catch((e: unknown) => e);
    expect(conflict).toMatchObject({ status: 409 });
    const payload = { green: 'dpl_green', blue: 'dpl_blue', traffic: { blue: 1, green: 0 } };
    const d = await gh.rest.repos.createDeployment({
      ...repo,
      ref: sha,
      environment: 'production',
      required_contexts: [],
      auto_merge: false,
      payload,
      description: 'blue-green deploy',
    });
    expect(d.status).toBe(201);
    const id = (d.data as { id: number }).id;
    await gh.rest.repos.createDeploymentStatus({
      ...repo,
      deployment_id: id,
      state: 'in_progress',
      log_url: 'https://ci/run/1',
    });
    await gh.rest.repos.createDeploymentStatus({
      ...repo,
      deployment_id: id,
      state: 'success',
      environment_url: 'https://www.example.com',
    });
    const list = await gh.rest.repos.listDeployments({ ...repo, environment: 'production' });
    expect(list.data[0]).toMatchObject({ id, payload, sha, production_environment: true });
    const statuses = await gh.rest.repos.listDeploymentStatuses({ ...repo, deployment_id: id });
    expect(statuses.data.map((s) => s.state)).toEqual(['success', 'in_progress']);
    expect(statuses.data[1]!.target_url).toBe('https://ci/run/1');
    const bad = await gh.rest.repos
      .createDeploymentStatus({ ...repo, deployment_id: id, state: 'bogus' as 'success' })
      .catch((e: unknown) => e);
    expect(bad).toMatchObject({ status: 422 });
    const none = await gh.rest.repos.listDeploymentStatuses({ ...repo, deployment_id: 1 }).catch((e: unknown) => e);
    expect(none).toMatchObject({ status: 404 });
  });

  it('serves environments with their protection rules; a deployment creates a missing one unprotected', async () => {
    const prod = await gh.rest.repos.getEnvironment({ ...repo, environment_name: 'production' });
    expect(prod.data.name).toBe('production');
    expect(prod.data.protection_rules?.map((r) => r.type)).toEqual(['required_reviewers']);
    const missing = await gh.rest.repos
      .getEnvironment({ ...repo, environment_name: 'preview-eu' })
      .catch((e: unknown) => e);
    expect(missing).toMatchObject({ status: 404 });
    await gh.rest.repos.createDeployment({
      ...repo,
      ref: sha,
      environment: 'preview-eu',
      required_contexts: [],
      auto_merge: false,
    });
    const created = await gh.rest.repos.getEnvironment({ ...repo, environment_name: 'preview-eu' });
    expect(created.data.protection_rules).toEqual([]);
    expect(created.data.deployment_branch_policy).toBeNull();
  });

  it('creates, lists and edits PR comments', async () => {
    const c = await gh.rest.issues.createComment({ ...repo, issue_number: 42, body: 'go/no-go: go' });
    expect(c.status).toBe(201);
    const u = await gh.rest.issues.updateComment({ ...repo, comment_id: c.data.id, body: 'go/no-go: go (edited)' });
    expect(u.data.body).toBe('go/no-go: go (edited)');
    const list = await gh.rest.issues.listComments({ ...repo, issue_number: 42 });
    expect(list.data.map((x) => x.body)).toEqual(['go/no-go: go (edited)']);
    const nope = await gh.rest.issues.createComment({ ...repo, issue_number: 7, body: 'x' }).catch((e: unknown) => e);
    expect(nope).toMatchObject({ status: 404 });
  });

  it('compares commits along the history', async () => {
    const cmp = await gh.rest.repos.compareCommitsWithBasehead({
      ...repo,
      basehead: `4c60a8b4d322696fd694f86492b603349eb97cca...${sha}`,
    });
    expect(cmp.data).toMatchObject({ status: 'ahead', ahead_by: 3, behind_by: 0 });
    expect(cmp.data.commits.map((c) => c.sha)).toContain('306866b74e6f89e55c09f8847253419dfdbd318b');
    const back = await gh.rest.repos.compareCommitsWithBasehead({ ...repo, basehead: `${sha}...main` });
    expect(back.data.status).toBe('identical');
  });

  it('requires a valid token and answers other repositories with 404', async () => {
    const anon = await fetch(`${svc.url}/repos/acme/shop`);
    expect(anon.status).toBe(401);
    const bad = getOctokit('ghs_wrong', { baseUrl: svc.url, request: { retries: 0 } });
    await expect(bad.rest.repos.get(repo)).rejects.toMatchObject({
      status: 401,
      message: expect.stringContaining('Bad credentials'),
    });
    await expect(gh.rest.repos.get({ owner: 'acme', repo: 'other' })).rejects.toMatchObject({ status: 404 });
    // `token X` is accepted as well as `Bearer X`.
    const res = await fetch(`${svc.url}/repos/acme/shop`, {
      headers: { authorization: `token ${scenario.github.token}` },
    });
    expect(res.status).toBe(200);
  });

  it('answers 403/404 when code scanning or Dependabot is off', async () => {
    const w = makeWorld();
    const s = await startGithub(w, scenarioFrom({ github: { codeScanning: 403, dependabot: 404 } }));
    try {
      const o = getOctokit(scenario.github.token, { baseUrl: s.url, request: { retries: 0 } });
      await expect(o.rest.codeScanning.listAlertsForRepo(repo)).rejects.toMatchObject({ status: 403 });
      await expect(o.rest.dependabot.listAlertsForRepo(repo)).rejects.toMatchObject({ status: 404 });
    } finally {
      await s.close();
      w.cleanup();
    }
  });

  it('every request and response matches the official spec', async () => {
    const v = await validator(['github']);
    const results = v.validateAll(world.traffic.requests);
    expect(results.length).toBeGreaterThan(25);
    expect(results.every((r) => r.operation !== undefined)).toBe(true);
    // The one request this test made invalid on purpose (state: 'bogus') is caught by the validator.
    const deliberate = results.filter((r) => r.status === 422 && r.path.endsWith('/statuses'));
    expect(deliberate.map((r) => r.errors.join())).toEqual([expect.stringContaining('/state must be equal to one of')]);
    expect(formatProblems(results.filter((r) => !deliberate.includes(r)))).toBe('');
  });
});
