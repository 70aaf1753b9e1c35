/**
 * docs/benchmarks.md from a saved run (`bench/results/latest.json`): the machine, the table of
 * figures, then one section per benchmark — how it was measured, the figures, and what limits them.
 * Written by `npm run bench -- --write-doc` (or `--doc-only` from the last saved run), never by hand.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SavedRun } from '../run.ts';
import { allFigures, markdownTable } from '../lib/figures.ts';
import { USAGE, parseArgs } from '../lib/args.ts';
import { blocks, code, table } from '../lib/md.ts';
import { ROOT } from '../lib/paths.ts';
import { fmtSize } from '../lib/stats.ts';
import { apiSection } from './api.ts';
import { backupSection } from './backup.ts';
import { breachSection } from './breach.ts';
import { rollbackSection } from './rollback.ts';
import { pipelineSection } from './pipeline.ts';
import { startupSection } from './startup.ts';

const TITLES: Record<string, string> = {
  '1': 'pipeline overhead',
  '2': 'breach to restored',
  '3': 'backup streaming',
  '4': 'API calls per deploy',
  '5': 'start-up and bundle',
  '6': 'time back to safety',
};

/** The run's settings as flags, and how they differ from the defaults the page is meant to be written from. */
function settings(args: Record<string, unknown>): string {
  const full = parseArgs([]);
  const sizes = Array.isArray(args.sizes) ? (args.sizes as number[]) : [];
  const parts = [
    `${code(`--runs ${String(args.runs)}`)}`,
    `${code(`--startup-runs ${String(args.startupRuns)}`)}`,
    `${code(`--latency ${String(args.latencyMs)}`)}`,
    `${code(`--sizes ${sizes.map((b) => fmtSize(b).replace(' ', '').replace('iB', '')).join(',')}`)}`,
  ];
  const same =
    args.runs === full.runs &&
    args.startupRuns === full.startupRuns &&
    args.latencyMs === full.latencyMs &&
    sizes.join() === full.sizes.join() &&
    !args.quick;
  return `${parts.join(' ')}${same ? ' (the defaults)' : ' — not the defaults; `npm run bench` with no flags is the reference run'}`;
}

/** The page as Markdown. */
export function renderDoc(saved: SavedRun): string {
  const m = saved.machine;
  const r = saved.results;
  const busy = Math.max(m.loadAtStart, saved.loadAtEnd) > m.cores;
  const errors = Object.entries(saved.errors);
  return `${blocks(
    '# Benchmarks',
    'What a deploy costs, measured against the sandbox on one machine: how long a deploy takes beyond what cannot be avoided, ' +
      'how fast a breach is turned back, what a backup costs, how many API calls a deploy makes (rate limits are shared across an ' +
      'organisation’s workflows), and how fast the action starts. Each figure is a ratio against its limit or against its peer in the same run.',
    `${code('npm run bench')} runs all five and prints the table below; ${code('npm run bench -- --write-doc')} rewrites this page from ` +
      `its results (${code('bench/results/latest.json')}). Benchmarks print figures: they are not part of ${code('npm test')} and never pass ` +
      'or fail anything on timing. This page is generated; edit `bench/doc/` instead.',
    table(
      ['measured', 'on'],
      [
        ['date', m.date],
        ['machine', `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}`],
        ['Node', `${m.node} (the action’s ${code('node24')})`],
        ['AWS CLI', m.awsCli ?? 'not installed'],
        ['commit', m.commit ?? 'unknown'],
        ['bundle', code(String(saved.args.dist ?? 'dist'))],
        ['load average', `${m.loadAtStart} at the start, ${saved.loadAtEnd} at the end`],
        ['settings', settings(saved.args)],
        ['duration', `${(saved.durationMs / 60_000).toFixed(1)} min${saved.args.quick ? ' (`--quick`)' : ''}`],
      ],
    ),
    busy &&
      `> The load average was above the number of cores: other work competed for the CPU during this run, and every timing ` +
        'above is higher than on a quiet machine. Re-run when the machine is idle before comparing figures.',
    '## Summary',
    markdownTable(allFigures(r)),
    errors.length > 0 &&
      `Not measured in this run: ${errors.map(([id, e]) => `${id} (${TITLES[id] ?? id}: ${e.split('\n')[0]})`).join('; ')}.`,
    r.pipeline && pipelineSection(r.pipeline, r.startup?.firstLineMs),
    r.breach && breachSection(r.breach),
    r.rollback && rollbackSection(r.rollback),
    r.backup && backupSection(r.backup, r.startup?.emptyRss),
    r.apiCalls && apiSection(r.apiCalls),
    r.startup && startupSection(r.startup, m.node),
    '## Running it',
    `${code('npm run bench')} takes its sizes and runs from flags; the defaults are the run this page is written from. ` +
      'Run it on an idle machine: every figure is a timing or a memory reading of processes that share the CPU with the sandbox.',
    `\`\`\`text\n${USAGE}\n\`\`\``,
  )}\n`;
}

/** Writes docs/benchmarks.md and returns its path. */
export function writeDoc(saved: SavedRun): string {
  const file = join(ROOT, 'docs', 'benchmarks.md');
  mkdirSync(join(ROOT, 'docs'), { recursive: true });
  writeFileSync(file, renderDoc(saved));
  return file;
}
