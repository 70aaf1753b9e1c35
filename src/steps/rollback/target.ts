/**
 * `rollback-to` → the deployment production goes back to, checked before anything moves:
 * - `previous`: from this action's GitHub deployment records of the environment — the newest release
 *   that reached production before the one serving now, else what the current record names as blue;
 * - `dpl_…`: a Vercel deployment id;
 * - a 40-hex commit SHA: the newest READY production deployment of that commit on Vercel, else the
 *   release a GitHub record holds for it;
 * - a number: a GitHub deployment id (one of this action's records).
 * The target must exist, belong to the project, and be READY; otherwise the rollback is refused.
 */
import type { DeploymentRef } from '../../pipeline/types.js';
import type { VercelApi, VercelDeployment } from '../../providers/vercel-api.js';
import { ProviderError } from '../../providers/http.js';
import type { RecordView } from '../../records/lock.js';

/** What kind of `rollback-to` was given. */
export type TargetSpec =
  { kind: 'previous' } | { kind: 'vercel'; id: string } | { kind: 'sha'; sha: string } | { kind: 'github'; id: number };

/** Read `rollback-to`. Anything else is refused with what is accepted. */
export function parseTargetSpec(raw: string): TargetSpec {
  const v = raw.trim();
  if (v === '' || v.toLowerCase() === 'previous') return { kind: 'previous' };
  if (/^dpl_[A-Za-z0-9]+$/.test(v)) return { kind: 'vercel', id: v };
  if (/^[0-9a-f]{40}$/i.test(v)) return { kind: 'sha', sha: v.toLowerCase() };
  if (/^\d{1,16}$/.test(v)) return { kind: 'github', id: Number(v) };
  throw new Error(
    `rollback-to "${v.slice(0, 80)}" is not understood: use previous, a Vercel deployment id (dpl_…), a 40-character commit SHA, or a GitHub deployment id`,
  );
}

/** A record that reached production: its latest status is success, or inactive (replaced since). */
export function reachedProduction(r: RecordView): boolean {
  return r.latest?.state === 'success' || r.latest?.state === 'inactive';
}

/**
 * `previous`, decided from the records (newest first) and the deployment serving production now.
 * The record of the live release is the newest one that reached production with it as green; the
 * target is the newest earlier record that reached production with another green, else the live
 * record's blue. Undefined (with why) when the records do not say.
 */
export function previousFromRecords(
  records: readonly RecordView[],
  liveId: string,
): { target: DeploymentRef; from: string } | { none: string } {
  const sorted = [...records].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || b.id - a.id);
  const liveIndex = sorted.findIndex((r) => reachedProduction(r) && r.payload.green.id === liveId);
  const older = liveIndex >= 0 ? sorted.slice(liveIndex + 1) : sorted;
  const earlier = older.find((r) => reachedProduction(r) && r.payload.green.id !== liveId);
  if (earlier) return { target: earlier.payload.green, from: `GitHub deployment ${earlier.id}` };
  const live = liveIndex >= 0 ? sorted[liveIndex] : undefined;
  if (live?.payload.blue && live.payload.blue.id !== liveId) {
    return { target: live.payload.blue, from: `GitHub deployment ${live.id} (the release it replaced)` };
  }
  return {
    none:
      `no earlier production release of ${liveId} is recorded in this environment's GitHub deployments ` +
      '(set rollback-to to a Vercel deployment id or a commit SHA)',
  };
}

/** A checked target: the Vercel deployment and where it was found. */
export interface ResolvedTarget {
  target: DeploymentRef;
  deployment: VercelDeployment;
  from: string;
}

/** What target resolution needs. */
export interface TargetDeps {
  vercel: Pick<VercelApi, 'getDeployment' | 'listDeployments'>;
  projectId: string;
  /** This action's records of the environment, newest first (loaded once). */
  records: () => Promise<RecordView[]>;
  /** The deployment serving production now. */
  liveId: string;
}

/** Refused before anything moves: the message says why and what to do. */
export class RollbackRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RollbackRefused';
  }
}

