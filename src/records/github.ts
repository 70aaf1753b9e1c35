/**
 * The run's GitHub deployment record over the GitHub adapter: reading the environment's records,
 * the lock, creating the record once per run (or taking over the record of an earlier attempt of
 * the same run), and its statuses. A run's record gets its final status through `closeRecord`
 * (records/close.ts), the only caller of `setRecordStatus` with a final state besides the lock's own
 * back-outs here.
 */
import type { DeploymentWithStatus, GitHub } from '../providers/github.js';
import type { Logger } from '../pipeline/types.js';
import { decideLock, lostRace, staleAfterFor, type RecordView } from './lock.js';
import { parsePayload, type RecordPayload } from './payload.js';
import { mapInOrder } from '../text.js';

/**
 * What the records need of the GitHub adapter (the real `GitHub` in production). With
 * `listDeploymentsWithStatus` (GraphQL), an environment's deployments and their latest statuses are
 * one read; without it, or when it fails, a REST list and one status read per deployment.
 */
export type RecordsApi = Pick<
  GitHub,
  'listDeployments' | 'listDeploymentStatuses' | 'createDeployment' | 'createDeploymentStatus'
> &
  Partial<Pick<GitHub, 'listDeploymentsWithStatus'>>;

/**
 * The environment's newest `limit` deployments (newest first) that `wanted` keeps, each with its
 * latest status. One GraphQL read when the adapter has it and it answers whole; else over REST: the
 * list, then the statuses of the kept ones, a few at a time. A REST failure throws.
 */
export async function deploymentsWithLatest(
  api: Pick<RecordsApi, 'listDeployments' | 'listDeploymentStatuses' | 'listDeploymentsWithStatus'>,
  environment: string,
  limit: number,
  wanted: (d: DeploymentWithStatus['deployment']) => boolean = () => true,
): Promise<DeploymentWithStatus[]> {
  if (api.listDeploymentsWithStatus) {
    const all = await api.listDeploymentsWithStatus({ environment, limit }).catch(() => undefined);
    if (all) return all.filter((x) => wanted(x.deployment));
  }
  const list = (await api.listDeployments({ environment, limit })).filter(wanted);
  return mapInOrder(list, STATUS_READS_AT_ONCE, async (deployment): Promise<DeploymentWithStatus> => {
    const [s] = await api.listDeploymentStatuses(deployment.id);
    return { deployment, ...(s ? { latest: s } : {}) };
  });
}

export type RecordState = 'error' | 'failure' | 'inactive' | 'in_progress' | 'queued' | 'pending' | 'success';

/** How many of the environment's newest deployments the lock and the lookups read. */
const SCAN = 20;

/** A run of this action holds the environment. The message names it and links its log. */
export class EnvironmentLockedError extends Error {
  readonly holder: RecordView;
  constructor(environment: string, holder: RecordView, ageMs: number) {
    const log = holder.latest?.logUrl ?? holder.payload.runUrl;
    super(
      `another run is deploying to ${environment}: GitHub deployment ${holder.id} of run ${holder.payload.runId} ` +
        `(commit ${holder.payload.sha.slice(0, 7)}) is in progress, last update ${Math.round(ageMs / 1000)} s ago — ${log}. ` +
        'Wait for it to finish (use a workflow `concurrency:` group to queue runs), or cancel it.',
    );
    this.name = 'EnvironmentLockedError';
    this.holder = holder;
  }
}

/**
 * Our records of an environment (newest first), each with its latest status. Others are skipped, and
 * so are ours that `relevant` rules out (over REST, before their statuses are read: one call each).
 */
export async function loadRecords(
  api: RecordsApi,
  environment: string,
  opts: { sha?: string; limit?: number; relevant?: (id: number, payload: RecordPayload) => boolean } = {},
): Promise<RecordView[]> {
  const keep = (d: DeploymentWithStatus['deployment']) => {
    const payload = parsePayload(d.payload);
    return payload !== undefined && (!opts.relevant || opts.relevant(d.id, payload));
  };
  // GraphQL cannot filter by commit: a commit's records are read over REST.
  const read = opts.sha
    ? deploymentsWithLatest(
        {
          // Methods of the adapter's prototype: named one by one (a spread would drop them).
          listDeployments: (q) => api.listDeployments({ ...q, sha: opts.sha }),
          listDeploymentStatuses: (id) => api.listDeploymentStatuses(id),
        },
        environment,
        opts.limit ?? SCAN,
        keep,
      )
    : deploymentsWithLatest(api, environment, opts.limit ?? SCAN, keep);
  return (await read).map(({ deployment: d, latest }): RecordView => ({
    id: d.id,
    createdAt: d.createdAt,
    payload: parsePayload(d.payload) as RecordPayload,
    ...(latest
      ? {
          latest: {
            state: latest.state,
            createdAt: latest.createdAt,
            ...(latest.logUrl ? { logUrl: latest.logUrl } : {}),
          },
        }
      : {}),
  }));
}

/**
 * Statuses are one call per record: an environment with a long history would read them one after
 * another for seconds. They are read a few at a time — GitHub asks integrations not to send many
 * requests at once (docs.github.com, "Best practices for using the REST API") — in the list's order.
 */
export const STATUS_READS_AT_ONCE = 4;

