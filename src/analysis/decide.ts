/**
 * The decision procedure of one traffic step, pure: the one place that combines the tests of
 * compare.ts the way the action acts on them. The watch calls `decideStep` after every sample; the
 * decision benchmark (`npm run bench:decisions`) measures exactly this function.
 *
 * Per sample, in order (the first that applies wins):
 * 1. Hard limit on errors: green's rate above `errorRateThreshold` with confidence (lower bound of
 *    the anytime-valid confidence sequence above the limit) → roll back, at any sample size.
 * 2. Green against its control: blue, concurrent, while both serve; blue's window before the switch
 *    when blue never served alongside (blue-green); both pooled when both are given (a canary's final
 *    window, where the concurrent blue counts alone are often too few to prove anything — pooling
 *    assumes blue's rate before the switch is its rate during it). `worse` → roll back. Latency the
 *    same way, when given: green's percentile against its control's per bucket (`latencyWorse`), and
 *    the hard limit `latencyThresholdMs` on the same sign test (`latencyLimit`), not on one value.
 * 3. Before the step's planned hold ends → continue. An earlier step (not `requirePass`) whose
 *    evidence leans towards worse without a verdict (`leansWorse`) is extended, within `maxHoldMs`,
 *    before it advances: a bad release at low traffic is then judged at the small share.
 * 4. At or after the hold: the step is done when both releases have `minRequests` and, when the step
 *    `requirePass`es (the last step before 100 %, and the window after 100 %), every judged signal
 *    has positive evidence: errors `not-worse` than the control and `within` the hard limit, latency
 *    likewise. Otherwise the step is extended, up to `maxHoldMs`; then the run ends `inconclusive`
 *    under the explicit policy (`hold`: stop and fail the job, traffic as it is; `rollback`). It is
 *    never a pass.
 *
 * alpha is the false-rollback budget of the whole deploy: it is split equally (Bonferroni) over the
 * tests that can roll back, so a release within every margin and limit is rolled back with
 * probability ≤ alpha however many samples are taken. Data validity (no data, query errors, missing
 * release tags) is judged before this function: it sees counts that were really observed.
 */
import {
  ERROR_TEST_DEFAULTS,
  LATENCY_TEST_DEFAULTS,
  compareRates,
  errorRateLimit,
  formatCount,
  latencyLimit,
  latencyWorse,
  type Counts,
  type ErrorVerdict,
  type LatencyBucket,
  type LatencyVerdict,
  type LimitVerdict,
} from './compare.js';

export interface DecisionPolicy {
  /** False-rollback budget of the whole deploy (default 0.01). */
  alpha: number;
  /** Chance of passing a release `passFactor` margins worse (default 0.05, 4: twice blue's rate). */
  beta: number;
  passFactor: number;
  /** Error margin in rate points (default 0.02) and relative to blue's rate (default 0.25); the smaller applies. */
  margin: number;
  relativeMargin: number;
  /** Requests per release before any verdict but the hard limit (default 200). */
  minRequests: number;
  /** Hard limit on green's error rate (`error-rate-threshold`); undefined: not judged. */
  errorRateThreshold?: number;
  /** Hard limit on green's latency percentile (`performance-threshold-ms`); only with latency buckets. */
  latencyThresholdMs?: number;
  /** Relative latency margin (default 0.2). */
  latencyMargin: number;
  /** What an inconclusive end does (default `hold`: fail the job without moving traffic). */
  onInconclusive: 'hold' | 'rollback';
}

export const DECISION_DEFAULTS: DecisionPolicy = {
  alpha: ERROR_TEST_DEFAULTS.alpha,
  beta: ERROR_TEST_DEFAULTS.beta,
  passFactor: ERROR_TEST_DEFAULTS.passFactor,
  margin: ERROR_TEST_DEFAULTS.margin,
  relativeMargin: ERROR_TEST_DEFAULTS.relativeMargin,
  minRequests: ERROR_TEST_DEFAULTS.minRequests,
  latencyMargin: LATENCY_TEST_DEFAULTS.margin,
  onInconclusive: 'hold',
};

