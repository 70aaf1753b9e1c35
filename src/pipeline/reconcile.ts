/**
 * The post step's logic: if the main step stopped while production traffic was mid-switch
 * (cancelled, crashed, timed out), put blue back from the saved RunState; otherwise do nothing.
 * It acts at most once: after acting it marks the state `reconciled`, and a state so marked is
 * left alone. Every dependency is passed in (src/post.ts wires the real ones), so this is tested
 * without a runner.
 */
import type { Config } from '../config/types.js';
import { MID_SWITCH_PHASES } from './phase.js';
import { createRedactor } from './redact.js';
import { RunStateStore } from './state-store.js';
import type { Logger, RunState, StepContext, StepOutcome } from './types.js';
import { errorMessage, oneLine } from './verdict.js';

/** What the post step decided from the saved state, and why (said in the log). */
export interface PostDecision {
  act: boolean;
  why: string;
  /** When not acting is itself a problem the user must look at. */
  warn?: boolean;
}

/** Decides from the saved state alone whether production must be restored. Pure. */
export function postDecision(state: RunState | undefined): PostDecision {
  if (!state) return { act: false, why: 'no run state was saved (the main step stopped before the run began)' };
  if (state.reconciled) return { act: false, why: 'an earlier post step already reconciled this run' };
  if (state.restored) return { act: false, why: `blue was already restored (phase ${state.phase})` };
  if (!MID_SWITCH_PHASES.includes(state.phase)) {
    return { act: false, why: `the run ended in phase ${state.phase}: production was not left mid-switch` };
  }
  if (state.mode !== 'deploy') {
    return {
      act: false,
      warn: true,
      why:
        `a ${state.mode} run stopped in phase ${state.phase}; the recorded state is the release being rolled ` +
        'away from, so it is not put back: check production and re-run with mode: rollback',
    };
  }
  if (!state.trafficBefore) {
    return {
      act: false,
      warn: true,
      why: `the run stopped in phase ${state.phase} but recorded no traffic state to restore: check production by hand`,
    };
  }
  return { act: true, why: `the run stopped in phase ${state.phase} with production possibly on green` };
}

export interface PostDeps<P> {
  /** The saved state (throws when unreadable). */
  loadState(): RunState | undefined;
  saveState(state: RunState, secrets: readonly string[]): void;
  /** The run's configuration, read only when the post step must act. */
  loadConfig(): Config;
  createProviders(config: Config, log: Logger, signal: AbortSignal): P | Promise<P>;
  /** The registry's reconcile; undefined in a build without a traffic step. */
  reconcile: ((ctx: StepContext<P>) => Promise<StepOutcome>) | undefined;
  /** Creates the logger once the secrets are known. */
  logger(secrets: readonly string[]): Logger;
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
  /** Fails the step (core.setFailed). */
  fail(message: string): void;
  /** Appends a section to the job summary; may throw (no summary file). */
  appendSummary(markdown: string): Promise<void>;
}

/** The post step. Never throws for an expected failure: it fails the step with a message instead. */
export async function runPost<P>(deps: PostDeps<P>): Promise<void> {
  const plainLog = deps.logger([]);
  let saved: RunState | undefined;
  try {
    saved = deps.loadState();
  } catch (err) {
    deps.fail(
      `production-deploy post: ${errorMessage(err)}; cannot tell whether production was left mid-switch. ` +
        'Check which deployment serves production, and re-run with mode: rollback if it is not the intended one.',
    );
    return;
  }
  const decision = postDecision(saved);
  if (!decision.act || !saved) {
    if (decision.warn) plainLog.warning(`production-deploy post: ${decision.why}`);
    else plainLog.info(`production-deploy post: nothing to reconcile: ${decision.why}.`);
    return;
  }
  const state = saved;
  plainLog.warning(`production-deploy post: ${decision.why}; restoring blue.`);
  let config: Config;
  try {
    config = deps.loadConfig();
  } catch (err) {
    deps.fail(manualRecovery(state, `the inputs could not be read again (${errorMessage(err)})`));
    return;
  }
  const log = deps.logger(config.secrets);
  if (!deps.reconcile) {
    deps.fail(manualRecovery(state, 'this build of the action has no traffic step to restore it with', config.secrets));
    return;
  }
  const timeoutMs = config.validation.rollbackTimeoutMs;
  const signal = AbortSignal.any([deps.signal, AbortSignal.timeout(timeoutMs)]);
  const store = new RunStateStore(state, (s) => deps.saveState(s, config.secrets));
  let outcome: StepOutcome;
  try {
    const providers = await deps.createProviders(config, log, signal);
    const ctx: StepContext<P> = {
      config,
      providers,
      log,
      signal,
      get state() {
        return store.state;
      },
      update: (patch) => store.update(patch),
      results: [],
    };
    outcome = await raceSignal(deps.reconcile(ctx), signal, timeoutMs);
  } catch (err) {
    outcome = { status: 'failed', reason: errorMessage(err) };
  }
  if (outcome.status === 'failed') {
    deps.fail(manualRecovery(store.state, oneLine(outcome.reason), config.secrets));
    return;
  }
  if (outcome.status === 'skipped') {
    store.update({ reconciled: true });
    log.info(`production-deploy post: nothing needed restoring: ${oneLine(outcome.reason)}`);
    return;
  }
  store.update({ restored: true, reconciled: true, greenShare: 0, phase: 'rolled-back' });
  log.warning(`production-deploy post: blue restored: ${oneLine(outcome.reason)}`);
  try {
    await deps.appendSummary(
      `### ↩️ Post step: blue restored\n\nThe main step stopped in phase \`${state.phase}\`; ` +
        'the post step put the recorded traffic state back.\n',
    );
  } catch {
    // No summary file (a local run): the log line above already says it.
  }
}

/** The loud message when production may be on green and the post step could not fix it. */
function manualRecovery(state: RunState, why: string, secrets: readonly string[] = []): string {
  const green = state.green ? ` (green: ${state.green.id})` : '';
  const back = state.blue ? `mode: rollback and rollback-to: ${state.blue.id}` : 'mode: rollback';
  const text =
    `production-deploy post: PRODUCTION MAY BE ON THE NEW RELEASE${green}: the main step stopped in phase ` +
    `${state.phase} and blue was not restored, because ${why}. Restore it now: re-run this action with ${back}, ` +
    'or put back the traffic state recorded in the run state (trafficBefore) by hand.';
  return createRedactor(secrets)(text);
}

function raceSignal<T>(work: Promise<T>, signal: AbortSignal, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      const reason: unknown = signal.reason;
      const timedOut = reason instanceof DOMException && reason.name === 'TimeoutError';
      reject(
        new Error(
          timedOut
            ? `the restore did not finish within rollback-timeout (${Math.round(timeoutMs / 1000)} s)`
            : 'cancelled',
        ),
      );
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
