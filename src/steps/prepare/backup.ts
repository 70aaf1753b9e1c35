/**
 * Prepare check: the database backup. `backup-command` runs in a shell, as a `run:` step would; its
 * stdout is streamed to S3 (BackupStore.streamUpload: multipart, hashed on the way, never held whole
 * in memory) and the object is verified afterwards. The stream handed to the store ends only once
 * the command has exited 0: a command that fails — even after writing everything — makes the stream
 * error, the upload is aborted and no object is left. Without `backup-command`, `backup-max-age`
 * checks that a recent enough backup exists.
 */
import { spawn } from 'node:child_process';
import { PassThrough, type Readable } from 'node:stream';
import type { BackupConfig } from '../../config/types.js';
import type { BackupInFlight, BackupRecord, CheckResult, Logger } from '../../pipeline/types.js';
import type { BackupStore } from '../../providers/index.js';
import { oneLine, redact } from '../../text.js';
import type { Lookup } from '../checks.js';

export const BACKUP_CHECK = 'Database backup';

/** `<prefix>20260102T030405Z-<sha7>-run<id>-<attempt>.dump`: sortable, and unique to one run attempt. */
export function backupKey(prefix: string, at: Date, sha: string, runId: string, attempt: number): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
  return `${prefix}${stamp}-${sha.slice(0, 7)}-run${runId || 'local'}-${attempt}.dump`;
}

/** "3.2 MiB" */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = -1;
  do {
    v /= 1024;
    u++;
  } while (v >= 1024 && u < units.length - 1);
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

/** "2 h 5 min", "40 s" */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** How the command ended. */
export interface CommandExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The end of stderr (bounded), for the error message. */
  stderrTail: string;
}

/** Error that makes the upload abort when the command fails. */
export class BackupCommandError extends Error {
  readonly exit: CommandExit;
  constructor(exit: CommandExit) {
    const how = exit.signal
      ? `was killed by ${exit.signal}`
      : exit.code === null
        ? 'could not run'
        : `exited with code ${exit.code}`;
    const tail = exit.stderrTail ? `: ${exit.stderrTail}` : '';
    super(`backup-command ${how}${tail}`);
    this.name = 'BackupCommandError';
    this.exit = exit;
  }
}

const STDERR_KEEP = 4096;

/**
 * The environment a `run:` step would see: the job's, without the action's own `INPUT_*` values
 * (they hold this action's tokens, which the backup command has no business with).
 */
function commandEnv(): NodeJS.ProcessEnv {
  // Not configuration: the child inherits the job's environment, as a `run:` step does.
  // eslint-disable-next-line no-restricted-properties
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('INPUT_') || k === 'ACTIONS_RUNTIME_TOKEN') delete env[k];
  return env;
}

/**
 * Starts `command` with bash (`--noprofile --norc -eo pipefail`, the runner's own `run:` shell).
 * `stdout` ends only after the command exited 0; any other exit (or a spawn failure, or `signal`)
 * destroys it with a BackupCommandError, so whoever consumes it sees a failure, never a clean end.
 */
export function spawnBackup(command: string, o: { signal?: AbortSignal; secrets?: readonly string[] } = {}) {
  const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', command], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: commandEnv(),
  });
  // A modest buffer: backpressure from the upload pauses the command rather than filling memory.
  const out = new PassThrough({ highWaterMark: 1024 * 1024 });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    stderr = (stderr + d).slice(-STDERR_KEEP);
  });
  child.stdout.pipe(out, { end: false });
  let running = true;
  let stopped = false;
  // If the consumer gives up (the upload failed), stop the command instead of leaving it blocked
  // on a full pipe forever.
  const stop = () => {
    if (!running) return;
    stopped = true;
    child.kill('SIGTERM');
  };
  out.on('close', stop);
  const onAbort = stop;
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const finished = new Promise<CommandExit>((resolve) => {
    let spawnError: Error | undefined;
    child.on('error', (err) => {
      spawnError = err;
    });
    child.on('close', (code, sig) => {
      running = false;
      o.signal?.removeEventListener('abort', onAbort);
      // The tail may hold a connection string: redact credentials in URLs and every known secret.
      const tail = oneLine(redact(stderr.replace(/(\/\/)[^/@\s:]+:[^/@\s]+@/g, '$1***@'), o.secrets ?? []), 300);
      const exit: CommandExit = {
        code: spawnError ? null : code,
        signal: sig,
        stderrTail: spawnError
          ? `could not start bash (${(spawnError as NodeJS.ErrnoException).code ?? spawnError.message})`
          : tail,
      };
      if (exit.code === 0 && !spawnError) out.end();
      else out.destroy(new BackupCommandError(exit));
      resolve(exit);
    });
  });
  return {
    stdout: out as Readable,
    finished,
    /** Stops the command if it is still running (SIGTERM). */
    stop,
    /** True while the command has not exited. */
    isRunning: () => running,
    /** True when `stop` ended the command (so its exit status says nothing about the command). */
    wasStopped: () => stopped,
  };
}