/**
 * A step may be extended to this many times its planned hold when the evidence is not there yet
 * (LaunchDarkly extends a step once when its minimum sample is not met; here: up to 3× the hold).
 */
export const DEFAULT_MAX_HOLD_FACTOR = 3;

/** What the step has seen so far. Counts are cumulative since the switch (not per step). */
export interface StepInput {
  /** Green's requests and errors since the switch, up to the evaluated (delayed) end. */
  green: Counts;
  /** Blue's over the same windows while it served alongside green; absent when blue never did. */
  blue?: Counts;
  /**
   * Blue's window before the switch: the control when there is no concurrent one; pooled with `blue`
   * when both are given (omit it for a purely concurrent comparison).
   */
  baseline?: Counts;
  /**
   * Per-bucket latency percentiles of green and of its control (blue alongside; after 100 %: blue's
   * buckets before the switch), when a `{{version}}` latency query is set.
   */
  latency?: LatencyBucket[];
  /** Time since this step started, and its planned hold and longest extension. */
  elapsedMs: number;
  holdMs: number;
  maxHoldMs: number;
  /** This step needs positive evidence before it is done (last step before 100 %, and after 100 %). */
  requirePass: boolean;
}

export interface StepVerdicts {
  errors?: ErrorVerdict;
  errorLimit?: LimitVerdict;
  latency?: LatencyVerdict;
  latencyLimit?: ReturnType<typeof latencyLimit>;
}

export type StepDecision =
  /** Keep holding (within the hold, or extended because the evidence is not there yet). */
  | { action: 'continue'; extended: boolean; reason: string; verdicts: StepVerdicts }
  /** The step is done: go to the next one (after 100 %: the release passed). */
  | { action: 'advance'; reason: string; verdicts: StepVerdicts }
  /** Green is worse or over a limit: roll back. */
  | { action: 'rollback'; reason: string; verdicts: StepVerdicts }
  /** Not enough evidence by `maxHoldMs`: end by the policy, never as a pass. */
  | { action: 'inconclusive'; policy: 'hold' | 'rollback'; reason: string; verdicts: StepVerdicts };

/** The number of tests that can roll back, over which alpha is split. */
export function rollbackTests(policy: DecisionPolicy, input: Pick<StepInput, 'blue' | 'baseline' | 'latency'>): number {
  let k = 0;
  if (policy.errorRateThreshold !== undefined) k += 1;
  if (input.blue || input.baseline) k += 1;
  if (input.latency) {
    k += 1;
    if (policy.latencyThresholdMs !== undefined) k += 1;
  }
  return Math.max(1, k);
}

