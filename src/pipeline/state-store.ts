/**
 * The live RunState of a run: one object, merged by `update`, checked against the state machine,
 * and persisted at once on every change, so that a run killed at any moment leaves behind exactly
 * what the post step needs to restore blue.
 */
import { assertTransition } from './phase.js';
import type { RunState } from './types.js';

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
