/**
 * The uploaders benchmark 3 compares with the action, each in a process of its own so its memory
 * can be read from /proc: `aws s3 cp -` (the AWS CLI), and the action's adapter alone (BackupStore
 * from src/, compiled without type checking into .tmp/bench) at a chosen part size, which splits the
 * action's peak into what the bundle holds before the backup and what the upload itself adds, at
 * the run's own settings (POLICIES.s3) but for the part size.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { generatorCommand, uploadTiming } from './backup-tools.ts';
import { NODE, ROOT, TMP_DIR } from './paths.ts';
import { watchPeak } from './proc.ts';
import { requests, type Sandbox } from './sandbox.ts';

export const BUCKET = 'shop-backups';
/** No upload of the benchmark may take longer: the uploader is killed (by its pid) and the size fails. */
export const UPLOAD_LIMIT_MS = 30 * 60_000;

/** Kills `child` (SIGKILL, its own pid) if it is still running after UPLOAD_LIMIT_MS. */
function limit(child: ChildProcess): () => void {
  const timer = setTimeout(() => child.kill('SIGKILL'), UPLOAD_LIMIT_MS);
  timer.unref();
  return () => clearTimeout(timer);
}

export interface UploadRun {
  tool: 'action' | 'aws-cli' | 'adapter';
  bytes: number;
  /** Generator start → object complete (the sandbox's S3 log). */
  ms: number;
  bytesPerSec: number;
  peakRss: number;
  /** Peak RSS before the first byte: the action's bundle and earlier steps, or the adapter's imports. */
  baselineRss?: number;
  /** CPU time of the uploading process during the upload (aws-cli: its whole life), ms. */
  cpuMs?: number;
  /** CPU the sandbox (s3rver and its proxy, in this process) used during the upload, % of one core. */
  serverCpuPct: number;
  /** Action only: generator start → the object's checksum recorded and verified. */
  verifiedMs?: number;
  /** AWS CLI only: generator start → the CLI's exit. */
  exitMs?: number;
  /** Adapter only: its first multipart part size. */
  partSize?: number;
  /** Adapter only: the bytes of part buffers it allocated (the parts in flight, of each size reached). */
  partBuffers?: number;
  /** Adapter only: the most JS heap and the most buffer (external) memory it held while uploading, bytes. */
  maxHeap?: number;
  maxBuffers?: number;
  parts: number;
}

/** Deletes objects (and their `.sha256` files) through the sandbox's S3 so the scratch space is freed. */
export async function deleteKeys(sb: Sandbox, keys: string[]): Promise<void> {
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint: sb.urls.s3,
    forcePathStyle: true,
    credentials: { accessKeyId: sb.env.AWS_ACCESS_KEY_ID!, secretAccessKey: sb.env.AWS_SECRET_ACCESS_KEY! },
  });
  try {
    for (const key of keys) {
      for (const k of [key, `${key}.sha256`]) await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: k }));
    }
  } finally {
    s3.destroy();
  }
}

/** CPU this process used since `from` (process.cpuUsage()), as % of one core over `ms`. */
export function cpuPct(from: NodeJS.CpuUsage, ms: number): number {
  const d = process.cpuUsage(from);
  return ((d.user + d.system) / 1000 / ms) * 100;
}

function awsEnv(sb: Sandbox, home: string): Record<string, string> {
  // A clean environment: the sandbox's credentials, no user config, plain payloads (as for the action).
  return {
    PATH: process.env.PATH ?? '',
    HOME: home,
    LANG: 'C.UTF-8',
    AWS_ACCESS_KEY_ID: sb.env.AWS_ACCESS_KEY_ID!,
    AWS_SECRET_ACCESS_KEY: sb.env.AWS_SECRET_ACCESS_KEY!,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
    AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
  };
}

