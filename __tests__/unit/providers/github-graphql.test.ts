import { describe, expect, it } from 'vitest';
import {
  failedAt,
  mapChecks,
  mapDeployments,
  mapPreflight,
  type GraphQLError,
  type RawDeploymentsData,
  type RawPreflightData,
} from '../../../src/providers/github-graphql.ts';

type Repo = NonNullable<RawPreflightData['repository']>;

const pull = (over: Record<string, unknown> = {}) => ({
  number: 42,
  title: 'Ship it',
  state: 'MERGED',
  merged: true,
  mergedAt: '2026-12-01T10:00:00Z',
  isDraft: false,
  baseRefName: 'main',
  headRefName: 'feature',
  headRefOid: 'b'.repeat(40),
  url: 'https://github.com/acme/shop/pull/42',
  author: { __typename: 'User', login: 'alice' },
  reviews: {
    nodes: [
      {
        databaseId: 7,
        author: { __typename: 'User', login: 'bob' },
        state: 'APPROVED',
        submittedAt: '2026-12-01T09:00:00Z',
        commit: { oid: 'b'.repeat(40) },
      },
    ],
    pageInfo: { hasNextPage: false },
  },
  ...over,
});

const repo = (over: Partial<Repo> = {}): Repo => ({
  ref: {
    name: 'main',
    refUpdateRule: { pattern: 'main' },
    rules: {
      nodes: [
        { type: 'PULL_REQUEST', repositoryRuleset: { databaseId: 11 } },
        { type: 'DELETION', repositoryRuleset: { databaseId: 11 } },
      ],
      pageInfo: { hasNextPage: false },
    },
  },
  environment: { name: 'production', protectionRules: { nodes: [{ type: 'REQUIRED_REVIEWERS' }] } },
  object: {
    associatedPullRequests: { nodes: [pull()], pageInfo: { hasNextPage: false } },
    statusCheckRollup: {
      contexts: {
        nodes: [
          {
            __typename: 'CheckRun',
            databaseId: 5,
            name: 'test',
            status: 'COMPLETED',
            conclusion: 'SUCCESS',
            startedAt: '2026-12-01T08:00:00Z',
            completedAt: '2026-12-01T08:05:00Z',
            detailsUrl: 'https://ci.example/5',
            url: 'https://github.com/acme/shop/runs/5',
          },
          { __typename: 'StatusContext', context: 'ci/legacy', state: 'SUCCESS', description: 'ok', targetUrl: null },
        ],
        pageInfo: { hasNextPage: false },
      },
    },
  },
  ...over,
});

const answer = (r: Repo | null, errors: GraphQLError[] = []) => ({ data: { repository: r }, errors });

