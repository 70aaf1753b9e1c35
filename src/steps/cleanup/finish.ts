/**
 * Closing a run's records, whatever stopped it (docs/safety.md: no record of this action is left
 * `in_progress`, where it would hold the environment's lock until it goes stale).
 *
 * - `finishRun`, in the main step after the pipeline: the GitHub deployment gets its final status when
 *   the steps could not give it one — `failure` for a rollback or failure, with the reason; a run
 *   cancelled before traffic moved is marked `error`; one cancelled after validation passed is
 *   `success` (green is live and validated, only cleanup was cut short); one cancelled mid-switch is
 *   left to the post step, which restores blue first. An automatic rollback is posted to Datadog.
 *   After SIGINT the run's own signal is aborted, so main hands it providers bound to
 *   `closingSignal`, which allows these calls a few seconds more.
 * - `tidyAfterRun`, the post step's safety net (src/pipeline/reconcile.ts decides what is loose):
 *   a record still open is closed, and an upload that never became a verified backup is removed.
 *
 * None of this throws or fails the run: what cannot be closed is said in a warning.
 */
import type { Config } from '../../config/types.js';
import type { LooseEnds, RecordClosing, TidyOutcome } from '../../pipeline/reconcile.js';
import type { Logger, RunState, RunStatus, StepContext } from '../../pipeline/types.js';
import type { Providers } from '../../providers/index.js';
import { finalizeRecord, setRecordStatus, type RecordsApi } from '../../records/index.js';
import { removeAbandonedBackup } from '../prepare/backup.js';
import { serviceName } from './plan.js';
import { inactivatePrevious } from './tasks.js';

function why(err: unknown): string {
  return err instanceof Error ? err.message.replace(/\s+/g, ' ').trim() : String(err);
}

/** States that mean "nobody has closed this record yet". */
const OPEN = new Set(['in_progress', 'queued', 'pending']);

/**
 * How long the closing calls may still take once the run is cancelled. The runner sends SIGTERM
 * 7.5 s after SIGINT and SIGKILL 2.5 s later; the report, outputs and summary come after these calls.
 */
export const CLOSING_GRACE_MS = 4_000;

/**
 * The signal for the calls that close a run. Unlike the run's signal it is not aborted by SIGINT
 * itself but `graceMs` later, so the records of a cancelled run can still be closed, within the
 * runner's grace period. Create it before the run starts, so the grace counts from the signal.
 */
export function closingSignal(run: AbortSignal, graceMs = CLOSING_GRACE_MS): AbortSignal {
  const controller = new AbortController();
  const expire = (): void => {
    const timer = setTimeout(() => {
      const seconds = graceMs / 1000;
      controller.abort(new DOMException(`not done within ${seconds} s of the cancellation`, 'TimeoutError'));
    }, graceMs);
    timer.unref();
  };
  if (run.aborted) expire();
  else run.addEventListener('abort', expire, { once: true });
  return controller.signal;
}

/** Resolves when `signal` aborts (never, if it does not): lets a caller stop waiting at a deadline. */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** True when green may be serving production: traffic moved and was not put back. */
function trafficMoved(state: RunState): boolean {
  return state.trafficBefore !== undefined && !state.restored && (state.greenShare ?? 0) > 0;
}

/**
 * The final status for the record of a cancelled run; `undefined` when it is the post step's to
 * write (mid-switch: blue is restored first, then the record is marked `error`).
 */
