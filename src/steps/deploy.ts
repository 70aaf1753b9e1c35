/**
 * Step 3, blue-green deployment: find blue (who serves production, read from the traffic manager),
 * stage green on Vercel with no production domain, wait until it is READY and its health check
 * answers, and meanwhile record the run — one GitHub deployment whose payload holds the rollback
 * target — before any traffic moves. A re-run of the same workflow run reuses its earlier green and
 * record.
 * A failure leaves production on blue, with green (if any) named in the report.
 */
import type { RunContext, RunStep } from '../pipeline/context.js';
import type { Config } from '../config/types.js';
import { STEP_TITLES } from '../pipeline/modes.js';
import type { CheckResult, DeploymentRef, StepOutcome, TrafficSnapshot } from '../pipeline/types.js';
import type { CreatedDeployment, VercelApi } from '../providers/vercel-api.js';
import {
  activeCommit,
  checkLock,
  createRecord,
  findRunRecord,
  lockStaleAfterMs,
  setRecordStatus,
  type RecordPayload,
} from '../records/index.js';
import type { LiveReading } from '../traffic/index.js';
import { describeSnapshot } from '../traffic/snapshot.js';
import { waitHealthy, waitReady } from './deploy/readiness.js';
import { logUpload, runMeta, stagedRequest } from './deploy/stage.js';
import { errorMessage } from '../text.js';

const UNUSABLE = new Set(['ERROR', 'CANCELED', 'DELETED']);

export const deployStep: RunStep = {
  name: 'deploy',
  title: STEP_TITLES.deploy,
  async run(ctx): Promise<StepOutcome> {
    const { config } = ctx;
    if (config.mode !== 'deploy') return { status: 'skipped', reason: `not part of mode ${config.mode}` };
    if (!ctx.providers.vercel) return { status: 'failed', reason: 'vercel-token is not set: green cannot be staged' };
    const checks: CheckResult[] = [];
    const details: Record<string, unknown> = {};
    try {
      return await deploy(ctx, ctx.providers.vercel, checks, details);
    } catch (err) {
      const green = ctx.state.green;
      const staged = green ? ` Green ${green.id} (${green.url}) is left staged, without production traffic.` : '';
      return {
        status: 'failed',
        reason: `${errorMessage(err).replace(/\.$/, '')}. Production is still on blue.${staged}`,
        checks,
        details,
      };
    }
  },
};

