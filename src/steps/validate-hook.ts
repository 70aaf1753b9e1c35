/**
 * `analyzeStep`: hold one traffic step for its duration and analyse production meanwhile. The
 * traffic step (canary, or blue-green with `traffic-steps`) calls it after each weight change; a
 * breach at any step ends the rollout there — the traffic step then fails, and the runner restores
 * blue. Samples join the run's one analysis, so `failure-limit` counts across all steps and the
 * validate step's chart shows them all.
 */
import { summarize } from '../analysis/analysis.js';
import { formatSpan } from '../analysis/format.js';
import type { Decision, Sample } from '../analysis/types.js';
import type { StepContext } from '../pipeline/types.js';
import { abortableSleep, sampleWindow } from './validate/sampler.js';
import { analysisDetails, logSample, monitoringOf, runAnalysis } from './validate/run.js';

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
   * `no-data: inconclusive`: stop and fail the job WITHOUT rolling back. The traffic step should put
   * `noRollback: true` in its failed outcome's details (see the validate step).
   */
  noRollback?: boolean;
  /** Details for the step's report (all of the run's samples so far, totals, chart markdown). */
  details: Record<string, unknown>;
}

/**
 * Hold green at `share` percent for `durationMs`, sampling every `validation-interval`. Resolves
 * early with `ok: false` on the first terminal decision. Rejects only when the run is cancelled.
 */
export async function analyzeStep<P>(
  ctx: StepContext<P>,
  opts: { share: number; durationMs: number },
): Promise<StepAnalysis> {
  const { config, log, signal } = ctx;
  const span = formatSpan(opts.durationMs);
  const monitoring = monitoringOf(config);
  if ('skip' in monitoring) {
    log.info(`Holding green at ${opts.share}% for ${span} without analysis: ${monitoring.skip}`);
    await abortableSleep(opts.durationMs, signal);
    return {
      ok: true,
      decision: { kind: 'continue' },
      reason: `held ${span} at ${opts.share}% without analysis (${monitoring.skip})`,
      samples: [],
      unanalysed: true,
      details: {},
    };
  }
  const analysis = runAnalysis(config);
  const intervalMs = config.validation.intervalMs;
  log.info(`Holding green at ${opts.share}% for ${span}, sampling every ${formatSpan(intervalMs)}`);
  const { decision, samples } = await sampleWindow({
    source: monitoring.source,
    signals: monitoring.signals,
    policy: monitoring.policy,
    analysis,
    durationMs: opts.durationMs,
    intervalMs,
    share: opts.share,
    signal,
    log,
    onSample: (s) => logSample(log, s),
  });
  const details = analysisDetails(
    analysis,
    monitoring.policy,
    { durationMs: opts.durationMs, intervalMs },
    'Traffic step analysis',
  );
  if (decision.kind === 'continue') {
    const verdict = summarize(analysis, monitoring.policy);
    return { ok: true, decision, reason: `green at ${opts.share}% for ${span}: ${verdict.reason}`, samples, details };
  }
  const where = `at ${opts.share}%`;
  if (decision.kind === 'inconclusive') {
    return { ok: false, decision, reason: `${decision.reason} (${where})`, samples, noRollback: true, details };
  }
  return { ok: false, decision, reason: `${decision.reason} (${where})`, samples, details };
}
