/**
 * Restoring blue within `rollback-timeout`: the runner's (and the post step's) one way to call the
 * traffic manager's restore. A restore that neither finishes nor fails in time is given up on and
 * reported as failed, because a job that hangs while production is on a bad release is worse than
 * one that fails loudly and says how to recover.
 */
import type { Logger, RunState } from './types.js';
import { errorMessage } from '../text.js';

/**
 * Puts the traffic state recorded in `state.trafficBefore` back. Must be safe to call again after a
 * failure or timeout (it sets weights, it does not toggle them), and should honour `signal`.
 */
export type RestoreFn = (state: RunState, reason: string, signal: AbortSignal) => Promise<void>;

/** How a restore went; `error` says why it failed. */
export type RestoreOutcome = { ok: true; durationMs: number } | { ok: false; error: string; durationMs: number };

/** Calls `restore` once, giving up after `timeoutMs`. Never throws. */
export async function restoreWithin(options: {
  restore: RestoreFn | undefined;
  state: RunState;
  reason: string;
  timeoutMs: number;
  log: Logger;
  clock?: () => number;
}): Promise<RestoreOutcome> {
  const clock = options.clock ?? Date.now;
  const started = clock();
  const elapsed = (): number => Math.max(0, clock() - started);
  if (!options.restore) {
    return { ok: false, error: 'no traffic manager is available to restore the recorded state', durationMs: 0 };
  }
  const controller = new AbortController();
  const seconds = Math.round(options.timeoutMs / 1000);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new Error(`the restore did not finish within rollback-timeout (${seconds} s)`);
      controller.abort(err);
      reject(err);
    }, options.timeoutMs);
  });
  options.log.info(`Restoring the recorded traffic state (within ${seconds} s): ${options.reason}`);
  try {
    await Promise.race([options.restore(options.state, options.reason, controller.signal), timedOut]);
    return { ok: true, durationMs: elapsed() };
  } catch (err) {
    return { ok: false, error: errorMessage(err), durationMs: elapsed() };
  } finally {
    clearTimeout(timer);
  }
}
