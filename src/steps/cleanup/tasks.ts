/**
 * The tasks of step 7, each one self-contained and each returning a CheckResult: a task that fails
 * is a warning (the deploy stands), never a throw out of the step.
 */
import { serviceName } from '../../config/service.js';
import type { Config } from '../../config/types.js';
import type { CheckResult, Logger, RunState } from '../../pipeline/types.js';
import type { Datadog } from '../../providers/datadog.js';
import type { GitHub } from '../../providers/github.js';
import type { VercelApi } from '../../providers/vercel-api.js';
import { closeRecord, deploymentsWithLatest, finalStatus, loadRecords, type RecordsApi } from '../../records/index.js';
import { escapeInline } from '../../surfaces/markdown.js';
import type { TrafficManager } from '../../traffic/index.js';
import {
  doraId,
  planDeletions,
  pullNumbers,
  successDescription,
  type DeploymentItem,
  type Shipped,
} from './release.js';
import { errorMessage } from '../../text.js';

/** Run a task; anything it throws becomes a `warn` check naming the task. */
export async function task(name: string, fn: () => Promise<CheckResult>): Promise<CheckResult> {
  try {
    return await fn();
  } catch (err) {
    return { name, status: 'warn', reason: `${errorMessage(err)} (cleanup continues; the deploy stands)` };
  }
}

/**
 * Starts the compare of blue's commit with green's that cleanup will need, while production is
 * watched: the adapter keeps the answer (a comparison of two commits never changes), so the cleanup
 * step does not wait a round trip for it. A failure here is nothing: cleanup asks again.
 */
export function prefetchShipped(github: Pick<GitHub, 'compareCommits'>, state: RunState): void {
  const head = state.green?.sha ?? state.sha;
  const base = state.blue?.sha;
  if (base && head && base !== head) github.compareCommits(base, head).catch(() => undefined);
}

/** What shipped: the commits and PRs between blue's commit and green's (GitHub's compare API). */
export async function whatShipped(
  github: Pick<GitHub, 'compareCommits' | 'listDeployments' | 'listDeploymentStatuses'>,
  config: Config,
  state: RunState,
): Promise<{ check: CheckResult; shipped?: Shipped }> {
  const name = 'what shipped';
  const head = state.green?.sha ?? state.sha;
  const base = state.blue?.sha ?? (await lastLiveSha(github, config.environment, state.githubDeploymentId));
  if (!base)
    return { check: { name, status: 'skipped', reason: "blue's commit is not known, so there is nothing to compare" } };
  if (base === head)
    return {
      check: { name, status: 'pass', reason: `green is blue's commit ${head.slice(0, 7)}: nothing new shipped` },
    };
  const cmp = await github.compareCommits(base, head);
  const repoUrl = `${config.run.serverUrl}/${config.run.owner}/${config.run.repo}`;
  const shipped: Shipped = {
    commits: cmp.commits.slice(-50),
    pulls: pullNumbers(
      cmp.commits.map((c) => c.message),
      state.pullNumber,
    ).map((number) => ({ number })),
    total: cmp.aheadBy,
    compareUrl: `${repoUrl}/compare/${base}...${head}`,
    base,
    head,
  };
  const prs = shipped.pulls.map((p) => `#${p.number}`).join(', ');
  const behind = cmp.behindBy > 0 ? `; green is also ${cmp.behindBy} commit(s) behind blue (${cmp.status})` : '';
  return {
    shipped,
    check: {
      name,
      status: cmp.behindBy > 0 ? 'warn' : 'pass',
      reason: `${cmp.aheadBy} commit(s) from ${base.slice(0, 7)} to ${head.slice(0, 7)}${prs ? `, PRs ${prs}` : ''}${behind}`,
    },
  };
}

/**
 * Blue's commit when Vercel's metadata does not say: the commit of the environment's newest GitHub
 * deployment (any tool's) whose latest status is success, other than this run's own record.
 */
export async function lastLiveSha(
  github: Pick<GitHub, 'listDeployments' | 'listDeploymentStatuses'> &
    Partial<Pick<GitHub, 'listDeploymentsWithStatus'>>,
  environment: string,
  ownId: number | undefined,
): Promise<string | undefined> {
  const list = await deploymentsWithLatest(github, environment, 10, (d) => d.id !== ownId);
  return list.find((x) => x.latest?.state === 'success')?.deployment.sha;
}

