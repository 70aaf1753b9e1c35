/**
 * The one writer of a run record's final status (decided by `finalStatus`, ./closing.ts): the
 * status itself, and on `success` the environment's earlier `success` records set `inactive`
 * (production serves one release). Whether it reads the latest status first is the caller's
 * choice, since each moment of closing knows a different amount about the record.
 */
import type { Config } from '../config/types.js';
import type { Logger } from '../pipeline/types.js';
import type { FinalStatus } from './closing.js';
import { deploymentsWithLatest, setRecordStatus, type RecordsApi } from './github.js';
import { errorMessage } from '../text.js';

/** What closing a record needs of the GitHub adapter. */
export type ClosingApi = Pick<
  RecordsApi,
  'createDeploymentStatus' | 'listDeploymentStatuses' | 'listDeployments' | 'listDeploymentsWithStatus'
>;

/** What closing a record needs of the configuration. */
export type ClosingConfig = Pick<Config, 'environment' | 'productionUrl'> & {
  run: Pick<Config['run'], 'runUrl' | 'sha'>;
};

/** States that mean "nobody has closed this record yet". */
const OPEN = new Set(['in_progress', 'queued', 'pending']);

/** How to close one record. */
export type CloseOptions = {
  /**
   * Read the latest status first and write nothing when `skipIf` holds: `closed` — it is already
   * closed; `same` — it already says this state. When it cannot be read, `ifUnreadable`: `write`
   * anyway, saying so in `log` (one more status is harmless, a record left open holds the
   * environment), or `throw` (run twice against a store that keeps failing reads, the caller must
   * not write twice). Absent: write without reading (the caller knows the record is open).
   */
  check?: { skipIf: 'closed' | 'same'; ifUnreadable: 'write' | 'throw' };
  /** The description of the earlier records set `inactive`; default "Replaced by <sha> (deployment <id>)". */
  replaced?: string;
} & (
  | {
      /** The record is closed even when the earlier ones cannot be set inactive: warned in `log`. */
      inactiveFailure: 'warn';
      log: Logger;
    }
  | { inactiveFailure?: 'throw'; log?: Logger }
);

/** What closing did: whether it wrote the status, and the earlier records it set inactive. */
export interface Closed {
  wrote: boolean;
  inactive: number[];
}

/**
 * Gives record `id` its final status `status` (the description cut to 140 characters; production-url
 * linked on `success` and where `linksProduction` says), unless `opts.check` finds it need not.
 * On a written `success`, the environment's earlier `success` records go `inactive`.
 */
export async function closeRecord(
  github: ClosingApi,
  config: ClosingConfig,
  id: number,
  status: FinalStatus,
  opts: CloseOptions = {},
): Promise<Closed> {
  if (opts.check) {
    const { skipIf, ifUnreadable } = opts.check;
    try {
      const latest = (await github.listDeploymentStatuses(id))[0]?.state;
      const done = skipIf === 'same' ? latest === status.state : latest !== undefined && !OPEN.has(latest);
      if (done) return { wrote: false, inactive: [] };
    } catch (err) {
      if (ifUnreadable === 'throw') throw err;
      opts.log?.warning(
        `Could not read GitHub deployment ${id}'s statuses (${errorMessage(err)}); writing its final status anyway`,
      );
    }
  }
  const link = (status.state === 'success' || status.linksProduction) && config.productionUrl;
  // For a success, the earlier records' statuses are read while it is written (reads need not wait
  // for the write); they are set inactive only once the success is written.
  const earlier = status.state === 'success' ? earlierSuccesses(github, config.environment, id) : undefined;
  earlier?.catch(() => undefined); // awaited below when the write succeeded
  await setRecordStatus(github, id, status.state, {
    description: status.description,
    logUrl: config.run.runUrl,
    ...(link ? { environmentUrl: link } : {}),
  });
  if (!earlier) return { wrote: true, inactive: [] };
  try {
    const inactive = await setInactive(github, await earlier, {
      description: opts.replaced ?? `Replaced by ${config.run.sha.slice(0, 7)} (deployment ${id})`,
      logUrl: config.run.runUrl,
    });
    return { wrote: true, inactive };
  } catch (err) {
    if (opts.inactiveFailure !== 'warn') throw err;
    opts.log.warning(
      `GitHub deployment ${id} is success, but the earlier ones could not be set inactive: ${errorMessage(err)}`,
    );
    return { wrote: true, inactive: [] };
  }
}

/**
 * The environment's newest deployments other than `ownId` whose latest status is still `success`:
 * they become `inactive` once `ownId` is (production serves one release). GitHub's `auto_inactive`
 * does not do this for production environments, and deployments made by other tools (Vercel's app)
 * count too.
 */
async function earlierSuccesses(github: ClosingApi, environment: string, ownId: number): Promise<number[]> {
  const others = await deploymentsWithLatest(github, environment, 30, (d) => d.id !== ownId);
  return others.filter((x) => x.latest?.state === 'success').map((x) => x.deployment.id);
}

/** Sets each of `ids` inactive, one after another; returns the ids changed. */
async function setInactive(
  github: ClosingApi,
  ids: readonly number[],
  s: { description: string; logUrl: string },
): Promise<number[]> {
  const changed: number[] = [];
  for (const id of ids) {
    await setRecordStatus(github, id, 'inactive', s);
    changed.push(id);
  }
  return changed;
}
