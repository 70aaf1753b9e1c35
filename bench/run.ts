/**
 * `npm run bench`: the six benchmarks of docs/benchmarks.md against the sandbox on this machine, one after
 * another (never in parallel: they share the CPU with what they measure), then the table of figures.
 * Results go to bench/results/ (JSON); `--write-doc` writes docs/benchmarks.md from them.
 *
 * Benchmarks print figures; the exit status only says whether they could run (1 when one failed to
 * run), never whether a figure met its goal.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { benchApiCalls, type RunCalls } from './api-calls.ts';
import { benchBackup } from './backup.ts';
import { benchBreach } from './breach.ts';
import { writeDoc } from './doc/index.ts';
import { USAGE, parseArgs } from './lib/args.ts';
import { type Results, allFigures, textTable } from './lib/figures.ts';
import { type Machine, describeMachine } from './lib/machine.ts';
import { RESULTS_DIR, distDir } from './lib/paths.ts';
import { loadAverage } from './lib/proc.ts';
import { findAwsCli } from './lib/backup-tools.ts';
import { benchPipeline, type PipelineResult } from './pipeline.ts';
import { benchRollback } from './rollback.ts';
import { benchStartup } from './startup.ts';

/** What bench/results/latest.json holds: enough to rewrite the doc without running again. */
export interface SavedRun {
  machine: Machine;
  args: Record<string, unknown>;
  results: Results;
  errors: Record<string, string>;
  durationMs: number;
  loadAtEnd: number;
}

const log = (line: string) => console.log(line);

/** The runs of benchmark 1 on the epoch clock, for benchmark 4. */
function blueGreenCalls(p: PipelineResult): RunCalls[] {
  return p.runs.map((r) => ({
    report: r.report,
    calls: r.calls.map((c) => ({ ...c, start: c.start + r.spawnedAt, end: c.end + r.spawnedAt })),
  }));
}

/** Keeps the JSON small: the full request timeline and report of the shown run only. */
function slim(results: Results): Results {
  const p = results.pipeline;
  if (!p) return results;
  return {
    ...results,
    pipeline: {
      ...p,
      runs: p.runs.map((r, i) =>
        i === p.shown ? r : { ...r, calls: [], report: { ...r.report, steps: [], decisions: [] } },
      ),
    },
  };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  if (args.docOnly) {
    const file = args.from ? resolve(args.from) : join(RESULTS_DIR, 'latest.json');
    const saved = JSON.parse(readFileSync(file, 'utf8')) as SavedRun;
    console.log(`wrote ${writeDoc(saved)}`);
    return 0;
  }
  const dist = distDir(args.dist);
  const machine = describeMachine(findAwsCli());
  const started = performance.now();
  console.log(
    `production-deploy benchmarks: ${machine.cpu} × ${machine.cores}, ${machine.memoryGiB} GiB, Node ${machine.node}, ` +
      `load ${machine.loadAtStart}; bundle ${dist}${args.quick ? ' (quick pass)' : ''}`,
  );
  const results: Results = {};
  const errors: Record<string, string> = {};
  const step = async (id: number, title: string, fn: () => Promise<void>) => {
    if (!args.only.has(id)) return;
    console.log(`\n[${id}] ${title}`);
    const t0 = performance.now();
    try {
      await fn();
      console.log(`  done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    } catch (err) {
      errors[id] = (err as Error).stack ?? String(err);
      console.log(`  could not run: ${(err as Error).message.split('\n').slice(0, 6).join('\n  ')}`);
    }
  };

  await step(5, 'start-up and bundle', async () => {
    results.startup = await benchStartup(
      { dist, runs: args.startupRuns, depRuns: args.quick ? 1 : 3, contributors: args.contributors },
      log,
    );
  });
  await step(3, 'backup streaming', async () => {
    results.backup = await benchBackup({ dist, sizes: args.sizes, budgetMs: args.backupBudgetMs }, log);
  });
  await step(1, 'pipeline overhead', async () => {
    results.pipeline = await benchPipeline(
      {
        dist,
        runs: args.runs,
        latencyMs: args.latencyMs,
        buildMs: args.quick ? 1000 : 3000,
        windowMs: args.quick ? 3000 : 10_000,
        intervalMs: args.quick ? 1000 : 2000,
        smokeSamples: 5,
        zeroLatencyRun: !args.quick,
      },
      log,
    );
  });
  await step(4, 'API calls per deploy', async () => {
    results.apiCalls = await benchApiCalls(
      { dist, blueGreen: results.pipeline ? blueGreenCalls(results.pipeline) : undefined },
      log,
    );
  });
  await step(2, 'breach to restored', async () => {
    results.breach = await benchBreach(
      {
        dist,
        runs: args.runs,
        latencyMs: args.latencyMs,
        intervalMs: 1000,
        windowMs: args.quick ? 5000 : 10_000,
        trafficRate: 50,
      },
      log,
    );
  });
  await step(6, 'time back to safety (mode: rollback)', async () => {
    results.rollback = await benchRollback({ dist, runs: args.runs, latencyMs: args.latencyMs, trafficRate: 50 }, log);
  });

  const saved: SavedRun = {
    machine,
    args: { ...args, only: [...args.only], dist },
    results: slim(results),
    errors,
    durationMs: performance.now() - started,
    loadAtEnd: loadAverage(),
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  const json = JSON.stringify(saved, null, 1);
  writeFileSync(join(RESULTS_DIR, 'latest.json'), json);
  writeFileSync(join(RESULTS_DIR, `${machine.date.replace(/[:.]/g, '-')}.json`), json);

  console.log(`\n${textTable(allFigures(results))}`);
  console.log(
    `\n${((performance.now() - started) / 60_000).toFixed(1)} min; load ${machine.loadAtStart} at the start, ` +
      `${saved.loadAtEnd} at the end (${machine.cores} cores). Results: bench/results/latest.json`,
  );
  if (args.writeDoc) console.log(`wrote ${writeDoc(saved)}`);
  const failed = Object.keys(errors);
  if (failed.length) console.log(`benchmark(s) ${failed.join(', ')} could not run (see above)`);
  return failed.length ? 1 : 0;
}

process.exitCode = await main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  return 1;
});
