/**
 * The RunState of a run, in one module. The live state is one object, merged by `update`, checked
 * against the state machine and persisted at once on every change, so that a run killed at any moment
 * leaves behind exactly what the post step needs to restore blue. It is handed from the main step to
 * the post step (as actions/checkout's state-helper): saved with `core.saveState('run', JSON)` at
 * every change, read back by the post step from its `STATE_run` variable. The state holds ids, URLs
 * and the traffic snapshot — never a secret; it is redacted anyway before it is written.
 */
import * as core from '@actions/core';
import { redactDeep } from '../text.js';
import { assertTransition } from './phase.js';
import type { Phase, RunState } from './types.js';

/** Holds the RunState; `persist` is called after every change (main: `saveRunState`). */
export class RunStateStore {
  #state: RunState;
  readonly #persist: (state: RunState) => void;

  constructor(initial: RunState, persist: (state: RunState) => void) {
    this.#state = { ...initial };
    this.#persist = persist;
    this.#persist(this.#state);
  }

  /** The current state (a fresh object after each update; treat it as read-only). */
  get state(): RunState {
    return this.#state;
  }

  /**
   * Merges `patch` into the state and persists it. Throws on an illegal phase transition or when
   * persisting fails: a step must not go on to mutate production if its undo record was not saved.
   */
  update(patch: Partial<RunState>): void {
    if (patch.phase !== undefined) assertTransition(this.#state.phase, patch.phase);
    const next = { ...this.#state, ...patch };
    this.#persist(next);
    this.#state = next;
  }
}

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
