/**
 * GitHub, the source of truth for the code and the run's records: the commit's PR, reviews, checks, statuses,
 * protection and alerts; the deployment records; the PR comment. The plumbing (Octokit with the retry and
 * throttling plugins and a per-attempt timeout, error mapping, the create-once rule) is in github-core.ts.
 */
import type * as T from './github-types.js';
import { GitHubCore, mapDeployment, mapPull, mapStatus, type OctokitError } from './github-core.js';
import { ProviderError, extractProviderError, providerMessage, PROVIDER_TEXT_MAX } from './http.js';
import { oneLine, redact } from '../text.js';
import {
  mapChecks,
  mapDeployments,
  mapPreflight,
  failedAt,
  type DeploymentWithStatus,
  type PreflightGraph,
  type RawChecksData,
  type RawDeploymentsData,
  type RawPreflightData,
} from './github-graphql.js';
import { CHECKS_QUERY, DEPLOYMENTS_QUERY, PREFLIGHT_QUERY } from './github-queries.js';

export type * from './github-types.js';
export type { DeploymentWithStatus, PreflightGraph } from './github-graphql.js';
export type { GitHubOptions } from './github-core.js';

/** The typed GitHub client of one run, for one repository. */
export class GitHub extends GitHubCore {
  /**
   * The marked comments this run wrote (issue + marker → the comment as GitHub answered the write): the
   * smoke step's update of the go/no-go comment starts from what pre-flight wrote instead of listing
   * the PR's comments again. Only this run's own writes are kept; a comment deleted meanwhile makes
   * the update fail (a warning: the comment is a report, not a gate).
   */
  private readonly ownComments = new Map<string, T.IssueComment>();
  /** Comment id → its key, for the marked comments found or written, so an update of one is kept. */
  private readonly commentKeys = new Map<number, string>();
  /** Comparisons asked for this run (base...head → the answer). */
  private readonly comparisons = new Map<string, Promise<T.Comparison>>();
  // ------------------------------------------------------------ repository and branch

  async getRepo(): Promise<T.Repo> {
    const { data } = await this.call('getRepo', 'contents: read', () => this.octokit.rest.repos.get(this.repoParams));
    return {
      name: data.name,
      fullName: data.full_name,
      defaultBranch: data.default_branch,
      private: data.private,
      htmlUrl: data.html_url,
    };
  }

  /** The branch, or null when it does not exist. */
  /**
   * A deployment environment; null when it does not exist (404). The workflow token needs
   * `actions: read` to read it (a 403 says so).
   */
  async getEnvironment(name: string): Promise<T.Environment | null> {
    const res = await this.orNull('getEnvironment', 'actions: read', () =>
      this.octokit.rest.repos.getEnvironment({ ...this.repoParams, environment_name: name }),
    );
    if (!res) return null;
    const policy = res.data.deployment_branch_policy;
    return {
      name: res.data.name,
      protectionRules: (res.data.protection_rules ?? []).map((r) => r.type),
      branchPolicy: policy
        ? { protectedBranches: policy.protected_branches, customBranchPolicies: policy.custom_branch_policies }
        : null,
    };
  }

  async getBranch(branch: string): Promise<T.Branch | null> {
    const res = await this.orNull('getBranch', 'contents: read', () =>
      this.octokit.rest.repos.getBranch({ ...this.repoParams, branch }),
    );
    return res && { name: res.data.name, protected: res.data.protected, sha: res.data.commit.sha };
  }

