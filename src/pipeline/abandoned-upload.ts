/**
 * An upload that never became a verified backup (the main step stopped mid-upload, or gave up on it)
 * must not stay in the bucket, where it could be taken for a backup to restore from. The post step
 * removes it here, through the backup store.
 */
import type { BackupStore } from '../providers/index.js';
import { sleep } from '../text.js';
import type { BackupInFlight } from './types.js';

/**
 * How long after an upload was given up on the store may still complete it: a store finishes a
 * request whose body it had received even when the client has gone, which normally takes moments.
 * A generous bound; the post step waits it out only after a run stopped mid-upload.
 */
export const LATE_WRITE_MS = 10_000;

/** How often the post step looks at the key while a late write may still land. */
const WATCH_EVERY_MS = 500;

/**
 * The post step's part of "complete and verified, or absent": nothing may stay under the key of an
 * upload that never became a verified backup. Reads before it writes (HeadObject, and DeleteObject
 * only when something is there), so a run that finds nothing makes no mutating request; and keeps
 * looking until `lateWriteMs` after the upload was abandoned (from now when that moment is unknown:
 * the main step died mid-upload), because a write the client gave up on can still land. Throws when
 * it cannot tell (HeadObject failing) or the object is still there after being deleted.
 */
export async function removeAbandonedBackup(
  store: Pick<BackupStore, 'exists' | 'deleteObject'>,
  inFlight: BackupInFlight,
  opts: { signal: AbortSignal; lateWriteMs?: number; everyMs?: number; now?: () => number },
): Promise<{ deleted: number; reason: string }> {
  const now = opts.now ?? Date.now;
  const where = { bucket: inFlight.bucket, key: inFlight.key };
  const url = `s3://${where.bucket}/${where.key}`;
  const abandoned = Date.parse(inFlight.abandonedAt ?? '');
  const until = (Number.isFinite(abandoned) ? abandoned : now()) + (opts.lateWriteMs ?? LATE_WRITE_MS);
  let deleted = 0;
  for (;;) {
    if (await store.exists(where, { signal: opts.signal })) {
      await store.deleteObject(where, { signal: opts.signal });
      deleted++;
      if (await store.exists(where, { signal: opts.signal })) throw new Error(`${url} is still there after a delete`);
    }
    const left = until - now();
    if (left <= 0) break;
    await sleep(Math.min(left, opts.everyMs ?? WATCH_EVERY_MS), opts.signal);
  }
  return {
    deleted,
    reason:
      deleted > 0
        ? `removed ${url}: an upload that was never verified (it is not a backup)`
        : `nothing is left under ${url} (the upload that was never verified)`,
  };
}
