/**
 * The run's state machine (docs/architecture.md): which phase may follow which. Steps advance it with
 * `ctx.update({phase})`, the runner on terminal results, the post step after reconciling. An
 * illegal move is a bug in a step and is refused loudly rather than recorded, because the post
 * step trusts the phase to decide whether production must be restored.
 */
import type { Phase } from './types.js';

/** Phases after which the run is over: nothing more may happen to it. */
export const TERMINAL_PHASES: readonly Phase[] = ['no-go', 'failed', 'rolled-back', 'cleaned', 'planned'];

/** Phases in which production traffic may be (partly) on green without having been validated. */
export const MID_SWITCH_PHASES: readonly Phase[] = ['switching', 'switched'];

const NEXT: Readonly<Record<Phase, readonly Phase[]>> = {
  // rollback mode moves traffic without a pre-flight (and may end in `rolled-back` from any phase
  // before `cleaned`); plan mode may end right after pre-flight.
  started: ['preflight-passed', 'switching', 'planned', 'rolled-back', 'no-go', 'failed'],
  'preflight-passed': ['prepared', 'switching', 'planned', 'rolled-back', 'no-go', 'failed'],
  prepared: ['staged', 'planned', 'failed'],
  staged: ['smoke-passed', 'failed'],
  'smoke-passed': ['switching', 'failed', 'rolled-back'],
  // `switching` repeats for each traffic step (canary 10 → 50 → 100).
  switching: ['switched', 'rolled-back', 'failed'],
  switched: ['validated', 'rolled-back', 'failed'],
  // rollback mode ends in `rolled-back` after it has verified the restored deployment.
  validated: ['cleaned', 'rolled-back', 'failed'],
  cleaned: [],
  planned: [],
  'no-go': [],
  failed: [],
  'rolled-back': [],
};

/** True when `to` may follow `from` (staying in the same phase is always allowed). */
export function canTransition(from: Phase, to: Phase): boolean {
  return from === to || NEXT[from].includes(to);
}

/** Throws when `to` may not follow `from`. */
export function assertTransition(from: Phase, to: Phase): void {
  if (!canTransition(from, to)) {
    throw new Error(`illegal phase transition ${from} → ${to} (allowed: ${NEXT[from].join(', ') || 'none, terminal'})`);
  }
}

/** True when the phase is terminal. */
export function isTerminal(phase: Phase): boolean {
  return TERMINAL_PHASES.includes(phase);
}
