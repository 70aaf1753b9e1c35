/**
 * The GitHub environment row of pre-flight: what protects the environment a deploy records itself
 * in, said plainly; a look-up that could not be made is "not checked" (advisory), never a pass.
 */
import { describe, expect, it } from 'vitest';
import { found, lookupFailed } from '../../../../src/steps/checks.ts';
import { isBlocking } from '../../../../src/steps/checks.ts';
import { evaluateEnvironment } from '../../../../src/steps/preflight/environment.ts';

const env = (
  protectionRules: string[],
  branchPolicy: { protectedBranches: boolean; customBranchPolicies: boolean } | null = null,
) => found({ name: 'production', protectionRules, branchPolicy });

describe('evaluateEnvironment', () => {
  it('passes an environment with protection rules, naming them', () => {
    const c = evaluateEnvironment(env(['required_reviewers', 'wait_timer']), 'production');
    expect(c).toMatchObject({ name: 'GitHub environment', status: 'pass' });
    expect(c.reason).toBe('environment production is protected by required reviewers, a wait timer');
  });

  it('names a deployment branch policy by what it allows', () => {
    const c = evaluateEnvironment(
      env(['branch_policy'], { protectedBranches: true, customBranchPolicies: false }),
      'production',
    );
    expect(c.status).toBe('pass');
    expect(c.reason).toBe('environment production is protected by deployments only from protected branches');
  });

  it('says plainly that an environment without rules protects nothing (a warning, not a block)', () => {
    const c = evaluateEnvironment(env([]), 'production');
    expect(c.status).toBe('warn');
    expect(c.reason).toContain('has no protection rules: anyone who can run this workflow deploys to production');
    expect(isBlocking(c)).toBe(false);
  });

  it('says that a missing environment will be created unprotected', () => {
    const c = evaluateEnvironment(found(null), 'staging');
    expect(c.status).toBe('warn');
    expect(c.reason).toContain('environment staging does not exist');
    expect(c.reason).toContain('no protection rules');
  });

  it('a look-up that failed is not checked, names the permission on a 403, and does not block', () => {
    const denied = evaluateEnvironment(lookupFailed('HTTP 403', 403), 'production');
    expect(denied).toMatchObject({ status: 'not-checked', details: { advisory: true } });
    expect(denied.reason).toContain('actions: read');
    expect(isBlocking(denied)).toBe(false);
    const down = evaluateEnvironment(lookupFailed('GitHub getEnvironment failed: HTTP 502'), 'production');
    expect(down.status).toBe('not-checked');
    expect(down.reason).toContain('HTTP 502');
  });
});
