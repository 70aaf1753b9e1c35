/**
 * The payload of the GitHub deployment that records a run: everything a later rollback needs
 * (green and blue, the traffic state before the switch, the backup), plus the run that made it so
 * a re-run can find its own record. GitHub deployments cannot be edited, so the payload is written
 * once, when green is staged and blue is known, before any traffic moves.
 */
import type { Strategy } from '../config/types.js';
import type { DeploymentRef, TrafficSnapshot } from '../pipeline/types.js';

/** Marks records made by this action, so other deployments of the environment are left alone. */
export const PAYLOAD_TOOL = 'production-deploy';

export interface RecordPayload {
  tool: typeof PAYLOAD_TOOL;
  version: 1;
  /** `deploy` records a release; `rollback` records a move back (rollback mode). */
  kind: 'deploy' | 'rollback';
  runId: string;
  runAttempt: number;
  runUrl: string;
  sha: string;
  environment: string;
  strategy: Strategy;
  trafficManager: 'cloudflare' | 'vercel';
  /** The Vercel deployment this run takes to production. */
  green: DeploymentRef;
  /** The Vercel deployment that served production before: the rollback target. */
  blue?: DeploymentRef;
  /** The exact traffic state before the first mutation. */
  trafficBefore?: TrafficSnapshot;
  backup?: { bucket: string; key: string; sha256: string };
  productionUrl?: string;
  /**
   * How long this run may be silent while alive (`lockStaleAfterMs` of its config): other runs judge
   * its lock by the longer of this and their own threshold.
   */
  staleAfterMs?: number;
}

function isRef(v: unknown): v is DeploymentRef {
  return (
    !!v &&
    typeof v === 'object' &&
    typeof (v as DeploymentRef).id === 'string' &&
    typeof (v as DeploymentRef).url === 'string'
  );
}

/** A well-formed TrafficSnapshot (from a payload, or a step's details). */
export function isSnapshot(v: unknown): v is TrafficSnapshot {
  if (!v || typeof v !== 'object') return false;
  const s = v as { kind?: unknown };
  if (s.kind === 'vercel')
    return typeof (v as { productionDeploymentId?: unknown }).productionDeploymentId === 'string';
  if (s.kind !== 'cloudflare') return false;
  const c = v as Record<string, unknown>;
  return (
    typeof c.loadBalancerId === 'string' &&
    typeof c.livePool === 'string' &&
    typeof c.fallbackPool === 'string' &&
    Array.isArray(c.defaultPools) &&
    !!c.poolWeights &&
    typeof c.poolWeights === 'object' &&
    !!c.slots &&
    typeof c.slots === 'object'
  );
}

/**
 * Read a payload from a GitHub deployment (the API returns it as an object, or as a JSON string
 * when it was created as one). Anything that is not one of ours, or is malformed, gives undefined:
 * a record we cannot trust is treated as no record.
 */
export function parsePayload(raw: unknown): RecordPayload | undefined {
  let v = raw;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      return undefined;
    }
  }
  if (!v || typeof v !== 'object') return undefined;
  const p = v as Record<string, unknown>;
  if (p.tool !== PAYLOAD_TOOL || p.version !== 1) return undefined;
  if (typeof p.runId !== 'string' || typeof p.sha !== 'string' || typeof p.environment !== 'string') return undefined;
  if (!isRef(p.green)) return undefined;
  if (p.blue !== undefined && !isRef(p.blue)) return undefined;
  if (p.trafficBefore !== undefined && !isSnapshot(p.trafficBefore)) return undefined;
  const { staleAfterMs, ...rest } = p;
  return {
    ...(rest as unknown as RecordPayload),
    kind: p.kind === 'rollback' ? 'rollback' : 'deploy',
    runAttempt: typeof p.runAttempt === 'number' ? p.runAttempt : 1,
    ...(typeof staleAfterMs === 'number' && Number.isFinite(staleAfterMs) && staleAfterMs > 0 ? { staleAfterMs } : {}),
  };
}
