/**
 * The registry of step modules: which Step runs for each name, and the post step's reconcile.
 * A registry only — no step logic lives here. Step helpers add their module to `STEPS` (and the
 * traffic step its `reconcile`); until every step of a mode is registered, that mode has no steps
 * and main fails the run saying so, rather than pretending with placeholder steps.
 */
import type { Config, Mode } from '../config/types.js';
import { MODE_STEPS } from '../pipeline/modes.js';
import type { RestoreFn } from '../pipeline/restore.js';
import type { Logger, Step, StepContext, StepName, StepOutcome } from '../pipeline/types.js';
import type { Providers } from '../providers/index.js';
import { cleanupStep } from './cleanup.js';
import { deployStep } from './deploy.js';
import { planStep } from './plan.js';
import { preflightStep } from './preflight.js';
import { prepareStep } from './prepare.js';
import { reconcile as reconcileTraffic } from './reconcile.js';
import { rollbackStep } from './rollback.js';
import { smokeStep } from './smoke.js';
import { restoreFor as restoreTraffic, trafficStep } from './traffic.js';
import { validateStep } from './validate.js';

/** The step modules of this build, by name (e.g. `preflight: preflightStep`). */
const STEPS: Partial<Record<StepName, Step<Providers>>> = {
  preflight: preflightStep,
  prepare: prepareStep,
  deploy: deployStep,
  smoke: smokeStep,
  traffic: trafficStep,
  plan: planStep,
  validate: validateStep,
  cleanup: cleanupStep,
  rollback: rollbackStep,
};

/**
 * The post step's way back to blue after the main step stopped mid-switch (cancelled, crashed,
 * timed out): restore `ctx.state.trafficBefore`, verify production serves blue, mark the GitHub
 * deployment `error`, notify. `passed` = restored; `skipped` = found nothing to restore (say what
 * was checked); `failed` or a throw = could not restore (the post step then fails loudly). It must
 * be idempotent: the post step calls it at most once per run, but a re-run job may call it again.
 */
export type Reconcile = (ctx: StepContext<Providers>) => Promise<StepOutcome>;

/** Provided by the traffic step module; absent in a build that has none. */
export const reconcile: Reconcile | undefined = reconcileTraffic;

/**
 * Builds the runner's restore for one run from its providers (the traffic manager of
 * `traffic-manager`): put `state.trafficBefore` back. The runner calls it only when a traffic state
 * was recorded and not yet restored, within `rollback-timeout`.
 */
export type RestoreFor = (run: {
  config: Config;
  providers: Providers;
  log: Logger;
  signal: AbortSignal;
}) => RestoreFn | undefined;

/** Provided by the traffic step module; absent in a build that has none (restoring then fails loudly). */
export const restoreFor: RestoreFor | undefined = restoreTraffic;

/** The steps of `mode` that this build lacks. */
export function missingSteps(mode: Mode): StepName[] {
  return MODE_STEPS[mode].filter((name) => STEPS[name] === undefined);
}

/**
 * The steps to run for `mode`, in order — or an empty list when this build lacks any of them (a
 * mode never runs with steps silently missing). `config` is for steps that depend on the inputs.
 */
export function stepsFor(mode: Mode, _config: Config): Step<Providers>[] {
  if (missingSteps(mode).length > 0) return [];
  return MODE_STEPS[mode].map((name) => STEPS[name] as Step<Providers>);
}
