/**
 * The post step's reconcile (registry `reconcile`; src/pipeline/post-step.ts decides when to call
 * it): the main step stopped mid-switch — cancelled, crashed, timed out — so put the recorded
 * traffic state back, check that production answers from blue, and mark the run's GitHub
 * deployment `error`. Idempotent at the providers: it reads before it writes, so a second run
 * finds everything in place and makes no mutating request.
 */
import type { RunContext } from '../../pipeline/context.js';
import type { StepOutcome } from '../../pipeline/types.js';
import { closeRecord, finalStatus } from '../../records/index.js';
import { restoreBlue, type Restored } from '../../traffic/index.js';
import { errorMessage } from '../../text.js';

/** The post step's reconcile (the registry's `reconcile`). */
export async function reconcile(ctx: RunContext): Promise<StepOutcome> {
  const { config, providers, log, state } = ctx;
  if (!state.trafficBefore) return { status: 'skipped', reason: 'no traffic state was recorded: traffic never moved' };
  const why = `the main step stopped in phase ${state.phase}${state.greenShare !== undefined ? ` with green at ${state.greenShare}%` : ''}`;
  let done: Restored;
  try {
    // The recorded state is back: saved at once, so a second post step does not move traffic again.
    done = await restoreBlue(ctx.traffic(), state, why, log, () => ctx.update({ restored: true, greenShare: 0 }));
  } catch (err) {
    if (!ctx.state.restored) throw err;
    return { status: 'failed', reason: errorMessage(err) };
  }
  const verified = done.verified;

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
}
