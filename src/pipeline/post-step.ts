/**
 * The post step's logic: if the main step stopped while production traffic was mid-switch
 * (cancelled, crashed, timed out), put blue back from the saved RunState. Otherwise close what the
 * main step left open (`looseEnds`): the run's GitHub deployment record, and an upload that never
 * became a verified backup. It acts at most once: after acting it marks the state `reconciled`, a
 * state so marked is left alone, and what it writes it reads first, so a second run handed the
 * same state changes nothing. Every dependency is passed in (src/post.ts wires the real ones), so
 * this is tested without a runner.
 */
import type { Config } from '../config/types.js';
import { finalStatus, type FinalStatus } from '../records/closing.js';
import { MID_SWITCH_PHASES } from './phase.js';
import { RunStateStore } from './state-store.js';
import type { BackupInFlight, Logger, RunState, StepContext, StepOutcome } from './types.js';
import { createRedactor, errorMessage, oneLine } from '../text.js';
import { runCore } from './context.js';

/** A final status for the run's GitHub deployment, written only if the record is still open. */
export type RecordClosing = FinalStatus & { id: number };

/** What the main step may have left open, apart from traffic. */
export interface LooseEnds {
  record?: RecordClosing;
  /** An upload that began and never became the verified `state.backup`: it must not stay. */
  backup?: BackupInFlight;
}

/** What tidying did: lines for the log; `failures` fail the post step (the user must act). */
export interface TidyOutcome {
  done: string[];
  warnings: string[];
  failures: string[];
}

/** How long the post step may spend closing records and removing an abandoned upload. */
export const TIDY_TIMEOUT_MS = 60_000;

/**
 * The post step's whole budget, whatever `rollback-timeout` says. On cancellation GitHub stops the
 * main step within 10 s (SIGINT, 7.5 s, SIGTERM, 2.5 s, kill) and "after the 5 minute cancellation
 * timeout period, the server will forcibly terminate all jobs and steps that are still running"
 * (https://docs.github.com/en/actions/reference/workflow-cancellation-reference): 3 min 45 s leaves
 * room for the main step's stop, other post steps and the process' exit.
 */
export const POST_BUDGET_MS = 225_000;

/** Kept back from the restore's share of the budget for writing the state and the summary after it. */
const AFTER_RESTORE_MS = 10_000;

/**
 * What the restore may take: `rollback-timeout`, but never past the post step's budget (`left` is
 * what remains of it). Pure.
 */
export function postRestoreTimeoutMs(rollbackTimeoutMs: number, leftMs: number): number {
  return Math.max(1_000, Math.min(rollbackTimeoutMs, leftMs - AFTER_RESTORE_MS));
}

/**
 * The facts a human needs to put production back by hand, in one warning line, printed before the
 * post step tries anything: if it is killed mid-restore, they are already in the log. Pure.
 */
export function recoveryFacts(state: RunState): string {
  const ref = (r: RunState['green']): string => (r ? `${r.id} (${r.url})` : 'unknown');
  const before = state.trafficBefore;
  const recorded = before ? `${describeTraffic(before)} — exactly: ${JSON.stringify(before)}` : 'none recorded';
  const byHand =
    before?.kind === 'cloudflare'
      ? `PATCH load balancer ${before.loadBalancerId} back to default_pools, fallback_pool, ` +
        'random_steering.pool_weights and steering_policy as recorded'
      : before?.kind === 'vercel'
        ? `roll Vercel production back to ${before.productionDeploymentId} (instant rollback)`
        : 'check which deployment serves production';
  const back = state.blue ? `mode: rollback with rollback-to: ${state.blue.id}` : 'mode: rollback';
  return (
    `production-deploy post: recovery facts (phase ${state.phase}, green at ${state.greenShare ?? '?'}%): ` +
    `green ${ref(state.green)}; blue ${ref(state.blue)}; traffic before the switch: ${recorded}. ` +
    `If this step does not say "blue restored", roll back by hand: re-run this action with ${back}, or ${byHand}.`
  );
}