export interface LockInput {
  environment: string;
  runId: string;
  runUrl: string;
  /** `lockStaleAfterMs` of this run's config: a holder silent longer (and longer than its own) is stale. */
  staleAfterMs: number;
  now?: number;
}

/**
 * Refuses (throws EnvironmentLockedError) while another run holds the environment; marks stale
 * holders `error` with a description saying which run overrode them, and reports them in the log.
 */
export async function checkLock(api: RecordsApi, input: LockInput, log: Logger): Promise<{ overridden: RecordView[] }> {
  // Records of this run (an earlier attempt) never hold the lock: their statuses are not read.
  const records = await loadRecords(api, input.environment, { relevant: (_, p) => p.runId !== input.runId });
  const decision = decideLock(records, input.runId, input.now ?? Date.now(), input.staleAfterMs);
  if (decision.kind === 'held') throw new EnvironmentLockedError(input.environment, decision.holder, decision.ageMs);
  for (const stale of decision.stale) {
    log.warning(
      `GitHub deployment ${stale.id} of run ${stale.payload.runId} is still "in progress" but silent for longer than ` +
        `${Math.round(staleAfterFor(stale, input.staleAfterMs) / 1000)} s (every traffic step, the watch window and ` +
        `rollback-timeout, with slack): its job died without cleaning up. ` +
        `Overriding it and marking it "error". Check production before trusting it: ${stale.payload.runUrl}`,
    );
    await api.createDeploymentStatus(stale.id, {
      state: 'error',
      description: `Stale: overridden by run ${input.runId}`,
      logUrl: input.runUrl,
    });
  }
  return { overridden: decision.stale };
}

/**
 * The commit of the environment's active GitHub deployment — the newest whose latest status is
 * `success`, whoever made it: what GitHub says serves the environment. Reads the newest few only.
 */
export async function activeCommit(api: RecordsApi, environment: string, scan = 5): Promise<string | undefined> {
  const list = await deploymentsWithLatest(api, environment, scan);
  return [...list].sort((a, b) => b.deployment.id - a.deployment.id).find((x) => x.latest?.state === 'success')
    ?.deployment.sha;
}

/** This run's record from an earlier attempt, for the same commit and environment. */
export async function findRunRecord(
  api: RecordsApi,
  q: { environment: string; sha: string; runId: string },
): Promise<RecordView | undefined> {
  const records = await loadRecords(api, q.environment, { sha: q.sha });
  return records.find((r) => r.payload.runId === q.runId && r.payload.kind === 'deploy');
}

export interface CreateRecordInput {
  payload: RecordPayload;
  /** Human ref for the description (branch), the record's ref is always the commit. */
  branch: string;
  description: string;
  logUrl: string;
  environmentUrl?: string;
  staleAfterMs: number;
}

/**
 * Creates the run's record and sets it `in_progress`. A create whose answer was lost is found again
 * by the adapter (payload runId + attempt). If another run created its record at the same moment,
 * the earlier record keeps the environment and ours is marked `error` (the lock's tie-break).
 */
export async function createRecord(api: RecordsApi, input: CreateRecordInput): Promise<number> {
  const { payload } = input;
  const created = await api.createDeployment({
    ref: input.branch,
    sha: payload.sha,
    environment: payload.environment,
    description: input.description,
    payload: payload as unknown as Record<string, unknown> & { runId: string; runAttempt: number },
  });
  let winner: RecordView | undefined;
  try {
    await setRecordStatus(api, created.id, 'in_progress', {
      description: `Deploying ${payload.sha.slice(0, 7)} (${payload.strategy})`,
      logUrl: input.logUrl,
      environmentUrl: input.environmentUrl,
    });
    // Only records of other runs created before ours can win the race: the statuses of the others are not read.
    const records = await loadRecords(api, payload.environment, {
      relevant: (id, p) => id < created.id && p.runId !== payload.runId,
    });
    winner = lostRace(records, created.id, payload.runId, Date.now(), input.staleAfterMs);
  } catch (err) {
    // The record exists but the run stops here, before its id reaches the run state: close it now, or
    // it holds the environment until it goes stale. Best effort: the write may be what is failing.
    await setRecordStatus(api, created.id, 'error', {
      description: 'Backed out: the record could not be set up (see the run)',
      logUrl: input.logUrl,
    }).catch(() => undefined);
    throw err;
  }
  if (winner) {
    await setRecordStatus(api, created.id, 'error', {
      description: `Backed out: run ${winner.payload.runId} started first`,
      logUrl: input.logUrl,
    });
    throw new EnvironmentLockedError(payload.environment, winner, 0);
  }
  return created.id;
}

/** Adds a status; the description is cut to GitHub's 140 characters. */
export async function setRecordStatus(
  api: Pick<RecordsApi, 'createDeploymentStatus'>,
  id: number,
  state: RecordState,
  s: { description?: string; logUrl?: string; environmentUrl?: string } = {},
): Promise<void> {
  await api.createDeploymentStatus(id, {
    state,
    ...(s.description ? { description: s.description.slice(0, 140) } : {}),
    ...(s.logUrl ? { logUrl: s.logUrl } : {}),
    ...(s.environmentUrl ? { environmentUrl: s.environmentUrl } : {}),
  });
}
