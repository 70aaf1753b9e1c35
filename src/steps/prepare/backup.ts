/**
 * Prepare check: the database backup. `backup-command` runs in a shell, as a `run:` step would; its
 * stdout is streamed to S3 (BackupStore.streamUpload: multipart, hashed on the way, never held whole
 * in memory) and the object is verified afterwards. The stream handed to the store ends only once
 * the command has exited 0: a command that fails — even after writing everything — makes the stream
 * error, the upload is aborted and no object is left. Without `backup-command`, `backup-max-age`
 * checks that a recent enough backup exists.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, constants as fsConstants, open as fsOpen } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { promisify } from 'node:util';
import type { BackupConfig } from '../../config/types.js';
import type { BackupInFlight, BackupRecord, CheckResult, Logger } from '../../pipeline/types.js';
import type { BackupStore } from '../../providers/index.js';
import type { PartSource } from '../../providers/multipart.js';
import { oneLine, redact } from '../../text.js';
import { fifoReader } from './fifo-reader.js';
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

const execFileAsync = promisify(execFile);

function openFd(file: string, flags: number): Promise<number> {
  return new Promise((resolve, reject) => fsOpen(file, flags, (err, fd) => (err ? reject(err) : resolve(fd))));
}

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

/** A started backup command, whatever its stdout is connected to. */
interface StartedCommand {
  finished: Promise<CommandExit>;
  /** Stops the command if it is still running (SIGTERM). */
  stop: () => void;
  /** True while the command has not exited. */
  isRunning: () => boolean;
  /** True when `stop` ended the command (so its exit status says nothing about the command). */
  wasStopped: () => boolean;
}

/**
 * Starts `command` with bash (`--noprofile --norc -eo pipefail`, the runner's own `run:` shell), its
 * stdout to `stdout` (a pipe, or a file descriptor the child inherits), its stderr kept (the end of it,
 * redacted) for the error message. `onClose` is told how it ended once it exited and its stderr closed.
 */
function startCommand(
  command: string,
  stdout: 'pipe' | number,
  o: { signal?: AbortSignal; secrets?: readonly string[] },
  onClose: (exit: CommandExit) => void,
) {
  // Its own process group (POSIX): stopping it stops everything it started (`pg_dump | gzip`), not
  // only bash — a process it started could otherwise hold the output open, and a read of it pending.
  const group = process.platform !== 'win32';
  const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', command], {
    stdio: ['ignore', stdout, 'pipe'],
    env: commandEnv(),
    detached: group,
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    stderr = (stderr + d).slice(-STDERR_KEEP);
  });
  let running = true;
  let stopped = false;
  /** SIGTERM to the command's process group (to bash alone where there is none, or it is gone). */
  const kill = () => {
    if (group && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGTERM');
        return;
      } catch {
        // No such group any more: bash and everything it started have exited.
      }
    }
    child.kill('SIGTERM');
  };
  const stop = () => {
    if (!running) return;
    stopped = true;
    kill();
  };
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
      onClose(exit);
      resolve(exit);
    });
  });
  const started: StartedCommand = {
    finished,
    stop,
    isRunning: () => running,
    wasStopped: () => stopped,
  };
  return { child, kill, ...started };
}

/**
 * Starts `command` (see startCommand) with its stdout as a stream. `stdout` ends only after the
 * command exited 0; any other exit (or a spawn failure, or `signal`) destroys it with a
 * BackupCommandError, so whoever consumes it sees a failure, never a clean end. The path where FIFOs
 * are not available (spawnBackupFifo).
 */
export function spawnBackup(command: string, o: { signal?: AbortSignal; secrets?: readonly string[] } = {}) {
  // A modest buffer: backpressure from the upload pauses the command rather than filling memory.
  const out = new PassThrough({ highWaterMark: 1024 * 1024 });
  const cmd = startCommand(command, 'pipe', o, (exit) => {
    if (exit.code === 0) out.end();
    else out.destroy(new BackupCommandError(exit));
  });
  cmd.child.stdout!.pipe(out, { end: false });
  // If the consumer gives up (the upload failed), stop the command instead of leaving it blocked
  // on a full pipe forever.
  out.on('close', cmd.stop);
  const { child: _child, kill: _kill, ...started } = cmd;
  return { stdout: out as Readable, ...started };
}

/**
 * Starts `command` (see startCommand) with its stdout a FIFO the uploader reads straight into its
 * part buffers (`source`, a PartSource): no 64 KiB chunk per read to be garbage-collected, one copy
 * fewer than the stream (BENCHMARKS: peak RSS of the upload).
 *
 * The FIFO is made in a private `mkdtemp` directory (0700) with mode 0600, and opened so no open()
 * can block, by POSIX open(2) alone (no reliance on Linux's O_RDWR-on-a-FIFO, fifo(7)): a read end
 * with O_NONBLOCK (returns at once), then the write end (a reader exists: returns at once), then the
 * read end proper, blocking (a writer exists: returns at once); the O_NONBLOCK one is closed. The
 * directory is removed right away: the descriptors keep the FIFO, and nothing else can open it.
 * The child inherits the write end, which the parent closes once spawned, so the read end sees EOF
 * when the command and every process it started (`pg_dump | gzip`) have closed their stdout
 * (pipe(7)). The read end is read through libuv's pipe handle (fifo-reader.ts), which owns it and
 * closes it once.
 *
 * `source.read` fills the whole range it is given unless the output ends first (or `close` is
 * called): one call per part buffer, however short the pipe's reads. It resolves 0 at EOF only once
 * the command exited 0; a non-zero exit, a spawn failure or a stop (the run's `signal`,
 * `source.close`) makes it reject with a BackupCommandError / an Error, even after output was read. `source.close` stops the command if it still runs.
 */