/** The recorded traffic state in words (the JSON follows it in `recoveryFacts`). */
function describeTraffic(s: NonNullable<RunState['trafficBefore']>): string {
  if (s.kind === 'vercel') return `Vercel production on ${s.productionDeploymentId}`;
  const weights = Object.entries(s.poolWeights)
    .map(([p, w]) => `${p}=${w}`)
    .join(', ');
  return (
    `Cloudflare load balancer ${s.loadBalancerId}: live pool ${s.livePool} ` +
    `(→ ${s.slots[s.livePool]?.deploymentId ?? '?'}), weights ${weights || 'none'}, ` +
    `default pools ${s.defaultPools.join(', ')}, fallback ${s.fallbackPool}` +
    (s.steeringPolicy ? `, steering ${s.steeringPolicy}` : '')
  );
}

/**
 * What is left open in a saved state, besides traffic (which `postDecision` covers). Pure. What the
 * record should say is `finalStatus`'s post-step decision (src/records/closing.ts): deploy runs only,
 * and nothing while traffic is mid-switch (the restore closes it then).
 */
export function looseEnds(state: RunState | undefined): LooseEnds {
  if (!state || state.reconciled) return {};
  const ends: LooseEnds = {};
  const flying = state.backupInFlight;
  if (flying && flying.key !== state.backup?.key) ends.backup = flying;
  const id = state.githubDeploymentId;
  const status = id === undefined ? undefined : finalStatus({ at: 'post', state });
  if (id !== undefined && status) ends.record = { id, ...status };
  return ends;
}

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

export interface PostDeps<S> {
  /** Milliseconds clock (the budget's); default Date.now. */
  clock?: () => number;
  /** The post step's budget; default POST_BUDGET_MS (tests pass a small one). */
  budgetMs?: number;
  /** The saved state (throws when unreadable). */
  loadState(): RunState | undefined;
  saveState(state: RunState, secrets: readonly string[]): void;
  /** The run's configuration, read only when the post step must act. */
  loadConfig(): Config;
  /** The run's services (src/pipeline/context.ts: providers, traffic manager, analysis). */
  createServices(config: Config, log: Logger, signal: AbortSignal): S | Promise<S>;
  /** The registry's reconcile; undefined in a build without a traffic step. */
  reconcile: ((ctx: StepContext<S>) => Promise<StepOutcome>) | undefined;
  /** Creates the logger once the secrets are known. */
  logger(secrets: readonly string[]): Logger;
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
  /** Fails the step (core.setFailed). */
  fail(message: string): void;
  /** Appends a section to the job summary; may throw (no summary file). */
  appendSummary(markdown: string): Promise<void>;
  /** Closes the loose ends (`tidyAfterRun`, src/pipeline/close-run.ts); undefined: this build cannot. */
  tidy?: (ctx: StepContext<S>, ends: LooseEnds) => Promise<TidyOutcome>;
}

