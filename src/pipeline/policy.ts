/**
 * The error policy (the table in docs/architecture.md, "One run, end to end"), in this one place.
 * Steps only report what happened; what a failure means for the run — stop, no-go, restore blue, or
 * just warn — is decided here and applied by the runner (src/pipeline/runner.ts).
 */
import type { Mode } from '../config/types.js';
import type { StepName } from './types.js';

/**
 * - `no-go`: the pre-flight verdict is "no": block the deploy (run status `no-go`).
 * - `stop`: stop the run (status `failed`); production was not switched.
 * - `restore`: traffic may have moved: restore the recorded traffic state at once (status `rolled-back`).
 * - `warn`: log a warning and carry on; the run's status is unaffected.
 */
export type FailureAction = 'no-go' | 'stop' | 'restore' | 'warn';

/** One row of the policy table. */
export interface PolicyRule {
  onFailure: FailureAction;
  /**
   * For `stop`: if a traffic state was nevertheless recorded (and not yet restored), restore it so
   * that production is surely on blue ("ensure blue" in that table). The run stays `failed`.
   */
  ensureBlue?: boolean;
  /** What the failure means, said in the report's decisions and in the failure message. */
  consequence: string;
}

/** Looks up the rule for a failed step of a mode. */
export type ErrorPolicy = (mode: Mode, step: StepName) => PolicyRule;

const STOP: PolicyRule = { onFailure: 'stop', consequence: 'the run stops' };

/** The table's `deploy` column, for `mode: deploy`. */
export const DEPLOY_POLICY: Readonly<Record<StepName, PolicyRule>> = {
  preflight: {
    onFailure: 'no-go',
    consequence: 'no-go: the deploy is blocked; every failed check is listed with its reason',
  },
  prepare: { onFailure: 'stop', consequence: 'the run stops; nothing was deployed' },
  deploy: {
    onFailure: 'stop',
    ensureBlue: true,
    consequence: 'the run stops; production is still on blue; green is left staged and named in the report',
  },
  smoke: {
    onFailure: 'stop',
    consequence: 'the switch is blocked; production is still on blue; green is named in the report',
  },
  traffic: { onFailure: 'restore', consequence: 'the recorded traffic state is restored at once' },
  validate: { onFailure: 'restore', consequence: 'blue is restored' },
  cleanup: { onFailure: 'warn', consequence: 'warning only; the deploy stands' },
  rollback: STOP,
  plan: STOP,
};

/** `mode: plan` mutates nothing: a failed pre-flight is still a no-go verdict, anything else stops. */
export const PLAN_POLICY: Readonly<Record<StepName, PolicyRule>> = {
  ...mapAll(() => ({ onFailure: 'stop', consequence: 'the plan stops; nothing was changed' })),
  preflight: { onFailure: 'no-go', consequence: 'no-go: a deploy would be blocked; every failed check is listed' },
};

/**
 * `mode: rollback`: a failed step fails the run. Never "restore" here: the state recorded before a
 * rollback is the release being rolled away from, and moving traffic back to it would undo the rollback.
 */
export const ROLLBACK_POLICY: Readonly<Record<StepName, PolicyRule>> = mapAll(() => ({
  onFailure: 'stop',
  consequence: 'the rollback failed; production may not be on the rollback target — check it and re-run',
}));

/** The default policy: the tables above. */
export const policyFor: ErrorPolicy = (mode, step) => {
  const table = mode === 'deploy' ? DEPLOY_POLICY : mode === 'plan' ? PLAN_POLICY : ROLLBACK_POLICY;
  return table[step];
};

function mapAll(rule: () => PolicyRule): Record<StepName, PolicyRule> {
  const names: StepName[] = [
    'preflight',
    'prepare',
    'deploy',
    'smoke',
    'traffic',
    'validate',
    'cleanup',
    'rollback',
    'plan',
  ];
  return Object.fromEntries(names.map((n) => [n, rule()])) as Record<StepName, PolicyRule>;
}
