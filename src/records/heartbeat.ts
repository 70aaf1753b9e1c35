/**
 * The lock's heartbeat while a run watches production: an `in_progress` status on the run's record
 * every `heartbeatEveryMs` (a quarter of the stale threshold, at most every 5 minutes, at least a
 * minute apart), so a second run never takes a canary hold or a validation window for a dead run.
 * A watch shorter than one interval writes nothing: a short run makes no extra GitHub call.
 */
import type { Config } from '../config/types.js';
import type { Logger } from '../pipeline/types.js';
import { formatSpan } from '../analysis/format.js';
import { errorMessage } from '../text.js';
import { setRecordStatus, type RecordsApi } from './github.js';
import { heartbeatEveryMs, lockStaleAfterMs } from './lock.js';

/** What a heartbeat needs of the run. */
export interface HeartbeatContext {
  config: Pick<Config, 'strategy' | 'traffic' | 'validation' | 'run' | 'productionUrl'>;
  log: Pick<Logger, 'warning'>;
  readonly state: { githubDeploymentId?: number };
  providers: { github: Pick<RecordsApi, 'createDeploymentStatus'> };
}

/** One `in_progress` status with `description`. Never throws: a failed write is a warning. */
export async function writeHeartbeat(ctx: HeartbeatContext, description: string): Promise<void> {
  const id = ctx.state.githubDeploymentId;
  if (id === undefined) return;
  try {
    await setRecordStatus(ctx.providers.github, id, 'in_progress', {
      description,
      logUrl: ctx.config.run.runUrl,
      ...(ctx.config.productionUrl ? { environmentUrl: ctx.config.productionUrl } : {}),
    });
  } catch (err) {
    ctx.log.warning(`Could not update GitHub deployment ${id}: ${errorMessage(err)}`);
  }
}

/**
 * Starts writing a heartbeat every `everyMs` (default from the config), with `describe(elapsed)` as
 * the description ("… held 4m of 10m"). Returns the stop: it waits for a heartbeat in flight, so
 * none can land after the record's final status. Use as `work().finally(stop)`.
 */
export function startHeartbeat(
  ctx: HeartbeatContext,
  describe: (elapsed: string) => string,
  opts: { everyMs?: number } = {},
): () => Promise<void> {
  if (ctx.state.githubDeploymentId === undefined) return () => Promise.resolve();
  const everyMs = opts.everyMs ?? heartbeatEveryMs(lockStaleAfterMs(ctx.config));
  const started = Date.now();
  let stopped = false;
  let inFlight: Promise<void> = Promise.resolve();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const schedule = (): void => {
    timer = setTimeout(() => {
      if (stopped) return;
      inFlight = writeHeartbeat(ctx, describe(formatSpan(Date.now() - started))).then(() => {
        if (!stopped) schedule();
      });
    }, everyMs);
    timer.unref?.();
  };
  schedule();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await inFlight;
  };
}
