/**
 * The one decision of a run record's final status: from the run state and the moment the record is
 * closed, which status it gets and the one line it says. Pure; `closeRecord` (./close.ts) writes
 * what this decides. The moments:
 * - `cleanup`: the cleanup step, after the validation window passed (green is live);
 * - `main`: the end of the main step, for what the steps could not close (a rollback, a failure,
 *   a cancellation);
 * - `post`: the post step's safety net, for a record the main step left open (no restore needed);
 * - `post-restored`: the post step, after it put blue back from a run stopped mid-switch;
 * - `rollback`: rollback mode's own record, once production serves the target (or could not).
 */
import type { Phase, RunState, RunStatus } from '../pipeline/types.js';

/** A final status for a run's GitHub deployment. */
export interface FinalStatus {
  state: 'success' | 'failure' | 'error';
  /** One line (cut to GitHub's 140 characters when written). */
  description: string;
  /**
   * The status links production-url (GitHub's "View deployment") though it is not a `success`, as
   * every `success` does: the main step's `failure` (production-url still answers, from blue).
   */
  linksProduction?: boolean;
}

/**
 * When the record is closed, with the run state where the decision depends on it. The cleanup step
 * and rollback mode close their own records from what they know: the cleanup step's description
 * says what shipped, rollback mode's whether production serves the target.
 */
export type ClosingMoment =
  | { at: 'cleanup'; description: string }
  | { at: 'main'; state: RunState; status: RunStatus; reason: string; cancelled?: boolean }
  | { at: 'post'; state: RunState }
  | { at: 'post-restored'; state: RunState }
  | { at: 'rollback'; ok: boolean; text: string };

/** True when green may be serving production: traffic moved and was not put back. */
export function trafficMoved(state: RunState): boolean {
  return state.trafficBefore !== undefined && !state.restored && (state.greenShare ?? 0) > 0;
}

/** Phases that end before any traffic moved. */
const BEFORE_SWITCH: readonly Phase[] = ['started', 'preflight-passed', 'prepared', 'staged', 'smoke-passed'];

/**
 * The record's final status at `moment`, or `undefined` when this moment leaves the record to
 * another: a success, plan or no-go run closes its own record (cleanup) or has none; a run stopped
 * mid-switch is closed by the post step once blue is back; a post step that finds a `failed` run
 * with green serving does not guess what it should say (the run's log says why it stopped).
 */
export function finalStatus(
  moment: Extract<ClosingMoment, { at: 'cleanup' | 'post-restored' | 'rollback' }>,
): FinalStatus;
export function finalStatus(moment: ClosingMoment): FinalStatus | undefined;
export function finalStatus(moment: ClosingMoment): FinalStatus | undefined {
  switch (moment.at) {
    case 'cleanup':
      return { state: 'success', description: moment.description };
    case 'main':
      if (moment.cancelled) return cancelled(moment.state);
      if (moment.status === 'failed' || moment.status === 'rolled-back') {
        const lead = moment.status === 'rolled-back' ? 'Rolled back' : 'Failed';
        return { state: 'failure', description: `${lead}: ${moment.reason}`, linksProduction: true };
      }
      return undefined;
    case 'post':
      return leftOpen(moment.state);
    case 'post-restored':
      return {
        state: 'error',
        description: `Interrupted mid-switch (${moment.state.phase}); blue restored by the post step`,
      };
    case 'rollback':
      return moment.ok
        ? { state: 'success', description: moment.text }
        : { state: 'failure', description: moment.text };
  }
}

function greenName(state: RunState): string {
  return state.green ? `green ${state.green.id}` : `green (${state.sha.slice(0, 7)})`;
}

/**
 * A cancelled run, at the end of the main step. Before traffic moved: `error`; mid-switch: left to
 * the post step (it restores blue first); after validation passed: `success` (green is live and
 * validated, only cleanup was cut short).
 */
function cancelled(state: RunState): FinalStatus | undefined {
  const { phase, mode } = state;
  if ((phase === 'switching' || phase === 'switched') && !state.restored) return undefined;
  const green = greenName(state);
  // The runner's cancel keeps a validated deploy in `validated`, leaves a mid-switch phase as it is
  // (for the post step) and moves any other phase to `failed`, with blue serving. `cleaned`, and
  // `failed` with green at 100 % and not restored, are not phases that cancel leaves; should a saved
  // state say so, green serves all of production and nothing took it back: read as validated too.
  const validated =
    mode === 'deploy' &&
    (phase === 'validated' ||
      phase === 'cleaned' ||
      (phase === 'failed' && trafficMoved(state) && state.greenShare === 100));
  if (validated) {
    return {
      state: 'success',
      description: `Live: ${green} is live and validated; the run was cancelled during cleanup`,
    };
  }
  if (mode !== 'deploy') {
    return { state: 'error', description: `Cancelled in phase ${phase}: check which deployment serves production` };
  }
  if (state.restored) return { state: 'error', description: 'Cancelled: production is back on blue (restored)' };
  if (trafficMoved(state)) {
    return { state: 'error', description: `Cancelled with ${green} at ${state.greenShare}%: check production` };
  }
  return { state: 'error', description: 'Cancelled before traffic moved: production still serves blue' };
}

/**
 * A deploy run's record the main step left open, closed by the post step, from where production is:
 * green live and validated → `success`; rolled back → `failure`; stopped before traffic moved (or
 * `failed` with blue serving) → `error`. A rollback run's record is closed by its own step or at the
 * end of the main step.
 */
function leftOpen(state: RunState): FinalStatus | undefined {
  if (state.mode !== 'deploy') return undefined;
  const green = greenName(state);
  const by = '(closed by the post step)';
  if (state.phase === 'validated') {
    return {
      state: 'success',
      description: `Live: ${green} is live and validated; cleanup was interrupted ${by}`,
    };
  }
  if (state.phase === 'cleaned') {
    return { state: 'success', description: `Live: ${green} is live and validated ${by}` };
  }
  if (state.phase === 'rolled-back') {
    return { state: 'failure', description: `Rolled back: production is back on blue ${by}` };
  }
  if (BEFORE_SWITCH.includes(state.phase) || (state.phase === 'failed' && !trafficMoved(state))) {
    const where = state.restored ? 'production is back on blue' : 'production still serves blue';
    const what = state.restored ? 'Stopped' : 'Cancelled before traffic moved';
    return { state: 'error', description: `${what}: ${where} ${by}` };
  }
  // Mid-switch: the restore closes it. `failed` with green serving: which it should say is for a
  // person to judge (the run's log says why it stopped), not to guess here.
  return undefined;
}
