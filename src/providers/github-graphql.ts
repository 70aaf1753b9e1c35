/**
 * GitHub's GraphQL answers → the adapter's own shapes (github-types.ts), the same ones its REST reads
 * return, so a step never knows which API answered. Pure.
 *
 * GraphQL answers HTTP 200 with `data` and `errors` side by side: a field that failed (no permission,
 * not found) is null in `data`, and an error names its `path`. Each part of an answer is therefore
 * taken only when nothing under it failed and it is complete (`pageInfo.hasNextPage` false); else the
 * part is `undefined`, and the caller reads it over REST — whose answers carry the status and
 * permission hints the gates report. A part is never judged from a partial answer.
 */
import type * as T from './github-types.js';

export interface GraphQLError {
  message: string;
  type?: string;
  path?: (string | number)[];
}

/** A GraphQL answer: data (possibly partial) and the errors beside it. */
export interface GraphQLAnswer<D> {
  data: D;
  errors: GraphQLError[];
}

interface PageInfo {
  hasNextPage: boolean;
}
interface Actor {
  __typename?: string;
  login: string;
}
interface RawGraphReview {
  databaseId: number | null;
  author: Actor | null;
  state: string;
  submittedAt: string | null;
  commit: { oid: string } | null;
}
interface RawGraphPull {
  number: number;
  title: string;
  state: string;
  merged: boolean;
  mergedAt: string | null;
  isDraft: boolean;
  baseRefName: string;
  headRefName: string;
  headRefOid: string;
  url: string;
  author: Actor | null;
  reviews: { nodes: RawGraphReview[]; pageInfo: PageInfo } | null;
}
type RawGraphContext =
  | {
      __typename: 'CheckRun';
      databaseId: number | null;
      name: string;
      status: string;
      conclusion: string | null;
      startedAt: string | null;
      completedAt: string | null;
      detailsUrl: string | null;
      url: string | null;
    }
  | {
      __typename: 'StatusContext';
      context: string;
      state: string;
      description: string | null;
      targetUrl: string | null;
    };
interface RawGraphChecks {
  statusCheckRollup: { contexts: { nodes: RawGraphContext[]; pageInfo: PageInfo } | null } | null;
}
interface RawGraphRef {
  name: string;
  refUpdateRule: { pattern: string } | null;
  rules: {
    nodes: { type: string; repositoryRuleset: { databaseId: number | null } | null }[];
    pageInfo: PageInfo;
  } | null;
}

export interface RawPreflightData {
  repository: {
    ref?: RawGraphRef | null;
    environment: { name: string; protectionRules: { nodes: { type: string }[] } | null } | null;
    object: (RawGraphChecks & { associatedPullRequests?: { nodes: RawGraphPull[]; pageInfo: PageInfo } | null }) | null;
  } | null;
}
export interface RawChecksData {
  repository: { object: RawGraphChecks | null } | null;
}
export interface RawDeploymentsData {
  repository: {
    deployments: {
      nodes: {
        databaseId: number | null;
        commitOid: string;
        ref: { name: string } | null;
        environment: string | null;
        payload: string | null;
        description: string | null;
        createdAt: string;
        creator: Actor | null;
        latestStatus: {
          state: string;
          description: string | null;
          createdAt: string;
          logUrl: string | null;
          environmentUrl: string | null;
        } | null;
      }[];
    } | null;
  } | null;
}

/** Whether any error lies at or under `path` (or has no path: then nothing can be trusted). */
export function failedAt(errors: readonly GraphQLError[], path: readonly (string | number)[]): boolean {
  return errors.some((e) => !e.path || path.every((p, i) => e.path?.[i] === p));
}

/** A REST-style login: GraphQL names an app's bot `dependabot` where REST says `dependabot[bot]`. */
function login(a: Actor | null): string | undefined {
  if (!a) return undefined;
  return a.__typename === 'Bot' && !a.login.endsWith('[bot]') ? `${a.login}[bot]` : a.login;
}

