/**
 * The analysis state machine: fold judged samples into running totals and decide after each one.
 *
 * - More than `failureLimit` breaching samples → roll back, with the sample that tipped it.
 * - Query errors are counted apart from bad values. Up to `consecutiveErrorLimit` in a row are
 *   tolerated (the next tick retries); one more means production cannot be observed → roll back
 *   (as Argo Rollouts and AWS CodeDeploy do). A window that ends on errors is not a pass: the caller
 *   keeps sampling (`needsMoreSamples`) until an observation succeeds or the limit is exceeded.
 * - No data: `warn` passes with a warning, `fail` was already judged a breach, `inconclusive`
 *   stops the analysis without rolling back.
 */
import { formatClock, formatRatio } from './format.js';
import { formatMs } from '../text.js';
import { judgeSample } from './judge.js';
import type { AnalysisPolicy, AnalysisState, Decision, Observation, Sample } from './types.js';

/** A fresh analysis. */
export function createAnalysis(): AnalysisState {
  return { samples: [], breaches: 0, consecutiveErrors: 0, errors: 0, noData: 0, insufficient: 0 };
}

/**
 * Add one judged sample and decide. Mutates `state` (it is the run's running record) and returns
 * the decision; once a terminal decision was taken, it is returned again and the sample is ignored.
 */
export function recordSample(state: AnalysisState, sample: Sample, policy: AnalysisPolicy): Decision {
  if (state.decision) return state.decision;
  state.samples.push(sample);
  // The counts' sequential test is valid however often it looks: its verdict ends the run at once.
  if (sample.step === 'rollback') {
    state.breaches += 1;
    state.decision = { kind: 'rollback', cause: 'breach', reason: sample.comparison ?? sample.reason };
    return state.decision;
  }
  if (sample.step === 'inconclusive') {
    state.insufficient += 1;
    const why = sample.comparison ?? sample.reason;
    state.decision =
      policy.insufficientData !== 'fail'
        ? { kind: 'rollback', cause: 'insufficient', reason: `${why}; insufficient-data: rollback rolls back` }
        : { kind: 'inconclusive', reason: `${why}; insufficient-data: fail stops and fails the job` };
    return state.decision;
  }
  switch (sample.outcome) {
    case 'breach':
      state.breaches += 1;
      state.consecutiveErrors = 0;
      if (state.breaches > policy.failureLimit) {
        state.decision = {
          kind: 'rollback',
          cause: 'breach',
          reason: `${sample.reason} (${state.breaches} breaching sample${state.breaches === 1 ? '' : 's'}, failure-limit ${policy.failureLimit})`,
        };
      }
      break;
    case 'error':
      state.errors += 1;
      state.consecutiveErrors += 1;
      if (state.consecutiveErrors > policy.consecutiveErrorLimit) {
        state.decision = {
          kind: 'rollback',
          cause: 'unobservable',
          reason:
            `could not observe production: ${state.consecutiveErrors} consecutive monitoring query errors ` +
            `(limit ${policy.consecutiveErrorLimit}); last: ${sample.reason}`,
        };
      }
      break;
    case 'no-data':
      state.noData += 1;
      state.consecutiveErrors = 0;
      if (policy.noData === 'inconclusive') {
        state.decision = {
          kind: 'inconclusive',
          reason: `inconclusive: ${sample.reason}; no-data: inconclusive stops without rolling back`,
        };
      }
      break;
    case 'insufficient':
      state.insufficient += 1;
      state.consecutiveErrors = 0;
      break;
    case 'pass':
      state.consecutiveErrors = 0;
      break;
  }
  return state.decision ?? { kind: 'continue' };
}

/**
 * True while the count queries' decision procedure has not let the watch end: within the hold it
 * said `continue`, past it `extend` (too few requests, or no verdict either way). The caller keeps
 * sampling; the procedure itself ends it (`inconclusive`) at the longest extension.
 */
