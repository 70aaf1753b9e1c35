/**
 * The post step's reconcile (registry `reconcile`; src/pipeline/reconcile.ts decides when to call
 * it): the main step stopped mid-switch — cancelled, crashed, timed out — so put the recorded
 * traffic state back, check that production answers from blue, and mark the run's GitHub
 * deployment `error`. Idempotent at the providers: it reads before it writes, so a second run
 * finds everything in place and makes no mutating request.
 */
import type { StepContext, StepOutcome } from '../pipeline/types.js';
import { errorMessage } from '../pipeline/verdict.js';
import type { Providers } from '../providers/index.js';
import { closeRecord, finalStatus } from '../records/index.js';
import { createTrafficManager } from '../traffic/index.js';
import type { Reconcile } from './index.js';

export const reconcile: Reconcile = async (ctx: StepContext<Providers>): Promise<StepOutcome> => {
  const { config, providers, log, state } = ctx;
  if (!state.trafficBefore) return { status: 'skipped', reason: 'no traffic state was recorded: traffic never moved' };
  const manager = createTrafficManager(config, providers, log, ctx.signal);
  const why = `the main step stopped in phase ${state.phase}${state.greenShare !== undefined ? ` with green at ${state.greenShare}%` : ''}`;
  const done = await manager.restore(state.trafficBefore, why);
  log.info(done.changed ? `Restored: ${done.what}` : `Nothing to change: ${done.what}`);
  ctx.update({ restored: true, greenShare: 0 });

  let verified = 'production was not checked (blue unknown)';
  if (state.blue) {
    const check = await manager.verify({ deployment: state.blue, ...(state.green ? { other: state.green } : {}) });
    if (!check.ok) {
      return {
        status: 'failed',
        reason: `the recorded traffic state is back, but production does not answer from blue ${state.blue.id}: ${check.reason}`,
      };
    }
    verified = `production answers from blue ${state.blue.id} (${check.reason})`;
  }

  let record = '';
  if (state.githubDeploymentId !== undefined) {
    try {
      const marked = await closeRecord(
        providers.github,
        config,
        state.githubDeploymentId,
        finalStatus({ at: 'post-restored', state }),
        { check: { skipIf: 'same', ifUnreadable: 'throw' } },
      );
      record = marked.wrote ? `; GitHub deployment ${state.githubDeploymentId} marked error` : '';
    } catch (err) {
      log.warning(`Could not mark GitHub deployment ${state.githubDeploymentId} as error: ${errorMessage(err)}`);
    }
  }
  if (!done.changed) {
    return { status: 'skipped', reason: `${done.what}; ${verified}${record}` };
  }
  return { status: 'passed', reason: `${done.what}; ${verified}${record}` };
};