export async function spawnBackupFifo(
  command: string,
  o: { signal?: AbortSignal; secrets?: readonly string[]; tmpdir?: string } = {},
) {
  const dir = await mkdtemp(path.join(o.tmpdir ?? os.tmpdir(), 'pd-backup-'));
  const fifo = path.join(dir, 'stdout');
  const fds: number[] = [];
  let readFd: number;
  let writeFd: number;
  try {
    await execFileAsync('mkfifo', ['-m', '600', fifo], { timeout: 10_000 });
    const probe = await openFd(fifo, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    fds.push(probe);
    writeFd = await openFd(fifo, fsConstants.O_WRONLY);
    fds.push(writeFd);
    readFd = await openFd(fifo, fsConstants.O_RDONLY);
    fds.push(readFd);
    closeSync(probe);
    fds.splice(fds.indexOf(probe), 1);
  } catch (err) {
    for (const fd of fds) closeSync(fd);
    throw err;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  let exit: CommandExit | undefined;
  let cmd: ReturnType<typeof startCommand>;
  try {
    cmd = startCommand(command, writeFd, o, (e) => {
      exit = e;
    });
  } finally {
    // The child has its copy (spawn returns after exec): the parent's must go, or EOF never comes.
    closeSync(writeFd);
  }
  let closed = false;
  const reader = fifoReader(readFd);
  const failed = (): Error | undefined => {
    if (exit && (exit.code !== 0 || exit.signal)) return new BackupCommandError(exit);
    if (cmd.wasStopped() || closed) return new Error('backup-command was stopped');
    return undefined;
  };
  const source: PartSource = {
    async read(buf, offset, length) {
      const before = failed();
      if (before) throw before;
      // The whole range in one call (fifo-reader.ts): fewer, shorter-lived objects per part.
      const n = await reader.read(buf, offset, length);
      const after = failed();
      if (after) throw after;
      if (n > 0) return n;
      // EOF: every writer closed. Only the command's exit says whether the output is whole.
      const e = await cmd.finished;
      if (e.code !== 0 || e.signal) throw new BackupCommandError(e);
      return 0;
    },
    close() {
      if (closed) return;
      closed = true;
      cmd.stop();
      // bash may have exited while a process it started still holds the FIFO open and writes nothing:
      // stop the whole group, so nothing is left running.
      if (reader.pending()) cmd.kill();
      reader.destroy(new Error('backup-command was stopped'));
    },
  };
  const { child: _child, kill: _kill, ...started } = cmd;
  return { source, ...started };
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
  /** Tests: the command's stdout as a stream (spawnBackup) even where a FIFO is available. */
  streamOnly?: boolean;
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
 * Where the FIFO path (spawnBackupFifo, read through libuv's pipe handle over epoll) is tested: Linux,
 * every GitHub-hosted Ubuntu runner. libuv documents pipe handles for FIFOs on every Unix, but the
 * kqueue path of macOS is not tested here: there, and elsewhere, the command's stdout is a stream.
 */
const FIFO_PLATFORMS: readonly NodeJS.Platform[] = ['linux'];

/**
 * Starts the backup command: its stdout a FIFO read straight into the part buffers where that is
 * available, else a stream. A FIFO that cannot be set up (no `mkfifo`, a read-only temp dir) is not
 * a reason to fail the backup: the stream carries the same bytes, with more garbage.
 */
async function startBackup(input: BackupInput): Promise<StartedCommand & { body: Readable | PartSource }> {
  const o = { signal: input.signal, secrets: input.secrets };
  if (FIFO_PLATFORMS.includes(process.platform) && !input.streamOnly) {
    try {
      const { source, ...cmd } = await spawnBackupFifo(input.command, o);
      // Stopping also closes the read end (once no read is pending): nothing is left open.
      return { ...cmd, stop: () => source.close(), body: source };
    } catch (err) {
      input.log.debug(`Could not set up a FIFO for backup-command's output (${(err as Error).message}); using a pipe`);
    }
  }
  const { stdout, ...cmd } = spawnBackup(input.command, o);
  return { ...cmd, body: stdout };
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
  const cmd = await startBackup(input);
  let uploaded: { size: number; sha256: string };
  try {
    uploaded = await store.streamUpload({
      bucket,
      key,
      body: cmd.body,
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
  cmd.stop();
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