/** Decide after one sample. Pure; throws RangeError on invalid counts (as compare.ts does). */
export function decideStep(input: StepInput, policy: DecisionPolicy = DECISION_DEFAULTS): StepDecision {
  const a = policy.alpha / rollbackTests(policy, input);
  const verdicts: StepVerdicts = {};
  const control: Counts | undefined =
    input.blue && input.baseline
      ? {
          requests: input.blue.requests + input.baseline.requests,
          errors: input.blue.errors + input.baseline.errors,
        }
      : (input.blue ?? input.baseline);
  const controlLabel =
    input.blue && input.baseline
      ? 'blue (alongside green and before the switch)'
      : input.blue
        ? 'blue'
        : 'blue before the switch';
  const opts = {
    margin: policy.margin,
    relativeMargin: policy.relativeMargin,
    alpha: a,
    beta: policy.beta,
    passFactor: policy.passFactor,
    minRequests: policy.minRequests,
  };

  if (policy.errorRateThreshold !== undefined) {
    verdicts.errorLimit = errorRateLimit(input.green, policy.errorRateThreshold, a);
    if (verdicts.errorLimit.verdict === 'breach') {
      return { action: 'rollback', reason: verdicts.errorLimit.reason, verdicts };
    }
  }
  if (control) {
    verdicts.errors = compareRates(input.green, control, opts, controlLabel);
    if (verdicts.errors.verdict === 'worse') return { action: 'rollback', reason: verdicts.errors.reason, verdicts };
  }
  if (input.latency) {
    verdicts.latency = latencyWorse(input.latency, {
      margin: policy.latencyMargin,
      alpha: a,
      beta: policy.beta,
      controlLabel: input.blue ? 'blue' : 'blue before the switch',
    });
    if (verdicts.latency.verdict === 'worse') return { action: 'rollback', reason: verdicts.latency.reason, verdicts };
    if (policy.latencyThresholdMs !== undefined) {
      verdicts.latencyLimit = latencyLimit(
        input.latency.map((b) => b.green),
        policy.latencyThresholdMs,
        a,
        policy.beta,
      );
      if (verdicts.latencyLimit.verdict === 'breach') {
        return { action: 'rollback', reason: verdicts.latencyLimit.reason, verdicts };
      }
    }
  }

  const missing: string[] = [];
  if (input.green.requests < policy.minRequests) {
    missing.push(
      `green has ${formatCount(input.green.requests)} of the ${formatCount(policy.minRequests)} requests needed`,
    );
  }
  if (control && control.requests < policy.minRequests) {
    missing.push(`blue has ${formatCount(control.requests)} of the ${formatCount(policy.minRequests)} requests needed`);
  }
  if (input.requirePass) {
    if (verdicts.errors && verdicts.errors.verdict !== 'not-worse') missing.push(verdicts.errors.reason);
    if (!control && policy.errorRateThreshold === undefined)
      missing.push('no control and no error-rate limit to judge green by');
    if (verdicts.errorLimit && verdicts.errorLimit.verdict !== 'within') missing.push(verdicts.errorLimit.reason);
    if (verdicts.latency && verdicts.latency.verdict !== 'not-worse') missing.push(verdicts.latency.reason);
    if (verdicts.latencyLimit && verdicts.latencyLimit.verdict !== 'within') missing.push(verdicts.latencyLimit.reason);
  }

  // Evidence that leans towards worse without a verdict yet: an earlier step is extended rather than
  // advanced on it, so a bad release at low traffic meets the test at a small share instead of at the
  // next, larger one. Looking longer costs no false rollbacks (the tests are anytime-valid); at the
  // longest extension the step advances as it would have (the last step then needs its pass anyway).
  const leaning = input.requirePass ? [] : leansWorse(verdicts);

  if (input.elapsedMs < input.holdMs) {
    return { action: 'continue', extended: false, reason: missing[0] ?? 'holding', verdicts };
  }
  if (missing.length === 0 && leaning.length > 0 && input.elapsedMs < input.maxHoldMs) {
    return {
      action: 'continue',
      extended: true,
      reason: `step extended while the evidence leans towards worse: ${leaning.join('; ')}`,
      verdicts,
    };
  }
  if (missing.length === 0) {
    const why = [
      verdicts.errors?.reason,
      verdicts.errorLimit?.reason,
      verdicts.latency?.reason,
      verdicts.latencyLimit?.reason,
    ]
      .filter((x): x is string => Boolean(x))
      .join('; ');
    return { action: 'advance', reason: why || 'hold completed', verdicts };
  }
  if (input.elapsedMs < input.maxHoldMs) {
    return { action: 'continue', extended: true, reason: `step extended: ${missing.join('; ')}`, verdicts };
  }
  return {
    action: 'inconclusive',
    policy: policy.onInconclusive,
    reason: `inconclusive after the longest extension: ${missing.join('; ')}`,
    verdicts,
  };
}

/**
 * The signals whose estimate is beyond the margin without a verdict yet: green's observed error rate
 * above the control's plus the margin, or green's percentile above blue's by the margin in more than
 * half the usable buckets.
 */
export function leansWorse(v: StepVerdicts): string[] {
  const out: string[] = [];
  if (v.errors?.verdict === 'continue' && v.errors.greenRate > v.errors.blueRate + v.errors.marginAtBlue) {
    out.push(v.errors.reason);
  }
  if (v.latency?.verdict === 'continue' && v.latency.slower * 2 > v.latency.buckets) out.push(v.latency.reason);
  return out;
}