  /**
   * Classic protection; null when the branch is not protected (404). The workflow token cannot read it
   * (it needs `administration: read`): then `NotChecked`, and pre-flight falls back to `getBranch().protected`
   * and `getBranchRules`.
   */
  async getBranchProtection(branch: string): Promise<T.BranchProtection | null | T.NotChecked> {
    const permission = 'administration: read';
    try {
      const { data } = await this.octokit.rest.repos.getBranchProtection({ ...this.repoParams, branch });
      const checks = data.required_status_checks;
      return {
        requiredApprovingReviewCount: data.required_pull_request_reviews?.required_approving_review_count,
        requiredStatusChecks: checks ? (checks.checks?.map((c) => c.context) ?? checks.contexts ?? []) : [],
        enforceAdmins: data.enforce_admins?.enabled ?? false,
        allowForcePushes: data.allow_force_pushes?.enabled ?? false,
      };
    } catch (err) {
      const status = (err as OctokitError).status;
      if (status === 404 && (err as OctokitError).response) return null;
      if (status === 403 && (err as OctokitError).response) {
        return { notChecked: this.toError('getBranchProtection', permission, err).message, permission };
      }
      throw this.toError('getBranchProtection', permission, err);
    }
  }

  /** Active ruleset rules that apply to the branch (readable with `contents: read`). */
  async getBranchRules(branch: string): Promise<T.BranchRule[]> {
    const rules = await this.call('getBranchRules', 'contents: read', () =>
      this.octokit.paginate(this.octokit.rest.repos.getBranchRules, { ...this.repoParams, branch, per_page: 100 }),
    );
    return rules.map((r) => ({
      type: r.type,
      rulesetId: r.ruleset_id,
      rulesetSource: r.ruleset_source,
      parameters: 'parameters' in r ? (r.parameters as Record<string, unknown>) : undefined,
    }));
  }

  /**
   * Two commits' comparison never changes: the answer is kept for the run (a failure is not), so the
   * cleanup step's compare can be started while production is watched.
   */
  compareCommits(base: string, head: string): Promise<T.Comparison> {
    const key = `${base}...${head}`;
    const kept = this.comparisons.get(key);
    if (kept) return kept;
    const p = this.readComparison(base, head);
    this.comparisons.set(key, p);
    p.catch(() => this.comparisons.delete(key));
    return p;
  }

  private async readComparison(base: string, head: string): Promise<T.Comparison> {
    const { data } = await this.call('compareCommits', 'contents: read', () =>
      this.octokit.rest.repos.compareCommits({ ...this.repoParams, base, head, per_page: 100 }),
    );
    return {
      status: data.status,
      aheadBy: data.ahead_by,
      behindBy: data.behind_by,
      commits: data.commits.map((c) => ({
        sha: c.sha,
        message: (c.commit.message.split('\n')[0] ?? '').slice(0, 200),
      })),
    };
  }

  // ------------------------------------------------------------ pull requests, checks, alerts

  /** PRs that brought the commit: the merged one on the default branch; merged and open ones elsewhere. */
  async listPullsForCommit(sha: string): Promise<T.PullRequest[]> {
    const { data } = await this.call('listPullsForCommit', 'pull-requests: read', () =>
      this.octokit.rest.repos.listPullRequestsAssociatedWithCommit({
        ...this.repoParams,
        commit_sha: sha,
        per_page: 100,
      }),
    );
    return data.map(mapPull);
  }

  async getPull(pullNumber: number): Promise<T.PullRequest> {
    const { data } = await this.call('getPull', 'pull-requests: read', () =>
      this.octokit.rest.pulls.get({ ...this.repoParams, pull_number: pullNumber }),
    );
    return mapPull(data);
  }

  /** Every review, oldest first (all pages). */
  async listReviews(pullNumber: number): Promise<T.Review[]> {
    const data = await this.call('listReviews', 'pull-requests: read', () =>
      this.octokit.paginate(this.octokit.rest.pulls.listReviews, {
        ...this.repoParams,
        pull_number: pullNumber,
        per_page: 100,
      }),
    );
    return data.map((r) => ({
      id: r.id,
      user: r.user?.login,
      state: r.state,
      submittedAt: r.submitted_at,
      commitId: r.commit_id ?? undefined,
    }));
  }

