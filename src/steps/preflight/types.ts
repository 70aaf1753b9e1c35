/**
 * What pre-flight looks up, in a provider-neutral shape. The fetch layer (fetch.ts) turns GitHub's
 * answers into these; the evaluators (branch.ts, reviews.ts, checks.ts, security.ts, benchmarks.ts)
 * are pure functions from these to one CheckResult each, so every verdict is unit-testable offline.
 */

/** Whether a branch is protected, and by what. */
export interface BranchProtection {
  /** GitHub's `protected` flag of the branch (classic protection; current GitHub sets it for rulesets too). */
  classic: boolean;
  /** Names (or ids) of the active rulesets whose rules apply to the branch. */
  rulesets: string[];
}

/** The pull request that brought the commit. */
export interface PullInfo {
  number: number;
  title: string;
  url: string;
  author: string;
  state: 'open' | 'closed';
  merged: boolean;
  /** Branch the PR targets (e.g. `main`). */
  baseRef: string;
  /** Branch the PR comes from. */
  headRef: string;
}

/** One submitted review (GitHub states: APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED, PENDING). */
export interface ReviewInfo {
  id: number;
  reviewer: string;
  state: string;
  /** ISO time; absent for pending reviews. */
  submittedAt?: string;
}

/** One check run on the commit. */
export interface CheckRunInfo {
  id: number;
  name: string;
  /** queued, in_progress, completed, waiting, requested, pending */
  status: string;
  /** success, failure, neutral, cancelled, skipped, timed_out, action_required, stale, or null */
  conclusion: string | null;
  startedAt?: string;
  /** Link to the run (for Actions: …/actions/runs/<run id>/job/<job id>). */
  detailsUrl?: string;
  url?: string;
}

/** One commit status context (the combined status keeps only the newest per context). */
export interface StatusInfo {
  context: string;
  /** success, failure, error, pending */
  state: string;
  description?: string;
  url?: string;
}

/** One open security alert. */
export interface AlertInfo {
  number: number;
  /** critical, high, medium, low; null when the alert has no security severity. */
  severity: string | null;
  /** Rule (code scanning) or package and advisory (Dependabot). */
  title: string;
  url?: string;
}

/** Alerts of one kind, as far as they were read. */
export interface AlertList {
  alerts: AlertInfo[];
  /** True when paging stopped before the end (more alerts exist than were read). */
  truncated: boolean;
}

/** One entry of `benchmark-results` (github-action-benchmark's customSmallerIsBetter format). */
export interface BenchmarkEntry {
  name: string;
  unit: string;
  value: number;
}