async function deploy(
  ctx: RunContext,
  vercel: VercelApi,
  checks: CheckResult[],
  details: Record<string, unknown>,
): Promise<StepOutcome> {
  const { config, providers, log, signal } = ctx;
  const run = config.run;
  const staleAfterMs = lockStaleAfterMs(config);
  const deadline = Date.now() + config.vercel.healthCheckTimeoutMs;
  const fail = (name: string, err: unknown): never => {
    checks.push({ name, status: 'fail', reason: errorMessage(err) });
    throw err;
  };

  // 1. Nobody else is deploying to this environment; 2. blue, read from the traffic manager, never
  // assumed; and the project green is staged in. Asked together (nothing of this run is written
  // before the lock is known to be free: the lock itself only marks stale holders); judged in order.
  const manager = ctx.traffic();
  const reads = Promise.allSettled([
    checkLock(
      providers.github,
      { environment: config.environment, runId: run.runId, runUrl: run.runUrl, staleAfterMs },
      log,
    ),
    vercel.getProject(config.vercel.projectId),
  ]);
  const reading = manager.readLive();
  reading.catch(() => undefined); // judged below, after the lock
  // Staging needs @vercel/client (~100 ms to evaluate): loaded while these reads wait on the network,
  // once they are sent (evaluating it first would hold them back).
  if (run.runAttempt < 2) setImmediate(() => vercel.preloadStaging?.());
  const [locked, projectRead] = await reads;
  if (locked.status === 'rejected') fail('Environment lock', locked.reason);
  const lock = (locked as PromiseFulfilledResult<Awaited<ReturnType<typeof checkLock>>>).value;
  checks.push({
    name: 'Environment lock',
    status: lock.overridden.length > 0 ? 'warn' : 'pass',
    reason:
      lock.overridden.length > 0
        ? `overrode stale record(s) ${lock.overridden.map((r) => `${r.id} (run ${r.payload.runId})`).join(', ')}`
        : `no other run is deploying to ${config.environment}`,
  });

  // 3. Green: reused from an earlier attempt of this run, or created — started as soon as the lock is
  // free, while blue is still being read (staging needs nothing of blue, and moves no traffic).
  if (projectRead.status === 'rejected') throw projectRead.reason;
  const project = projectRead.value;
  const staging = stageGreen(ctx, vercel, project.name, deadline);
  staging.catch(() => undefined); // judged below, after blue

  const live = await reading.catch(async (err: unknown) => {
    // Say which green was left staged, if staging got that far.
    const staged = await staging.catch(() => undefined);
    if (staged) ctx.update({ green: { id: staged.green.id, url: staged.green.url, sha: run.sha } });
    return fail('Blue (production now)', err);
  });
  for (const note of live.notes) log.warning(note);
  log.info(`Blue: ${live.description}`);
  checks.push({
    name: 'Blue (production now)',
    status: live.notes.length > 0 ? 'warn' : 'pass',
    reason: [live.description, ...live.notes].join('; '),
  });
  // Blue's commit goes into the record a rollback is made from. Vercel's metadata has it for
  // deployments made from Git; for one made without (`vercel deploy` of a plain directory), the
  // commit GitHub's active deployment of the environment names is the best there is — never this run's.
  if (!live.blue.sha) {
    const sha = await activeCommit(providers.github, config.environment).catch((err: unknown) => {
      log.warning(
        `Blue ${live.blue.id} has no commit on Vercel, and GitHub's active deployment could not be read: ${errorMessage(err)}`,
      );
      return undefined;
    });
    if (sha) {
      live.blue = { ...live.blue, sha };
      log.info(
        `Blue ${live.blue.id} has no commit on Vercel; GitHub's active deployment of ${config.environment} names ${sha.slice(0, 7)}`,
      );
    }
  }
  details.blue = live.blue;
  // Named from the start, so a failed run still says what production is on.
  ctx.update({ blue: live.blue });

  const { green, reused } = await staging.catch((err: unknown) => fail('Green staged', err));
  const greenRef: DeploymentRef = { id: green.id, url: green.url, sha: run.sha };
  ctx.update({ green: greenRef });
  details.green = { ...greenRef, ...(green.inspectorUrl ? { inspectorUrl: green.inspectorUrl } : {}), reused };
  checks.push({
    name: 'Green staged',
    status: 'pass',
    reason: `${reused ? 'reusing' : 'created'} ${green.id} (${green.url}), target production, no production domain`,
  });

  // 4. READY, then healthy; 5. meanwhile the run is recorded (blue and the exact traffic state to
  // restore), so the record costs nothing on the critical path. Both end before any traffic moves. A
  // record that cannot be made stops the wait for green; a green that never gets healthy leaves the
  // record for the runner to close as failed (production still on blue).
  const stopWaiting = new AbortController();
  const waitSignal = signal ? AbortSignal.any([signal, stopWaiting.signal]) : stopWaiting.signal;
  const recording = (async () => {
    const now = await manager.readLive();
    if (now.blue.id === live.blue.id && !now.blue.sha && live.blue.sha) now.blue = { ...now.blue, sha: live.blue.sha };
    if (now.blue.id !== live.blue.id && now.blue.id !== green.id) {
      log.warning(
        `Production moved while green was staged: it was ${live.blue.id}, it is now ${now.blue.id}; recording the current state`,
      );
    }
    const made = await recordRun(ctx, greenRef, now, staleAfterMs);
    // Known at once, so whatever stops the run from here closes the record.
    ctx.update({ blue: made.blue, githubDeploymentId: made.id });
    return made;
  })();
  recording.catch(() => stopWaiting.abort(new Error('the run could not be recorded')));
  const greenUp = (async () => {
    const ready = await waitReady(vercel, green.id, log, {
      deadline,
      timeoutMs: config.vercel.healthCheckTimeoutMs,
      signal: waitSignal,
      streamLog: !reused,
    }).catch((err: unknown) => stopped(err) ?? fail('Green ready', err));
    checks.push({
      name: 'Green ready',
      status: 'pass',
      reason: `${ready.id} is READY${ready.readySubstate ? ` (${ready.readySubstate})` : ''}`,
    });
    const health = await waitHealthy(ready.url, config.vercel.healthCheckPath, {
      deadline,
      timeoutMs: config.vercel.healthCheckTimeoutMs,
      ...(config.vercel.protectionBypass ? { bypass: config.vercel.protectionBypass } : {}),
      signal: waitSignal,
      log,
    }).catch((err: unknown) => stopped(err) ?? fail('Green healthy', err));
    checks.push({
      name: 'Green healthy',
      status: 'pass',
      reason: `${health.url} answered HTTP ${health.status} (attempt ${health.attempts})`,
    });
    details.health = health;
  })();
  /** The wait was stopped because recording failed: that failure is the one reported. */
  function stopped(err: unknown): never | undefined {
    if (stopWaiting.signal.aborted && !signal?.aborted) throw err;
    return undefined;
  }
  const [recorded, up] = await Promise.allSettled([recording, greenUp]);
  if (recorded.status === 'rejected') fail('GitHub deployment record', recorded.reason);
  if (up.status === 'rejected') throw up.reason;
  const record = (recorded as PromiseFulfilledResult<Recorded>).value;
  checks.push({
    name: 'GitHub deployment record',
    status: 'pass',
    reason: `${record.reused ? 'reusing' : 'created'} deployment ${record.id} (in progress); rollback target ${record.blue.id}: ${describeSnapshot(record.snapshot)}`,
  });
  details.githubDeploymentId = record.id;
  // Recorded, not armed: the traffic step arms the restore (`trafficBefore`) right before its first
  // mutation; armed earlier, a failure before any switch would "restore" production.
  ctx.update({ blue: record.blue, githubDeploymentId: record.id, rollbackTarget: record.snapshot, phase: 'staged' });
  return {
    status: live.notes.length > 0 || checks.some((c) => c.status === 'warn') ? 'warned' : 'passed',
    reason: `green ${green.id} staged and healthy; production still on blue ${record.blue.id}; recorded as GitHub deployment ${record.id}`,
    checks,
    details,
  };
}