/** Pipes `bytes` of generated data into `aws s3 cp - s3://bucket/key` with its default settings. */
export function awsRun(sb: Sandbox, aws: string, bytes: number, tmp: string): Promise<UploadRun> {
  const key = `bench/aws-cli-${bytes}.bin`;
  const home = mkdtempSync(join(tmp, 'aws-home-'));
  return new Promise<UploadRun>((resolve, reject) => {
    const startedAt = Date.now();
    const cpu0 = process.cpuUsage();
    const gen = spawn('bash', ['-eo', 'pipefail', '-c', generatorCommand(bytes)], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const cli = spawn(aws, ['--endpoint-url', sb.urls.s3!, 's3', 'cp', '-', `s3://${BUCKET}/${key}`], {
      env: awsEnv(sb, home),
      stdio: [gen.stdout, 'ignore', 'pipe'],
    });
    const watch = watchPeak(cli.pid!, 50);
    const unlimit = limit(cli);
    let stderr = '';
    cli.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    cli.on('error', reject);
    cli.on('close', (code) => {
      unlimit();
      const exitMs = Date.now() - startedAt;
      const serverCpuPct = cpuPct(cpu0, exitMs);
      const peakRss = watch.stop();
      void (async () => {
        try {
          if (code !== 0) throw new Error(`aws s3 cp exited ${code}: ${stderr}`);
          const timing = uploadTiming(await requests(sb), BUCKET, key);
          const ms = timing.completedAt - startedAt;
          resolve({
            tool: 'aws-cli',
            bytes,
            ms,
            bytesPerSec: bytes / (ms / 1000),
            peakRss,
            cpuMs: watch.cpuMs(),
            serverCpuPct,
            exitMs,
            parts: timing.parts,
          });
        } catch (err) {
          reject(err as Error);
        } finally {
          rmSync(home, { recursive: true, force: true });
          await deleteKeys(sb, [key]).catch(() => undefined);
        }
      })();
    });
  });
}

const ADAPTER_DIR = join(TMP_DIR, 'adapter');
const ADAPTER_SCRIPT = `
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
const hwm = () => Number(/VmHWM:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
const { BackupStore } = await import('./lib/providers/s3.js');
const { POLICIES } = await import('./lib/providers/index.js');
const [endpoint, key, partSize, command] = process.argv.slice(2);
const store = new BackupStore({
  region: 'us-east-1', endpoint, ...POLICIES.s3, partSize: Number(partSize),
  credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY },
});
const baseline = hwm();
// What the process holds as JS heap and as buffers (external memory) while it uploads.
let heap = 0;
let buffers = 0;
const sample = () => {
  const m = process.memoryUsage();
  heap = Math.max(heap, m.heapUsed);
  buffers = Math.max(buffers, m.external);
};
const timer = setInterval(sample, 100);
const startedAt = Date.now();
const gen = spawn('bash', ['-eo', 'pipefail', '-c', command], { stdio: ['ignore', 'pipe', 'inherit'] });
const r = await store.streamUpload({ bucket: 'shop-backups', key, body: gen.stdout });
clearInterval(timer);
sample();
const pool = store.lastBuffers;
console.log(JSON.stringify({ baseline, startedAt, size: r.size, heap, buffers, partBuffers: pool?.allocatedBytes }));
`;

/** Compiles src/ (no type check) for the adapter runs; call once per benchmark run. */
export async function prepareAdapter(): Promise<void> {
  rmSync(ADAPTER_DIR, { recursive: true, force: true });
  mkdirSync(ADAPTER_DIR, { recursive: true });
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  await promisify(execFile)(NODE, [tsc, '-p', 'tsconfig.json', '--outDir', join(ADAPTER_DIR, 'lib'), '--noCheck'], {
    cwd: ROOT,
    timeout: 300_000,
  });
  writeFileSync(join(ADAPTER_DIR, 'upload.mjs'), ADAPTER_SCRIPT);
}

/** The upload's settings (POLICIES.s3) and its part-size schedule, from the compiled src/. */
export interface UploadFacts {
  partSize: number;
  queueSize: number;
  schedule: { first: number; step: number; cap: number };
  /** The largest stream of unknown length the schedule carries within S3's 10,000 parts, bytes. */
  reachBytes: number;
  /** S3's object limit, bytes. */
  maxObjectBytes: number;
}

/** Reads UploadFacts from the adapter build (call after prepareAdapter). */
export async function uploadFacts(): Promise<UploadFacts> {
  const lib = join(ADAPTER_DIR, 'lib', 'providers');
  const { POLICIES } = (await import(join(lib, 'index.js'))) as {
    POLICIES: { s3: { partSize: number; queueSize: number } };
  };
  const m = (await import(join(lib, 'multipart.js'))) as {
    partSchedule(first: number): { first: number; step: number; cap: number };
    scheduleReach(s: { first: number; step: number; cap: number }): number;
    S3_LIMITS: { maxObjectBytes: number };
  };
  const schedule = m.partSchedule(POLICIES.s3.partSize);
  return {
    partSize: POLICIES.s3.partSize,
    queueSize: POLICIES.s3.queueSize,
    schedule,
    reachBytes: Math.min(m.scheduleReach(schedule), m.S3_LIMITS.maxObjectBytes),
    maxObjectBytes: m.S3_LIMITS.maxObjectBytes,
  };
}

export function removeAdapter(): void {
  rmSync(ADAPTER_DIR, { recursive: true, force: true });
}

/** The adapter alone (BackupStore.streamUpload, no checksum copy or verify) at `partSize`. */
export function adapterRun(sb: Sandbox, bytes: number, partSize: number): Promise<UploadRun> {
  const key = `bench/adapter-${partSize}-${bytes}.bin`;
  return new Promise<UploadRun>((resolve, reject) => {
    const cpu0 = process.cpuUsage();
    const t0 = Date.now();
    const env = awsEnv(sb, ADAPTER_DIR);
    const child = spawn(
      NODE,
      [join(ADAPTER_DIR, 'upload.mjs'), sb.urls.s3!, key, String(partSize), generatorCommand(bytes)],
      {
        env,
        cwd: ADAPTER_DIR,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const watch = watchPeak(child.pid!, 50);
    const unlimit = limit(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    child.on('error', reject);
    child.on('close', (code) => {
      unlimit();
      const serverCpuPct = cpuPct(cpu0, Date.now() - t0);
      const peakRss = watch.stop();
      void (async () => {
        try {
          if (code !== 0) throw new Error(`the adapter run exited ${code}: ${err}`);
          const { baseline, startedAt, heap, buffers, partBuffers } = JSON.parse(out.trim().split('\n').pop()!) as {
            baseline: number;
            startedAt: number;
            heap: number;
            buffers: number;
            partBuffers?: number;
          };
          const timing = uploadTiming(await requests(sb), BUCKET, key);
          const ms = timing.completedAt - startedAt;
          resolve({
            tool: 'adapter',
            bytes,
            ms,
            bytesPerSec: bytes / (ms / 1000),
            peakRss,
            baselineRss: baseline,
            cpuMs: watch.cpuMs(),
            serverCpuPct,
            partSize,
            maxHeap: heap,
            maxBuffers: buffers,
            partBuffers,
            parts: timing.parts,
          });
        } catch (e) {
          reject(e as Error);
        } finally {
          await deleteKeys(sb, [key]).catch(() => undefined);
        }
      })();
    });
  });
}