/** The commit's checks, as `listCheckRunsForRef` and `getCombinedStatus` return them; undefined when not whole. */
export function mapChecks(
  object: RawGraphChecks | null | undefined,
  failed: boolean,
): { runs: T.CheckRun[]; combined: T.CombinedStatus } | undefined {
  if (failed || !object) return undefined;
  const rollup = object.statusCheckRollup;
  // No rollup: the commit has neither a check run nor a status.
  if (!rollup) return { runs: [], combined: { state: 'pending', statuses: [] } };
  if (!rollup.contexts || rollup.contexts.pageInfo.hasNextPage) return undefined;
  const runs: T.CheckRun[] = [];
  const statuses: T.CombinedStatus['statuses'] = [];
  for (const c of rollup.contexts.nodes) {
    if (c.__typename === 'CheckRun') {
      if (c.databaseId === null) return undefined;
      const link = runLink(c.url, c.detailsUrl);
      runs.push({
        id: c.databaseId,
        name: c.name,
        status: c.status.toLowerCase(),
        conclusion: c.conclusion ? c.conclusion.toLowerCase() : null,
        ...(link ? { htmlUrl: link } : {}),
        ...(c.startedAt ? { startedAt: c.startedAt } : {}),
        ...(c.completedAt ? { completedAt: c.completedAt } : {}),
      });
    } else {
      // EXPECTED: a required context that has not reported yet — pending, as far as a gate is concerned.
      const state = c.state === 'EXPECTED' ? 'pending' : c.state.toLowerCase();
      statuses.push({
        context: c.context,
        state,
        ...(c.description ? { description: c.description } : {}),
        ...(c.targetUrl ? { targetUrl: c.targetUrl } : {}),
      });
    }
  }
  return { runs, combined: { state: combinedState(statuses), statuses } };
}

/**
 * The check run's link, as REST's `html_url` serves pre-flight: the one naming an Actions run
 * (`…/actions/runs/<run id>/job/<job id>`) when either does — how this job's own check is told apart
 * when its display name is not `GITHUB_JOB` — else GraphQL's `url` (GitHub's page of the run), else
 * `detailsUrl`. Which of GraphQL's two carries the Actions form is not documented, so both are looked at.
 */
function runLink(url: string | null, detailsUrl: string | null): string | undefined {
  const actions = [url, detailsUrl].find((u) => u?.includes('/actions/runs/'));
  return actions ?? url ?? detailsUrl ?? undefined;
}

/** REST's combined state: failure if any failed or errored, pending if any pending or none, else success. */
function combinedState(statuses: readonly { state: string }[]): string {
  if (statuses.some((s) => s.state === 'failure' || s.state === 'error')) return 'failure';
  if (statuses.length === 0 || statuses.some((s) => s.state === 'pending')) return 'pending';
  return 'success';
}

/** A PR as `listPullsForCommit` returns it, with its reviews when they fit in one page. */
function mapPull(p: RawGraphPull): { pull: T.PullRequest; reviews?: T.Review[] } {
  const pull: T.PullRequest = {
    number: p.number,
    title: p.title,
    state: p.state === 'OPEN' ? 'open' : 'closed',
    merged: p.merged,
    ...(p.mergedAt ? { mergedAt: p.mergedAt } : {}),
    draft: p.isDraft,
    baseRef: p.baseRefName,
    headRef: p.headRefName,
    headSha: p.headRefOid,
    htmlUrl: p.url,
    ...(login(p.author) ? { user: login(p.author) } : {}),
  };
  const r = p.reviews;
  if (!r || r.pageInfo.hasNextPage || r.nodes.some((n) => n.databaseId === null)) return { pull };
  const reviews = r.nodes.map((n) => ({
    id: n.databaseId as number,
    ...(login(n.author) ? { user: login(n.author) } : {}),
    state: n.state,
    ...(n.submittedAt ? { submittedAt: n.submittedAt } : {}),
    ...(n.commit ? { commitId: n.commit.oid } : {}),
  }));
  return { pull, reviews };
}