/** The "What shipped" section of the job summary (commit subjects are remote text: escaped). */
export function shippedMarkdown(s: Shipped, repoUrl: string): string {
  const lines = [`#### What shipped (${s.total} commit${s.total === 1 ? '' : 's'}, [compare](${s.compareUrl}))`, ''];
  if (s.pulls.length > 0)
    lines.push(`Pull requests: ${s.pulls.map((p) => `[#${p.number}](${repoUrl}/pull/${p.number})`).join(', ')}`, '');
  for (const c of s.commits.slice(-30))
    lines.push(`- [\`${c.sha.slice(0, 7)}\`](${repoUrl}/commit/${c.sha}) ${escapeInline(c.message, 120)}`);
  if (s.total > Math.min(30, s.commits.length)) lines.push(`- … and ${s.total - Math.min(30, s.commits.length)} more`);
  return `${lines.join('\n')}\n`;
}

/**
 * Retire blue through the traffic manager: on Cloudflare green's pool becomes the fallback pool while
 * blue's pool keeps weight 0 and its slot hostname stays on blue, so `mode: rollback` to it is still
 * one weight change; on Vercel nothing changes. A state other than asked for is a warning.
 */
export async function retireBlue(traffic: Pick<TrafficManager, 'retireBlue'>, state: RunState): Promise<CheckResult> {
  const name = 'retire blue';
  const snap = state.trafficBefore;
  if (!snap) return { name, status: 'skipped', reason: 'no traffic switch was recorded' };
  const r = await traffic.retireBlue(snap, state.blue);
  return { name, status: r.ok ? 'pass' : 'warn', reason: r.what };
}

/** The run's GitHub deployment gets `success` (with what shipped); the previous live record goes `inactive`. */
export async function finishRecord(
  github: RecordsApi,
  config: Config,
  state: RunState,
  shipped: Shipped | undefined,
): Promise<CheckResult> {
  const name = 'GitHub deployment';
  const id = state.githubDeploymentId;
  if (id === undefined) return { name, status: 'skipped', reason: 'no GitHub deployment was recorded for this run' };
  const description = successDescription(state.green?.sha ?? state.sha, shipped);
  const status = finalStatus({ at: 'cleanup', description });
  const { inactive } = await closeRecord(github, config, id, status);
  const previous = inactive.length > 0 ? `; ${inactive.join(', ')} now inactive` : '';
  return { name, status: 'pass', reason: `deployment ${id} is ${status.state}${previous}` };
}

/** A Datadog event and a DORA deployment for the release. */
export async function recordInDatadog(
  dd: Pick<Datadog, 'createEvent' | 'createDoraDeployment'> | undefined,
  config: Config,
  state: RunState,
  startedAt: number,
  shipped: Shipped | undefined,
): Promise<CheckResult> {
  const name = 'Datadog deployment';
  if (!dd) return { name, status: 'skipped', reason: 'Datadog is not configured' };
  const { owner, repo, serverUrl, runUrl, runId, runAttempt } = config.run;
  const service = serviceName(config.prepare.datadogMonitorTags, repo, config.validation.datadogService);
  const sha = state.green?.sha ?? state.sha;
  const lines = [
    `${owner}/${repo} ${sha.slice(0, 7)} is live in ${config.environment} (${config.strategy}).`,
    state.green ? `Green: ${state.green.id} (${state.green.url})` : '',
    state.blue ? `Previous: ${state.blue.id}` : '',
    shipped
      ? `${shipped.total} commit(s)${shipped.pulls.length ? `, PRs ${shipped.pulls.map((p) => `#${p.number}`).join(' ')}` : ''}`
      : '',
    `Run: ${runUrl}`,
  ].filter(Boolean);
  // The event and the DORA record are independent: both are sent at once, and each failure is named.
  const [sent, recorded] = await Promise.allSettled([
    dd.createEvent({
      title: `Deployed ${owner}/${repo}@${sha.slice(0, 7)} to ${config.environment}`,
      text: lines.join('\n'),
      tags: [`env:${config.environment}`, `service:${service}`, `version:${sha}`, 'source:production-deploy'],
      alert_type: 'success',
      aggregation_key: `production-deploy-${runId}`.slice(0, 100),
    }),
    dd.createDoraDeployment({
      service,
      env: config.environment,
      version: sha,
      startedAt,
      finishedAt: Math.max(startedAt, Date.now()),
      git: { commitSha: sha, repositoryUrl: `${serverUrl}/${owner}/${repo}` },
      id: doraId({ owner, repo, environment: config.environment, runId, runAttempt }),
    }),
  ]);
  if (sent.status === 'rejected' || recorded.status === 'rejected') {
    const failed = [
      sent.status === 'rejected' ? `the event could not be sent: ${errorMessage(sent.reason)}` : 'the event was sent',
      recorded.status === 'rejected'
        ? `the DORA deployment could not be recorded: ${errorMessage(recorded.reason)}`
        : 'the DORA deployment was recorded',
    ];
    throw new Error(failed.join('; '));
  }
  const event = sent.value;
  const dora = recorded.value;
  return {
    name,
    status: 'pass',
    reason: `event ${event.id ?? '(no id)'} and DORA deployment ${dora.id ?? '(no id)'} for service ${service}, version ${sha.slice(0, 7)}`,
  };
}

/** `keep-deployments`: delete older production deployments, never green, blue, or one a record points to. */
export async function pruneDeployments(
  vercel: Pick<VercelApi, 'listDeployments' | 'deleteDeployment' | 'getDeployment'> | undefined,
  github: RecordsApi,
  config: Config,
  state: RunState,
  log: Logger,
): Promise<CheckResult> {
  const name = 'keep-deployments';
  const keep = config.cleanup.keepDeployments;
  if (keep <= 0) return { name, status: 'skipped', reason: 'keep-deployments is 0: no deployment is deleted' };
  if (!vercel) return { name, status: 'warn', reason: 'Vercel is not configured' };
  if (!state.green) return { name, status: 'skipped', reason: 'green is not known' };
  const greenCreatedAt = (await vercel.getDeployment(state.green.id)).createdAt;
  const list: DeploymentItem[] = [];
  let until: number | undefined;
  for (let page = 0; page < 5; page++) {
    const r = await vercel.listDeployments({
      projectId: config.vercel.projectId,
      target: 'production',
      limit: 100,
      ...(until ? { until } : {}),
    });
    list.push(...r.deployments.map((d) => ({ id: d.id, createdAt: d.createdAt, state: d.state })));
    if (!r.next || r.deployments.length === 0) break;
    until = r.next;
  }
  const protectedIds = new Map<string, string>();
  if (state.blue) protectedIds.set(state.blue.id, 'the rollback target (blue)');
  for (const r of await loadRecords(github, config.environment)) {
    const s = r.latest?.state;
    if (s === 'success' || s === 'in_progress' || s === 'queued' || s === 'pending') {
      if (!protectedIds.has(r.payload.green.id))
        protectedIds.set(r.payload.green.id, `GitHub deployment ${r.id} (${s}) points to it`);
    }
  }
  const plan = planDeletions(list, { keep, greenId: state.green.id, greenCreatedAt, protectedIds });
  const deleted: string[] = [];
  const failed: string[] = [];
  for (const d of plan.remove) {
    try {
      await vercel.deleteDeployment(d.id);
      deleted.push(d.id);
    } catch (err) {
      failed.push(`${d.id}: ${errorMessage(err)}`);
    }
  }
  if (deleted.length > 0) log.info(`Deleted ${deleted.length} old production deployment(s): ${deleted.join(', ')}`);
  const kept = `kept ${plan.keep.length} (${plan.keep.map((k) => `${k.id}: ${k.why}`).join('; ') || 'none'})`;
  if (failed.length > 0) {
    return {
      name,
      status: 'warn',
      reason: `deleted ${deleted.length}, could not delete ${failed.length}: ${failed.join('; ')}; ${kept}`,
      details: { deleted, kept: plan.keep },
    };
  }
  return { name, status: 'pass', reason: `deleted ${deleted.length}; ${kept}`, details: { deleted, kept: plan.keep } };
}