  /** Every check run on the ref (all pages; GitHub covers the 1000 newest check suites). */
  async listCheckRunsForRef(ref: string): Promise<T.CheckRun[]> {
    const data = await this.call('listCheckRunsForRef', 'checks: read', () =>
      this.octokit.paginate(this.octokit.rest.checks.listForRef, {
        ...this.repoParams,
        ref,
        per_page: 100,
        filter: 'latest',
      }),
    );
    return data.map((c) => ({
      id: c.id,
      name: c.name,
      status: c.status,
      conclusion: c.conclusion,
      htmlUrl: c.html_url ?? undefined,
      appSlug: c.app?.slug,
      checkSuiteId: c.check_suite?.id,
      startedAt: c.started_at ?? undefined,
      completedAt: c.completed_at ?? undefined,
    }));
  }

  async getCombinedStatus(ref: string): Promise<T.CombinedStatus> {
    const { data } = await this.call('getCombinedStatus', 'statuses: read', () =>
      this.octokit.rest.repos.getCombinedStatusForRef({ ...this.repoParams, ref, per_page: 100 }),
    );
    return {
      state: data.state,
      statuses: data.statuses.map((s) => ({
        context: s.context,
        state: s.state,
        description: s.description ?? undefined,
        targetUrl: s.target_url ?? undefined,
      })),
    };
  }

  /** Open code-scanning alerts; 403/404 (no permission, feature off) → NotChecked, never a pass. */
  async listCodeScanningAlerts(opts: { state: 'open' }): Promise<T.SecurityAlert[] | T.NotChecked> {
    return this.alerts('listCodeScanningAlerts', 'security-events: read', async () => {
      const data = await this.octokit.paginate(this.octokit.rest.codeScanning.listAlertsForRepo, {
        ...this.repoParams,
        state: opts.state,
        per_page: 100,
      });
      return data.map((a) => ({
        number: a.number,
        severity: a.rule.security_severity_level ?? a.rule.severity ?? 'unknown',
        summary: oneLine(a.rule.description ?? a.rule.id ?? '', PROVIDER_TEXT_MAX),
        htmlUrl: a.html_url,
      }));
    });
  }

  /**
   * Open Dependabot alerts; 403/404 → NotChecked. The workflow token cannot read these at all: a token
   * with "Dependabot alerts: read" is needed.
   */
  async listDependabotAlerts(opts: { state: 'open' }): Promise<T.SecurityAlert[] | T.NotChecked> {
    return this.alerts('listDependabotAlerts', 'Dependabot alerts: read', async () => {
      const data = await this.octokit.paginate(this.octokit.rest.dependabot.listAlertsForRepo, {
        ...this.repoParams,
        state: opts.state,
        per_page: 100,
      });
      return data.map((a) => ({
        number: a.number,
        severity: a.security_advisory.severity,
        summary: oneLine(`${a.dependency.package?.name ?? ''}: ${a.security_advisory.summary}`, PROVIDER_TEXT_MAX),
        htmlUrl: a.html_url,
      }));
    });
  }

  private async alerts(
    operation: string,
    permission: string,
    fn: () => Promise<T.SecurityAlert[]>,
  ): Promise<T.SecurityAlert[] | T.NotChecked> {
    try {
      return await fn();
    } catch (err) {
      const e = err as OctokitError;
      if (e.response && (e.status === 403 || e.status === 404)) {
        const pe = extractProviderError(e.response.data);
        const why = redact(`HTTP ${e.status}: ${pe.message ?? 'not available'}`, this.secrets());
        return { notChecked: `${operation}: ${why} (needs "${permission}")`, permission };
      }
      throw this.toError(operation, permission, err);
    }
  }

  // ------------------------------------------------------------ GraphQL: several reads in one

  /**
   * Pre-flight's gates in one GraphQL query: the branch's protection (with `protection`), the
   * environment, the commit's PRs with their reviews, its check runs and statuses. What the answer
   * does not settle whole is left out, for the caller to read over REST. Throws when the query fails.
   */
  async readPreflightGraph(q: {
    sha: string;
    branch: string;
    environment: string;
    protection: boolean;
  }): Promise<PreflightGraph> {
    const answer = await this.graphql<RawPreflightData>('readPreflightGraph', 'contents: read', PREFLIGHT_QUERY, {
      owner: this.o.owner,
      name: this.o.repo,
      oid: q.sha,
      branch: q.branch.startsWith('refs/') ? q.branch : `refs/heads/${q.branch}`,
      environment: q.environment,
      protection: q.protection,
    });
    return mapPreflight(answer, q.protection);
  }

