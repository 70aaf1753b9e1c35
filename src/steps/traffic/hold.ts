/**
 * `analyzeStep`: hold one traffic step for its duration and analyse production meanwhile. The
 * traffic step (canary, or blue-green with `traffic-steps`) calls it after each weight change; a
 * breach at any step ends the rollout there — the traffic step then fails, and the runner restores
 * blue. Samples join the run's one analysis, so `failure-limit` counts across all steps and the
 * validate step's chart shows them all.
 */
import { summarize } from '../../analysis/analysis.js';
import { formatSpan } from '../../analysis/format.js';
import { policyFromConfig } from '../../analysis/policy.js';
import type { Decision, Sample } from '../../analysis/types.js';
import { watchProduction, type WatchContext } from '../../watch/production.js';
import { sleep } from '../../text.js';
import type { RunState } from '../../pipeline/types.js';

/** What one analysed traffic step concluded. */
export interface StepAnalysis {
  /** True: go on to the next step. False: stop the rollout (the traffic step fails). */
  ok: boolean;
  /** The analysis' decision (`continue` when ok). */
  decision: Decision;
  /** One line: measured value against threshold and time when not ok; a summary when ok. */
  reason: string;
  /** Samples taken during this step. */
  samples: Sample[];
  /** True when monitoring is not configured: the step was held without analysis. */
  unanalysed?: boolean;
  /**
   * `no-data: inconclusive`: stop and fail the job WITHOUT rolling back; the traffic step passes it
   * on as its outcome's `stopWithoutRollback`.
   */
  stopWithoutRollback?: boolean;
  /** Details for the step's report (all of the run's samples so far, totals). */
  details: Record<string, unknown>;
  /** The chart of the run's samples so far, for the job summary (absent when unanalysed). */
  markdown?: string;
}

/**
 * Hold green at `share` percent for `durationMs`, sampling every `validation-interval`. Resolves
 * early with `ok: false` on the first terminal decision. Rejects only when the run is cancelled.
 */
export async function analyzeStep(
  ctx: WatchContext & { state?: Pick<RunState, 'green' | 'blue'> },
  opts: { share: number; durationMs: number; last?: boolean },
): Promise<StepAnalysis> {
  const { config, log, signal } = ctx;
  const span = formatSpan(opts.durationMs);
  const intervalMs = config.validation.intervalMs;
  const watch = await watchProduction(ctx, {
    durationMs: opts.durationMs,
    share: opts.share,
    heading: 'Traffic step analysis',
    // Both serve: green is compared with blue over the same windows.
    releases: { green: ctx.state?.green, blue: ctx.state?.blue },
    control: 'concurrent',
    requirePass: opts.last ?? false,
    onStart: () => log.info(`Holding green at ${opts.share}% for ${span}, sampling every ${formatSpan(intervalMs)}`),
  });
  if (!watch.watched) {
    log.info(`Holding green at ${opts.share}% for ${span} without analysis: ${watch.skip}`);
    await sleep(opts.durationMs, signal);
    return {
      ok: true,
      decision: { kind: 'continue' },
      reason: `held ${span} at ${opts.share}% without analysis (${watch.skip})`,
      samples: [],
      unanalysed: true,
      details: {},
    };
  }
  const { decision, samples, details, markdown } = watch;
  if (decision.kind === 'continue') {
    const verdict = summarize(ctx.analysis, policyFromConfig(config));
    return {
      ok: true,
      decision,
      reason: `green at ${opts.share}% for ${span}: ${verdict.reason}`,
      samples,
      details,
      markdown,
    };
  }
  const reason = `${decision.reason} (at ${opts.share}%)`;
  if (decision.kind === 'inconclusive') {
    return { ok: false, decision, reason, samples, stopWithoutRollback: true, details, markdown };
  }
  return { ok: false, decision, reason, samples, details, markdown };
}
