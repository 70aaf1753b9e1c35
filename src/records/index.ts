/**
 * The GitHub deployment record of a run — the public API for the steps:
 * - deploy step: `checkLock`, `activeCommit` (blue's commit when Vercel has none), `findRunRecord`,
 *   `createRecord` (once per run, after blue is known and before any traffic moves, with the rollback
 *   target in its payload);
 * - traffic step: `setRecordStatus` (`in_progress` heartbeats with the current share);
 * - validation / cleanup / rollback mode: `finalizeRecord`, `loadRecords`, `previousReleases`;
 * - the post step: `markInterrupted`.
 */
import type { RunStatus } from '../pipeline/types.js';
import { setRecordStatus, type RecordsApi, type RecordState } from './github.js';
import type { RecordView } from './lock.js';

export {
  EnvironmentLockedError,
  activeCommit,
  checkLock,
  createRecord,
  findRunRecord,
  loadRecords,
  setRecordStatus,
} from './github.js';
export type { CreateRecordInput, LockInput, RecordsApi, RecordState } from './github.js';
export { decideLock, isInProgress, type LockDecision, type RecordView } from './lock.js';
export { PAYLOAD_TOOL, isSnapshot, parsePayload, type RecordPayload } from './payload.js';

/** The final state of a run's record for its run status (no-go and plan runs have no record). */
export function recordStateFor(status: RunStatus, cancelled = false): RecordState | undefined {
  if (cancelled) return 'error';
  switch (status) {
    case 'success':
      return 'success';
    case 'rolled-back':
    case 'failed':
      return 'failure';
    default:
      return undefined;
  }
}

/**
 * Close the run's record: `success` (production serves green), `failure` (rolled back, or failed
 * after the record was made), `error` (cancelled / crashed). The description says why in one line.
 */
export async function finalizeRecord(
  api: Pick<RecordsApi, 'createDeploymentStatus'>,
  input: {
    id: number;
    status: RunStatus;
    reason: string;
    logUrl: string;
    environmentUrl?: string;
    cancelled?: boolean;
  },
): Promise<RecordState | undefined> {
  const state = recordStateFor(input.status, input.cancelled);
  if (!state) return undefined;
  const lead =
    state === 'success'
      ? 'Live'
      : input.status === 'rolled-back'
        ? 'Rolled back'
        : state === 'error'
          ? 'Interrupted'
          : 'Failed';
  await setRecordStatus(api, input.id, state, {
    description: `${lead}: ${input.reason}`,
    logUrl: input.logUrl,
    ...(input.environmentUrl ? { environmentUrl: input.environmentUrl } : {}),
  });
  return state;
}

/**
 * The post step's mark: the record says `error` with why. Reads the latest status first and adds
 * none when it already says `error`, so a second post run changes nothing.
 */
export async function markInterrupted(
  api: Pick<RecordsApi, 'createDeploymentStatus' | 'listDeploymentStatuses'>,
  input: { id: number; description: string; logUrl: string },
): Promise<boolean> {
  const latest = (await api.listDeploymentStatuses(input.id))[0];
  if (latest?.state === 'error') return false;
  await setRecordStatus(api, input.id, 'error', { description: input.description, logUrl: input.logUrl });
  return true;
}

/**
 * Earlier releases of the environment, newest first: our deploy records whose latest status is
 * `success` or `inactive` (a later release superseded them). Rollback mode's `previous` is the
 * newest of these that is not the live one.
 */
export function previousReleases(records: readonly RecordView[]): RecordView[] {
  return records.filter(
    (r) => r.payload.kind === 'deploy' && (r.latest?.state === 'success' || r.latest?.state === 'inactive'),
  );
}