  /** The commit's check runs and statuses in one query; undefined when the answer is not whole. Throws when it fails. */
  async readChecksGraph(sha: string): Promise<{ runs: T.CheckRun[]; combined: T.CombinedStatus } | undefined> {
    const answer = await this.graphql<RawChecksData>('readChecksGraph', 'checks: read', CHECKS_QUERY, {
      owner: this.o.owner,
      name: this.o.repo,
      oid: sha,
    });
    const object = answer.data.repository?.object;
    return mapChecks(object, !object || failedAt(answer.errors, ['repository']));
  }

  /**
   * An environment's newest deployments, each with its latest status, in one query (over REST: a list
   * and one status read per deployment). Undefined when the answer is not whole. Throws when it fails.
   */
  async listDeploymentsWithStatus(q: {
    environment: string;
    limit: number;
  }): Promise<DeploymentWithStatus[] | undefined> {
    const answer = await this.graphql<RawDeploymentsData>(
      'listDeploymentsWithStatus',
      'deployments: read',
      DEPLOYMENTS_QUERY,
      {
        owner: this.o.owner,
        name: this.o.repo,
        environment: q.environment,
        first: Math.max(1, Math.min(100, q.limit)),
      },
    );
    return mapDeployments(answer);
  }

  // ------------------------------------------------------------ deployment records

  /**
   * Creates the run's deployment record. `payload.runId`/`runAttempt` identify the run, so a create whose
   * outcome is unknown is found again instead of duplicated. 409 (conflict) and 202 (GitHub merged the
   * default branch instead) are errors.
   */
  async createDeployment(input: {
    /**
     * The branch, for the caller's records only: the deployment is always created on `sha`, because a
     * branch name is resolved to whatever its head is at that moment, which need not be the deployed commit.
     */
    ref?: string;
    sha: string;
    environment: string;
    description: string;
    payload: Record<string, unknown> & { runId: string; runAttempt: number };
  }): Promise<T.GitHubDeployment> {
    const op = 'createDeployment';
    const permission = 'deployments: write';
    return this.createOnce(
      op,
      permission,
      async () => {
        const res = await this.octokit.rest.repos.createDeployment({
          ...this.repoParams,
          ref: input.sha,
          environment: input.environment,
          description: input.description.slice(0, 140),
          payload: input.payload,
          auto_merge: false,
          required_contexts: [],
          transient_environment: false,
          production_environment: true,
          request: { retries: 0 },
        });
        if (res.status !== 201 || !('id' in res.data)) {
          const msg =
            'message' in res.data ? oneLine(String(res.data.message), PROVIDER_TEXT_MAX) : 'no deployment was created';
          throw new ProviderError({
            provider: 'github',
            operation: op,
            status: res.status,
            code: 'merged_branch',
            message: redact(providerMessage('github', op, `HTTP ${res.status}: ${msg}`), this.secrets()),
          });
        }
        return mapDeployment(res.data);
      },
      async () => {
        const list = await this.listDeployments({ environment: input.environment, sha: input.sha, limit: 30 });
        return list.find(
          (d) => d.payload.runId === input.payload.runId && d.payload.runAttempt === input.payload.runAttempt,
        );
      },
    );
  }

  /** Adds a status. Repeating one after a lost answer is harmless (the newest status wins), so it is retried. */
  async createDeploymentStatus(
    deploymentId: number,
    s: {
      state: T.DeploymentState;
      description?: string;
      environmentUrl?: string;
      logUrl?: string;
      environment?: string;
      autoInactive?: boolean;
    },
  ): Promise<T.DeploymentStatus> {
    const { data } = await this.call('createDeploymentStatus', 'deployments: write', () =>
      this.octokit.rest.repos.createDeploymentStatus({
        ...this.repoParams,
        deployment_id: deploymentId,
        state: s.state,
        description: s.description?.slice(0, 140),
        environment_url: s.environmentUrl,
        log_url: s.logUrl,
        environment: s.environment,
        auto_inactive: s.autoInactive,
      }),
    );
    return mapStatus(data);
  }

