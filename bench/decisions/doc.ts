/** docs/decision-quality.md from a run of the decision benchmark. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../lib/paths.ts';
import { blocks, bullets, code, table } from '../lib/md.ts';
import type { CellResult, JudgeFigures } from './cells.ts';
import type { Plan } from './judges.ts';
import { type Summary, badness, lastLine, pct, rate, wilsonUpper } from './summary.ts';

export interface DecisionRun {
  seed: number;
  runsGood: number;
  runsBad: number;
  plan: Plan;
  results: CellResult[];
  summary: Summary;
  durationMs: number;
  node: string;
}

const secs = (ms: number) => (Number.isFinite(ms) ? `${Math.round(ms / 1000)} s` : '–');
const times = (x: number) => (Number.isFinite(x) ? `${x.toFixed(1)}×` : '–');

function releaseText(r: CellResult): string {
  if (r.cell.kind === 'good') return r.cell.latency ? 'good (latency watched)' : 'good';
  if (r.cell.kind === 'slower') return `${r.cell.latencyFactor}× slower`;
  return `${r.cell.errorFactor}× errors`;
}

/** What the cell's judge did: the figure that matters first (false rollbacks or misses). */
function judgeCells(r: CellResult, f: JudgeFigures, withInconclusive: boolean): string[] {
  const good = r.cell.kind === 'good';
  const cells = [
    `${pct(rate(f.rollbacks, f.runs))}${good && f.rollbacks > 0 ? ' ✗' : ''}`,
    `${pct(rate(f.passed, f.runs))}${!good && badness(r) >= 2 && rate(f.passed, f.runs) > 0.05 ? ' ✗' : ''}`,
  ];
  if (withInconclusive) {
    const atFull = f.inconclusiveAtFull > 0 ? ` (${pct(rate(f.inconclusiveAtFull, f.runs))} at 100 %)` : '';
    cells.push(`${pct(rate(f.inconclusive, f.runs))}${atFull}`);
  }
  cells.push(good ? '–' : secs(f.medianDetectMs));
  cells.push(r.cell.kind === 'worse' ? times(f.meanBlast / r.blastMin) : '–');
  return cells;
}

function cellTable(results: CellResult[]): string {
  const head = [
    'strategy',
    'req/s',
    'blue errors',
    'release',
    'runs',
    'new: rolled back',
    'new: passed',
    'new: inconclusive',
    'new: detected in',
    'new: blast',
    'today: rolled back',
    'today: passed',
    'today: detected in',
    'today: blast',
  ];
  const rows = results.map((r) => [
    r.cell.strategy,
    r.cell.rate,
    pct(r.cell.baseRate),
    releaseText(r),
    r.cell.runs,
    ...judgeCells(r, r.sequential, true),
    ...judgeCells(r, r.threshold, false),
  ]);
  return table(head, rows);
}

/** Where a verdict becomes possible: the share of good releases the new judge passes, by traffic. */
function goodPassTable(results: CellResult[]): string {
  const good = results.filter((r) => r.cell.kind === 'good' && !r.cell.latency);
  const rates = [...new Set(good.map((r) => r.cell.rate))].sort((a, b) => a - b);
  const bases = [...new Set(good.map((r) => r.cell.baseRate))].sort((a, b) => a - b);
  const rows: (string | number)[][] = [];
  for (const strategy of ['canary', 'blue-green'] as const) {
    for (const base of bases) {
      rows.push([
        strategy,
        pct(base),
        ...rates.map((rt) => {
          const r = good.find((g) => g.cell.strategy === strategy && g.cell.baseRate === base && g.cell.rate === rt);
          return r ? pct(rate(r.sequential.passed, r.sequential.runs)) : '–';
        }),
      ]);
    }
  }
  return table(['strategy', 'blue errors', ...rates.map((r) => `${r} req/s`)], rows);
}

/** Where the new judge stopped bad canaries: rolled-back runs by the step they were rolled back at. */
function stopTable(run: DecisionRun): string {
  const bad = run.results.filter((r) => r.cell.strategy === 'canary' && r.cell.kind !== 'good' && r.cell.rate >= 2);
  const shares = run.plan.steps;
  const rows = bad.map((r) => [
    r.cell.rate,
    pct(r.cell.baseRate),
    releaseText(r),
    r.cell.runs,
    ...shares.map((s) => pct(rate(r.sequential.rollbackShares[s] ?? 0, r.sequential.runs))),
    pct(rate(r.sequential.passed, r.sequential.runs)),
    pct(rate(r.sequential.inconclusive, r.sequential.runs)),
  ]);
  return table(
    [
      'req/s',
      'blue errors',
      'release',
      'runs',
      ...shares.map((s) => `rolled back at ${s} %`),
      'passed',
      'inconclusive',
    ],
    rows,
  );
}

