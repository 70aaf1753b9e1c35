/**
 * The environment lock: a run may start staging only when no other run of this action holds the
 * environment, i.e. has a record whose latest status is `in_progress`. A holder silent for longer
 * than the longest a live run can be silent (`lockStaleAfterMs`: green's build, every traffic step
 * held, the watch window, its sampling slack, the restore, and an allowance for the calls in between)
 * is stale (its
 * job died without its post step): it is reported and overridden rather than blocking the
 * environment forever. A holder's record carries its own threshold, so a run with shorter settings
 * (a hotfix) does not override a long canary. Pure decision logic; the GitHub calls are in
 * records/github.ts.
 */
import { DEFAULT_CONSECUTIVE_ERROR_LIMIT } from '../analysis/types.js';
import type { Config } from '../config/types.js';
import type { RecordPayload } from './payload.js';

/**
 * What a live run may spend outside its timed phases without a status write: the smoke checks, the
 * wait for a slot's pool to be healthy, routing checks, the rate-limit waits of a few steps, records
 * and notifications, and the clock skew between this runner and GitHub.
 */
export const LOCK_ALLOWANCE_MS = 10 * 60_000;

/**
 * How long a run of this config can go without writing a status to its record while it is alive:
 * - green's build and health check (`health-check-timeout`): the record is made while green builds;
 * - every traffic step held for `step-duration` (`traffic-steps` × `step-duration`, the last step
 *   counted too for its switch and routing check);
 * - the watch after the final switch (`validation-window`, or `rollback-window` for `immediate`);
 * - the sampling slack of every watch (one per held step and the final one): a watch that ends on
 *   query errors samples on for up to the consecutive-error limit + 1 more intervals, and a tick
 *   may come one interval late;
 * - the restore (`rollback-timeout`) after a failure;
 * - `LOCK_ALLOWANCE_MS` for everything else.
 * Heartbeats (`heartbeatEveryMs`) keep a live record far fresher than this; the threshold is what
 * holds the lock when they cannot be written. Pure.
 */
export function lockStaleAfterMs(
  config: Pick<Config, 'strategy' | 'traffic' | 'validation'> & {
    vercel?: Pick<Config['vercel'], 'healthCheckTimeoutMs'>;
  },
): number {
  const { traffic, validation } = config;
  const buildMs = config.vercel?.healthCheckTimeoutMs ?? 0;
  const steps = Math.max(1, traffic.steps.length);
  const holdsMs = steps * traffic.stepDurationMs;
  const windowMs = config.strategy === 'immediate' ? validation.rollbackWindowMs : validation.windowMs;
  const watches = steps;
  const samplingSlackMs = watches * (DEFAULT_CONSECUTIVE_ERROR_LIMIT + 2) * validation.intervalMs;
  return buildMs + holdsMs + windowMs + samplingSlackMs + validation.rollbackTimeoutMs + LOCK_ALLOWANCE_MS;
}

/**
 * How often a run writes an `in_progress` status while it watches production: a quarter of its
 * stale threshold, at least every 5 minutes (so a second run with shorter settings, reading a
 * record without a threshold of its own, still sees it alive), never more than once a minute.
 */
export function heartbeatEveryMs(staleAfterMs: number): number {
  return Math.max(60_000, Math.min(5 * 60_000, Math.floor(staleAfterMs / 4)));
}

/** The threshold for one record: the checker's own, or the holder's recorded one when longer. */
export function staleAfterFor(r: RecordView, staleAfterMs: number): number {
  return Math.max(staleAfterMs, r.payload.staleAfterMs ?? 0);
}

/** A record as the lock sees it: our payload and the latest status. */
export interface RecordView {
  id: number;
  createdAt: string;
  payload: RecordPayload;
  /** Latest status (newest first from the API), absent when it has none yet. */
  latest?: { state: string; createdAt: string; logUrl?: string };
}

export type LockDecision =
  | { kind: 'free'; stale: RecordView[] }
  /** Another run is deploying to the environment right now. */
  | { kind: 'held'; holder: RecordView; ageMs: number; stale: RecordView[] };

/** A record that counts as "in progress": its latest status says so, or it has none yet. */
export function isInProgress(r: RecordView): boolean {
  return (
    r.latest === undefined ||
    r.latest.state === 'in_progress' ||
    r.latest.state === 'queued' ||
    r.latest.state === 'pending'
  );
}

/** How long a record has been silent: since its latest status, else since its creation. */
export function silentForMs(r: RecordView, now: number): number {
  const at = Date.parse(r.latest?.createdAt ?? r.createdAt);
  return Number.isFinite(at) ? Math.max(0, now - at) : Number.POSITIVE_INFINITY;
}

/**
 * Decide the lock for run `runId`. Records of the same run (an earlier attempt) never block: a re-run
 * takes its own record over. The newest live holder is named so the message points at the right run.
 */
export function decideLock(
  records: readonly RecordView[],
  runId: string,
  now: number,
  staleAfterMs: number,
): LockDecision {
  const others = records.filter((r) => r.payload.runId !== runId && isInProgress(r));
  const stale = others.filter((r) => silentForMs(r, now) > staleAfterFor(r, staleAfterMs));
  const live = others
    .filter((r) => silentForMs(r, now) <= staleAfterFor(r, staleAfterMs))
    .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || b.id - a.id);
  const holder = live[0];
  return holder ? { kind: 'held', holder, ageMs: silentForMs(holder, now), stale } : { kind: 'free', stale };
}

/**
 * After creating our record: did another run create one at nearly the same time? The record with
 * the lower id came first and keeps the environment; the later one backs out. Returns the winner
 * when it is not us.
 */
export function lostRace(
  records: readonly RecordView[],
  ours: number,
  runId: string,
  now: number,
  staleAfterMs: number,
): RecordView | undefined {
  return records
    .filter(
      (r) =>
        r.payload.runId !== runId &&
        r.id < ours &&
        isInProgress(r) &&
        silentForMs(r, now) <= staleAfterFor(r, staleAfterMs),
    )
    .sort((a, b) => a.id - b.id)[0];
}