describe('GitHub GraphQL answers → the adapter’s REST shapes', () => {
  it('maps a whole answer: protection, environment, PRs with reviews, check runs and statuses', () => {
    const g = mapPreflight(answer(repo()), true);
    expect(g.protection).toEqual({ classic: true, rulesets: ['#11'] });
    expect(g.environment).toEqual({ name: 'production', protectionRules: ['required_reviewers'], branchPolicy: null });
    expect(g.pulls).toHaveLength(1);
    expect(g.pulls?.[0]?.pull).toMatchObject({
      number: 42,
      state: 'closed',
      merged: true,
      user: 'alice',
      headRef: 'feature',
    });
    expect(g.pulls?.[0]?.reviews).toEqual([
      { id: 7, user: 'bob', state: 'APPROVED', submittedAt: '2026-12-01T09:00:00Z', commitId: 'b'.repeat(40) },
    ]);
    expect(g.checks?.runs).toEqual([
      expect.objectContaining({ id: 5, name: 'test', status: 'completed', conclusion: 'success' }),
    ]);
    expect(g.checks?.runs[0]?.htmlUrl).toBe('https://github.com/acme/shop/runs/5');
    expect(g.checks?.combined).toEqual({
      state: 'success',
      statuses: [{ context: 'ci/legacy', state: 'success', description: 'ok' }],
    });
  });

  it('leaves out (for REST to read) every part that failed or did not fit in a page, and keeps the rest', () => {
    const forbidden: GraphQLError = {
      type: 'FORBIDDEN',
      message: 'Resource not accessible by integration',
      path: ['repository', 'environment'],
    };
    const r = repo({ environment: null });
    r.object!.associatedPullRequests = { nodes: [pull()], pageInfo: { hasNextPage: true } };
    const g = mapPreflight(answer(r, [forbidden]), true);
    expect(g.environment).toBeUndefined();
    expect(g.pulls).toBeUndefined();
    expect(g.protection).toEqual({ classic: true, rulesets: ['#11'] });
    expect(g.checks).toBeDefined();
    // Reviews that did not fit: the PR is kept, its reviews are read over REST.
    const many = repo();
    many.object!.associatedPullRequests!.nodes = [pull({ reviews: { nodes: [], pageInfo: { hasNextPage: true } } })];
    const m = mapPreflight(answer(many), true);
    expect(m.pulls?.[0]?.pull.number).toBe(42);
    expect(m.pulls?.[0]?.reviews).toBeUndefined();
  });

  it('trusts nothing when an error has no path or is on the repository itself', () => {
    expect(mapPreflight(answer(repo(), [{ message: 'Something went wrong' }]), true)).toEqual({});
    expect(
      mapPreflight(answer(null, [{ type: 'NOT_FOUND', message: 'Could not resolve', path: ['repository'] }]), true),
    ).toEqual({});
  });

  it('names bots as REST does, and reads an unprotected branch and a missing environment as such', () => {
    const r = repo({
      ref: { name: 'hotfix/x', refUpdateRule: null, rules: { nodes: [], pageInfo: { hasNextPage: false } } },
      environment: null,
    });
    r.object!.associatedPullRequests!.nodes = [pull({ author: { __typename: 'Bot', login: 'dependabot' } })];
    const g = mapPreflight(answer(r), true);
    expect(g.protection).toEqual({ classic: false, rulesets: [] });
    expect(g.environment).toBeNull();
    expect(g.pulls?.[0]?.pull.user).toBe('dependabot[bot]');
    expect(mapPreflight(answer(repo({ ref: null })), true).protection).toBeNull();
  });

  it('reads checks as REST would: no rollup is no checks; EXPECTED is pending; a failure fails the combined state', () => {
    expect(mapChecks({ statusCheckRollup: null }, false)).toEqual({
      runs: [],
      combined: { state: 'pending', statuses: [] },
    });
    const c = mapChecks(
      {
        statusCheckRollup: {
          contexts: {
            nodes: [
              { __typename: 'StatusContext', context: 'a', state: 'EXPECTED', description: null, targetUrl: null },
              { __typename: 'StatusContext', context: 'b', state: 'ERROR', description: null, targetUrl: null },
              {
                __typename: 'CheckRun',
                databaseId: 9,
                name: 'lint',
                status: 'IN_PROGRESS',
                conclusion: null,
                startedAt: null,
                completedAt: null,
                detailsUrl: null,
                url: null,
              },
            ],
            pageInfo: { hasNextPage: false },
          },
        },
      },
      false,
    );
    expect(c?.combined.state).toBe('failure');
    expect(c?.combined.statuses.map((s) => s.state)).toEqual(['pending', 'error']);
    expect(c?.runs).toEqual([{ id: 9, name: 'lint', status: 'in_progress', conclusion: null }]);
    // An Actions job's link (how this job's own check run is told apart) wins, whichever field has it.
    const actions = 'https://github.com/acme/shop/actions/runs/77/job/5';
    const run = (url: string | null, detailsUrl: string | null) =>
      mapChecks(
        {
          statusCheckRollup: {
            contexts: {
              nodes: [
                {
                  __typename: 'CheckRun',
                  databaseId: 5,
                  name: 'Deploy (production)',
                  status: 'IN_PROGRESS',
                  conclusion: null,
                  startedAt: null,
                  completedAt: null,
                  detailsUrl,
                  url,
                },
              ],
              pageInfo: { hasNextPage: false },
            },
          },
        },
        false,
      )?.runs[0]?.htmlUrl;
    expect(run('https://github.com/acme/shop/runs/5', actions)).toBe(actions);
    expect(run(actions, 'https://ci.example/5')).toBe(actions);
    expect(run('https://github.com/acme/shop/runs/5', 'https://ci.example/5')).toBe(
      'https://github.com/acme/shop/runs/5',
    );
    expect(mapChecks({ statusCheckRollup: null }, true)).toBeUndefined();
    expect(
      mapChecks({ statusCheckRollup: { contexts: { nodes: [], pageInfo: { hasNextPage: true } } } }, false),
    ).toBeUndefined();
  });

  it('maps deployments with their latest status, newest first, and refuses an answer with errors', () => {
    const data: RawDeploymentsData = {
      repository: {
        deployments: {
          nodes: [
            {
              databaseId: 3,
              commitOid: 'c'.repeat(40),
              ref: null,
              environment: 'production',
              payload: JSON.stringify({ runId: '9', kind: 'deploy' }),
              description: null,
              createdAt: '2026-12-01T00:00:00Z',
              creator: { __typename: 'Bot', login: 'github-actions' },
              latestStatus: {
                state: 'SUCCESS',
                description: 'live',
                createdAt: '2026-12-01T00:01:00Z',
                logUrl: null,
                environmentUrl: 'https://shop.example',
              },
            },
            {
              databaseId: 4,
              commitOid: 'd'.repeat(40),
              ref: { name: 'main' },
              environment: 'production',
              payload: 'not json',
              description: 'x',
              createdAt: '2026-12-02T00:00:00Z',
              creator: null,
              latestStatus: null,
            },
          ],
        },
      },
    };
    const list = mapDeployments({ data, errors: [] });
    expect(list?.map((d) => d.deployment.id)).toEqual([4, 3]);
    expect(list?.[1]).toEqual({
      deployment: {
        id: 3,
        sha: 'c'.repeat(40),
        ref: 'c'.repeat(40),
        environment: 'production',
        payload: { runId: '9', kind: 'deploy' },
        createdAt: '2026-12-01T00:00:00Z',
        creator: 'github-actions[bot]',
      },
      latest: {
        state: 'success',
        createdAt: '2026-12-01T00:01:00Z',
        description: 'live',
        environmentUrl: 'https://shop.example',
      },
    });
    expect(list?.[0]?.deployment.payload).toEqual({});
    expect(list?.[0]?.latest).toBeUndefined();
    expect(mapDeployments({ data, errors: [{ message: 'x', path: ['repository', 'deployments'] }] })).toBeUndefined();
  });

  it('failedAt matches an error at or under a path, and any error without one', () => {
    const e = [{ message: 'm', path: ['repository', 'object', 'statusCheckRollup', 'contexts'] }];
    expect(failedAt(e, ['repository', 'object', 'statusCheckRollup'])).toBe(true);
    expect(failedAt(e, ['repository', 'object', 'associatedPullRequests'])).toBe(false);
    expect(failedAt([{ message: 'm' }], ['repository', 'environment'])).toBe(true);
  });
});
