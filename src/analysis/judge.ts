/**
 * Judge one tick: each configured signal against its threshold, the no-data policy applied.
 * Precedence, most serious first: a breach (it was observed, and it is bad) > a query error
 * (production unobserved: retried, counted apart) > no data > pass.
 */
import { formatClock, formatRatio } from './format.js';
import { formatMs } from '../text.js';
import { judgeCounts } from './counts.js';
import type { AnalysisPolicy, Observation, QueryResult, Sample, SampleOutcome } from './types.js';

interface SignalVerdict {
  outcome: SampleOutcome;
  text: string;
}

function judgeValue(
  label: string,
  result: QueryResult,
  threshold: number,
  fmt: (n: number) => string,
  noData: AnalysisPolicy['noData'],
): SignalVerdict {
  switch (result.kind) {
    case 'value':
      if (!Number.isFinite(result.value)) {
        return { outcome: 'error', text: `${label}: the query returned a non-numeric value` };
      }
      return result.value > threshold
        ? { outcome: 'breach', text: `${label} ${fmt(result.value)} > ${fmt(threshold)}` }
        : { outcome: 'pass', text: `${label} ${fmt(result.value)} ≤ ${fmt(threshold)}` };
    case 'no-data':
      return noData === 'fail'
        ? { outcome: 'breach', text: `${label}: no data (no-data: fail counts it as a breach)` }
        : { outcome: 'no-data', text: `${label}: no data (no-data: ${noData})` };
    case 'error':
      return { outcome: 'error', text: `${label} query failed: ${result.error}` };
  }
}

const RANK: Record<SampleOutcome, number> = { breach: 4, error: 3, 'no-data': 2, insufficient: 1, pass: 0 };

/**
 * Judge one observation under the policy. The reason lists the signals that decided the outcome
 * (all of them for a pass), each with its measured value against its threshold, and the time.
 */
export function judgeSample(obs: Observation, policy: AnalysisPolicy): Sample {
  const verdicts: SignalVerdict[] = [];
  if (obs.errorRate) {
    verdicts.push(judgeValue('error rate', obs.errorRate, policy.errorRateThreshold, formatRatio, policy.noData));
  }
  // Against blue (latency buckets with the counts), green's latency is judged by the decision
  // procedure: a value on the sign test's bound, not alone against the limit; an interval without a
  // point is a bucket skipped, as sparse counts are (a step that needs a pass never gets one without
  // enough buckets: "too few buckets to judge"). Query errors stay errors.
  const latencyAgainstBlue = obs.counts?.latency !== undefined && obs.latency?.kind !== 'error';
  if (obs.latency && !latencyAgainstBlue) {
    verdicts.push(judgeValue('latency', obs.latency, policy.latencyThresholdMs, formatMs, policy.noData));
  }
  let counted: ReturnType<typeof judgeCounts> | undefined;
  if (obs.counts) {
    counted = judgeCounts(obs.counts, policy);
    verdicts.push({ outcome: counted.outcome, text: counted.text });
  }
  let alerting: string[] | undefined;
  if (obs.monitors) {
    if (obs.monitors.kind === 'error') {
      verdicts.push({ outcome: 'error', text: `monitors query failed: ${obs.monitors.error}` });
    } else {
      alerting = obs.monitors.alerting.map((m) => m.name);
      verdicts.push(
        alerting.length > 0
          ? {
              outcome: 'breach',
              text: obs.monitors.alerting.map((m) => `monitor "${m.name}" (${m.id}) is in ${m.state}`).join(', '),
            }
          : { outcome: 'pass', text: 'no monitor in Alert' },
      );
    }
  }

  let outcome: SampleOutcome = 'pass';
  for (const v of verdicts) if (RANK[v.outcome] > RANK[outcome]) outcome = v.outcome;
  const deciding = outcome === 'pass' ? verdicts : verdicts.filter((v) => v.outcome === outcome);
  const what = deciding.length > 0 ? deciding.map((v) => v.text).join('; ') : 'nothing to measure';

  const greenRate = counted?.green && counted.green.requests > 0 ? counted.green.errors / counted.green.requests : null;
  const sample: Sample = {
    at: new Date(obs.at).toISOString(),
    errorRate:
      obs.errorRate?.kind === 'value' && Number.isFinite(obs.errorRate.value) ? obs.errorRate.value : greenRate,
    latencyMs: obs.latency?.kind === 'value' && Number.isFinite(obs.latency.value) ? obs.latency.value : null,
    outcome,
    breach: outcome === 'breach',
    reason: `${what} at ${formatClock(obs.at)}`,
  };
  if (obs.share !== undefined) sample.share = obs.share;
  if (alerting) sample.alerting = alerting;
  if (obs.counts && counted) {
    sample.counts = { basis: obs.counts.basis };
    if (counted.green) sample.counts.green = counted.green;
    if (counted.blue) sample.counts.blue = counted.blue;
    sample.comparison = counted.text;
    if (counted.step) sample.step = counted.step;
  }
  return sample;
}
