/**
 * `npm run bench:decisions`: the decision benchmark. A seeded simulator (no sandbox) runs the action's
 * own analysis code — the new `decideStep` and today's threshold judge, side by side — over thousands
 * of simulated deploys, and writes docs/decision-quality.md. The last line printed is the headline:
 * `decision quality: false rollbacks ≤ X %, misses ≤ Y % (≥ 2× worse, ≥ 2 req/s), blast radius Z×`.
 *
 * Flags: --seed N (default 20261204), --runs-good N (400), --runs-bad N (200), --quick (100/50),
 * --no-doc (print only). The exit status says whether it ran, never whether a goal was met.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CellResult, grid, runCell } from './decisions/cells.ts';
import { type DecisionRun, writeDecisionDoc } from './decisions/doc.ts';
import { PLAN } from './decisions/judges.ts';
import { lastLine, pct, summarize } from './decisions/summary.ts';
import { RESULTS_DIR } from './lib/paths.ts';

function parse(argv: string[]): { seed: number; runsGood: number; runsBad: number; doc: boolean } {
  const o = { seed: 20261204, runsGood: 400, runsBad: 200, doc: true };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const num = () => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a whole number ≥ 1`);
      return n;
    };
    if (flag === '--seed') o.seed = num();
    else if (flag === '--runs-good') o.runsGood = num();
    else if (flag === '--runs-bad') o.runsBad = num();
    else if (flag === '--quick') Object.assign(o, { runsGood: 100, runsBad: 50 });
    else if (flag === '--no-doc') o.doc = false;
    else throw new Error(`unknown flag ${flag} (accepted: --seed N, --runs-good N, --runs-bad N, --quick, --no-doc)`);
  }
  return o;
}

function main(): void {
  const args = parse(process.argv.slice(2));
  const cells = grid(args.runsGood, args.runsBad);
  const deploys = cells.reduce((a, c) => a + c.runs, 0);
  console.log(`decision benchmark: ${cells.length} cells, ${deploys} simulated deploys per judge, seed ${args.seed}`);
  const started = performance.now();
  const results: CellResult[] = [];
  for (const cell of cells) {
    const r = runCell(cell, PLAN, args.seed);
    results.push(r);
    const f = (j: 'sequential' | 'threshold') =>
      `rolled back ${pct(r[j].rollbacks / r[j].runs)}, passed ${pct(r[j].passed / r[j].runs)}` +
      (j === 'sequential' ? `, inconclusive ${pct(r[j].inconclusive / r[j].runs)}` : '');
    const what =
      cell.kind === 'slower'
        ? `${cell.latencyFactor}× slower`
        : cell.kind === 'good'
          ? 'good'
          : `${cell.errorFactor}× errors`;
    console.log(
      `  ${cell.strategy} ${cell.rate} req/s, blue ${pct(cell.baseRate)}, ${what}${cell.latency ? ' (latency)' : ''}: ` +
        `new ${f('sequential')} | today ${f('threshold')}`,
    );
  }
  const summary = summarize(results);
  const run: DecisionRun = {
    seed: args.seed,
    runsGood: args.runsGood,
    runsBad: args.runsBad,
    plan: PLAN,
    results,
    summary,
    durationMs: performance.now() - started,
    node: process.versions.node,
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, 'decisions.json'), JSON.stringify(run, null, 1));
  if (args.doc) console.log(`wrote ${writeDecisionDoc(run)}`);
  console.log(
    `today's threshold judge: false rollbacks ≤ ${pct(summary.falseRollbacks.threshold)}, misses ≤ ` +
      `${pct(summary.misses.threshold)} (≥ 2× worse, ≥ 2 req/s), blast radius ${summary.blast.threshold.toFixed(1)}×`,
  );
  console.log(
    `goals (new): false rollbacks ≤ 1 % ${summary.goals.falseRollbacks ? 'met' : 'NOT met'}; misses ≤ 5 % ` +
      `${summary.goals.misses ? 'met' : 'NOT met'}; ≥ 2× worse never passed at low traffic ` +
      `${summary.goals.neverPassedBelow ? 'met' : 'NOT met'} (${((performance.now() - started) / 1000).toFixed(0)} s)`,
  );
  console.log(lastLine(summary));
}

try {
  main();
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
}
