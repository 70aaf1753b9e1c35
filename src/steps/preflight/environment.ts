/**
 * The GitHub environment check: does the environment a deploy records itself in exist, and what
 * protects it? GitHub creates a deployment's environment on first use with no protection rules, so a
 * deploy to an environment nobody configured runs for anyone who can run the workflow. This check
 * says so plainly; it does not block (protection is the repository's choice), and a look-up that
 * could not be made is "not checked", never a pass. Pure.
 */
import type { CheckResult } from '../../pipeline/types.js';
import type { Environment } from '../../providers/github-types.js';
import type { Lookup } from '../checks.js';

const NAME = 'GitHub environment';

const RULES: Record<string, string> = {
  required_reviewers: 'required reviewers',
  wait_timer: 'a wait timer',
  branch_policy: 'a branch policy',
};

/** The row for `environment` from what was read. */
export function evaluateEnvironment(found: Lookup<Environment | null>, environment: string): CheckResult {
  if (!found.ok) {
    const why = found.status === 403 ? 'the token may not read it (grant `actions: read`)' : found.error;
    return {
      name: NAME,
      status: 'not-checked',
      reason: `could not read environment ${environment}: ${why}; its protection is not known`,
      details: { advisory: true },
    };
  }
  const env = found.value;
  if (!env) {
    return {
      name: NAME,
      status: 'warn',
      reason:
        `environment ${environment} does not exist: GitHub creates it with the first deployment, with no ` +
        'protection rules, so anyone who can run this workflow deploys to production. Create it under ' +
        'Settings → Environments with required reviewers or a deployment branch policy',
    };
  }
  const rules = [...new Set(env.protectionRules.map((r) => RULES[r] ?? r))];
  const branches = env.branchPolicy
    ? env.branchPolicy.protectedBranches
      ? 'deployments only from protected branches'
      : 'deployments only from the branches its policy names'
    : '';
  const protectedBy = [...rules.filter((r) => r !== 'a branch policy' || !branches), ...(branches ? [branches] : [])];
  if (protectedBy.length === 0) {
    return {
      name: NAME,
      status: 'warn',
      reason:
        `environment ${environment} has no protection rules: anyone who can run this workflow deploys to ` +
        'production. Add required reviewers, a wait timer or a deployment branch policy (Settings → Environments)',
    };
  }
  return { name: NAME, status: 'pass', reason: `environment ${environment} is protected by ${protectedBy.join(', ')}` };
}
