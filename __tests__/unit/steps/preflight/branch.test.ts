import { describe, expect, it } from 'vitest';
import { evaluateBranch, matchingPattern, type BranchData } from '../../../../src/steps/preflight/branch.ts';
import { type PullInfo } from '../../../../src/steps/preflight/types.ts';
import { found, lookupFailed } from '../../../../src/steps/checks.ts';

const unprotected = { classic: false, rulesets: [] };
const classic = { classic: true, rulesets: [] };
const pull = (over: Partial<PullInfo> = {}): PullInfo => ({
  number: 7,
  title: 'Fix',
  url: 'https://github.com/o/r/pull/7',
  author: 'alice',
  state: 'open',
  merged: false,
  baseRef: 'main',
  headRef: 'hotfix/x',
  ...over,
});
const data = (over: Partial<BranchData> = {}): BranchData => ({
  branch: 'main',
  defaultBranch: found('main'),
  protection: found(classic),
  pull: found(null),
  pullApproved: false,
  ...over,
});
const policy = { allowedBranches: ['main', 'hotfix/*'], requireBranchProtection: true };

describe('matchingPattern', () => {
  it('matches globs within one segment and ** across', () => {
    expect(matchingPattern('hotfix/a', ['main', 'hotfix/*'])).toBe('hotfix/*');
    expect(matchingPattern('hotfix/a/b', ['hotfix/*'])).toBeUndefined();
    expect(matchingPattern('hotfix/a/b', ['hotfix/**'])).toBe('hotfix/**');
    expect(matchingPattern('mainline', ['main'])).toBeUndefined();
  });
});

describe('evaluateBranch', () => {
  it('passes a protected allowed branch and names the protection', () => {
    const r = evaluateBranch(data({ protection: found({ classic: true, rulesets: ['#7'] }) }), policy);
    expect(r.status).toBe('pass');
    expect(r.reason).toContain("matches allowed-branches 'main'");
    expect(r.reason).toContain('branch protection and ruleset #7');
  });

  it('fails a branch outside allowed-branches, listing the patterns', () => {
    const r = evaluateBranch(data({ branch: 'feature/x' }), policy);
    expect(r.status).toBe('fail');
    expect(r.reason).toBe("branch 'feature/x' is not in allowed-branches (main, hotfix/*)");
  });

  it('passes without looking at protection when it is not required', () => {
    const r = evaluateBranch(data({ protection: lookupFailed('boom', 500) }), {
      ...policy,
      requireBranchProtection: false,
    });
    expect(r.status).toBe('pass');
  });

  it('fails an unprotected default branch', () => {
    const r = evaluateBranch(data({ protection: found(unprotected) }), policy);
    expect(r.status).toBe('fail');
    expect(r.reason).toContain("default branch 'main' is not protected");
  });

  it('is not-checked when protection cannot be read', () => {
    const r = evaluateBranch(data({ protection: lookupFailed('Resource not accessible', 403) }), policy);
    expect(r.status).toBe('not-checked');
    expect(r.reason).toContain('HTTP 403');
  });

  describe('hotfix branches (unprotected, not the default branch)', () => {
    const hotfix = (over: Partial<BranchData>) => data({ branch: 'hotfix/x', protection: found(unprotected), ...over });

    it('pass through a merged PR into a protected branch', () => {
      const r = evaluateBranch(
        hotfix({ pull: found(pull({ merged: true, state: 'closed' })), baseProtection: found(classic) }),
        policy,
      );
      expect(r.status).toBe('pass');
      expect(r.reason).toContain("merged PR #7 into 'main'");
    });

    it('pass through an approved open PR into a protected branch', () => {
      const r = evaluateBranch(
        hotfix({ pull: found(pull()), pullApproved: true, baseProtection: found({ classic: false, rulesets: ['r'] }) }),
        policy,
      );
      expect(r.status).toBe('pass');
      expect(r.reason).toContain('approved PR #7');
    });

    it('fail when the PR is neither merged nor approved', () => {
      const r = evaluateBranch(
        hotfix({ pull: found(pull()), pullApproved: false, baseProtection: found(classic) }),
        policy,
      );
      expect(r.status).toBe('fail');
      expect(r.reason).toContain('neither merged nor approved');
    });

    it('fail when the PR targets an unprotected branch', () => {
      const r = evaluateBranch(
        hotfix({ pull: found(pull({ merged: true, baseRef: 'dev' })), baseProtection: found(unprotected) }),
        policy,
      );
      expect(r.status).toBe('fail');
      expect(r.reason).toContain("targets 'dev', which is not protected either");
    });

    it('fail when no PR brought the commit', () => {
      expect(evaluateBranch(hotfix({ pull: found(null) }), policy).status).toBe('fail');
    });

    it('not-checked when the PR or its base protection cannot be read', () => {
      expect(evaluateBranch(hotfix({ pull: lookupFailed('timeout') }), policy).status).toBe('not-checked');
      const r = evaluateBranch(
        hotfix({ pull: found(pull({ merged: true })), baseProtection: lookupFailed('nope', 502) }),
        policy,
      );
      expect(r.status).toBe('not-checked');
      expect(r.reason).toContain("protection of 'main'");
    });

    it('not-checked when the default branch is unknown', () => {
      expect(evaluateBranch(hotfix({ defaultBranch: lookupFailed('x', 500) }), policy).status).toBe('not-checked');
    });
  });
});