/** The post step. Never throws for an expected failure: it fails the step with a message instead. */
export async function runPost<S>(deps: PostDeps<S>): Promise<void> {
  const clock = deps.clock ?? Date.now;
  const deadline = clock() + (deps.budgetMs ?? POST_BUDGET_MS);
  const left = (): number => deadline - clock();
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
    const ends = looseEnds(saved);
    if (decision.warn) plainLog.warning(`production-deploy post: ${decision.why}`);
    else if (!ends.record && !ends.backup)
      plainLog.info(`production-deploy post: nothing to reconcile: ${decision.why}.`);
    if (saved && (ends.record || ends.backup)) await tidy(deps, saved, ends, decision.why, left);
    return;
  }
  const state = saved;
  // The facts first: if the job is killed mid-restore, a human can still finish it from the log.
  plainLog.warning(recoveryFacts(state));
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
  // rollback-timeout, but never past the post step's budget (GitHub kills the job 5 min after a cancel).
  const timeoutMs = postRestoreTimeoutMs(config.validation.rollbackTimeoutMs, left());
  const signal = AbortSignal.any([deps.signal, AbortSignal.timeout(timeoutMs)]);
  const store = new RunStateStore(state, (s) => deps.saveState(s, config.secrets));
  let outcome: StepOutcome;
  try {
    const ctx = postContext(config, await deps.createServices(config, log, signal), log, signal, store);
    const limit =
      timeoutMs < config.validation.rollbackTimeoutMs
        ? `the post step's budget (${Math.round(timeoutMs / 1000)} s, inside GitHub's 5 minutes after a cancel)`
        : `rollback-timeout (${Math.round(timeoutMs / 1000)} s)`;
    outcome = await raceSignal(deps.reconcile(ctx), signal, limit, 'the restore');
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

/**
 * Closes the loose ends of a run that needs no restore. Production is not at risk here, so only an
 * abandoned upload that may still be there fails the step; a record that cannot be closed is a
 * warning (it goes stale in time). Marks the state `reconciled` when everything was done.
 */
async function tidy<S>(
  deps: PostDeps<S>,
  state: RunState,
  ends: LooseEnds,
  why: string,
  left: () => number,
): Promise<void> {
  const plainLog = deps.logger([]);
  const what = [
    ends.record ? `GitHub deployment ${ends.record.id} (${ends.record.state} if still open)` : '',
    ends.backup ? `the unverified upload s3://${ends.backup.bucket}/${ends.backup.key}` : '',
  ]
    .filter(Boolean)
    .join(' and ');
  plainLog.info(`production-deploy post: no traffic to restore (${why}); checking ${what}.`);
  if (!deps.tidy) {
    plainLog.warning(`production-deploy post: this build cannot check ${what}: check them by hand.`);
    return;
  }
  let config: Config;
  try {
    config = deps.loadConfig();
  } catch (err) {
    const text = `production-deploy post: could not check ${what}: the inputs could not be read again (${errorMessage(err)})`;
    if (ends.backup)
      deps.fail(`${text}. Delete s3://${ends.backup.bucket}/${ends.backup.key}: it is not a verified backup.`);
    else plainLog.warning(text);
    return;
  }
  const log = deps.logger(config.secrets);
  const tidyMs = Math.max(1_000, Math.min(TIDY_TIMEOUT_MS, left()));
  const signal = AbortSignal.any([deps.signal, AbortSignal.timeout(tidyMs)]);
  let store: RunStateStore | undefined;
  let outcome: TidyOutcome;
  try {
    const saved = new RunStateStore(state, (s) => deps.saveState(s, config.secrets));
    store = saved;
    const ctx = postContext(config, await deps.createServices(config, log, signal), log, signal, saved);
    outcome = await raceSignal(deps.tidy(ctx, ends), signal, `${Math.round(tidyMs / 1000)} s`, 'closing the run');
  } catch (err) {
    outcome = { done: [], warnings: [], failures: [`could not check ${what}: ${errorMessage(err)}`] };
  }
  const redact = createRedactor(config.secrets);
  for (const line of outcome.done) log.info(`production-deploy post: ${oneLine(line)}`);
  for (const line of outcome.warnings) log.warning(`production-deploy post: ${oneLine(line)}`);
  if (outcome.failures.length > 0) {
    deps.fail(redact(`production-deploy post: ${outcome.failures.map((line) => oneLine(line)).join('; ')}`));
    return;
  }
  if (outcome.warnings.length === 0 && store) {
    try {
      store.update({ reconciled: true, ...(ends.backup ? { backupInFlight: undefined } : {}) });
    } catch (err) {
      log.warning(`production-deploy post: could not save the run state: ${errorMessage(err)}`);
    }
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

/** `limit` names the bound in the message: "the restore did not finish within rollback-timeout (600 s)". */
function raceSignal<T>(work: Promise<T>, signal: AbortSignal, limit: string, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      const reason: unknown = signal.reason;
      const timedOut = reason instanceof DOMException && reason.name === 'TimeoutError';
      reject(new Error(timedOut ? `${what} did not finish within ${limit}` : 'cancelled'));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The step context the post step's work runs in: no earlier results, state persisted on every change. */
function postContext<S>(
  config: Config,
  services: S,
  log: Logger,
  signal: AbortSignal,
  store: RunStateStore,
): StepContext<S> {
  const core = Object.assign(runCore(config, log, signal, store), { results: [] as const });
  // The services hold no getters, so copying them keeps the live `state` getter of the core.
  return Object.assign(core, services);
}