export interface BackupInput {
  command: string;
  backup: BackupConfig;
  sha: string;
  runId: string;
  runAttempt: number;
  signal?: AbortSignal;
  secrets?: readonly string[];
  log: Logger;
  /** Injected in tests. */
  now?: () => Date;
  /**
   * Where the upload goes, told before it starts (the prepare step saves it as
   * `RunState.backupInFlight`, so the post step can remove it if the run stops before it is
   * verified); told again with `abandonedAt` when the upload failed or was cancelled, and with
   * `undefined` once the backup is verified.
   */
  track?: (inFlight: BackupInFlight | undefined) => void;
}

/**
 * How long removing a failed upload may take in the main step. Short: after a cancel the runner
 * sends SIGTERM 7.5 s after SIGINT and the run's records must still be closed; the post step checks
 * the key again (RunState.backupInFlight).
 */
export const REMOVE_DEADLINE_MS = 3_000;

/**
 * Removes what a failed upload may have left under the key: the key is this run's alone. Its own
 * short deadline, not the run's signal: after a cancel (aborted signal) a half backup must still go
 * (docs/safety.md: the backup is complete and verified, or absent). Never throws; says whether it ran.
 */
async function removeFailed(store: BackupStore, where: { bucket: string; key: string }): Promise<boolean> {
  return store.deleteObject(where, { signal: AbortSignal.timeout(REMOVE_DEADLINE_MS) }).then(
    () => true,
    () => false,
  );
}

/**
 * Runs the backup: command → S3 → verify. Returns the check row, and the record when the backup
 * exists and is verified. On a failure the upload is aborted and any object under the key removed.
 */
