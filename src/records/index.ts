/**
 * The GitHub deployment record of a run — the public API for the steps:
 * - deploy step: `checkLock`, `activeCommit` (blue's commit when Vercel has none), `findRunRecord`,
 *   `createRecord` (once per run, after blue is known and before any traffic moves, with the rollback
 *   target in its payload);
 * - traffic step: `setRecordStatus` (`in_progress` heartbeats with the current share);
 * - cleanup / rollback mode: `loadRecords`, `previousReleases`;
 * - closing a run (cleanup, rollback mode, the end of the main step, the post step): `finalStatus`
 *   decides the record's final status, `closeRecord` writes it.
 */
import type { RecordView } from './lock.js';

export {
  EnvironmentLockedError,
  activeCommit,
  checkLock,
  deploymentsWithLatest,
  createRecord,
  findRunRecord,
  loadRecords,
  setRecordStatus,
} from './github.js';
export type { CreateRecordInput, LockInput, RecordsApi, RecordState } from './github.js';
export { finalStatus, trafficMoved, type ClosingMoment, type FinalStatus } from './closing.js';
export { closeRecord, type ClosingApi, type ClosingConfig, type CloseOptions, type Closed } from './close.js';
export {
  decideLock,
  heartbeatEveryMs,
  isInProgress,
  lockStaleAfterMs,
  type LockDecision,
  type RecordView,
} from './lock.js';
export { PAYLOAD_TOOL, isSnapshot, parsePayload, type RecordPayload } from './payload.js';

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
