/**
 * What pre-flight and prepare share: a look-up that answered or could not be made, and which check
 * results stop a deploy. A step's own folder holds what only that step uses.
 */
import type { CheckResult } from '../pipeline/types.js';

/** A look-up that either answered or could not be made (HTTP status when there was one). */
export type Lookup<T> = { ok: true; value: T } | { ok: false; status?: number; error: string };

/** The answer of a successful look-up. */
export function found<T>(value: T): Lookup<T> {
  return { ok: true, value };
}

/** A look-up that failed; `status` is the HTTP status when the server answered. */
export function lookupFailed<T>(error: string, status?: number): Lookup<T> {
  return status === undefined ? { ok: false, error } : { ok: false, status, error };
}

/** Runs one look-up; any failure but the run's own cancellation becomes a failed Lookup. */
export async function attempt<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<Lookup<T>> {
  try {
    return found(await fn());
  } catch (err) {
    if (signal?.aborted) throw err;
    const e = err as { message?: string; status?: number };
    return lookupFailed(e?.message ?? String(err), typeof e?.status === 'number' ? e.status : undefined);
  }
}

/**
 * Whether a check result stops the deploy: every failure, and a check that could not be made —
 * unless the check says it is advisory (security alerts the token may not read: see security.ts).
 */
export function isBlocking(c: CheckResult): boolean {
  if (c.status === 'fail') return true;
  return c.status === 'not-checked' && c.details?.advisory !== true;
}