/** What one PreflightFacts answer settles; a part left undefined is read over REST. */
export interface PreflightGraph {
  /** The branch's protection: classic (a rule applies to it) and the rulesets of its rules; null: no such branch. */
  protection?: { classic: boolean; rulesets: string[] } | null;
  environment?: T.Environment | null;
  /** The commit's PRs, each with its reviews when they were read whole. */
  pulls?: { pull: T.PullRequest; reviews?: T.Review[] }[];
  checks?: { runs: T.CheckRun[]; combined: T.CombinedStatus };
}

export function mapPreflight(answer: GraphQLAnswer<RawPreflightData>, withProtection: boolean): PreflightGraph {
  const { data, errors } = answer;
  const repo = data.repository;
  const out: PreflightGraph = {};
  // An error without a path, or on the repository itself: nothing in the answer is trusted.
  if (!repo || errors.some((e) => !e.path || e.path.length <= 1)) return out;
  if (withProtection && repo.ref !== undefined && !failedAt(errors, ['repository', 'ref'])) {
    const ref = repo.ref;
    if (ref === null) out.protection = null;
    else if (ref.rules && !ref.rules.pageInfo.hasNextPage) {
      const rulesets = ref.rules.nodes.map((r) =>
        r.repositoryRuleset?.databaseId != null ? `#${r.repositoryRuleset.databaseId}` : `(${r.type.toLowerCase()})`,
      );
      out.protection = { classic: ref.refUpdateRule !== null, rulesets: [...new Set(rulesets)] };
    }
  }
  if (!failedAt(errors, ['repository', 'environment'])) {
    const env = repo.environment;
    if (env === null) out.environment = null;
    else if (env.protectionRules) {
      out.environment = {
        name: env.name,
        protectionRules: env.protectionRules.nodes.map((r) => r.type.toLowerCase()),
        // GraphQL says a branch policy exists (a BRANCH_POLICY rule), not which kind.
        branchPolicy: null,
      };
    }
  }
  const object = repo.object;
  if (object && !failedAt(errors, ['repository', 'object', 'associatedPullRequests'])) {
    const apr = object.associatedPullRequests;
    if (apr && !apr.pageInfo.hasNextPage) out.pulls = apr.nodes.map(mapPull);
  }
  const checks = mapChecks(object, failedAt(errors, ['repository', 'object', 'statusCheckRollup']));
  if (checks) out.checks = checks;
  return out;
}

/** One deployment and its latest status, as `listDeployments` + `listDeploymentStatuses()[0]` give them. */
export interface DeploymentWithStatus {
  deployment: T.GitHubDeployment;
  latest?: { state: string; createdAt: string; description?: string; logUrl?: string; environmentUrl?: string };
}

/** Newest first (by id); undefined when the answer is not whole (the caller reads over REST). */
export function mapDeployments(answer: GraphQLAnswer<RawDeploymentsData>): DeploymentWithStatus[] | undefined {
  const conn = answer.data.repository?.deployments;
  if (answer.errors.length > 0 || !conn) return undefined;
  if (conn.nodes.some((n) => n.databaseId === null)) return undefined;
  return conn.nodes
    .map((n): DeploymentWithStatus => {
      let payload: unknown = n.payload;
      try {
        payload = typeof payload === 'string' ? JSON.parse(payload) : payload;
      } catch {
        payload = {};
      }
      const s = n.latestStatus;
      return {
        deployment: {
          id: n.databaseId as number,
          sha: n.commitOid,
          // A deployment created on a SHA has no ref object; REST gives the SHA back as its ref.
          ref: n.ref?.name ?? n.commitOid,
          environment: n.environment ?? '',
          payload: payload && typeof payload === 'object' ? (payload as Record<string, unknown>) : {},
          ...(n.description ? { description: n.description } : {}),
          createdAt: n.createdAt,
          ...(login(n.creator) ? { creator: login(n.creator) } : {}),
        },
        ...(s
          ? {
              latest: {
                state: s.state.toLowerCase(),
                createdAt: s.createdAt,
                ...(s.description ? { description: s.description } : {}),
                ...(s.logUrl ? { logUrl: s.logUrl } : {}),
                ...(s.environmentUrl ? { environmentUrl: s.environmentUrl } : {}),
              },
            }
          : {}),
      };
    })
    .sort((a, b) => b.deployment.id - a.deployment.id);
}
