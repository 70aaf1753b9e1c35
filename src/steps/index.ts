/**
 * The registry of steps: every step module by name, the steps of each mode in order, and the two
 * ways back to blue the traffic step defines for the parts outside the pipeline (the runner's
 * restore and the post step's reconcile). A registry only — no step logic lives here; main and the
 * post step reach the steps through it alone.
 */
import type { Mode } from '../config/types.js';
import type { RunStep } from '../pipeline/context.js';
import { MODE_STEPS } from '../pipeline/modes.js';
import type { StepName } from '../pipeline/types.js';
import { cleanupStep } from './cleanup.js';
import { deployStep } from './deploy.js';
import { planStep } from './plan.js';
import { preflightStep } from './preflight.js';
import { prepareStep } from './prepare.js';
import { reconcile } from './traffic/post-restore.js';
import { rollbackStep } from './rollback.js';
import { smokeStep } from './smoke.js';
import { restoreFor, trafficStep } from './traffic.js';
import { validateStep } from './validate.js';

/** Every step, by name. */
export const STEPS: Readonly<Record<StepName, RunStep>> = {
  preflight: preflightStep,
  prepare: prepareStep,
  deploy: deployStep,
  smoke: smokeStep,
  traffic: trafficStep,
  validate: validateStep,
  cleanup: cleanupStep,
  rollback: rollbackStep,
  plan: planStep,
};

/** The steps to run for `mode`, in order. */
export function stepsFor(mode: Mode): RunStep[] {
  return MODE_STEPS[mode].map((name) => STEPS[name]);
}

/**
 * The post step's way back to blue after the main step stopped mid-switch (cancelled, crashed,
 * timed out): restore the armed `trafficBefore`, confirm production answers from blue, mark the
 * GitHub deployment `error`. `passed` = restored; `skipped` = found nothing to restore (saying what
 * was checked); `failed` or a throw = could not restore (the post step then fails loudly).
 * Idempotent: it reads before it writes, so a re-run job may call it again.
 */
export { reconcile };

/**
 * The runner's restore for one run (`traffic-manager`'s): put the armed `trafficBefore` back and
 * confirm production answers from blue. The runner calls it only when a restore was armed and not
 * yet done, within `rollback-timeout`. Undefined outside `mode: deploy`.
 */
export { restoreFor };
