/**
 * The headline figures of each benchmark as table rows: the measured value, what it is compared with
 * (its limit or its peer in the same run), the ratio, the goal, and whether the goal is met. The table
 * printed by `npm run bench` and the one at the top of docs/benchmarks.md are both made from these.
 */
import type { ApiCallsResult } from '../api-calls.ts';
import type { BackupResult } from '../backup.ts';
import type { BreachResult } from '../breach.ts';
import type { PipelineResult } from '../pipeline.ts';
import type { RollbackResult } from '../rollback.ts';
import type { StartupResult } from '../startup.ts';
import { MB, MiB, fmtMB, fmtMs, fmtRate, fmtSize } from './stats.ts';

export interface Figure {
  bench: number;
  name: string;
  measured: string;
  against: string;
  ratio?: number;
  goal: string;
  met?: boolean;
}

export interface Results {
  startup?: StartupResult;
  backup?: BackupResult;
  pipeline?: PipelineResult;
  apiCalls?: ApiCallsResult;
  breach?: BreachResult;
  rollback?: RollbackResult;
}

/**
 * The RSS growth per GiB that still counts as flat: 4 GiB more backup may add at most 40 MB. Peaks of
 * one size vary by ±10–20 MB between runs (freed part buffers go back to the allocator, not the OS, at
 * the garbage collector's pace); holding even 1 % of the stream would show as about 10 MB per GiB.
 */
export const FLAT_SLOPE = 10 * MB;

export function pipelineFigures(p: PipelineResult): Figure[] {
  const o = p.options;
  const rows: Figure[] = [
    {
      bench: 1,
      name: `blue-green wall time (${o.latencyMs} ms per API call, build ${fmtMs(o.buildMs)}, window ${fmtMs(o.windowMs)})`,
      measured: fmtMs(p.wallMs),
      against: `lower bound ${fmtMs(p.bound.totalMs)}`,
      ratio: p.ratio,
      goal: '≤ 1.10',
      met: p.ratio <= 1.1,
    },
  ];
  const pre = p.stepMedians.find((s) => s.step === 'preflight');
  if (pre) {
    const bound = p.bound.terms.find((t) => t.step === 'preflight')!.ms;
    rows.push({
      bench: 1,
      name: `pre-flight (${pre.calls} look-ups, up to ${pre.maxConcurrency} at once)`,
      measured: fmtMs(pre.ms),
      against: `2 round trips ${fmtMs(bound)}`,
      ratio: pre.ms / bound,
      goal: 'informative',
    });
  }
  return rows;
}

export function breachFigures(b: BreachResult): Figure[] {
  return [
    {
      bench: 2,
      name: `breach sample → production on blue (${b.options.latencyMs} ms per API call)`,
      measured: fmtMs(b.breachToRestoredMs),
      against: `interval + round trip ${fmtMs(b.limitMs)}`,
      ratio: b.ratio,
      goal: '≤ 1.00',
      met: b.ratio <= 1,
    },
    {
      bench: 2,
      name: 'production on green → on blue again (how long users got the bad release)',
      measured: fmtMs(b.exposureMs),
      against: `interval + round trip ${fmtMs(b.limitMs)}`,
      ratio: b.exposureMs / b.limitMs,
      goal: 'informative',
    },
  ];
}

export function rollbackFigures(r: RollbackResult): Figure[] {
  const bound = `Node start + traffic change + health sample (interval + evaluation-delay) ${fmtMs(r.boundMs)}`;
  const traffic = `Node start + traffic change + 1 round trip ${fmtMs(r.trafficBoundMs)}`;
  return [
    {
      bench: 6,
      name: `mode: rollback right after a deploy, spawn → exit (${r.options.latencyMs} ms per API call)`,
      measured: fmtMs(r.wallMs),
      against: bound,
      ratio: r.ratio,
      goal: '≤ 2.00',
      met: r.ratio <= 2,
    },
    {
      bench: 6,
      name: 'mode: rollback, spawn → exit, against the traffic plane alone (no health sample)',
      measured: fmtMs(r.wallMs),
      against: traffic,
      ratio: r.trafficRatio,
      goal: 'informative',
    },
    {
      bench: 6,
      name: 'mode: rollback, spawn → production served from the target again (load balancer)',
      measured: fmtMs(r.servedMs),
      against: traffic,
      ratio: r.servedRatio,
      goal: 'informative',
    },
  ];
}

