/**
 * Benchmark 3, backup streaming: `backup-command` output of each size streamed to the sandbox's S3 by
 * the bundled action (its real prepare step: BackupStore's own multipart loop over @aws-sdk/client-s3), and the same
 * generated stream piped into `aws s3 cp - s3://…` against the same server. Throughput is measured the
 * same way for both: from the generator's start to the moment the object is complete (the sandbox's
 * S3 log); peak RSS of the uploading process from /proc/<pid>/status (VmHWM). At the headline size the
 * adapter alone is also run at two part sizes, to show what the upload itself holds in memory.
 *
 * The action is stopped (SIGKILL, its own pid) once the prepare step has reported: what follows is the
 * deploy, measured by benchmark 1. Each size gets a fresh sandbox; objects are deleted after each run.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startTimed } from './lib/action.ts';
import {
  findAwsCli,
  generatorCommand,
  generatorRate,
  scratchFor,
  sizesThatFit,
  uploadTiming,
} from './lib/backup-tools.ts';
import { watchPeak } from './lib/proc.ts';
import { benchSandbox, requests, type Sandbox } from './lib/sandbox.ts';
import { GiB, MB, MiB, fmtSize, linearFit } from './lib/stats.ts';
import {
  BUCKET,
  UPLOAD_LIMIT_MS,
  type UploadRun,
  adapterRun,
  awsRun,
  cpuPct,
  deleteKeys,
  prepareAdapter,
  removeAdapter,
  type UploadFacts,
  uploadFacts,
} from './lib/uploaders.ts';

export type { UploadRun };

export interface BackupOptions {
  dist: string;
  sizes: number[];
  /** A size whose uploads are predicted (from the slowest rate so far) to end after this is skipped. */
  budgetMs?: number;
}

export interface BackupResult {
  sizes: number[];
  /** Sizes not measured, and why (disk room, time budget). */
  dropped: { bytes: number; why: string }[];
  scratch: { dir: string; kind: 'ram' | 'disk' };
  awsCli?: string;
  generatorBytesPerSec: number;
  runs: UploadRun[];
  /** The headline size: 1 GiB, else the largest measured below it. */
  headline: number;
  /** Peak RSS growth per GiB of backup (least squares over `slopeSizes`), bytes per GiB. */
  slope: { action?: number; awsCli?: number };
  /** The sizes the slope is fitted over: those of 256 MiB and more when there are two, else all. */
  slopeSizes: number[];
  /** The upload's settings and part-size schedule (POLICIES.s3, src/providers/multipart.ts). */
  facts?: UploadFacts;
}

const STEADY_BYTES = 256 * MiB;

function backupScenario() {
  return { extends: 'default', description: 'benchmark 3: backup streaming', postgres: { enabled: false } };
}