export function decisionDoc(run: DecisionRun): string {
  const s = run.summary;
  const p = run.plan;
  const goodRuns = run.results.filter((r) => r.cell.kind === 'good');
  const worstGood = goodRuns.reduce((a, r) => Math.max(a, r.sequential.rollbacks), 0);
  const yes = (b: boolean) => (b ? '**met**' : '**not met**');
  const headline = table(
    ['figure', 'new (sequential, decideStep)', "today's threshold judge", 'goal', 'met (new)'],
    [
      [
        'false rollbacks, worst cell',
        pct(s.falseRollbacks.sequential),
        pct(s.falseRollbacks.threshold),
        '≤ 1 % in every cell',
        yes(s.goals.falseRollbacks),
      ],
      [
        'misses, worst cell ≥ 2× worse at ≥ 2 req/s',
        pct(s.misses.sequential),
        pct(s.misses.threshold),
        '≤ 5 %',
        yes(s.goals.misses),
      ],
      [
        'passes of a release ≥ 2× worse at any traffic',
        pct(s.anyBadPass.sequential),
        pct(s.anyBadPass.threshold),
        'inconclusive, never passed',
        yes(s.goals.neverPassedBelow),
      ],
      [
        'blast radius (median over detected cells ≥ 2×, ≥ 2 req/s)',
        times(s.blast.sequential),
        times(s.blast.threshold),
        'as low as possible (1× = the least any judge needs)',
        '–',
      ],
    ],
  );
  return blocks(
    '# Decision quality: does the action roll back bad releases and leave good ones alone?',
    `Written by ${code('npm run bench:decisions')} (seed ${run.seed}, ${run.runsGood} runs per good cell, ` +
      `${run.runsBad} per bad cell, ${(run.durationMs / 1000).toFixed(0)} s on Node ${run.node}). ` +
      'Do not edit by hand: run it again.',
    headline,
    `\`${lastLine(s)}\``,
    `With ${run.runsGood} runs per good cell, 0 false rollbacks means the true rate is at most ` +
      `${pct(wilsonUpper(0, run.runsGood))} (95 % Wilson upper bound); the worst good cell had ${worstGood} ` +
      `(at most ${pct(wilsonUpper(worstGood, run.runsGood))}). Bad cells: ${run.runsBad} runs, so a 0 % miss ` +
      `rate is at most ${pct(wilsonUpper(0, run.runsBad))}.`,
    '## Where a verdict is possible',
    `Good releases the new judge passed (the rest ended inconclusive${
      s.falseRollbacks.sequential === 0 ? '; none was rolled back' : ' or, rarely, rolled back'
    }). Proving that a release ` +
      'is not twice as bad as blue takes a few dozen of its errors: at 2 requests/s and a 1 % baseline that is ' +
      'hours, so the honest answer within a deploy is "inconclusive" — today\'s judge passes or rolls back such ' +
      'deploys by the noise of single requests.',
    goodPassTable(run.results),
    '## Where a bad canary is stopped',
    `Canary ${p.steps.join('/')}, new judge: the share green had when the rollback was decided. An earlier step ` +
      "advances once both releases have the minimum sample, unless the evidence leans towards worse (green's " +
      "observed rate above blue's plus the margin, or its percentile above blue's by the margin in most buckets, " +
      `with no verdict yet): then it is extended, up to ${p.maxHoldFactor}× its hold, so a bad release at low ` +
      'traffic meets its verdict at the small share rather than the next one.',
    stopTable(run),
    '## The two judges',
    bullets([
      '**new** — `decideStep` of `src/analysis/decide.ts`, the procedure the watch calls, imported and run as is. ' +
        "After every sample it sees green's and blue's cumulative, release-scoped counts since the switch, up to the " +
        `evaluation delay (${secs(p.delayMs)}): hard limit on green's error rate (anytime-valid lower bound above ` +
        "`error-rate-threshold`), green against blue (canary: concurrent blue, pooled with blue's " +
        `${Math.round(p.baselineMs / 60000)} minutes before the switch in the window after 100 %; blue-green: that ` +
        'window alone), latency likewise. A step ends after its hold ' +
        `once both releases have ${p.policy.minRequests} requests; the window after 100 % also needs positive evidence ` +
        `(not worse than the control, within the hard limits). Without it the step is extended up to ${p.maxHoldFactor}× ` +
        `its hold, then the run ends **inconclusive** (policy \`${p.policy.onInconclusive}\`).`,
      "**today** — `observe` of `src/analysis/analysis.ts` with today's defaults (`failure-limit` 0, `no-data: warn`), " +
        'judging the newest point of the production-wide (blended) error rate and p95 of the last interval against the ' +
        'thresholds, as Argo Rollouts and Flagger do. Fixed holds, no extension.',
      `Both: \`validation-interval\` ${secs(p.intervalMs)}, \`step-duration\` ${secs(p.holdMs)} (canary ` +
        `${p.steps.join('/')}), \`validation-window\` ${secs(p.finalMs)} after 100 %; \`error-rate-threshold\` ` +
        `${p.thresholdFactor}× blue's rate (as a user who knows the baseline sets it), \`performance-threshold-ms\` ` +
        `${p.latencyThresholdMs} (blue's p95 ≈ ${Math.round(p.blueMedianMs * Math.exp(0.5 * 1.645))} ms).`,
      `New judge's statistics: alpha ${p.policy.alpha} per deploy (split over the tests that can roll back), ` +
        `beta ${p.policy.beta}, margin min(${p.policy.relativeMargin * 100} % of blue's rate, ${p.policy.margin * 100} points), ` +
        `pass rules out ${p.policy.passFactor} margins (2× blue), latency margin ${p.policy.latencyMargin * 100} %.`,
    ]),
    '## Method',
    bullets([
      'Traffic in 10-second buckets: requests Poisson(rate × share × 10 s) per release, errors Binomial(requests, ' +
        'rate) (exact draws below a mean of 40, normal approximations above). Latency log-normal (σ 0.5); a ' +
        "bucket's p95 carries the sampling noise of a sample quantile of its requests; a production-wide p95 is the " +
        "p95 of the two releases' mixture.",
      `Datadog: each bucket becomes readable ${secs(p.datadog.lagBaseMs)} + Exp(mean ${secs(p.datadog.lagMeanMs)}) ` +
        `after it ends; ${pct(p.datadog.dropRate)} of buckets never arrive; a bucket without requests has no point ` +
        '(count metrics are not interpolated). Sources: research F5 (real-world-review.md), Datadog "cloud metric ' +
        'delay" and "troubleshooting no data" guides.',
      '**False rollback**: a good release (same error rate and latency as blue) rolled back. **Miss**: a worse or ' +
        'slower release that reached 100 % and passed. **Inconclusive**: the new judge could not reach a verdict within ' +
        'the longest extension — too little traffic for the margin; the run stops and the job fails under the ' +
        "`hold` policy, traffic is not moved and nothing is declared passed. Today's judge has no such state: it " +
        'passes (no-data: warn) or rolls back.',
      '**Time to detection**: median seconds from the switch to the rollback decision (rolled-back runs).',
      "**Blast radius**: expected failed requests green served beyond blue's rate until the decision, mean over " +
        "rolled-back runs, divided by the least any judge needs: Wald's lower bound on the expected sample size of a " +
        "sequential test with the same error probabilities (alpha, beta) against the margin, knowing blue's rate " +
        "exactly, plus the requests green serves while Datadog's first data is on its way (mean lag) at the first " +
        "step's share. 1× is unreachable; the canary's later steps and the evaluation delay at higher shares add to it. " +
        "Today's judge shows below 1× where it rolled back before any judge could know the release was worse: by " +
        'the noise of a few requests, as it does to good releases in the same cells.',
      `Seeds: cell *i* uses seed mix(${run.seed}, i); run *k* of a cell uses mix(cell seed, k, 1) for the new judge ` +
        "and mix(cell seed, k, 2) for today's (independent traffic). Same seed, same figures, on any machine.",
      'Limits: stationary error rates and latencies within a deploy (no daily cycle, no incident hitting both ' +
        "releases); blue-green's baseline is simulated with blue's current rate, so the weaker guarantee of a " +
        "non-concurrent control is not stressed here; the latency test's ½ bound is approximate (see compare.ts). " +
        'Latency is fed as the watch feeds it (`src/watch/sampler.ts`, with a `{{version}}` latency query): one ' +
        "bucket per sample, each release's newest point of the sample's interval, its requests cut from the growth " +
        "of the cumulative counts (blue-green: blue's intervals counted back from the switch); the hard limit " +
        '`performance-threshold-ms` is judged on the same sign test, not on one value.',
    ]),
    '## Every cell',
    'Percentages of runs. ✗: a false rollback (good cell) or a miss above 5 % (≥ 2× cell). Blast: × the least any ' +
      'judge needs. "at 100 %": inconclusive runs that ended in the window after 100 % — under `hold` green keeps ' +
      'serving everyone while the job fails, so for a bad release that is exposure, not safety; the others stopped ' +
      "at a canary step's share (at low traffic, usually the first: the minimum sample never came).",

    cellTable(run.results),
  );
}

export function writeDecisionDoc(run: DecisionRun): string {
  const file = join(ROOT, 'docs', 'decision-quality.md');
  writeFileSync(file, `${decisionDoc(run)}\n`);
  return file;
}