/**
 * The rollback record a re-run of the same workflow run carries on with: attempt 1's (the newest
 * record of kind `rollback` with this run id). A re-run must go to the target attempt 1 chose: resolving
 * `previous` again would pick the release attempt 1 already moved production away from.
 */
export function ownRollbackRecord(records: readonly RecordView[], runId: string): RecordView | undefined {
  return [...records]
    .filter((r) => r.payload.kind === 'rollback' && r.payload.runId === runId)
    .sort((a, b) => b.id - a.id)[0];
}

/**
 * The target's Vercel deployment, refused unless it exists, is the project's, and is READY. `known` is
 * what a record says of it: its commit is kept when Vercel's metadata has none.
 */
export async function checkTarget(
  deps: TargetDeps,
  id: string,
  from: string,
  known?: DeploymentRef,
): Promise<ResolvedTarget> {
  let d: VercelDeployment;
  try {
    d = await deps.vercel.getDeployment(id);
  } catch (err) {
    if (err instanceof ProviderError && (err.status === 404 || err.status === 410)) {
      throw new RollbackRefused(`the rollback target ${id} (${from}) no longer exists on Vercel; nothing was changed`);
    }
    throw err;
  }
  if (d.projectId && d.projectId !== deps.projectId) {
    throw new RollbackRefused(
      `the rollback target ${id} belongs to another Vercel project (${d.projectId}); nothing was changed`,
    );
  }
  if (d.readyState !== 'READY') {
    throw new RollbackRefused(
      `the rollback target ${id} (${from}) is ${d.readyState}, not READY: it never served and cannot serve production; nothing was changed`,
    );
  }
  const sha = d.meta.githubCommitSha ?? (known?.id === d.id ? known.sha : undefined);
  return { target: { id: d.id, url: d.url, ...(sha ? { sha } : {}) }, deployment: d, from };
}

/** Resolve `rollback-to` to a checked target. Throws RollbackRefused when there is none to go to. */
export async function resolveTarget(spec: TargetSpec, deps: TargetDeps): Promise<ResolvedTarget> {
  switch (spec.kind) {
    case 'vercel':
      return checkTarget(deps, spec.id, 'rollback-to');
    case 'previous': {
      const p = previousFromRecords(await deps.records(), deps.liveId);
      if ('none' in p) throw new RollbackRefused(`rollback-to: previous: ${p.none}; nothing was changed`);
      return checkTarget(deps, p.target.id, p.from, p.target);
    }
    case 'github': {
      const record = (await deps.records()).find((r) => r.id === spec.id);
      if (!record) {
        throw new RollbackRefused(
          `GitHub deployment ${spec.id} is not one of this action's recent records of the environment; nothing was changed`,
        );
      }
      return checkTarget(deps, record.payload.green.id, `GitHub deployment ${spec.id}`, record.payload.green);
    }
    case 'sha': {
      const { deployments } = await deps.vercel.listDeployments({
        projectId: deps.projectId,
        target: 'production',
        sha: spec.sha,
        limit: 20,
      });
      const ready = deployments
        .filter((d) => d.state === 'READY' && (d.meta.githubCommitSha ?? spec.sha) === spec.sha)
        .sort((a, b) => b.createdAt - a.createdAt)[0];
      if (ready) return checkTarget(deps, ready.id, `commit ${spec.sha.slice(0, 7)}`);
      const record = (await deps.records()).find((r) => r.payload.sha === spec.sha && reachedProduction(r));
      if (record)
        return checkTarget(deps, record.payload.green.id, `GitHub deployment ${record.id} of ${spec.sha.slice(0, 7)}`, {
          ...record.payload.green,
          sha: spec.sha,
        });
      const any = deployments[0];
      throw new RollbackRefused(
        any
          ? `commit ${spec.sha.slice(0, 7)} has no READY production deployment on Vercel (newest is ${any.id}, ${any.state}); nothing was changed`
          : `commit ${spec.sha.slice(0, 7)} has no production deployment on Vercel; nothing was changed`,
      );
    }
  }
}