async function actionRun(sb: Sandbox, dist: string, bytes: number, tmp: string): Promise<UploadRun> {
  const startFile = join(tmp, `start-${bytes}`);
  const command = `printf '%s' "$EPOCHREALTIME" > '${startFile}'; ${generatorCommand(bytes)}`;
  const t = startTimed(dist, sb.env, { 'backup-command': command }, UPLOAD_LIMIT_MS);
  const watch = watchPeak(t.pid, 50);
  let key = '';
  try {
    const started = await t.action.waitForLine(/^Running backup-command; streaming its output to s3:\/\//, 120_000);
    key = /s3:\/\/[^/]+\/(\S+)$/.exec(started)?.[1] ?? '';
    const baselineRss = watch.peak();
    const cpuBefore = watch.cpuMs();
    const cpu0 = process.cpuUsage();
    const t0 = Date.now();
    const done = await t.action.waitForLine(/^(::error::)?Environment preparation: /, UPLOAD_LIMIT_MS);
    const serverCpuPct = cpuPct(cpu0, Date.now() - t0);
    const peakRss = watch.stop();
    const cpuMs = watch.cpuMs() - cpuBefore;
    t.action.kill('SIGKILL');
    const run = await t.action.result;
    if (!/Environment preparation: passed/.test(done) || !key) {
      throw new Error(
        `the action's prepare step did not pass:\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-1000)}`,
      );
    }
    const startedAt = Number(readFileSync(startFile, 'utf8').trim()) * 1000;
    const timing = uploadTiming(await requests(sb), BUCKET, key);
    const ms = timing.completedAt - startedAt;
    return {
      tool: 'action',
      bytes,
      ms,
      bytesPerSec: bytes / (ms / 1000),
      peakRss,
      baselineRss,
      cpuMs,
      serverCpuPct,
      verifiedMs: timing.lastAt - startedAt,
      parts: timing.parts,
    };
  } finally {
    watch.stop();
    if (t.action.child.exitCode === null && t.action.child.signalCode === null) t.action.kill('SIGKILL');
    await t.action.result.catch(() => undefined);
    if (key) await deleteKeys(sb, [key]);
  }
}

const mibs = (r: UploadRun) => `${(r.bytesPerSec / MiB).toFixed(1)} MiB/s, peak RSS ${(r.peakRss / MB).toFixed(0)} MB`;

/** The sizes to measure (ascending), skipping those predicted to overrun the budget. */
async function measureSizes(
  o: BackupOptions,
  ctx: {
    sizes: number[];
    tmp: string;
    aws?: string;
    dropped: BackupResult['dropped'];
    headline: number;
    /** The adapter alone runs at the headline size at these part sizes (the policy's first part size). */
    adapterParts: number[];
  },
  log: (line: string) => void,
): Promise<{ runs: UploadRun[]; kept: number[] }> {
  const runs: UploadRun[] = [];
  const kept: number[] = [];
  const started = performance.now();
  for (const bytes of ctx.sizes) {
    const uploads = (ctx.aws ? 2 : 1) + (bytes === ctx.headline ? ctx.adapterParts.length : 0);
    const slowest = Math.min(...runs.map((r) => r.bytesPerSec));
    const predictedMs = runs.length ? (bytes / slowest) * 1000 * uploads * 1.2 : 0;
    if (o.budgetMs !== undefined && performance.now() - started + predictedMs > o.budgetMs) {
      const why = `predicted ${Math.round(predictedMs / 1000)} s at ${(slowest / MiB).toFixed(0)} MiB/s, beyond the budget of ${Math.round(o.budgetMs / 1000)} s`;
      ctx.dropped.push({ bytes, why });
      log(`  ${fmtSize(bytes)} skipped: ${why}`);
      continue;
    }
    const dir = join(ctx.tmp, `sandbox-${bytes}`);
    const before = runs.length;
    let sb: Sandbox | undefined;
    try {
      sb = await benchSandbox(backupScenario(), { dir, traffic: false });
      const a = await actionRun(sb, o.dist, bytes, ctx.tmp);
      runs.push(a);
      log(`  ${fmtSize(bytes)} action: ${mibs(a)} (${((a.baselineRss ?? 0) / MB).toFixed(0)} MB before the backup)`);
      if (ctx.aws) {
        const c = await awsRun(sb, ctx.aws, bytes, ctx.tmp);
        runs.push(c);
        log(`  ${fmtSize(bytes)} aws s3 cp: ${mibs(c)}`);
      }
      if (bytes === ctx.headline) {
        for (const part of ctx.adapterParts) {
          const d = await adapterRun(sb, bytes, part);
          runs.push(d);
          log(`  ${fmtSize(bytes)} adapter alone, ${part / MiB} MiB parts: ${mibs(d)}`);
        }
      }
      kept.push(bytes);
    } catch (err) {
      // One size failing (a full disk, a server timeout on a huge completion) must not lose the others.
      runs.splice(before);
      const why = `failed: ${(err as Error).message.split('\n')[0]}`;
      ctx.dropped.push({ bytes, why });
      log(`  ${fmtSize(bytes)} ${why}`);
    } finally {
      await sb?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { runs, kept };
}

/** Runs benchmark 3; `log` receives one line per upload. */
export async function benchBackup(o: BackupOptions, log: (line: string) => void): Promise<BackupResult> {
  const scratch = scratchFor(Math.max(...o.sizes));
  const fit = sizesThatFit(o.sizes, scratch.freeBytes);
  if (fit.kept.length === 0) throw new Error(`no backup size fits in ${scratch.dir}`);
  const dropped: BackupResult['dropped'] = fit.dropped.map((bytes) => ({
    bytes,
    why: `${scratch.dir} has room for less (s3rver needs twice the size while it completes an upload)`,
  }));
  for (const d of dropped) log(`  ${fmtSize(d.bytes)} skipped: ${d.why}`);
  const aws = findAwsCli();
  if (!aws) log('  the AWS CLI is not installed: only the action is measured');
  const sizes = [...fit.kept].sort((a, b) => a - b);
  const headline = [...sizes].reverse().find((s) => s <= GiB) ?? sizes[0]!;
  const tmp = mkdtempSync(join(scratch.dir, 'pd-bench-backup-'));
  try {
    const generatorBytesPerSec = await generatorRate(sizes[0]!);
    await prepareAdapter();
    const facts = await uploadFacts();
    log(
      `  parts: ${fmtSize(facts.schedule.first)} for ${facts.schedule.step} parts, then doubling every ${facts.schedule.step} up to ` +
        `${fmtSize(facts.schedule.cap)}; ${facts.queueSize} in flight; a stream of unknown length reaches ${fmtSize(facts.reachBytes)}`,
    );
    const { runs, kept } = await measureSizes(
      o,
      { sizes, tmp, aws, dropped, headline, adapterParts: [facts.partSize] },
      log,
    );
    if (kept.length === 0) throw new Error('no backup size could be measured');
    // Below 256 MiB an upload has too few parts to reach its steady state: fit over the larger sizes.
    const large = kept.filter((b) => b >= STEADY_BYTES);
    const slopeSizes = large.length >= 2 ? large : kept;
    const slopeOf = (tool: UploadRun['tool']) => {
      const pts = runs
        .filter((r) => r.tool === tool && slopeSizes.includes(r.bytes))
        .map((r) => ({ x: r.bytes / GiB, y: r.peakRss }));
      return new Set(pts.map((p) => p.x)).size >= 2 ? linearFit(pts).slope : undefined;
    };
    return {
      sizes: kept,
      dropped,
      scratch: { dir: scratch.dir, kind: scratch.kind },
      awsCli: aws,
      generatorBytesPerSec,
      runs,
      headline: kept.includes(headline) ? headline : kept[kept.length - 1]!,
      slope: { action: slopeOf('action'), awsCli: aws ? slopeOf('aws-cli') : undefined },
      slopeSizes,
      facts,
    };
  } finally {
    removeAdapter();
    rmSync(tmp, { recursive: true, force: true });
  }
}
