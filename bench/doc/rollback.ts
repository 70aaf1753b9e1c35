/** docs/benchmarks.md, section 6: time back to safety (`mode: rollback`). */
import type { RollbackResult } from '../rollback.ts';
import { blocks, bullets, table } from '../lib/md.ts';
import { fmtMs } from '../lib/stats.ts';
import { isGraphqlCall } from '../lib/timeline.ts';

export function rollbackSection(r: RollbackResult): string {
  const shown = r.runs[r.shown]!;
  const firstMove = shown.calls.find((c) => c.method !== 'GET' && c.service === 'cloudflare');
  const before = firstMove ? shown.calls.filter((c) => c.end <= firstMove.start) : [];
  const writesBefore = before.filter((c) => c.service === 'github' && c.method !== 'GET' && !isGraphqlCall(c)).length;
  const findings: string[] = [
    `Node start and the bundle: the rollback step started ${fmtMs(shown.stepStartMs ?? NaN)} after the spawn (Node alone: ${fmtMs(r.nodeStartMs)}).`,
    firstMove
      ? `The traffic change (${firstMove.method} ${firstMove.op}) started ${fmtMs(firstMove.start)} after the spawn, after ${before.length} calls ` +
        `(${writesBefore} GitHub write(s): the rollback record is written before traffic moves, so a crash leaves a trace).`
      : 'No Cloudflare write was seen in the shown run.',
    `Production served the target ${fmtMs(r.servedMs)} after the spawn; the run ended ${fmtMs(r.wallMs)} after it: what follows the ` +
      'change is the check that production answers from the target (requests through production, attributed), one Datadog ' +
      `sample of the target’s own traffic — one ${'`validation-interval`'} after the change, asked ${'`evaluation-delay`'} later ` +
      `(${fmtMs(r.healthWaitMs)} here) — then the records (the GitHub record’s final status, the Datadog event and DORA record ` +
      'sent together, Slack).',
    `The rollback’s ${'`validation-window`'} is 0 s, and it still takes that one sample: a rollback that ended on the ` +
      'traffic change alone would call the target healthy without having seen it serve. With the input defaults ' +
      `(${'`validation-interval`'} 30 s, ${'`evaluation-delay`'} 60 s) that sample is 90 s of the run; production is back on ` +
      'the target long before (the row above), and the job ends once the target is confirmed.',
  ];
  return blocks(
    '## 6. Time back to safety',
    `A ${'`blue-green`'} deploy of the sandbox’s ${'`default`'} world (v2 live), then at once a second run with ${'`mode: rollback`'} ` +
      `(${'`rollback-to: previous`'}, ${'`validation-window: 0s`'}), ${r.options.latencyMs} ms injected on every API call and the traffic stream at ` +
      `${r.options.trafficRate} requests/s. ${r.runs.length} run(s), each on a fresh sandbox; the median is reported. The bound is what no ` +
      `rollback can avoid: Node’s start (${fmtMs(r.nodeStartMs)}), one traffic change (one API round trip, ${fmtMs(r.rttMs)}) and one ` +
      'confirmed health read. With Datadog configured, the read that confirms the target healthy is a sample of its own traffic ' +
      `after the change: one ${'`validation-interval`'} of data, asked for ${'`evaluation-delay`'} later (Datadog’s data arrives ` +
      `late), then one round trip — ${fmtMs(r.healthWaitMs)} + ${fmtMs(r.rttMs)} here. Against the traffic plane alone (a health read of ` +
      'one round trip) the ratio is informative.',
    `**Wall time ${fmtMs(r.wallMs)}** against **${fmtMs(r.boundMs)}**: ratio **${r.ratio.toFixed(2)}** (goal ≤ 2.00); against the ` +
      `traffic plane alone (${fmtMs(r.trafficBoundMs)}) ${r.trafficRatio.toFixed(2)}. ` +
      `Production served the target after ${fmtMs(r.servedMs)} (ratio ${r.servedRatio.toFixed(2)} against the traffic plane alone).`,
    table(
      ['run', 'blue serving', 'exit', 'API calls', 'step start'],
      r.runs.map((x, i) => [i + 1, fmtMs(x.servedMs), fmtMs(x.wallMs), x.calls.length, fmtMs(x.stepStartMs ?? NaN)]),
    ),
    '### Where the time goes',
    bullets(findings),
  );
}
