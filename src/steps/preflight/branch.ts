/**
 * Pre-flight check 1: the branch may deploy to this environment. Pure: the look-ups come in as data.
 * Reasons are plain text (surfaces escape them), and name the pattern or protection that decided.
 */
import picomatch from 'picomatch';
import type { CheckResult } from '../../pipeline/types.js';
import type { BranchProtection, PullInfo } from './types.js';
import type { Lookup } from '../checks.js';

export interface BranchData {
  /** The branch being deployed. */
  branch: string;
  /** The repository's default branch. */
  defaultBranch: Lookup<string>;
  /** Protection of the deployed branch. */
  protection: Lookup<BranchProtection>;
  /** The PR that brought the commit (null: none). */
  pull: Lookup<PullInfo | null>;
  /** Protection of the PR's base branch; looked up only when the hotfix rule needs it. */
  baseProtection?: Lookup<BranchProtection>;
  /** Whether the (open) PR has the approvals pre-flight requires and no changes requested. */
  pullApproved: boolean;
}

export interface BranchPolicy {
  allowedBranches: string[];
  requireBranchProtection: boolean;
}

export const BRANCH_CHECK = 'Branch';

/** The first `allowed-branches` pattern the branch matches, or undefined. */
export function matchingPattern(branch: string, patterns: readonly string[]): string | undefined {
  // `*` stays within one path segment (hotfix/* matches hotfix/x, not hotfix/x/y), as in GitHub's
  // own deployment branch rules; `**` crosses segments. dot: branches may start with a dot segment.
  return patterns.find((p) => picomatch.isMatch(branch, p, { dot: true }));
}

/** Plain-text description of what protects a branch, or undefined when nothing does. */
export function describeProtection(p: BranchProtection): string | undefined {
  const parts: string[] = [];
  if (p.classic) parts.push('branch protection');
  const n = p.rulesets.length;
  if (n > 0)
    parts.push(n <= 2 ? `${n === 1 ? 'ruleset' : 'rulesets'} ${p.rulesets.join(', ')}` : `${n} active rulesets`);
  return parts.length > 0 ? parts.join(' and ') : undefined;
}

function lookupError(what: string, l: { status?: number; error: string }): string {
  return `could not read ${what}${l.status ? ` (HTTP ${l.status})` : ''}: ${l.error}`;
}

/**
 * Branch check: the branch matches `allowed-branches`; with `require-branch-protection`, it is
 * protected (classic or an active ruleset), or — for a branch other than the default branch — the
 * commit came through a merged or approved PR into a protected branch (hotfix branches).
 */
export function evaluateBranch(data: BranchData, policy: BranchPolicy): CheckResult {
  const { branch } = data;
  const name = BRANCH_CHECK;
  const pattern = matchingPattern(branch, policy.allowedBranches);
  if (pattern === undefined) {
    return {
      name,
      status: 'fail',
      reason: `branch '${branch}' is not in allowed-branches (${policy.allowedBranches.join(', ')})`,
    };
  }
  const allowed = `branch '${branch}' matches allowed-branches '${pattern}'`;
  if (!policy.requireBranchProtection) {
    return { name, status: 'pass', reason: `${allowed}; branch protection not required` };
  }
  if (!data.protection.ok) {
    return {
      name,
      status: 'not-checked',
      reason: `${allowed}, but ${lookupError('its protection', data.protection)}`,
    };
  }
  const own = describeProtection(data.protection.value);
  if (own) return { name, status: 'pass', reason: `${allowed} and is protected by ${own}` };

  // Unprotected: only a non-default branch can still qualify, through a PR into a protected branch.
  if (!data.defaultBranch.ok) {
    return {
      name,
      status: 'not-checked',
      reason: `${allowed} but is not protected, and ${lookupError('the default branch', data.defaultBranch)}`,
    };
  }
  if (data.defaultBranch.value === branch) {
    return { name, status: 'fail', reason: `${allowed} but the default branch '${branch}' is not protected` };
  }
  if (!data.pull.ok) {
    return {
      name,
      status: 'not-checked',
      reason: `${allowed} but is not protected, and ${lookupError('the pull request', data.pull)}`,
    };
  }
  const pull = data.pull.value;
  if (!pull) {
    return {
      name,
      status: 'fail',
      reason: `${allowed} but is not protected, and no pull request into a protected branch brought the commit`,
    };
  }
  const via = pull.merged ? `merged PR #${pull.number}` : `PR #${pull.number}`;
  if (!pull.merged && !(pull.state === 'open' && data.pullApproved)) {
    return {
      name,
      status: 'fail',
      reason: `${allowed} but is not protected, and ${via} into '${pull.baseRef}' is neither merged nor approved`,
    };
  }
  if (!data.baseProtection) {
    return {
      name,
      status: 'not-checked',
      reason: `${allowed} but is not protected; the protection of '${pull.baseRef}' was not read`,
    };
  }
  if (!data.baseProtection.ok) {
    return {
      name,
      status: 'not-checked',
      reason: `${allowed} but is not protected, and ${lookupError(`the protection of '${pull.baseRef}'`, data.baseProtection)}`,
    };
  }
  const base = describeProtection(data.baseProtection.value);
  if (!base) {
    return {
      name,
      status: 'fail',
      reason: `${allowed} but is not protected, and ${via} targets '${pull.baseRef}', which is not protected either`,
    };
  }
  const how = pull.merged ? via : `approved ${via}`;
  return {
    name,
    status: 'pass',
    reason: `${allowed}; not protected itself, but came through ${how} into '${pull.baseRef}' (${base})`,
  };
}
