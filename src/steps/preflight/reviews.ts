/**
 * Pre-flight check 2: code review of the PR that brought the commit. Pure.
 *
 * GitHub's own rule for "approved": each reviewer's latest *deciding* review counts (APPROVED,
 * CHANGES_REQUESTED, or DISMISSED, which withdraws that reviewer's earlier verdict); a later
 * COMMENTED review does not withdraw an approval, and PENDING reviews are not submitted yet.
 * The PR author's own reviews never count.
 */
import type { CheckResult } from '../../pipeline/types.js';
import type { PullInfo, ReviewInfo } from './types.js';
import type { Lookup } from '../checks.js';

export const REVIEW_CHECK = 'Code review';

export interface ReviewData {
  /** The PR that brought the commit; null when no PR did. */
  pull: Lookup<PullInfo | null>;
  /** Reviews of that PR (ignored when there is no PR). */
  reviews: Lookup<ReviewInfo[]>;
}

/** Each reviewer's standing verdict (author excluded). */
export interface ReviewTally {
  approvers: string[];
  changesRequested: string[];
}

const DECIDING = new Set(['APPROVED', 'CHANGES_REQUESTED', 'DISMISSED']);

/** The latest deciding review per reviewer, ignoring the author's own. */
export function tallyReviews(reviews: readonly ReviewInfo[], author: string): ReviewTally {
  const ordered = reviews
    .filter((r) => DECIDING.has(r.state.toUpperCase()) && r.reviewer.toLowerCase() !== author.toLowerCase())
    .map((r, index) => ({ r, index }))
    // Submission time decides; the API's order (and then the review id) breaks ties.
    .sort((a, b) => {
      const ta = a.r.submittedAt ? Date.parse(a.r.submittedAt) : 0;
      const tb = b.r.submittedAt ? Date.parse(b.r.submittedAt) : 0;
      return ta - tb || a.r.id - b.r.id || a.index - b.index;
    });
  const latest = new Map<string, string>();
  for (const { r } of ordered) latest.set(r.reviewer.toLowerCase(), r.state.toUpperCase());
  const names = new Map(ordered.map(({ r }) => [r.reviewer.toLowerCase(), r.reviewer]));
  const approvers: string[] = [];
  const changesRequested: string[] = [];
  for (const [key, state] of latest) {
    const who = names.get(key) ?? key;
    if (state === 'APPROVED') approvers.push(who);
    else if (state === 'CHANGES_REQUESTED') changesRequested.push(who);
  }
  return { approvers: approvers.sort(), changesRequested: changesRequested.sort() };
}

/** Whether the tally meets the requirement (used by the branch check's hotfix rule too). */
export function isApproved(tally: ReviewTally, requiredApprovals: number): boolean {
  return tally.changesRequested.length === 0 && tally.approvers.length >= requiredApprovals;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * Code review check: at least `required-approvals` approvals from people other than the author,
 * and no outstanding "changes requested". A commit with no PR passes only when 0 are required.
 */
export function evaluateReviews(data: ReviewData, requiredApprovals: number): CheckResult {
  const name = REVIEW_CHECK;
  if (!data.pull.ok) {
    return {
      name,
      status: 'not-checked',
      reason: `could not find the pull request of the commit${data.pull.status ? ` (HTTP ${data.pull.status})` : ''}: ${data.pull.error}`,
    };
  }
  const pull = data.pull.value;
  if (!pull) {
    return requiredApprovals === 0
      ? { name, status: 'pass', reason: 'no pull request brought the commit; required-approvals is 0' }
      : {
          name,
          status: 'fail',
          reason: `no pull request brought the commit, so it has no reviews; required-approvals is ${requiredApprovals}`,
        };
  }
  const details = { pull: pull.number, author: pull.author };
  if (!data.reviews.ok) {
    return {
      name,
      status: 'not-checked',
      reason: `could not read the reviews of PR #${pull.number}${data.reviews.status ? ` (HTTP ${data.reviews.status})` : ''}: ${data.reviews.error}`,
      details,
    };
  }
  const tally = tallyReviews(data.reviews.value, pull.author);
  const full = { ...details, approvers: tally.approvers, changesRequested: tally.changesRequested };
  const problems: string[] = [];
  if (tally.approvers.length < requiredApprovals) {
    problems.push(
      `PR #${pull.number} has ${plural(tally.approvers.length, 'approval')} from reviewers other than its author, ${requiredApprovals} required`,
    );
  }
  if (tally.changesRequested.length > 0) {
    problems.push(`changes requested by ${tally.changesRequested.join(', ')} on PR #${pull.number}`);
  }
  if (problems.length > 0) return { name, status: 'fail', reason: problems.join('; '), details: full };
  const by = tally.approvers.length > 0 ? ` (${tally.approvers.join(', ')})` : '';
  return {
    name,
    status: 'pass',
    reason: `PR #${pull.number} has ${plural(tally.approvers.length, 'approval')}${by}, ${requiredApprovals} required; no changes requested`,
    details: full,
  };
}
