/**
 * The environment lock: a run may start staging only when no other run of this action holds the
 * environment, i.e. has a record whose latest status is `in_progress`. A holder silent for longer
 * than `rollback-timeout + validation-window` is stale (its job died without its post step): it is
 * reported and overridden rather than blocking the environment forever. Pure decision logic; the
 * GitHub calls are in records/github.ts.
 */
import type { RecordPayload } from './payload.js';

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
  const stale = others.filter((r) => silentForMs(r, now) > staleAfterMs);
  const live = others
    .filter((r) => silentForMs(r, now) <= staleAfterMs)
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
    .filter((r) => r.payload.runId !== runId && r.id < ours && isInProgress(r) && silentForMs(r, now) <= staleAfterMs)
    .sort((a, b) => a.id - b.id)[0];
}
