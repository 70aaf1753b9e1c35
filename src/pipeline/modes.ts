/**
 * Which steps each mode runs, in order, and their titles. The registry (src/steps/index.ts) picks
 * step modules by these names; the job summary lists them (also those that never ran), so a reader
 * always sees the whole shape of the run, not only what happened to execute.
 */
import type { Mode } from '../config/types.js';
import type { StepName } from './types.js';

/** Human titles: the log group names and the summary's first column. */
export const STEP_TITLES: Readonly<Record<StepName, string>> = {
  preflight: 'Pre-flight validation',
  prepare: 'Environment preparation',
  deploy: 'Blue-green deployment',
  smoke: 'Smoke testing',
  traffic: 'Traffic switch',
  validate: 'Post-deployment validation',
  cleanup: 'Cleanup and notification',
  rollback: 'Rollback',
  plan: 'Plan',
};

/**
 * The steps of each mode (docs/architecture.md, "One run, end to end"). `deploy` is the seven steps;
 * `plan` is pre-flight, the read-only part of prepare, then the plan itself; `rollback` is one step that
 * moves traffic back, verifies it, records and notifies.
 */
export const MODE_STEPS: Readonly<Record<Mode, readonly StepName[]>> = {
  deploy: ['preflight', 'prepare', 'deploy', 'smoke', 'traffic', 'validate', 'cleanup'],
  plan: ['preflight', 'prepare', 'plan'],
  rollback: ['rollback'],
};