  /** Deployments of an environment (optionally of one commit), newest first, at most `limit` (default 100). */
  async listDeployments(q: { environment: string; sha?: string; limit?: number }): Promise<T.GitHubDeployment[]> {
    const limit = q.limit ?? 100;
    const out: T.GitHubDeployment[] = [];
    await this.call('listDeployments', 'deployments: read', async () => {
      const params = { ...this.repoParams, environment: q.environment, sha: q.sha, per_page: Math.min(100, limit) };
      for await (const page of this.octokit.paginate.iterator(this.octokit.rest.repos.listDeployments, params)) {
        for (const d of page.data) if (out.length < limit) out.push(mapDeployment(d));
        if (out.length >= limit) break;
      }
    });
    return out;
  }

  /** Statuses of one deployment, newest first (first 100). */
  async listDeploymentStatuses(deploymentId: number): Promise<T.DeploymentStatus[]> {
    const { data } = await this.call('listDeploymentStatuses', 'deployments: read', () =>
      this.octokit.rest.repos.listDeploymentStatuses({
        ...this.repoParams,
        deployment_id: deploymentId,
        per_page: 100,
      }),
    );
    return data.map(mapStatus);
  }

  // ------------------------------------------------------------ the PR comment

  /** The first comment on the issue/PR whose body contains `marker` (an HTML comment), or null. */
  async findComment(issueNumber: number, marker: string): Promise<T.IssueComment | null> {
    const kept = this.ownComments.get(commentKey(issueNumber, marker));
    if (kept) return { ...kept };
    const found = await this.call('findComment', 'pull-requests: read', async () => {
      const params = { ...this.repoParams, issue_number: issueNumber, per_page: 100 };
      for await (const page of this.octokit.paginate.iterator(this.octokit.rest.issues.listComments, params)) {
        const c = page.data.find((x) => x.body?.includes(marker));
        if (c) return { id: c.id, body: c.body ?? '', htmlUrl: c.html_url, user: c.user?.login };
      }
      return null;
    });
    if (found) this.commentKeys.set(found.id, commentKey(issueNumber, marker));
    return found;
  }

  /** Posts a comment. With `marker` (contained in `body`), a post whose outcome is unknown is looked up first. */
  async createComment(issueNumber: number, body: string, marker?: string): Promise<T.IssueComment> {
    const permission = 'pull-requests: write';
    const created = await this.createOnce(
      'createComment',
      permission,
      async () => {
        const { data } = await this.octokit.rest.issues.createComment({
          ...this.repoParams,
          issue_number: issueNumber,
          body,
          request: { retries: 0 },
        });
        return { id: data.id, body: data.body ?? '', htmlUrl: data.html_url, user: data.user?.login };
      },
      async () => (marker ? ((await this.findComment(issueNumber, marker)) ?? undefined) : undefined),
    );
    if (marker) {
      const key = commentKey(issueNumber, marker);
      this.commentKeys.set(created.id, key);
      this.ownComments.set(key, { ...created });
    }
    return created;
  }

  async updateComment(commentId: number, body: string): Promise<T.IssueComment> {
    const { data } = await this.call('updateComment', 'pull-requests: write', () =>
      this.octokit.rest.issues.updateComment({ ...this.repoParams, comment_id: commentId, body }),
    );
    const updated = { id: data.id, body: data.body ?? '', htmlUrl: data.html_url, user: data.user?.login };
    const key = this.commentKeys.get(commentId);
    if (key) this.ownComments.set(key, { ...updated });
    return updated;
  }
}

function commentKey(issueNumber: number, marker: string): string {
  return `${issueNumber}\n${marker}`;
}
