/**
 * The GitHub miniature's GraphQL endpoint (`POST /graphql`) against the official client (Octokit's
 * `graphql` through @actions/github's getOctokit): the action's documents (src/providers/github-queries.ts)
 * validate against GitHub's public schema, and their answers agree with the REST routes over the same
 * state — also after a REST write. Then GitHub's error shapes, rate-limit points and pagination.
 */
import { getOctokit } from '@actions/github';
import { schema as githubSdl } from '@octokit/graphql-schema';
import { buildSchema, parse, validate } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarioFrom } from '../../sandbox/core/scenario.ts';
import type { RunningService } from '../../sandbox/core/service.ts';
import { makeWorld, validator } from '../../sandbox/contract/testing.ts';
import { startGithub } from '../../sandbox/services/github.ts';
import { type GraphqlBudget, graphqlOperationName } from '../../sandbox/services/github-graphql.ts';
import { GITHUB_QUERIES } from '../../src/providers/github-queries.ts';

const scenario = scenarioFrom({});
const world = makeWorld();
let svc: RunningService;
let gh: ReturnType<typeof getOctokit>;
const repo = { owner: scenario.repo.owner, repo: scenario.repo.name };
const vars = { owner: repo.owner, name: repo.repo };
const sha = scenario.run.sha;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

/** A raw POST /graphql: status, headers and the parsed body (Octokit throws on `errors`). */
async function post(body: unknown, token: string | null = scenario.github.token, url = svc.url) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Any };
}

beforeAll(async () => {
  svc = await startGithub(world, scenario);
  gh = getOctokit(scenario.github.token, { baseUrl: svc.url, request: { retries: 0 } });
});
afterAll(async () => {
  await svc.close();
  world.cleanup();
});

