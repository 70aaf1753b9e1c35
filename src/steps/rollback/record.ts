/**
 * Rollback mode's records: a GitHub deployment for the target (kind `rollback`, with the reason),
 * created `in_progress` before traffic moves and finished `success` / `failure` after; the record of
 * the release rolled away from goes `inactive`. And a Datadog event saying what moved and why.
 */
import { serviceName } from '../../config/service.js';
import type { Config } from '../../config/types.js';
import type { DeploymentRef, TrafficSnapshot } from '../../pipeline/types.js';
import type { Datadog } from '../../providers/datadog.js';
import { closeRecord, finalStatus, setRecordStatus, type RecordsApi } from '../../records/index.js';
import { PAYLOAD_TOOL, type RecordPayload } from '../../records/payload.js';

/** The payload of a rollback record: the target as green, what was live as blue. */
export function rollbackPayload(
  config: Config,
  target: DeploymentRef,
  live: DeploymentRef,
  snapshot: TrafficSnapshot | undefined,
  reason: string,
): RecordPayload & { reason: string } {
  return {
    tool: PAYLOAD_TOOL,
    version: 1,
    kind: 'rollback',
    runId: config.run.runId,
    runAttempt: config.run.runAttempt,
    runUrl: config.run.runUrl,
    sha: target.sha ?? config.run.sha,
    environment: config.environment,
    strategy: config.strategy,
    trafficManager: config.traffic.manager,
    green: target,
    blue: live,
    ...(snapshot ? { trafficBefore: snapshot } : {}),
    ...(config.productionUrl ? { productionUrl: config.productionUrl } : {}),
    reason,
  };
}

/**
 * A rollback record once it exists. Its `in_progress` status is still on its way: the record with its
 * payload is the trace a crash leaves, so traffic need not wait for the status (GitHub writes go one
 * at a time through the client's queue); await `inProgress` before any later status, to keep their order.
 */
export interface OpenedRecord {
  id: number;
  inProgress: Promise<unknown>;
}

export async function openRollbackRecord(
  github: RecordsApi,
  config: Config,
  payload: RecordPayload & { reason: string },
): Promise<OpenedRecord> {
  // Create the rollback record, then set it `in_progress` without waiting.
  const created = await github.createDeployment({
    ref: payload.sha,
    sha: payload.sha,
    environment: config.environment,
    description: `Rollback to ${payload.green.id}: ${payload.reason}`,
    payload: payload as unknown as Record<string, unknown> & { runId: string; runAttempt: number },
  });
  const inProgress = setRecordStatus(github, created.id, 'in_progress', {
    description: `Rolling back to ${payload.green.id}`,
    logUrl: config.run.runUrl,
  });
  return { id: created.id, inProgress };
}

/** A re-run's record: attempt 1's (it exists: the trace is there), set `in_progress` again. */
export function reopenRollbackRecord(
  github: RecordsApi,
  config: Config,
  id: number,
  target: DeploymentRef,
): OpenedRecord {
  const inProgress = setRecordStatus(github, id, 'in_progress', {
    description: `Re-run (attempt ${config.run.runAttempt}): rolling back to ${target.id}`,
    logUrl: config.run.runUrl,
  });
  return { id, inProgress };
}

/** Finish the rollback record: `success` (earlier live records → inactive) or `failure`. */
export async function closeRollbackRecord(
  github: RecordsApi,
  config: Config,
  id: number,
  ok: boolean,
  text: string,
): Promise<string> {
  const status = finalStatus({ at: 'rollback', ok, text });
  const { inactive } = await closeRecord(github, config, id, status, {
    replaced: `Rolled back by deployment ${id}`,
  });
  return `deployment ${id} is ${status.state}${inactive.length ? `; ${inactive.join(', ')} now inactive` : ''}`;
}

/** A Datadog event for the rollback (alert type warning: production went back). */
export async function rollbackEvent(
  dd: Pick<Datadog, 'createEvent'>,
  config: Config,
  target: DeploymentRef,
  live: DeploymentRef,
  reason: string,
): Promise<string> {
  const { owner, repo, runUrl, runId } = config.run;
  const service = serviceName(config.prepare.datadogMonitorTags, repo, config.validation.datadogService);
  const version = target.sha ?? target.id;
  const ev = await dd.createEvent({
    title: `Rolled back ${owner}/${repo} ${config.environment} to ${target.sha ? target.sha.slice(0, 7) : target.id}`,
    text: [`Reason: ${reason}`, `From: ${live.id}`, `To: ${target.id} (${target.url})`, `Run: ${runUrl}`].join('\n'),
    tags: [
      `env:${config.environment}`,
      `service:${service}`,
      `version:${version}`,
      'source:production-deploy',
      'action:rollback',
    ],
    alert_type: 'warning',
    aggregation_key: `production-deploy-${runId}`.slice(0, 100),
  });
  return `Datadog event ${ev.id ?? '(no id)'}`;
}
