/**
 * Step 6, post-deployment validation: watch production through Datadog for `validation-window`
 * (`rollback-window` for `immediate`) after the final switch, a sample every `validation-interval`.
 * Too many breaches, or production that cannot be observed, fail the step with the measured value
 * against its threshold; the runner's policy then restores blue. `no-data: inconclusive` fails the
 * step with `stopWithoutRollback`: stop without rolling back.
 */
import { summarize } from '../analysis/analysis.js';
import { formatSpan } from '../analysis/format.js';
import { policyFromConfig } from '../analysis/policy.js';
import type { RunStep } from '../pipeline/context.js';
import { STEP_TITLES } from '../pipeline/modes.js';
import type { StepOutcome } from '../pipeline/types.js';
import { startHeartbeat } from '../records/heartbeat.js';
import { watchProduction } from '../watch/production.js';
import { awaitGate, startGate } from '../watch/gate.js';
import { prefetchShipped } from './cleanup/tasks.js';

/** The validate step. Provider-agnostic: it reads Datadog's settings from the config. */
export const validateStep: RunStep = {
  name: 'validate',
  title: STEP_TITLES.validate,
  async run(ctx): Promise<StepOutcome> {
    const { config, log, analysis } = ctx;
    if (config.mode !== 'deploy') return { status: 'skipped', reason: `not part of mode ${config.mode}` };
    const immediate = config.strategy === 'immediate';
    const durationMs = immediate ? config.validation.rollbackWindowMs : config.validation.windowMs;
    const windowName = immediate ? 'rollback-window' : 'validation-window';
    const intervalMs = config.validation.intervalMs;
    if (analysis.decision) {
      // A traffic step's analysis already decided; it failed that step, so this is only a safeguard.
      return { status: 'failed', reason: analysis.decision.reason, details: { cause: analysis.decision.kind } };
    }
    const policy = policyFromConfig(config);
    const before = analysis.samples.length;
    const gateNote = config.validation.gate
      ? `, then the Deployment Gate (up to ${formatSpan(config.validation.gate.timeoutMs)})`
      : '';
    const beat = startHeartbeat(
      ctx,
      (t) => `Validating: production watched ${t} of ${formatSpan(durationMs)}${gateNote}`,
    );
    // The Deployment Gate (if any) evaluates green beside the watch; its verdict joins the watch's.
    const gate = startGate(ctx, ctx.state.green);
    prefetchShipped(ctx.providers.github, ctx.state);
    const watched = watchProduction(ctx, {
      durationMs,
      share: ctx.state.greenShare ?? 100,
      heading: 'Post-deploy validation samples',
      // Green serves all traffic: blue's own window before the switch is the control.
      releases: { green: ctx.state.green, blue: ctx.state.blue },
      control: 'baseline',
      requirePass: true,
      onStart: () =>
        log.info(
          `Watching production for ${formatSpan(durationMs)} (${windowName}), a sample every ${formatSpan(intervalMs)}: ` +
            `error rate > ${policy.errorRateThreshold} or latency > ${policy.latencyThresholdMs} ms is a breach; ` +
            `more than ${policy.failureLimit} breach(es) roll back`,
        ),
    });
    const watch = await awaitGate(ctx, watched, gate).finally(beat);
    if (!watch.watched) {
      // Nothing can be watched: the release stands as switched (the post step must not undo it).
      ctx.update({ phase: 'validated' });
      return { status: 'skipped', reason: watch.skip };
    }
    const { decision, checks, markdown } = watch;
    const details = { ...watch.details, windowSamples: analysis.samples.length - before };
    if (decision.kind === 'rollback') {
      log.error(`Rolling back: ${decision.reason}`);
      return {
        status: 'failed',
        reason: decision.reason,
        checks,
        markdown,
        details: { ...details, cause: decision.cause },
      };
    }
    if (decision.kind === 'inconclusive') {
      log.error(`Stopping without rollback: ${decision.reason}`);
      return {
        status: 'failed',
        reason: decision.reason,
        checks,
        markdown,
        details: { ...details, cause: 'inconclusive' },
        stopWithoutRollback: true,
      };
    }
    const verdict = summarize(analysis, policy);
    ctx.update({ phase: 'validated' });
    return {
      status: verdict.status === 'warned' || watch.gate?.check.status === 'warn' ? 'warned' : 'passed',
      reason: watch.gate ? `${verdict.reason}; ${watch.gate.reason}` : verdict.reason,
      checks,
      markdown,
      details,
    };
  },
};