export function needsEvidence(state: AnalysisState): boolean {
  if (state.decision) return false;
  const counted = [...state.samples].reverse().find((s) => s.step !== undefined);
  return counted !== undefined && counted.step !== 'advance';
}

/** Judge an observation and record it: the one call the sampling loop makes per tick. */
export function observe(
  state: AnalysisState,
  obs: Observation,
  policy: AnalysisPolicy,
): { sample: Sample; decision: Decision } {
  const sample = judgeSample(obs, policy);
  return { sample, decision: recordSample(state, sample, policy) };
}

/**
 * True when the window has ended but its last samples were query errors: production was not
 * observed at the end, so it must not pass silently. The caller retries at the interval; the
 * consecutive-error limit bounds how long.
 */
export function needsMoreSamples(state: AnalysisState): boolean {
  return !state.decision && state.consecutiveErrors > 0;
}

/** Max of a nullable series, or undefined when nothing was measured. */
function maxOf(values: (number | null)[]): number | undefined {
  let max: number | undefined;
  for (const v of values) if (v !== null && (max === undefined || v > max)) max = v;
  return max;
}

/** The final verdict of an analysis the caller ran to its end. */
export interface AnalysisVerdict {
  status: 'passed' | 'warned' | 'failed';
  /** Terminal decision when failed (rollback or inconclusive). */
  decision?: Exclude<Decision, { kind: 'continue' }>;
  reason: string;
}

/**
 * Summarise an analysis: a failed decision is returned as is; otherwise the worst measured values
 * against their thresholds, tolerated breaches, errors and no-data samples. A pass that needed
 * tolerance (breaches within the limit, retried errors, no data under `warn`) is `warned`.
 */
export function summarize(state: AnalysisState, policy: AnalysisPolicy): AnalysisVerdict {
  if (state.decision) return { status: 'failed', decision: state.decision, reason: state.decision.reason };
  const n = state.samples.length;
  if (n === 0) return { status: 'warned', reason: 'no sample was taken' };
  const parts: string[] = [];
  const maxRate = maxOf(state.samples.map((s) => s.errorRate));
  const maxLatency = maxOf(state.samples.map((s) => s.latencyMs));
  // Tolerated breaches can make a maximum exceed its threshold: the comparison says so honestly.
  const cmp = (value: number, threshold: number) => (value > threshold ? '>' : '≤');
  if (maxRate !== undefined) {
    const t = policy.errorRateThreshold;
    parts.push(`error rate max ${formatRatio(maxRate)} ${cmp(maxRate, t)} ${formatRatio(t)}`);
  }
  if (maxLatency !== undefined) {
    const t = policy.latencyThresholdMs;
    parts.push(`latency max ${formatMs(maxLatency)} ${cmp(maxLatency, t)} ${formatMs(t)}`);
  }
  if (state.samples.some((s) => s.alerting !== undefined)) parts.push('no monitor stayed in Alert');
  const notes: string[] = [];
  if (state.breaches > 0) notes.push(`${state.breaches} breach(es) tolerated (failure-limit ${policy.failureLimit})`);
  if (state.errors > 0) notes.push(`${state.errors} query error(s) retried`);
  if (state.noData > 0) notes.push(`${state.noData} sample(s) without data (no-data: ${policy.noData})`);
  // Samples before enough requests were counted are the normal start of a window, not a tolerance.
  if (state.insufficient > 0) parts.push(`${state.insufficient} sample(s) before enough requests were counted`);
  const counted = [...state.samples].reverse().find((s) => s.comparison);
  if (counted?.comparison) parts.unshift(counted.comparison);
  const first = state.samples[0]!.at;
  const last = state.samples[n - 1]!.at;
  const span = `${n} sample${n === 1 ? '' : 's'} ${formatClock(first)}–${formatClock(last)}`;
  const body = [span, ...parts, ...notes].join('; ');
  return { status: notes.length > 0 ? 'warned' : 'passed', reason: body };
}
