/**
 * The shapes the GitHub adapter returns: small, stable, ours — steps never see Octokit's types, so an
 * Octokit upgrade changes one file. Field names follow GitHub's, in camelCase.
 */

export interface Repo {
  name: string;
  fullName: string;
  defaultBranch: string;
  private: boolean;
  htmlUrl: string;
}

/** A deployment environment and how it is protected (`repos/get-environment`). */
export interface Environment {
  name: string;
  /** Built-in protection rules by type: `required_reviewers`, `wait_timer`, `branch_policy`. */
  protectionRules: string[];
  /** Which branches may deploy; null: any branch. */
  branchPolicy: { protectedBranches: boolean; customBranchPolicies: boolean } | null;
}

export interface Branch {
  name: string;
  /** GitHub's own flag: classic protection or a ruleset applies. */
  protected: boolean;
  sha: string;
}

/** Classic branch protection, the parts pre-flight reads. */
export interface BranchProtection {
  requiredApprovingReviewCount?: number;
  requiredStatusChecks: string[];
  enforceAdmins: boolean;
  allowForcePushes: boolean;
}

/** One active rule for a branch (from rulesets). */
export interface BranchRule {
  type: string;
  rulesetId?: number;
  rulesetSource?: string;
  parameters?: Record<string, unknown>;
}

/** A check that could not be made (no permission, feature off): never a pass. */
export interface NotChecked {
  /** Why, in the provider's words. */
  notChecked: string;
  /** The token permission that would allow it. */
  permission?: string;
}

export interface PullRequest {
  number: number;
  title: string;
  state: 'open' | 'closed';
  merged: boolean;
  mergedAt?: string;
  draft: boolean;
  baseRef: string;
  headRef: string;
  headSha: string;
  htmlUrl: string;
  user?: string;
}

export interface Review {
  id: number;
  user?: string;
  /** APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED, PENDING */
  state: string;
  submittedAt?: string;
  commitId?: string;
}

export interface CheckRun {
  id: number;
  name: string;
  /** queued, in_progress, completed, waiting, requested, pending */
  status: string;
  /** success, failure, neutral, cancelled, skipped, timed_out, action_required, stale; null while running */
  conclusion: string | null;
  htmlUrl?: string;
  appSlug?: string;
  checkSuiteId?: number;
  startedAt?: string;
  completedAt?: string;
}

export interface CombinedStatus {
  /** failure, pending, success */
  state: string;
  statuses: { context: string; state: string; description?: string; targetUrl?: string }[];
}

export interface SecurityAlert {
  number: number;
  /** critical, high, medium, low (code scanning without a security severity: error, warning, note) */
  severity: string;
  summary: string;
  htmlUrl: string;
}

export interface GitHubDeployment {
  id: number;
  sha: string;
  ref: string;
  environment: string;
  /** What the run recorded (rollback target, traffic snapshot, backup…); {} when absent. */
  payload: Record<string, unknown>;
  description?: string;
  createdAt: string;
  creator?: string;
}

export type DeploymentState = 'error' | 'failure' | 'inactive' | 'in_progress' | 'queued' | 'pending' | 'success';

export interface DeploymentStatus {
  id: number;
  state: string;
  description?: string;
  environmentUrl?: string;
  logUrl?: string;
  createdAt: string;
}

export interface IssueComment {
  id: number;
  body: string;
  htmlUrl: string;
  user?: string;
}

export interface Comparison {
  /** ahead, behind, identical, diverged */
  status: string;
  aheadBy: number;
  behindBy: number;
  /** Oldest first; message is the first line only (remote text: print with log.untrusted). */
  commits: { sha: string; message: string }[];
}
