/** docs/benchmarks.md, section 2: breach to restored. */
import type { BreachResult } from '../breach.ts';
import { blocks, bullets, code, table } from '../lib/md.ts';
import { fmtMs, fmtRatio, median } from '../lib/stats.ts';
import { EVALUATION_DELAY_MS } from '../pipeline.ts';

const rel = (t: number | undefined, from: number) => (t === undefined ? '—' : `+${fmtMs(t - from)}`);

export function breachSection(b: BreachResult): string {
  const o = b.options;
  const rtt = median(b.runs.map((r) => r.rttMs));
  const passedFirst = b.runs.filter((r) => r.samplesBeforeBreach > 0);
  // Verified, not assumed: the first sample's query window began before production moved to green.
  const diluted = passedFirst.filter((r) => (r.firstWindowBeforeSwitchMs ?? 0) > 0);
  const reach = diluted.map((r) => r.firstWindowBeforeSwitchMs!);
  const findings: string[] = [];
  findings.push(
    `From the breaching sample to blue serving is the answer to that sample’s query, the decision, and the restore — ` +
      `the action reads the load balancer, then writes the recorded weights — each an API round trip (${fmtMs(rtt)} here); ` +
      `then the next request through the load balancer goes to blue. ${b.ratio <= 1 ? 'It stays within one interval plus one round trip: the action does not wait for another sample once failure-limit is exceeded.' : 'It exceeds one interval plus one round trip: see the per-run breakdown for the step that waits.'}`,
  );
  findings.push(
    `Users see the bad release for longer than that: **${fmtMs(b.exposureMs)}** from the first request green served to blue again. ` +
      `The first sample comes one ${code('validation-interval')} plus ${code('evaluation-delay')} ` +
      `(${fmtMs(EVALUATION_DELAY_MS)} here; 60 s by default: Datadog’s data arrives late, and a sample taken sooner would judge an ` +
      `incomplete window) after the switch${
        passedFirst.length
          ? `, and in ${passedFirst.length} of ${b.runs.length} run(s) it passed and only a later sample breached` +
            (diluted.length
              ? `: its query window began ${reach.map((ms) => fmtMs(ms)).join(', ')} before production moved to green, so blue’s good ` +
                'traffic diluted green’s errors. Starting the first window at the switch (`from` = the switch time, whole seconds ' +
                'rounded up) would catch the breach one interval sooner'
              : '')
          : ''
      }. A shorter ${code('validation-interval')} shortens both, at the cost of more Datadog queries (benchmark 4).`,
  );
  return blocks(
    '## 2. Breach to restored',
    `The sandbox’s ${code('bad-release')} scenario: v2 answers 30 % of requests with HTTP 500 once it serves traffic; smoke tests only ` +
      `look at the health endpoint, so it reaches production. ${o.latencyMs} ms on every API call, ${code('validation-interval')} ` +
      `${fmtMs(o.intervalMs)}, ${code('failure-limit')} 0, and the sandbox’s traffic stream sending ${o.trafficRate} requests/s ` +
      `through the load balancer (so “serving blue again” is known to within ${fmtMs(1000 / o.trafficRate)}). ${b.runs.length} run(s), median reported.`,
    'The clock starts at the first breaching sample’s timestamp in the action’s report and stops at the start of the first request ' +
      'of the traffic stream that blue answered after the last one green answered — the load balancer’s record, not the action’s log. ' +
      `The evaluation delay is stated separately: each sample asks about a window that ended ${code('evaluation-delay')} ` +
      `(${fmtMs(EVALUATION_DELAY_MS)} here) before it is taken, so a breach is seen that long after its errors happened; that wait is ` +
      'in how long users got the bad release (below), not in the figure.',
    `**${fmtMs(b.breachToRestoredMs)}** against a limit of one interval plus one round trip, ${fmtMs(b.limitMs)}: ratio **${fmtRatio(b.ratio)}** (goal ≤ 1.00).`,
    table(
      [
        'run',
        'sample → answered',
        '→ decision',
        '→ restore call',
        '→ blue serving',
        'green served production',
        'samples before',
      ],
      b.runs.map((r, i) => [
        i + 1,
        rel(r.breachAnsweredAt, r.breachAt),
        rel(r.decisionAt, r.breachAt),
        rel(r.restoreCallAt, r.breachAt),
        `+${fmtMs(r.breachToRestoredMs)}`,
        fmtMs(r.exposureMs),
        r.samplesBeforeBreach,
      ]),
    ),
    '### What limits it',
    bullets(findings),
  );
}