/** Reuse this run's green from an earlier attempt, else create it (looking a lost create up first). */
async function stageGreen(
  ctx: RunContext,
  vercel: VercelApi,
  projectName: string,
  deadline: number,
): Promise<{ green: CreatedDeployment; reused: boolean }> {
  const { config, log, signal } = ctx;
  const run = config.run;
  const projectId = config.vercel.projectId;
  if (run.runAttempt >= 2) {
    const prior = await vercel.findDeploymentByMeta({ projectId, meta: runMeta(config) });
    if (prior?.url && !UNUSABLE.has(prior.state)) {
      log.info(
        `Re-run (attempt ${run.runAttempt}): reusing green ${prior.id} (${prior.state}) built by attempt ${prior.meta.githubRunAttempt ?? '?'}`,
      );
      return { green: { id: prior.id, url: prior.url }, reused: true };
    }
  }
  log.info(
    `Staging green from ${config.vercel.prebuilt ? `${config.vercel.workingDirectory}/.vercel/output (prebuilt)` : config.vercel.workingDirectory}`,
  );
  const green = await vercel.createStagedDeployment(stagedRequest(config, projectName), {
    deadline,
    signal,
    onProgress: (p) => logUpload(config, log, p),
    // Only this attempt's deployment can be the lost create; an earlier attempt's was judged above.
    lookup: async () => {
      const found = await vercel.findDeploymentByMeta({ projectId, meta: runMeta(config, run.runAttempt) });
      return found?.url ? { id: found.id, url: found.url } : undefined;
    },
    onLost: ({ error, found, repeating }) => {
      if (found) log.info(`${error.message}; but Vercel has this run's deployment ${found.id}: using it`);
      else if (repeating) log.warning(`${error.message}; Vercel has no deployment of this run, so creating it again`);
    },
  });
  return { green, reused: false };
}

