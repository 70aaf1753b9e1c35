import { describe, expect, it } from 'vitest';
import { evaluateReviews, isApproved, tallyReviews } from '../../../../src/steps/preflight/reviews.ts';
import { type PullInfo, type ReviewInfo } from '../../../../src/steps/preflight/types.ts';
import { found, lookupFailed } from '../../../../src/steps/checks.ts';

const pr: PullInfo = {
  number: 12,
  title: 'Add checkout',
  url: 'https://github.com/o/r/pull/12',
  author: 'alice',
  state: 'closed',
  merged: true,
  baseRef: 'main',
  headRef: 'feature',
};
let id = 0;
const review = (reviewer: string, state: string, submittedAt: string): ReviewInfo => ({
  id: ++id,
  reviewer,
  state,
  submittedAt,
});

describe('tallyReviews', () => {
  it("counts each reviewer's latest deciding review only", () => {
    const t = tallyReviews(
      [
        review('bob', 'CHANGES_REQUESTED', '2026-01-01T10:00:00Z'),
        review('bob', 'APPROVED', '2026-01-01T11:00:00Z'),
        review('carol', 'APPROVED', '2026-01-01T10:00:00Z'),
        review('carol', 'CHANGES_REQUESTED', '2026-01-01T12:00:00Z'),
      ],
      'alice',
    );
    expect(t).toEqual({ approvers: ['bob'], changesRequested: ['carol'] });
  });

  it('keeps an approval through a later comment, drops it on dismissal, ignores the author', () => {
    const t = tallyReviews(
      [
        review('bob', 'APPROVED', '2026-01-01T10:00:00Z'),
        review('bob', 'COMMENTED', '2026-01-01T11:00:00Z'),
        review('dave', 'APPROVED', '2026-01-01T10:00:00Z'),
        review('dave', 'DISMISSED', '2026-01-01T11:00:00Z'),
        review('Alice', 'APPROVED', '2026-01-01T11:00:00Z'),
        review('erin', 'PENDING', '2026-01-01T11:00:00Z'),
      ],
      'alice',
    );
    expect(t).toEqual({ approvers: ['bob'], changesRequested: [] });
  });

  it('orders by submission time, not by the order the API listed them', () => {
    const t = tallyReviews(
      [review('bob', 'APPROVED', '2026-01-02T00:00:00Z'), review('bob', 'CHANGES_REQUESTED', '2026-01-01T00:00:00Z')],
      'alice',
    );
    expect(isApproved(t, 1)).toBe(true);
  });
});

describe('evaluateReviews', () => {
  it('passes with enough approvals from others', () => {
    const r = evaluateReviews(
      { pull: found(pr), reviews: found([review('bob', 'APPROVED', '2026-01-01T00:00:00Z')]) },
      1,
    );
    expect(r.status).toBe('pass');
    expect(r.reason).toBe('PR #12 has 1 approval (bob), 1 required; no changes requested');
    expect(r.details).toMatchObject({ pull: 12, approvers: ['bob'] });
  });

  it('fails on too few approvals and on outstanding changes requested, naming both', () => {
    const r = evaluateReviews(
      {
        pull: found(pr),
        reviews: found([
          review('alice', 'APPROVED', '2026-01-01T00:00:00Z'),
          review('bob', 'CHANGES_REQUESTED', '2026-01-01T00:00:00Z'),
        ]),
      },
      1,
    );
    expect(r.status).toBe('fail');
    expect(r.reason).toBe(
      'PR #12 has 0 approvals from reviewers other than its author, 1 required; changes requested by bob on PR #12',
    );
  });

  it('blocks changes requested even when no approvals are required', () => {
    const r = evaluateReviews(
      { pull: found(pr), reviews: found([review('bob', 'CHANGES_REQUESTED', '2026-01-01T00:00:00Z')]) },
      0,
    );
    expect(r.status).toBe('fail');
  });

  it('a commit without a PR fails unless required-approvals is 0', () => {
    expect(evaluateReviews({ pull: found(null), reviews: found([]) }, 1).status).toBe('fail');
    expect(evaluateReviews({ pull: found(null), reviews: found([]) }, 0).status).toBe('pass');
  });

  it('is not-checked when the PR or its reviews cannot be read', () => {
    expect(evaluateReviews({ pull: lookupFailed('boom', 502), reviews: found([]) }, 1).status).toBe('not-checked');
    const r = evaluateReviews(
      { pull: found(pr), reviews: lookupFailed('Resource not accessible by integration', 403) },
      1,
    );
    expect(r.status).toBe('not-checked');
    expect(r.reason).toContain('reviews of PR #12 (HTTP 403)');
  });
});
