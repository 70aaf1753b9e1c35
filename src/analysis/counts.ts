/**
 * The count queries of one tick, judged by the decision procedure (`decideStep`, decide.ts): green's
 * requests and errors since the switch against blue's (concurrent, or blue's window before the
 * switch), plus the hard limit `error-rate-threshold` on a confidence bound; with latency buckets,
 * green's percentile against blue's and `performance-threshold-ms` on the sign test's bound. Pure.
 *
 * Data validity is judged here, before `decideStep` sees any count: a count query that could not be
 * answered is a query error (retried, counted apart), never a zero.
 */
import { DECISION_DEFAULTS, DEFAULT_MAX_HOLD_FACTOR, decideStep, type StepDecision } from './decide.js';
import type { AnalysisPolicy, CountObservation, Counts, SampleOutcome } from './types.js';

export { DEFAULT_MAX_HOLD_FACTOR };

export interface CountJudgement {
  outcome: SampleOutcome;
  text: string;
  green?: Counts;
  blue?: Counts;
  step?: NonNullable<import('./types.js').Sample['step']>;
}

/** Judge one tick's counts under the run's policy. */
export function judgeCounts(obs: CountObservation, policy: AnalysisPolicy): CountJudgement {
  const bad = [obs.green, obs.blue].find((c) => c?.kind === 'error');
  if (bad && bad.kind === 'error') return { outcome: 'error', text: `count query failed: ${bad.error}` };
  if (obs.latencyError) return { outcome: 'error', text: `blue's latency query failed: ${obs.latencyError}` };
  const green = obs.green.kind === 'counts' ? obs.green.counts : undefined;
  const blue = obs.blue?.kind === 'counts' ? obs.blue.counts : undefined;
  if (!green) return { outcome: 'error', text: 'count query failed: no counts' };
  const who = obs.basis === 'production' ? 'production' : 'green';
  const minRequests = policy.minRequests ?? DECISION_DEFAULTS.minRequests;
  const decision = decideStep(
    {
      green,
      ...(blue && obs.basis === 'concurrent' ? { blue } : {}),
      ...(blue && obs.basis === 'baseline' ? { baseline: blue } : {}),
      ...(obs.latency ? { latency: obs.latency } : {}),
      elapsedMs: obs.toMs - obs.fromMs,
      holdMs: obs.holdMs,
      maxHoldMs: obs.maxHoldMs,
      requirePass: obs.requirePass,
    },
    {
      ...DECISION_DEFAULTS,
      margin: policy.comparisonMargin ?? DECISION_DEFAULTS.margin,
      relativeMargin:
        policy.relativeMargin === 0 ? Infinity : (policy.relativeMargin ?? DECISION_DEFAULTS.relativeMargin),
      minRequests,
      errorRateThreshold: policy.errorRateThreshold,
      ...(obs.latency ? { latencyThresholdMs: policy.latencyThresholdMs } : {}),
      // One relative margin for errors and latency (0 caps no error margin: latency keeps its default).
      latencyMargin: policy.relativeMargin ? policy.relativeMargin : DECISION_DEFAULTS.latencyMargin,
      onInconclusive: policy.insufficientData === 'fail' ? 'hold' : 'rollback',
    },
  );
  const out: CountJudgement = { outcome: 'pass', text: '', green, ...(blue ? { blue } : {}) };
  const label = (t: string) => (who === 'production' ? t.replace(/^green\b/, 'production') : t);
  switch (decision.action) {
    case 'rollback':
      return { ...out, outcome: 'breach', step: 'rollback', text: label(decision.reason) };
    case 'inconclusive':
      return { ...out, outcome: 'insufficient', step: 'inconclusive', text: label(noDataNote(green, blue, decision)) };
    case 'advance':
      return { ...out, outcome: 'pass', step: 'advance', text: label(decision.reason) };
    case 'continue': {
      const few = green.requests < minRequests || (blue !== undefined && blue.requests < minRequests);
      return {
        ...out,
        outcome: few || decision.extended ? 'insufficient' : 'pass',
        step: decision.extended ? 'extend' : 'continue',
        text: label(verdictLine(decision)),
      };
    }
  }
}

/** The most telling line of a `continue`: the comparison when there is one, else what is missing. */
function verdictLine(d: Extract<StepDecision, { action: 'continue' }>): string {
  const v = d.verdicts;
  const parts = [v.errors?.reason, v.errorLimit?.reason, v.latency?.reason, v.latencyLimit?.reason].filter(
    (x): x is string => Boolean(x),
  );
  return d.extended || parts.length === 0 ? d.reason : parts.join('; ');
}

/** No requests at all is said plainly: a query that matches nothing looks exactly like this. */
function noDataNote(green: Counts, blue: Counts | undefined, d: StepDecision): string {
  if (green.requests > 0) return d.reason;
  const whose = blue && blue.requests === 0 ? 'green nor blue' : 'green';
  return `no requests at all were counted for ${whose} (check the count queries' tags and version-identity); ${d.reason}`;
}