export async function takeBackup(
  store: BackupStore,
  input: BackupInput,
): Promise<{ check: CheckResult; record?: BackupRecord }> {
  const name = BACKUP_CHECK;
  const { bucket } = input.backup;
  const key = backupKey(
    input.backup.prefix,
    (input.now ?? (() => new Date()))(),
    input.sha,
    input.runId,
    input.runAttempt,
  );
  const started = Date.now();
  const where = { bucket, key };
  // Real time, not `input.now`: the post step measures from it how long a late write may take to land.
  const abandon = () => {
    try {
      input.track?.({ ...where, abandonedAt: new Date().toISOString() });
    } catch (err) {
      input.log.warning(
        `Could not save that the upload to s3://${bucket}/${key} was abandoned: ${(err as Error).message}`,
      );
    }
  };
  // Saved before the first byte goes up: if the run stops anywhere before the verification, the post
  // step knows which key to remove.
  input.track?.(where);
  input.log.info(`Running backup-command; streaming its output to s3://${bucket}/${key}`);
  const cmd = spawnBackup(input.command, { signal: input.signal, secrets: input.secrets });
  let uploaded: { size: number; sha256: string };
  try {
    uploaded = await store.streamUpload({
      bucket,
      key,
      body: cmd.stdout,
      metadata: { sha: input.sha, run: `${input.runId}-${input.runAttempt}` },
    });
  } catch (err) {
    // Did the command fail by itself, or did the upload fail first (and the command is stopped now)?
    const commandFailed = !cmd.isRunning() && !cmd.wasStopped();
    abandon();
    cmd.stop();
    const exit = await cmd.finished;
    // The uploader completes nothing on a failed body, but a store can still complete a request the
    // client gave up on (a whole PUT it had received): nothing under the key may look like a backup.
    // The in-flight record stays: the post step checks the key again once such a write had time to land.
    await removeFailed(store, where);
    if (exit.stderrTail) input.log.untrusted(`backup-command stderr (end): ${exit.stderrTail}`);
    const reason =
      commandFailed && exit.code !== 0
        ? new BackupCommandError(exit).message
        : `the upload to s3://${bucket}/${key} failed: ${(err as Error).message}`;
    return {
      check: { name, status: 'fail', reason: `${reason}; no backup was stored`, details: { bucket, key, exit } },
    };
  }
  await cmd.finished;
  const record: BackupRecord = { bucket, key, sha256: uploaded.sha256, size: uploaded.size };
  let verified: { ok: boolean; reason: string };
  try {
    verified = await store.verify({ bucket, key, size: uploaded.size, sha256: uploaded.sha256 });
  } catch (err) {
    verified = { ok: false, reason: `it could not be checked (${(err as Error).message})` };
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (!verified.ok) {
    // A backup we cannot vouch for is worse than none: someone could restore from it.
    abandon();
    const removed = await removeFailed(store, where);
    return {
      check: {
        name,
        status: 'fail',
        reason:
          `s3://${bucket}/${key} did not verify: ${verified.reason}; ` +
          (removed ? 'it was removed' : 'removing it failed (the post step tries again)'),
        details: { ...record },
      },
    };
  }
  try {
    input.track?.(undefined);
  } catch (err) {
    // Verified either way: the prepare step records it as `state.backup`, which the post step leaves.
    input.log.warning(`Could not save that s3://${bucket}/${key} is verified: ${(err as Error).message}`);
  }
  return {
    check: {
      name,
      status: 'pass',
      reason: `s3://${bucket}/${key}: ${formatBytes(uploaded.size)} in ${seconds} s, verified (sha256 ${uploaded.sha256.slice(0, 12)}…)`,
      details: { ...record },
    },
    record,
  };
}

/** The newest object under the backup prefix. */
export type NewestBackup = { key: string; size: number; lastModified: Date } | undefined;

/**
 * `backup-max-age`: the newest backup under the prefix must be younger than `maxAgeMs`.
 * Without a maximum (plan mode with backup-command) it only reports the newest backup.
 */
export function evaluateBackupAge(
  newest: Lookup<NewestBackup>,
  where: { bucket: string; prefix: string },
  maxAgeMs: number | undefined,
  now: number,
): CheckResult {
  const name = BACKUP_CHECK;
  const loc = `s3://${where.bucket}/${where.prefix}`;
  if (!newest.ok) {
    return {
      name,
      status: 'not-checked',
      reason: `could not list ${loc}${newest.status ? ` (HTTP ${newest.status})` : ''}: ${newest.error}`,
    };
  }
  const b = newest.value;
  if (!b) {
    return maxAgeMs === undefined
      ? { name, status: 'warn', reason: `no backup exists under ${loc} yet` }
      : { name, status: 'fail', reason: `no backup exists under ${loc}; backup-max-age is ${formatAge(maxAgeMs)}` };
  }
  const age = now - b.lastModified.getTime();
  const details = {
    bucket: where.bucket,
    key: b.key,
    size: b.size,
    lastModified: b.lastModified.toISOString(),
    ageMs: age,
  };
  const what = `newest backup s3://${where.bucket}/${b.key} (${formatBytes(b.size)}) is ${formatAge(age)} old`;
  if (maxAgeMs === undefined) return { name, status: 'pass', reason: what, details };
  if (age > maxAgeMs)
    return { name, status: 'fail', reason: `${what}, older than backup-max-age ${formatAge(maxAgeMs)}`, details };
  return { name, status: 'pass', reason: `${what}, within backup-max-age ${formatAge(maxAgeMs)}`, details };
}
