/**
 * Prepare check: the Deployment Gate (`deployment-gate`) exists and has rules, before anything moves.
 * A gate Datadog does not have, or one without rules, can only fail its evaluation after the switch
 * (fail-closed: a rollback of a release nobody judged); so it fails here, naming the settings. The
 * look-up needs `deployment_gates_read`, a permission the evaluation itself does not: when it cannot
 * be made the row says so loudly but does not block, since the evaluation still fails closed.
 * With `deployment-gate-on-error: pass` (the user chose to fail open) a missing gate is a warning.
 */
import type { Config } from '../../config/types.js';
import type { CheckResult } from '../../pipeline/types.js';
import type { Datadog } from '../../providers/index.js';
import { gateRequest } from '../../watch/gate.js';
import { attempt } from '../checks.js';

export const GATE_CHECK = 'Deployment Gate';

/** The gate row, or undefined when no gate is configured. */
export async function deploymentGateCheck(
  config: Config,
  datadog: Pick<Datadog, 'findDeploymentGate'> | undefined,
  signal: AbortSignal,
): Promise<CheckResult | undefined> {
  const gate = config.validation.gate;
  const req = gateRequest(config, undefined);
  if (!gate || !req) return undefined;
  const name = GATE_CHECK;
  const what = `Deployment Gate "${req.identifier}" of service ${req.service} in env ${req.env}`;
  if (!datadog) {
    return {
      name,
      status: 'not-checked',
      reason: `${what}: Datadog is not configured (datadog-api-key, datadog-app-key)`,
    };
  }
  const found = await attempt(() => datadog.findDeploymentGate(req), signal);
  if (!found.ok) {
    const hint = found.status === 403 ? ' (the application key needs deployment_gates_read to look it up)' : '';
    return {
      name,
      status: 'not-checked',
      reason: `could not look up the ${what}${found.status ? ` (HTTP ${found.status})` : ''}: ${found.error}${hint}; its evaluation after the switch still fails closed`,
      details: { advisory: true },
    };
  }
  const problem = !found.value
    ? `Datadog has no ${what}: create it, or set deployment-gate, datadog-service or environment to the gate's`
    : found.value.rules === 0
      ? `the ${what} has no rules: Datadog cannot evaluate it; add a rule in Datadog`
      : undefined;
  if (problem) {
    return gate.onError === 'pass'
      ? { name, status: 'warn', reason: `${problem} (deployment-gate-on-error: pass, so it will count as passed)` }
      : { name, status: 'fail', reason: problem };
  }
  const g = found.value!;
  if (g.dryRun) {
    return {
      name,
      status: 'warn',
      reason: `the ${what} is in dry run: Datadog answers pass whatever its ${g.rules} rule(s) find (reported, not acted on)`,
    };
  }
  return { name, status: 'pass', reason: `the ${what} exists with ${g.rules} rule(s)` };
}