export function cancelledClosing(state: RunState): Omit<RecordClosing, 'id'> | undefined {
  const { phase, mode } = state;
  if ((phase === 'switching' || phase === 'switched') && !state.restored) return undefined;
  const green = state.green ? `green ${state.green.id}` : `green (${state.sha.slice(0, 7)})`;
  // `failed` with green at 100 % and not restored: the runner's cancel moved a `validated` run to
  // `failed` (the phases where traffic is mid-switch are kept), so green passed validation.
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
 * Gives the record `closing` unless its latest status already closes it. When the latest status
 * cannot be read, `ifUnreadable` decides: the main step writes anyway (one more status is harmless,
 * a record left open holds the environment), the post step does not (run twice against a store that
 * keeps failing reads, it must not write twice). Returns whether it wrote.
 */
export async function closeRecord(
  github: Pick<RecordsApi, 'createDeploymentStatus' | 'listDeploymentStatuses' | 'listDeployments'>,
  config: Config,
  closing: RecordClosing,
  opts: { ifUnreadable: 'write' | 'skip'; log: Logger },
): Promise<boolean> {
  const { id } = closing;
  try {
    const latest = (await github.listDeploymentStatuses(id))[0]?.state;
    if (latest !== undefined && !OPEN.has(latest)) return false;
  } catch (err) {
    if (opts.ifUnreadable === 'skip') throw err;
    opts.log.warning(
      `Could not read GitHub deployment ${id}'s statuses (${why(err)}); writing its final status anyway`,
    );
  }
  await setRecordStatus(github, id, closing.state, {
    description: closing.description,
    logUrl: config.run.runUrl,
    ...(closing.state === 'success' && config.productionUrl ? { environmentUrl: config.productionUrl } : {}),
  });
  if (closing.state === 'success') {
    // As cleanup would have: production serves one release, so the earlier ones go inactive.
    try {
      await inactivatePrevious(github, config.environment, id, {
        description: `Replaced by ${config.run.sha.slice(0, 7)} (deployment ${id})`,
        logUrl: config.run.runUrl,
      });
    } catch (err) {
      opts.log.warning(
        `GitHub deployment ${id} is success, but the earlier ones could not be set inactive: ${why(err)}`,
      );
    }
  }
  return true;
}

/**
 * Close what the steps could not: the run's record if it is still open, and a Datadog event for an
 * automatic rollback. `final` is the run's verdict (report status and reason). `signal`, when given,
 * is the deadline (a `closingSignal`): past it, main stops waiting for these calls.
 */
export async function finishRun(opts: {
  config: Config;
  providers: Pick<Providers, 'github' | 'datadog'>;
  state: RunState;
  final: { status: RunStatus; reason: string; cancelled?: boolean };
  log: Logger;
  signal?: AbortSignal;
}): Promise<void> {
  const work = closeAfterRun(opts);
  await (opts.signal ? Promise.race([work, aborted(opts.signal)]) : work);
}

async function closeAfterRun(opts: Parameters<typeof finishRun>[0]): Promise<void> {
  const { config, providers, state, final, log } = opts;
  const id = state.githubDeploymentId;
  if (final.cancelled) {
    const closing = id === undefined ? undefined : cancelledClosing(state);
    if (id === undefined || !closing) return;
    try {
      const wrote = await closeRecord(providers.github, config, { id, ...closing }, { ifUnreadable: 'write', log });
      if (wrote) log.info(`GitHub deployment ${id} is ${closing.state}: ${closing.description}`);
      if (closing.state === 'success') {
        log.warning(
          `Cancelled after post-deployment validation passed: ${state.green?.id ?? 'green'} is live and validated; ` +
            'only cleanup was cut short (retiring blue, the Datadog record, keep-deployments).',
        );
      }
    } catch (err) {
      log.warning(`Could not close GitHub deployment ${id} (${closing.state}): ${why(err)}; the post step tries again`);
    }
    return;
  }
  if (final.status === 'success' || final.status === 'planned' || final.status === 'no-go') return;
  if (id !== undefined) {
    try {
      let latest: string | undefined;
      try {
        latest = (await providers.github.listDeploymentStatuses(id))[0]?.state;
      } catch (err) {
        // Unknown is not closed: write the final status anyway (a second one is harmless; an open
        // record holds the environment until it goes stale).
        log.warning(`Could not read GitHub deployment ${id}'s statuses (${why(err)}); writing its final status anyway`);
      }
      if (latest === undefined || OPEN.has(latest)) {
        await finalizeRecord(providers.github, {
          id,
          status: final.status,
          reason: final.reason,
          logUrl: config.run.runUrl,
          ...(config.productionUrl ? { environmentUrl: config.productionUrl } : {}),
        });
      }
    } catch (err) {
      log.warning(`Could not give GitHub deployment ${id} its final status: ${why(err)}`);
    }
  }
  if (final.status === 'rolled-back' && config.mode === 'deploy' && providers.datadog) {
    const { owner, repo, runUrl, runId } = config.run;
    try {
      await providers.datadog.createEvent({
        title: `Rolled back ${owner}/${repo} ${config.environment}: ${state.sha.slice(0, 7)} did not hold`,
        text: [
          `Reason: ${final.reason}`,
          state.green ? `Rolled back from: ${state.green.id}` : '',
          state.blue ? `Production is back on: ${state.blue.id}` : '',
          `Run: ${runUrl}`,
        ]
          .filter(Boolean)
          .join('\n'),
        tags: [
          `env:${config.environment}`,
          `service:${serviceName(config.prepare.datadogMonitorTags, repo)}`,
          `version:${state.sha}`,
          'source:production-deploy',
          'action:rollback',
        ],
        alert_type: 'error',
        aggregation_key: `production-deploy-${runId}`.slice(0, 100),
      });
    } catch (err) {
      log.warning(`Could not post the rollback to Datadog: ${why(err)}`);
    }
  }
}

/**
 * The post step's safety net (PostDeps.tidy): closes the run's record if it is still open, and
 * removes an upload that never became a verified backup. Reads before it writes, so a second post
 * run finds everything closed and makes no mutating request. `complete` is false when something
 * could not be checked or closed, each said in `warnings`.
 */
export async function tidyAfterRun(ctx: StepContext<{ providers: Providers }>, ends: LooseEnds): Promise<TidyOutcome> {
  const { config, providers, log } = ctx;
  const out: TidyOutcome = { done: [], warnings: [], failures: [] };
  if (ends.record) {
    const r = ends.record;
    try {
      const wrote = await closeRecord(providers.github, config, r, { ifUnreadable: 'skip', log });
      out.done.push(
        wrote
          ? `GitHub deployment ${r.id} was still open: now ${r.state} (${r.description})`
          : `GitHub deployment ${r.id} was already closed`,
      );
    } catch (err) {
      out.warnings.push(`GitHub deployment ${r.id} may still be open (it should be ${r.state}): ${why(err)}`);
    }
  }
  if (ends.backup) {
    const b = ends.backup;
    const where = `s3://${b.bucket}/${b.key}`;
    if (!providers.backup) {
      out.failures.push(
        `${where}, an upload that was never verified, could not be checked: no backup store is configured`,
      );
    } else {
      try {
        const r = await removeAbandonedBackup(providers.backup, b, { signal: ctx.signal });
        out.done.push(r.reason);
      } catch (err) {
        out.failures.push(
          `${where} is an upload that was never verified and may still be there (${why(err)}): delete it, ` +
            'it is not a backup to restore from',
        );
      }
    }
  }
  return out;
}
