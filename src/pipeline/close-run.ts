/**
 * Closing a run, whatever stopped it: no record of this action is left `in_progress`, where it would
 * hold the environment's lock until it goes stale. What the record says is decided by `finalStatus`
 * (src/records/closing.ts) and written by `closeRecord` (src/records/close.ts); this module says when.
 *
 * - `finishRun`, at the end of the main step: the record gets its final status when the steps could
 *   not give it one (a rollback, a failure, a cancellation); an automatic rollback is posted to
 *   Datadog. After SIGINT the run's own signal is aborted, so main hands it providers bound to
 *   `closingSignal`, which allows these calls a few seconds more.
 * - `tidyAfterRun`, the post step's safety net (src/pipeline/post-step.ts decides what is loose):
 *   a record still open is closed, and an upload that never became a verified backup is removed.
 *
 * None of this throws or fails the run: what cannot be closed is said in a warning.
 */
import { sendRollbackDora } from '../records/dora-rollback.js';
import type { Config } from '../config/types.js';
import { serviceName } from '../config/service.js';
import type { Providers } from '../providers/index.js';
import { closeRecord, finalStatus } from '../records/index.js';
import { removeAbandonedBackup } from './abandoned-upload.js';
import type { LooseEnds, TidyOutcome } from './post-step.js';
import type { Logger, RunState, RunStatus, StepContext } from './types.js';
import { errorMessage } from '../text.js';

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
  const status = id === undefined ? undefined : finalStatus({ at: 'main', state, ...final });
  if (id !== undefined && status) {
    // Unknown is not closed: an unreadable record is written anyway (a second status is harmless; an
    // open record holds the environment until it goes stale).
    try {
      const closed = await closeRecord(providers.github, config, id, status, {
        check: { skipIf: 'closed', ifUnreadable: 'write' },
        inactiveFailure: 'warn',
        log,
      });
      if (final.cancelled && closed.wrote)
        log.info(`GitHub deployment ${id} is ${status.state}: ${status.description}`);
      if (final.cancelled && status.state === 'success') {
        log.warning(
          `Cancelled after post-deployment validation passed: ${state.green?.id ?? 'green'} is live and validated; ` +
            'only cleanup was cut short (retiring blue, the Datadog record, keep-deployments).',
        );
      }
    } catch (err) {
      log.warning(
        final.cancelled
          ? `Could not close GitHub deployment ${id} (${status.state}): ${errorMessage(err)}; the post step tries again`
          : `Could not give GitHub deployment ${id} its final status: ${errorMessage(err)}`,
      );
    }
  }
  if (!final.cancelled && final.status === 'rolled-back' && config.mode === 'deploy' && providers.datadog) {
    await postRollback(providers.datadog, config, state, final.reason, log);
  }
}

/** The Datadog event for an automatic rollback (alert type error: the release did not hold). */
async function postRollback(
  datadog: NonNullable<Providers['datadog']>,
  config: Config,
  state: RunState,
  reason: string,
  log: Logger,
): Promise<void> {
  const { owner, repo, runUrl, runId } = config.run;
  try {
    await datadog.createEvent({
      title: `Rolled back ${owner}/${repo} ${config.environment}: ${state.sha.slice(0, 7)} did not hold`,
      text: [
        `Reason: ${reason}`,
        state.green ? `Rolled back from: ${state.green.id}` : '',
        state.blue ? `Production is back on: ${state.blue.id}` : '',
        `Run: ${runUrl}`,
      ]
        .filter(Boolean)
        .join('\n'),
      tags: [
        `env:${config.environment}`,
        `service:${serviceName(config.prepare.datadogMonitorTags, repo, config.validation.datadogService)}`,
        `version:${state.sha}`,
        'source:production-deploy',
        'action:rollback',
      ],
      alert_type: 'error',
      aggregation_key: `production-deploy-${runId}`.slice(0, 100),
    });
  } catch (err) {
    log.warning(`Could not post the rollback to Datadog: ${errorMessage(err)}`);
  }
  // Production went back to blue: the DORA event that makes Datadog count it as a rollback.
  if (state.blue) {
    try {
      log.info(await sendRollbackDora(datadog, config, state.blue, Date.now()));
    } catch (err) {
      log.warning(`Could not send the rollback's DORA deployment to Datadog: ${errorMessage(err)}`);
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
      // Not written when unreadable: run twice against a store that keeps failing reads, it would write twice.
      const closed = await closeRecord(providers.github, config, r.id, r, {
        check: { skipIf: 'closed', ifUnreadable: 'throw' },
        inactiveFailure: 'warn',
        log,
      });
      out.done.push(
        closed.wrote
          ? `GitHub deployment ${r.id} was still open: now ${r.state} (${r.description})`
          : `GitHub deployment ${r.id} was already closed`,
      );
    } catch (err) {
      out.warnings.push(`GitHub deployment ${r.id} may still be open (it should be ${r.state}): ${errorMessage(err)}`);
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
          `${where} is an upload that was never verified and may still be there (${errorMessage(err)}): delete it, ` +
            'it is not a backup to restore from',
        );
      }
    }
  }
  return out;
}
