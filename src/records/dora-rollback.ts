/**
 * The DORA deployment event of a rollback (automatic, and `mode: rollback`). Datadog's DORA API has
 * no rollback flag (`DORADeploymentRequestAttributes` in /work/shared/specs/datadog-v2.openapi.json:
 * service, env, version, git, started_at, finished_at, id, team, custom_tags): Datadog classifies a
 * deployment as a rollback when its `version` differs from the previous one and equals a version
 * deployed before (docs.datadoghq.com/dora_metrics/change_failure_detection and
 * docs.datadoghq.com/continuous_delivery/features/rollbacks_detection). So the event carries the
 * target's commit as its version and git commit — the same version the deploy that put it live sent
 * (`recordInDatadog`: the full commit SHA) — and Datadog counts the failed deployment and its recovery.
 */
import type { Config } from '../config/types.js';
import { serviceName } from '../config/service.js';
import type { DeploymentRef } from '../pipeline/types.js';
import type { Datadog } from '../providers/datadog.js';

/** Send the rollback's DORA deployment event; returns a line for the report. Throws on a provider error. */
export async function sendRollbackDora(
  dd: Pick<Datadog, 'createDoraDeployment'>,
  config: Config,
  target: DeploymentRef,
  startedAt: number,
): Promise<string> {
  const { owner, repo, serverUrl, runId, runAttempt } = config.run;
  const service = serviceName(config.prepare.datadogMonitorTags, repo, config.validation.datadogService);
  const version = target.sha ?? target.id;
  const raw = `production-deploy:${owner}.${repo}:${config.environment}:${runId}.${runAttempt}:rollback`;
  const id = raw
    .replace(/[^A-Za-z0-9\-_.:]/g, '-')
    .padEnd(16, '0')
    .slice(0, 128);
  const dora = await dd.createDoraDeployment({
    service,
    env: config.environment,
    version,
    startedAt,
    finishedAt: Math.max(startedAt, Date.now()),
    ...(target.sha ? { git: { commitSha: target.sha, repositoryUrl: `${serverUrl}/${owner}/${repo}` } } : {}),
    id,
  });
  return `DORA deployment ${dora.id ?? '(no id)'}: ${service} back on version ${version.slice(0, 12)} (a rollback)`;
}
