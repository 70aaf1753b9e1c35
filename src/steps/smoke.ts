/**
 * Step 4, smoke testing: the checks of `smoke-tests` against green's own URL (never production),
 * `smoke-samples` requests each, judged on every sample's expectations and on the p95 against the
 * check's `max-ms` or `performance-threshold-ms`. The report goes to the job summary (the checks)
 * and to the PR comment (its smoke section). Any failed check blocks the switch: production stays
 * on blue.
 */
import type { RunContext, RunStep } from '../pipeline/context.js';
import { STEP_TITLES } from '../pipeline/modes.js';
import type { StepOutcome } from '../pipeline/types.js';
import { deploymentBaseUrl } from '../providers/health.js';
import { upsertPrComment } from '../surfaces/pr-comment.js';
import { renderSmokeReport, smokeChecks } from './smoke/report.js';
import { runSmoke, type SmokeResult } from './smoke/checks.js';
import { errorMessage } from '../text.js';

export const smokeStep: RunStep = {
  name: 'smoke',
  title: STEP_TITLES.smoke,
  async run(ctx): Promise<StepOutcome> {
    const { config, log, signal } = ctx;
    if (config.mode !== 'deploy') return { status: 'skipped', reason: `not part of mode ${config.mode}` };
    const green = ctx.state.green;
    if (!green) return { status: 'failed', reason: 'no green deployment was staged: nothing to smoke-test' };
    const base = deploymentBaseUrl(green.url);
    const { checks, samples, performanceThresholdMs } = config.smoke;
    log.info(`Running ${checks.length} smoke check(s) against green ${green.id} (${base}), ${samples} sample(s) each`);
    const results = await runSmoke(checks, base, {
      samples,
      defaultMaxMs: performanceThresholdMs,
      ...(config.vercel.protectionBypass
        ? { headers: { 'x-vercel-protection-bypass': config.vercel.protectionBypass } }
        : {}),
      signal,
    });
    for (const r of results) {
      const request = `${r.method} ${r.path}`;
      const line = `${r.passed ? '✓' : '✗'} ${r.name}${r.name === request ? '' : ` (${request})`}: ${r.reason}`;
      if (r.passed) log.info(line);
      else log.error(line);
    }
    const markdown = renderSmokeReport(results, base);
    // The report is not waited for when every check passed: nothing that follows needs it, the
    // comment's writes go in order, and the run waits for it before it ends (main.ts).
    const commented = commentOnPr(ctx, markdown);
    const failed = results.filter((r) => !r.passed);
    if (failed.length > 0) await commented;
    const details = { target: base, green: green.id, samples, results: summarize(results) };
    if (failed.length > 0) {
      return {
        status: 'failed',
        reason: `${failed.length}/${results.length} smoke check(s) failed on green ${green.id} (first: ${failed[0]!.name}: ${failed[0]!.reason}); the switch is blocked`,
        checks: smokeChecks(results),
        details,
      };
    }
    ctx.update({ phase: 'smoke-passed' });
    return {
      status: 'passed',
      reason: `${results.length}/${results.length} smoke check(s) passed on green ${green.id}`,
      checks: smokeChecks(results),
      details,
    };
  },
};

/** The smoke section of the PR comment. A comment failure is a warning, never a failed step. */
async function commentOnPr(ctx: RunContext, markdown: string): Promise<void> {
  const { config, log } = ctx;
  const pull = ctx.state.pullNumber;
  if (!config.cleanup.prComment || pull === undefined) return;
  try {
    const res = await upsertPrComment(ctx.providers.github, {
      pull,
      environment: config.environment,
      sections: { smoke: markdown },
    });
    log.info(`Smoke report ${res.created ? 'posted to' : 'updated on'} PR #${pull}: ${res.url}`);
  } catch (err) {
    log.warning(`Could not post the smoke report to PR #${pull}: ${errorMessage(err)}`);
  }
}

function summarize(results: readonly SmokeResult[]) {
  return results.map((r) => ({
    name: r.name,
    passed: r.passed,
    p50Ms: Math.round(r.p50),
    p95Ms: Math.round(r.p95),
    budgetMs: r.budgetMs,
  }));
}