export function backupFigures(b: BackupResult): Figure[] {
  const at = (tool: 'action' | 'aws-cli', bytes: number) => b.runs.find((r) => r.tool === tool && r.bytes === bytes);
  const rows: Figure[] = [];
  // The headline size and every larger one measured (1 GiB and 4 GiB in the full run).
  for (const bytes of b.sizes.filter((s) => s >= b.headline)) {
    const a = at('action', bytes);
    const c = at('aws-cli', bytes);
    if (!a) continue;
    rows.push({
      bench: 3,
      name: `backup throughput, ${fmtSize(bytes)}`,
      measured: fmtRate(a.bytesPerSec),
      against: c ? `aws s3 cp ${fmtRate(c.bytesPerSec)}` : 'AWS CLI not installed',
      ratio: c ? a.bytesPerSec / c.bytesPerSec : undefined,
      goal: '≥ 1.00',
      met: c ? a.bytesPerSec >= c.bytesPerSec : undefined,
    });
    rows.push({
      bench: 3,
      name: `backup peak RSS, ${fmtSize(bytes)} (aws s3 cp: ${c ? fmtMB(c.peakRss) : 'n/a'})`,
      measured: fmtMB(a.peakRss),
      against: 'limit 150 MB',
      ratio: a.peakRss / (150 * MB),
      goal: '≤ 1.00',
      met: a.peakRss <= 150 * MB,
    });
  }
  if (b.facts) {
    const f = b.facts;
    rows.push({
      bench: 3,
      name: `largest backup a stream of unknown length can reach (${fmtSize(f.schedule.first)} parts, doubling every ${f.schedule.step} up to ${fmtSize(f.schedule.cap)}, 10,000 parts)`,
      measured: fmtSize(f.reachBytes),
      against: `S3 object limit ${fmtSize(f.maxObjectBytes)}`,
      ratio: f.reachBytes / f.maxObjectBytes,
      goal: '≥ 1.00',
      met: f.reachBytes >= f.maxObjectBytes,
    });
  }
  if (b.slope.action !== undefined) {
    const fitted = b.slopeSizes ?? b.sizes;
    // Below 256 MiB an upload has not reached its steady state: the slope is shown, not judged.
    const steady = fitted.every((s) => s >= 256 * MiB);
    rows.push({
      bench: 3,
      name: `peak RSS growth per GiB of backup (${fitted.map((s) => fmtSize(s)).join(', ')}${steady ? '' : '; too small to judge'})`,
      measured: `${(b.slope.action / MB).toFixed(1)} MB/GiB`,
      against: b.slope.awsCli !== undefined ? `aws s3 cp ${(b.slope.awsCli / MB).toFixed(1)} MB/GiB` : 'flat',
      goal: `≤ ${FLAT_SLOPE / MB} MB/GiB`,
      met: steady ? b.slope.action <= FLAT_SLOPE : undefined,
    });
  }
  return rows;
}

