/**
 * The RunState handed from the main step to the post step (as actions/checkout's state-helper):
 * saved with `core.saveState('run', JSON)` at every change, read back by the post step from its
 * `STATE_run` variable. The state holds ids, URLs and the traffic snapshot — never a secret; it is
 * redacted anyway before it is written.
 */
import * as core from '@actions/core';
import type { Phase, RunState } from './pipeline/types.js';
import { redactDeep } from './text.js';

const KEY = 'run';

const PHASES: readonly Phase[] = [
  'started',
  'preflight-passed',
  'prepared',
  'staged',
  'smoke-passed',
  'switching',
  'switched',
  'validated',
  'cleaned',
  'planned',
  'no-go',
  'failed',
  'rolled-back',
];

/** Saves the state for the post step (and for a later read by this step). */
export function saveRunState(state: RunState, secrets: readonly string[] = []): void {
  core.saveState(KEY, JSON.stringify(redactDeep(state, secrets)));
}

/**
 * The state saved by the main step, or undefined when it saved none (it stopped before the run
 * began). Throws when something was saved but cannot be read: the post step must then say it
 * cannot tell where production is, rather than assume.
 */
export function loadRunState(): RunState | undefined {
  const raw = core.getState(KEY);
  if (raw === '') return undefined;
  return parseRunState(raw);
}

/** Parses and checks a saved RunState. */
export function parseRunState(raw: string): RunState {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new Error('the saved run state is not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error('the saved run state is not an object');
  }
  const state = value as Partial<RunState>;
  if (typeof state.phase !== 'string' || !PHASES.includes(state.phase)) {
    throw new Error(`the saved run state has an unknown phase (${String(state.phase)})`);
  }
  if (typeof state.mode !== 'string' || typeof state.environment !== 'string') {
    throw new Error('the saved run state lacks its mode or environment');
  }
  return state as RunState;
}
