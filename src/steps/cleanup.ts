/**
 * Step 7, cleanup and finalisation, after the validation window passed: write down what shipped,
 * retire blue (green's pool becomes the fallback; blue keeps weight 0 and its slot hostname, so a
 * later rollback is still a weight change), give the GitHub deployment its final status (the previous
 * one goes inactive), record the release in Datadog (event + DORA), and apply `keep-deployments`.
 * Every task that fails is a warning: the deploy stands.
 */
import type { RunStep } from '../pipeline/context.js';
import type { CheckResult, StepOutcome } from '../pipeline/types.js';
import {
  finishRecord,
  pruneDeployments,
  recordInDatadog,
  retireBlue,
  shippedMarkdown,
  task,
  whatShipped,
} from './cleanup/tasks.js';
import type { Shipped } from './cleanup/release.js';

/** When the run started: the first step's start (the DORA record's `started_at`). */
function runStartedAt(results: readonly { startedAt: string }[]): number {
  const t = Date.parse(results[0]?.startedAt ?? '');
  return Number.isFinite(t) ? t : Date.now();
}

/** The cleanup step. */
export const cleanupStep: RunStep = {
  name: 'cleanup',
  title: 'Cleanup and notification',
  async run(ctx): Promise<StepOutcome> {
    const { config, providers, log } = ctx;
    if (config.mode !== 'deploy') return { status: 'skipped', reason: `not part of mode ${config.mode}` };
    const state = ctx.state;
    const checks: CheckResult[] = [];
    let shipped: Shipped | undefined;
    // Independent tasks run together; the report keeps their order. Retiring blue needs nothing of the
    // others; the record and the Datadog release say what shipped; pruning reads the records after
    // this run's is closed (so it sees the environment as the run leaves it).
    const [shippedCheck, retired] = await Promise.all([
      task('what shipped', async () => {
        const r = await whatShipped(providers.github, config, state);
        shipped = r.shipped;
        return r.check;
      }),
      task('retire blue', () => retireBlue(ctx.traffic(), ctx.state)),
    ]);
    checks.push(shippedCheck, retired);
    if (shipped) for (const c of shipped.commits) log.untrusted(`shipped ${c.sha.slice(0, 7)} ${c.message}`);
    const [record, released] = await Promise.all([
      task('GitHub deployment', () => finishRecord(providers.github, config, ctx.state, shipped)),
      task('Datadog deployment', () =>
        recordInDatadog(providers.datadog, config, ctx.state, runStartedAt(ctx.results), shipped),
      ),
    ]);
    checks.push(record, released);
    checks.push(
      await task('keep-deployments', () =>
        pruneDeployments(providers.vercel, providers.github, config, ctx.state, log),
      ),
    );

    const warned = checks.filter((c) => c.status === 'warn' || c.status === 'fail');
    for (const c of warned) log.warning(`Cleanup: ${c.name}: ${c.reason}`);
    const repoUrl = `${config.run.serverUrl}/${config.run.owner}/${config.run.repo}`;
    const details: Record<string, unknown> = shipped ? { shipped } : {};
    const markdown = shipped ? { markdown: shippedMarkdown(shipped, repoUrl) } : {};
    const done = checks.filter((c) => c.status === 'pass').map((c) => c.name);
    if (warned.length > 0) {
      return {
        status: 'warned',
        reason: `${warned.map((c) => `${c.name}: ${c.reason}`).join('; ')} (the deploy stands)`,
        checks,
        details,
        ...markdown,
      };
    }
    return {
      status: 'passed',
      reason: done.length ? `done: ${done.join(', ')}` : 'nothing to clean up',
      checks,
      details,
      ...markdown,
    };
  },
};
