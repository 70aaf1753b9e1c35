/**
 * The one restore: put the armed traffic state (`RunState.trafficBefore`) back, then confirm that
 * production answers from blue. The runner's restore after a failed traffic or validation step and
 * the post step's restore after an interrupted run both come here, so both say the same thing and
 * neither calls a restore done before production was seen answering from blue.
 */
import type { Logger, RunState } from '../pipeline/types.js';
import type { TrafficManager } from './types.js';

/** What the restore did and what production answered. */
export interface Restored {
  /** False when the recorded state was already in place (a repeated restore changes nothing). */
  changed: boolean;
  /** What was put back, in one line. */
  what: string;
  /** What the check of production found, in one line. */
  verified: string;
}

/**
 * Restores `state.trafficBefore` through `manager` and checks production. Throws when nothing was
 * armed, when the restore fails, or when production does not answer from blue afterwards. Safe to
 * call again: the manager reads before it writes.
 */
export async function restoreBlue(
  manager: TrafficManager,
  state: RunState,
  reason: string,
  log: Logger,
  /** Told once the recorded state is back, before production is checked (the post step saves it). */
  onRestored?: () => void,
): Promise<Restored> {
  if (!state.trafficBefore) throw new Error('no traffic state was recorded before the switch: nothing to restore');
  const done = await manager.restore(state.trafficBefore, reason);
  log.info(done.changed ? `Restored: ${done.what}` : `Nothing to change: ${done.what}`);
  onRestored?.();
  // Never "restored" without having seen production answer from blue: unknown blue fails closed.
  if (!state.blue) {
    throw new Error(
      'the recorded traffic state is back, but blue is not known, so production could not be checked: check it by hand',
    );
  }
  const check = await manager.verify({ deployment: state.blue, ...(state.green ? { other: state.green } : {}) });
  if (!check.ok) {
    throw new Error(
      `the recorded traffic state is back, but production does not answer from blue ${state.blue.id}: ${check.reason}`,
    );
  }
  log.info(`Production answers from blue ${state.blue.id}: ${check.reason}`);
  return { ...done, verified: `production answers from blue ${state.blue.id} (${check.reason})` };
}