interface Recorded {
  id: number;
  reused: boolean;
  blue: DeploymentRef;
  snapshot: TrafficSnapshot;
}

/**
 * One GitHub deployment per run. A re-run takes its earlier attempt's record over when it is for
 * the same green and production is still where that record left it (on its blue, or already on
 * green); otherwise the record could restore a stale state, so a new one is made.
 */
async function recordRun(
  ctx: RunContext,
  green: DeploymentRef,
  live: LiveReading,
  staleAfterMs: number,
): Promise<Recorded> {
  const { config, providers, log } = ctx;
  const run = config.run;
  const github = providers.github;
  if (run.runAttempt >= 2) {
    const prior = await findRunRecord(github, { environment: config.environment, sha: run.sha, runId: run.runId });
    const p = prior?.payload;
    if (
      prior &&
      p?.green.id === green.id &&
      p.trafficBefore &&
      p.blue &&
      (live.blue.id === p.blue.id || live.blue.id === green.id)
    ) {
      await setRecordStatus(github, prior.id, 'in_progress', {
        description: `Re-run attempt ${run.runAttempt}: deploying ${run.sha.slice(0, 7)}`,
        logUrl: run.runUrl,
        ...(config.productionUrl ? { environmentUrl: config.productionUrl } : {}),
      });
      log.info(`Re-run: continuing GitHub deployment ${prior.id} of attempt ${p.runAttempt}`);
      return { id: prior.id, reused: true, blue: p.blue, snapshot: p.trafficBefore };
    }
    if (prior)
      log.info(
        `Re-run: GitHub deployment ${prior.id} of an earlier attempt no longer matches production; recording anew`,
      );
  }
  const payload = recordPayload(config, green, live, ctx.state.backup);
  const id = await createRecord(github, {
    payload,
    branch: config.branch,
    description: `${config.strategy} deploy of ${config.branch} (${run.sha.slice(0, 7)})`,
    logUrl: run.runUrl,
    ...(config.productionUrl ? { environmentUrl: config.productionUrl } : {}),
    staleAfterMs,
  });
  return { id, reused: false, blue: live.blue, snapshot: live.snapshot };
}

/** The record's payload: everything a later rollback needs (pure; exported for tests). */
export function recordPayload(
  config: Config,
  green: DeploymentRef,
  live: LiveReading,
  backup?: { bucket: string; key: string; sha256: string },
): RecordPayload {
  const run = config.run;
  return {
    tool: 'production-deploy',
    version: 1,
    kind: 'deploy',
    runId: run.runId,
    runAttempt: run.runAttempt,
    runUrl: run.runUrl,
    sha: run.sha,
    environment: config.environment,
    strategy: config.strategy,
    trafficManager: config.traffic.manager,
    green,
    blue: live.blue,
    trafficBefore: live.snapshot,
    ...(backup ? { backup: { bucket: backup.bucket, key: backup.key, sha256: backup.sha256 } } : {}),
    ...(config.productionUrl ? { productionUrl: config.productionUrl } : {}),
    staleAfterMs: lockStaleAfterMs(config),
  };
}