describe('GitHub GraphQL miniature', () => {
  it('every document the action sends validates against GitHub public schema', () => {
    const schema = buildSchema(githubSdl.idl, { assumeValidSDL: true });
    for (const [name, doc] of Object.entries(GITHUB_QUERIES)) {
      const errors = validate(schema, parse(doc));
      expect(errors.map((e) => `${name}: ${e.message}`)).toEqual([]);
    }
  });

  it('PreflightFacts agrees with REST: protection and rules, environment, PRs with reviews, checks', async () => {
    const q: Any = await gh.graphql(GITHUB_QUERIES.PreflightFacts, {
      ...vars,
      oid: sha,
      branch: 'refs/heads/main',
      environment: 'production',
      protection: true,
    });
    const r = q.repository;

    const branch = await gh.rest.repos.getBranch({ ...repo, branch: 'main' });
    expect(branch.data.protected).toBe(true);
    expect(r.ref.name).toBe('main');
    expect(r.ref.refUpdateRule).toEqual({ pattern: 'main' });
    const rules = await gh.rest.repos.getBranchRules({ ...repo, branch: 'main' });
    expect(r.ref.rules.nodes).toEqual(
      rules.data.map((x) => ({ type: x.type.toUpperCase(), repositoryRuleset: { databaseId: x.ruleset_id } })),
    );
    expect(r.ref.rules.pageInfo.hasNextPage).toBe(false);

    const env = await gh.rest.repos.getEnvironment({ ...repo, environment_name: 'production' });
    expect(r.environment.name).toBe('production');
    expect(r.environment.protectionRules.nodes.map((x: Any) => x.type)).toEqual(
      (env.data.protection_rules ?? []).map((x) => x.type.toUpperCase()),
    );
    expect(r.environment.protectionRules.nodes).toEqual([{ type: 'REQUIRED_REVIEWERS' }]);

    const prs = await gh.rest.repos.listPullRequestsAssociatedWithCommit({ ...repo, commit_sha: sha });
    const pulls = r.object.associatedPullRequests;
    expect(pulls.nodes.map((p: Any) => p.number)).toEqual(prs.data.map((p) => p.number));
    const p = pulls.nodes[0];
    const rest = prs.data[0]!;
    expect(p).toMatchObject({
      number: rest.number,
      title: rest.title,
      state: 'MERGED',
      merged: true,
      mergedAt: rest.merged_at,
      isDraft: false,
      baseRefName: rest.base.ref,
      headRefName: rest.head.ref,
      headRefOid: rest.head.sha,
      url: rest.html_url,
      author: { login: rest.user!.login },
    });
    const reviews = await gh.rest.pulls.listReviews({ ...repo, pull_number: rest.number });
    expect(p.reviews.nodes).toEqual(
      reviews.data.map((x) => ({
        databaseId: x.id,
        author: { __typename: x.user!.type === 'Bot' ? 'Bot' : 'User', login: x.user!.login.replace(/\[bot\]$/, '') },
        state: x.state,
        submittedAt: x.submitted_at,
        commit: { oid: x.commit_id },
      })),
    );

    const runs = await gh.rest.checks.listForRef({ ...repo, ref: sha });
    const status = await gh.rest.repos.getCombinedStatusForRef({ ...repo, ref: sha });
    const contexts = r.object.statusCheckRollup.contexts.nodes;
    expect(contexts.filter((c: Any) => c.__typename === 'CheckRun')).toEqual(
      runs.data.check_runs.map((c) => ({
        __typename: 'CheckRun',
        databaseId: c.id,
        name: c.name,
        status: c.status.toUpperCase(),
        conclusion: c.conclusion?.toUpperCase() ?? null,
        startedAt: c.started_at,
        completedAt: c.completed_at,
        detailsUrl: c.details_url,
        // GraphQL's `url` is REST's `html_url` (GitHub's page of the run).
        url: c.html_url,
      })),
    );
    expect(contexts.filter((c: Any) => c.__typename === 'StatusContext')).toEqual(
      status.data.statuses.map((s) => ({
        __typename: 'StatusContext',
        context: s.context,
        state: s.state.toUpperCase(),
        description: s.description,
        targetUrl: s.target_url,
      })),
    );

    // `@include(if: false)` leaves the ref out; "main" resolves like "refs/heads/main"; absent → null.
    const lean: Any = await gh.graphql(GITHUB_QUERIES.PreflightFacts, {
      ...vars,
      oid: sha,
      branch: 'main',
      environment: 'nope',
      protection: false,
    });
    expect(lean.repository.ref).toBeUndefined();
    expect(lean.repository.environment).toBeNull();
    const refs: Any = await gh.graphql(
      `query($owner: String!, $name: String!) { repository(owner: $owner, name: $name) {
        short: ref(qualifiedName: "main") { name prefix target { oid } }
        none: ref(qualifiedName: "refs/heads/nope") { name }
        defaultBranchRef { name }
        object(oid: "${'0'.repeat(40)}") { oid }
        pullRequest(number: 42) { number reviews(first: 1) { totalCount } }
      } }`,
      vars,
    );
    expect(refs.repository).toEqual({
      short: { name: 'main', prefix: 'refs/heads/', target: { oid: branch.data.commit.sha } },
      none: null,
      defaultBranchRef: { name: 'main' },
      object: null,
      pullRequest: { number: 42, reviews: { totalCount: reviews.data.length } },
    });
  });

  it('CommitChecks reads the same checks as PreflightFacts', async () => {
    const a: Any = await gh.graphql(GITHUB_QUERIES.CommitChecks, { ...vars, oid: sha });
    const b: Any = await gh.graphql(GITHUB_QUERIES.PreflightFacts, {
      ...vars,
      oid: sha,
      branch: 'main',
      environment: 'production',
      protection: false,
    });
    expect(a.repository.object.statusCheckRollup).toEqual(b.repository.object.statusCheckRollup);
    const rollup: Any = await gh.graphql(
      `query($owner: String!, $name: String!, $oid: GitObjectID!) { repository(owner: $owner, name: $name) {
        object(oid: $oid) { ... on Commit { statusCheckRollup { state } status { state } } } } }`,
      { ...vars, oid: sha },
    );
    // `deploy` is still in progress: the rollup is pending; the one status is a success.
    expect(rollup.repository.object).toEqual({ statusCheckRollup: { state: 'PENDING' }, status: { state: 'SUCCESS' } });
  });

  it('EnvironmentDeployments: newest first with the latest status, after REST writes too', async () => {
    const payload = { strategy: 'blue-green', version: 'v2' };
    const d = await gh.rest.repos.createDeployment({
      ...repo,
      ref: sha,
      environment: 'production',
      required_contexts: [],
      auto_merge: false,
      payload,
      description: 'graphql contract',
    });
    const id = (d.data as { id: number }).id;
    const read = async () =>
      (
        (await gh.graphql(GITHUB_QUERIES.EnvironmentDeployments, {
          ...vars,
          environment: 'production',
          first: 10,
        })) as Any
      ).repository.deployments.nodes;
    let nodes = await read();
    expect(nodes[0]).toMatchObject({ databaseId: id, commitOid: sha, environment: 'production', latestStatus: null });
    expect(JSON.parse(nodes[0].payload)).toEqual(payload);
    expect(nodes[0].ref).toBeNull(); // created from a sha, not a branch

    await gh.rest.repos.createDeploymentStatus({
      ...repo,
      deployment_id: id,
      state: 'success',
      description: 'v2 live on green',
      log_url: 'https://ci/run/2',
      environment_url: 'https://www.example.com',
    });
    nodes = await read();
    const list = await gh.rest.repos.listDeployments({ ...repo, environment: 'production' });
    expect(nodes.map((n: Any) => n.databaseId)).toEqual(list.data.map((x) => x.id));
    for (const [i, x] of list.data.entries()) {
      const statuses = await gh.rest.repos.listDeploymentStatuses({ ...repo, deployment_id: x.id });
      const latest = statuses.data[0];
      expect(nodes[i]).toEqual({
        databaseId: x.id,
        commitOid: x.sha,
        ref: x.ref === 'main' ? { name: 'main' } : null,
        environment: x.environment,
        payload: JSON.stringify(x.payload),
        description: x.description,
        createdAt: x.created_at,
        // GraphQL names a bot without REST's `[bot]` suffix.
        creator: {
          __typename: x.creator!.type === 'Bot' ? 'Bot' : 'User',
          login: x.creator!.login.replace(/\[bot\]$/, ''),
        },
        latestStatus: latest
          ? {
              state: latest.state.toUpperCase(),
              description: latest.description,
              createdAt: latest.created_at,
              logUrl: latest.log_url || null,
              environmentUrl: latest.environment_url || null,
            }
          : null,
      });
    }
    const bot: Any = await gh.graphql(
      `query($owner: String!, $name: String!) { repository(owner: $owner, name: $name) {
        deployments(first: 1) { nodes { creator { __typename login } } } } }`,
      vars,
    );
    expect(bot.repository.deployments.nodes[0].creator).toEqual({ __typename: 'Bot', login: 'github-actions' });
  });

  it('answers GitHub error shapes: field errors with partial data, validation errors, pagination limits, 401', async () => {
    const other = await post({
      query: `query { a: repository(owner: "acme", name: "nope") { name } b: repository(owner: "acme", name: "shop") { name } }`,
    });
    expect(other.status).toBe(200);
    expect(other.body.data).toEqual({ a: null, b: { name: 'shop' } });
    expect(other.body.errors).toEqual([
      {
        type: 'NOT_FOUND',
        path: ['a'],
        locations: [{ line: 1, column: 9 }],
        message: "Could not resolve to a Repository with the name 'acme/nope'.",
      },
    ]);

    const undef = await post({ query: 'query { repository(owner: "acme", name: "shop") { nope } }' });
    expect(undef.status).toBe(200);
    expect(undef.body.data).toBeUndefined();
    expect(undef.body.errors[0]).toMatchObject({
      message: "Field 'nope' doesn't exist on type 'Repository'",
      extensions: { code: 'undefinedField', typeName: 'Repository', fieldName: 'nope' },
    });

    const bounds = await post({
      query: 'query { repository(owner: "acme", name: "shop") { deployments { totalCount } } }',
    });
    expect(bounds.status).toBe(200);
    expect(bounds.body.data).toBeUndefined();
    expect(bounds.body.errors[0]).toMatchObject({
      type: 'MISSING_PAGINATION_BOUNDARIES',
      path: ['repository', 'deployments'],
      message: 'You must provide a `first` or `last` value to properly paginate the `deployments` connection.',
    });
    const many = await post({
      query: 'query { repository(owner: "acme", name: "shop") { deployments(first: 101) { totalCount } } }',
    });
    expect(many.body.errors[0].message).toBe(
      'Requesting 101 records on the `deployments` connection exceeds the `first` limit of 100 records.',
    );

    const unmodelled = await post({ query: 'query { repository(owner: "acme", name: "shop") { name description } }' });
    // A field the sandbox does not model is an error naming it, never a made-up value.
    expect(unmodelled.body.data).toEqual({ repository: { name: 'shop', description: null } });
    expect(unmodelled.body.errors).toEqual([
      expect.objectContaining({
        path: ['repository', 'description'],
        message: 'The sandbox does not model Repository.description',
      }),
    ]);

    const none = await post({ query: '{ rateLimit { remaining } }' }, null);
    expect(none.status).toBe(401);
    expect(none.body.message).toBe('Requires authentication');
    const bad = await post({ query: '{ rateLimit { remaining } }' }, 'ghs_wrong');
    expect(bad.status).toBe(401);
    expect(bad.body.message).toBe('Bad credentials');
    await expect(gh.graphql('{ repository(owner: "acme", name: "nope") { name } }')).rejects.toMatchObject({
      name: 'GraphqlResponseError',
      errors: [{ type: 'NOT_FOUND' }],
    });
  });

  it('a token that may not read environments: the field is null with FORBIDDEN, the rest of the data present', async () => {
    const w = makeWorld();
    const s = await startGithub(w, scenarioFrom({ github: { environments: 403 } }));
    try {
      const rest = await fetch(`${s.url}/repos/acme/shop/environments/production`, {
        headers: { authorization: `bearer ${scenario.github.token}` },
      });
      expect(rest.status).toBe(403);
      const r = await post(
        {
          query: GITHUB_QUERIES.PreflightFacts,
          variables: { ...vars, oid: sha, branch: 'main', environment: 'production', protection: true },
        },
        scenario.github.token,
        s.url,
      );
      expect(r.status).toBe(200);
      expect(r.body.data.repository.environment).toBeNull();
      expect(r.body.data.repository.ref.name).toBe('main');
      expect(r.body.data.repository.object.associatedPullRequests.nodes[0].number).toBe(42);
      expect(r.body.errors).toEqual([
        {
          type: 'FORBIDDEN',
          path: ['repository', 'environment'],
          extensions: { saml_failure: false },
          locations: [expect.any(Object)],
          message: 'Resource not accessible by integration',
        },
      ]);
    } finally {
      await s.close();
      w.cleanup();
    }
  });

  it('counts points on a budget of its own, with GitHub rate-limit headers and `rateLimit`', async () => {
    const budget = world.state.githubGraphql as GraphqlBudget;
    const before = await gh.rest.rateLimit.get().catch((e: Any) => e.response);
    const core = Number(before.headers['x-ratelimit-remaining']);
    const r = await post({
      query: GITHUB_QUERIES.PreflightFacts,
      variables: { ...vars, oid: sha, branch: 'main', environment: 'production', protection: true },
    });
    expect(r.headers.get('x-ratelimit-resource')).toBe('graphql');
    expect(r.headers.get('x-ratelimit-limit')).toBe('1000');
    const remaining = Number(r.headers.get('x-ratelimit-remaining'));
    expect(remaining).toBe(budget.remaining);
    expect(Number(r.headers.get('x-ratelimit-used'))).toBe(1000 - remaining);
    const rl = await post({ query: '{ rateLimit { cost limit remaining used nodeCount } }' });
    // PreflightFacts: 24 connection requests (20 PRs × reviews) → 0.24 → at least 1 point.
    expect(rl.body.data.rateLimit).toMatchObject({ cost: 1, limit: 1000, remaining: remaining - 1 });
    // GitHub's documented example, on this schema: 1 + 100 + 100 × 50 = 5,101 requests → 51 points;
    // nodes 100 + 5,000 + 300,000. (PullRequest.commits is not modelled: that field errors; cost is charged.)
    const big = await post({
      query: `{ rateLimit { cost nodeCount } repository(owner: "acme", name: "shop") { pullRequest(number: 42) {
        commits(first: 100) { nodes { commit { associatedPullRequests(first: 50) { nodes {
          reviews(first: 60) { totalCount } } } } } } } } }`,
    });
    expect(big.body.data.rateLimit).toEqual({ cost: 51, nodeCount: 305_100 });
    expect(Number(big.headers.get('x-ratelimit-remaining'))).toBe(remaining - 1 - 51);
    const after = await gh.rest.rateLimit.get().catch((e: Any) => e.response);
    expect(Number(after.headers['x-ratelimit-remaining'])).toBe(core - 1); // GraphQL spent no REST requests

    budget.remaining = 0;
    const limited = await post({ query: '{ rateLimit { remaining } }' });
    expect(limited.status).toBe(200);
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(limited.body.data).toBeUndefined();
    expect(limited.body.errors[0]).toMatchObject({ type: 'RATE_LIMIT', code: 'graphql_rate_limit' });
    expect(limited.body.errors[0].message).toMatch(/^API rate limit already exceeded for installation ID \d+\.$/);
    budget.remaining = budget.limit;
  });

  it('paginates: first 1 → hasNextPage and a cursor that reads the next page', async () => {
    const page = async (after?: string) =>
      (
        (await gh.graphql(
          `query($owner: String!, $name: String!, $after: String) { repository(owner: $owner, name: $name) {
            ref(qualifiedName: "main") { rules(first: 1, after: $after) { totalCount nodes { type } edges { cursor }
              pageInfo { hasNextPage endCursor } } } } }`,
          { ...vars, after },
        )) as Any
      ).repository.ref.rules;
    const one = await page();
    expect(one.nodes).toEqual([{ type: 'PULL_REQUEST' }]);
    expect(one.pageInfo.hasNextPage).toBe(true);
    expect(one.edges[0].cursor).toBe(one.pageInfo.endCursor);
    const two = await page(one.pageInfo.endCursor);
    expect(two.nodes).toEqual([{ type: 'REQUIRED_STATUS_CHECKS' }]);
    expect(two.totalCount).toBe(one.totalCount);
  });

  it('logs each operation as its own call site, and a fault rule can fail one operation alone', async () => {
    world.traffic.faults = [
      {
        service: 'github',
        method: 'POST',
        path: '/graphql',
        operation: 'CommitChecks',
        status: 502,
        body: { message: 'Server Error' },
      },
    ];
    try {
      const checks = await post({ query: GITHUB_QUERIES.CommitChecks, variables: { ...vars, oid: sha } });
      expect(checks.status).toBe(502);
      const deps = await post({
        query: GITHUB_QUERIES.EnvironmentDeployments,
        variables: { ...vars, environment: 'production', first: 1 },
      });
      expect(deps.status).toBe(200);
    } finally {
      world.traffic.faults = [];
    }
    // Octokit sends no operationName: the document's first operation names the call; `operationName` wins.
    expect(graphqlOperationName({ query: '# x\nquery  Foo($a: Int) { a }' })).toBe('Foo');
    expect(graphqlOperationName({ query: 'query A { a } query B { b }', operationName: 'B' })).toBe('B');
    expect(graphqlOperationName({ query: '{ rateLimit { cost } }' })).toBe('(anonymous)');
    expect(graphqlOperationName('not json')).toBeUndefined();
    const logged = world.traffic.requests.filter((r) => r.path === '/graphql').slice(-2);
    expect(logged.map((r) => `${r.method} ${r.path} ${r.operation}`)).toEqual([
      'POST /graphql CommitChecks',
      'POST /graphql EnvironmentDeployments',
    ]);
  });

  it('every GraphQL call it logged is checked against the schema by the contract validator; the invalid document is named', async () => {
    const v = await validator(['github']);
    const calls = world.traffic.requests.filter((r) => r.path === '/graphql');
    expect(calls.length).toBeGreaterThan(10);
    const results = v.validateAll(calls);
    expect(results.every((r) => r.operation?.startsWith('POST /graphql') && !r.skipped)).toBe(true);
    expect(results.flatMap((r) => r.errors)).toEqual([
      'document: Cannot query field "nope" on type "Repository". Did you mean "name"?',
    ]);
  });
});