export function apiFigures(r: ApiCallsResult): Figure[] {
  const rows: Figure[] = [];
  for (const d of r.deploys) {
    const bind = r.binding.find((x) => x.strategy === d.strategy)!;
    const gh = d.byService.github ?? 0;
    const cf = r.perHour.find((p) => p.strategy === d.strategy && p.provider === 'cloudflare')!;
    rows.push({
      bench: 4,
      name: `API calls per ${d.strategy} deploy (GitHub ${gh}: REST ${gh - d.githubGraphql}, GraphQL ${d.githubGraphql}; Cloudflare ${cf.calls})`,
      measured: String(d.total),
      against: `${bind.deploys} deploys/h (${bind.provider} limit)`,
      goal: 'informative',
    });
  }
  const bg = r.deploys.find((d) => d.strategy === 'blue-green');
  if (bg) {
    // Issue #16's budget goals: GitHub's calls of both APIs, Cloudflare's, per blue-green deploy.
    for (const [provider, label, limit] of [
      ['github', 'GitHub calls per blue-green deploy (REST and GraphQL)', 15],
      ['cloudflare', 'Cloudflare calls per blue-green deploy', 8],
    ] as const) {
      const n = bg.byService[provider] ?? 0;
      rows.push({
        bench: 4,
        name: label,
        measured: String(n),
        against: `limit ${limit}`,
        ratio: n / limit,
        goal: '≤ 1.00',
        met: n <= limit,
      });
    }
    rows.push({
      bench: 4,
      name: 'API calls while validating, per sample (→ per minute at the 30 s default)',
      measured: `${bg.watch.perSample.toFixed(1)} per sample`,
      against: `${((bg.watch.perSample * 60_000) / 30_000).toFixed(1)}/min`,
      goal: 'informative',
    });
  }
  return rows;
}

export function startupFigures(s: StartupResult): Figure[] {
  return [
    {
      bench: 5,
      name: `first log line of dist/index.js (empty script ${fmtMs(s.emptyMs)}, dependencies unbundled ${fmtMs(s.allDepsMs)})`,
      measured: fmtMs(s.firstLineMs),
      against: 'limit 300 ms',
      ratio: s.firstLineMs / 300,
      goal: '≤ 1.00',
      met: s.firstLineMs <= 300,
    },
    {
      bench: 5,
      name: `bundle loaded at start: dist/index.js (+ ${fmtMB(s.sizes.lazyChunks.reduce((a, c) => a + c.bytes, 0))} lazy)`,
      measured: fmtMB(s.sizes.indexBytes),
      against: 'limit 4 MB',
      ratio: s.sizes.indexBytes / (4 * MB),
      goal: '≤ 1.00',
      met: s.sizes.indexBytes <= 4 * MB,
    },
  ];
}

/** Every figure of the results, in benchmark order. */
export function allFigures(r: Results): Figure[] {
  return [
    ...(r.pipeline ? pipelineFigures(r.pipeline) : []),
    ...(r.breach ? breachFigures(r.breach) : []),
    ...(r.rollback ? rollbackFigures(r.rollback) : []),
    ...(r.backup ? backupFigures(r.backup) : []),
    ...(r.apiCalls ? apiFigures(r.apiCalls) : []),
    ...(r.startup ? startupFigures(r.startup) : []),
  ];
}

/** The figures as a fixed-width text table (stdout). */
export function textTable(figures: readonly Figure[]): string {
  const head = ['#', 'figure', 'measured', 'against', 'ratio', 'goal', ''];
  const rows = figures.map((f) => [
    String(f.bench),
    f.name,
    f.measured,
    f.against,
    f.ratio === undefined ? '' : f.ratio.toFixed(2),
    f.goal,
    f.met === undefined ? '' : f.met ? 'met' : 'MISSED',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The figures as a Markdown table (the doc). */
export function markdownTable(figures: readonly Figure[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const out = ['| # | figure | measured | against | ratio | goal | |', '|---|---|---|---|---|---|---|'];
  for (const f of figures) {
    const met = f.met === undefined ? '' : f.met ? '✅ met' : '❌ missed';
    out.push(
      `| ${f.bench} | ${esc(f.name)} | ${esc(f.measured)} | ${esc(f.against)} | ${f.ratio === undefined ? '' : f.ratio.toFixed(2)} | ${esc(f.goal)} | ${met} |`,
    );
  }
  return out.join('\n');
}
