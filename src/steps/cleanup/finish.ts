/**
 * After the pipeline, for runs that did not reach cleanup: the GitHub deployment gets its final
 * status (`failure` for a rollback or failure, with the reason; a run cancelled mid-switch is left to
 * the post step, which restores blue and marks it `error`; a run cancelled before traffic moved is
 * marked `error` here, so its open record does not hold the environment's lock until it goes stale),
 * and an automatic rollback is posted to Datadog as an event. Main
 * calls it once the run's status is known; it never throws and never fails the run.
 */
import type { Config } from '../../config/types.js';
import type { Logger, RunState, RunStatus } from '../../pipeline/types.js';
import type { Providers } from '../../providers/index.js';
import { finalizeRecord, markInterrupted } from '../../records/index.js';
import { serviceName } from './plan.js';

function why(err: unknown): string {
  return err instanceof Error ? err.message.replace(/\s+/g, ' ').trim() : String(err);
}

/** States that mean "nobody has closed this record yet". */
const OPEN = new Set(['in_progress', 'queued', 'pending']);

/**
 * Close what the steps could not: the run's record if it is still open, and a Datadog event for an
 * automatic rollback. `final` is the run's verdict (report status and reason).
 */
export async function finishRun(opts: {
  config: Config;
  providers: Pick<Providers, 'github' | 'datadog'>;
  state: RunState;
  final: { status: RunStatus; reason: string; cancelled?: boolean };
  log: Logger;
}): Promise<void> {
  const { config, providers, state, final, log } = opts;
  const id = state.githubDeploymentId;
  if (final.cancelled) {
    const midSwitch = state.phase === 'switching' || state.phase === 'switched';
    if (midSwitch || id === undefined) return;
    try {
      await markInterrupted(providers.github, {
        id,
        description: 'Cancelled before traffic moved: production still serves blue',
        logUrl: config.run.runUrl,
      });
    } catch (err) {
      log.warning(`Could not mark GitHub deployment ${id} as interrupted: ${why(err)}`);
    }
    return;
  }
  if (final.status === 'success' || final.status === 'planned' || final.status === 'no-go') return;
  if (id !== undefined) {
    try {
      const latest = (await providers.github.listDeploymentStatuses(id))[0];
      if (!latest || OPEN.has(latest.state)) {
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
