/**
 * Step 6, post-deployment validation: watch production through Datadog for `validation-window`
 * (`rollback-window` for `immediate`) after the final switch, a sample every `validation-interval`.
 * Too many breaches, or production that cannot be observed, fail the step with the measured value
 * against its threshold; the runner's policy then restores blue. `no-data: inconclusive` fails the
 * step with `details.noRollback: true`: stop without rolling back.
 */
import { summarize } from '../analysis/analysis.js';
import { formatSpan } from '../analysis/format.js';
import type { Step, StepOutcome } from '../pipeline/types.js';
import { sampleWindow } from './validate/sampler.js';
import { analysisChecks, analysisDetails, logSample, monitoringOf, runAnalysis } from './validate/run.js';

/** The validate step. Provider-agnostic: it reads Datadog's settings from the config. */
export const validateStep: Step<unknown> = {
  name: 'validate',
  title: 'Post-deployment validation',
  async run(ctx): Promise<StepOutcome> {
    const { config, log, signal } = ctx;
    if (config.mode !== 'deploy') return { status: 'skipped', reason: `not part of mode ${config.mode}` };
    const immediate = config.strategy === 'immediate';
    const durationMs = immediate ? config.validation.rollbackWindowMs : config.validation.windowMs;
    const windowName = immediate ? 'rollback-window' : 'validation-window';
    const intervalMs = config.validation.intervalMs;
    const monitoring = monitoringOf(config);
    if ('skip' in monitoring) {
      // Nothing can be watched: the release stands as switched (the post step must not undo it).
      ctx.update({ phase: 'validated' });
      return { status: 'skipped', reason: monitoring.skip };
    }
    const analysis = runAnalysis(config);
    const { policy } = monitoring;
    if (analysis.decision) {
      // A traffic step's analysis already decided; it failed that step, so this is only a safeguard.
      return { status: 'failed', reason: analysis.decision.reason, details: { cause: analysis.decision.kind } };
    }
    const before = analysis.samples.length;
    log.info(
      `Watching production for ${formatSpan(durationMs)} (${windowName}), a sample every ${formatSpan(intervalMs)}: ` +
        `error rate > ${policy.errorRateThreshold} or latency > ${policy.latencyThresholdMs} ms is a breach; ` +
        `more than ${policy.failureLimit} breach(es) roll back`,
    );
    const { decision } = await sampleWindow({
      source: monitoring.source,
      signals: monitoring.signals,
      policy,
      analysis,
      durationMs,
      intervalMs,
      share: ctx.state.greenShare ?? 100,
      signal,
      log,
      onSample: (s) => logSample(log, s),
    });
    const details = analysisDetails(analysis, policy, { durationMs, intervalMs }, 'Post-deploy validation samples');
    details.windowSamples = analysis.samples.length - before;
    const checks = analysisChecks(analysis, policy, monitoring.signals);
    if (decision.kind === 'rollback') {
      log.error(`Rolling back: ${decision.reason}`);
      return { status: 'failed', reason: decision.reason, checks, details: { ...details, cause: decision.cause } };
    }
    if (decision.kind === 'inconclusive') {
      log.error(`Stopping without rollback: ${decision.reason}`);
      return {
        status: 'failed',
        reason: decision.reason,
        checks,
        details: { ...details, cause: 'inconclusive', noRollback: true },
      };
    }
    const verdict = summarize(analysis, policy);
    ctx.update({ phase: 'validated' });
    return { status: verdict.status === 'warned' ? 'warned' : 'passed', reason: verdict.reason, checks, details };
  },
};
