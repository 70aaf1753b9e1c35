import { createHash } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../../../src/pipeline/types.ts';
import { BackupStore } from '../../../../src/providers/s3.ts';
import type { BackupInFlight } from '../../../../src/pipeline/types.ts';
import { removeAbandonedBackup } from '../../../../src/pipeline/abandoned-upload.ts';
import {
  backupKey,
  BackupCommandError,
  evaluateBackupAge,
  spawnBackup,
  spawnBackupFifo,
  takeBackup,
} from '../../../../src/steps/prepare/backup.ts';
import { found, lookupFailed } from '../../../../src/steps/checks.ts';

interface S3rverLike {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
type S3rverCtor = new (o: Record<string, unknown>) => S3rverLike;
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverCtor;

const lines: string[] = [];
const log: Logger = {
  info: (m) => lines.push(m),
  warning: (m) => lines.push(m),
  error: (m) => lines.push(m),
  debug: () => {},
  untrusted: (m) => lines.push(m),
};

describe('backup against s3rver', () => {
  let dir: string;
  let server: S3rverLike;
  let store: BackupStore;
  const bucket = 'backups';
  const cfg = { bucket, prefix: 'production-deploy/o/r/production/', region: 'us-east-1' };
  let n = 0;
  const input = (command: string) => ({
    command,
    backup: cfg,
    sha: 'abcdef1234567890abcdef1234567890abcdef12',
    runId: '77',
    runAttempt: ++n,
    log,
  });
  const keys = async () =>
    ((await store.client.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pd-s3-'));
    server = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      directory: dir,
      configureBuckets: [{ name: bucket }],
    });
    const { port } = await server.run();
    store = new BackupStore({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${port}`,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestTimeoutMs: 10_000,
      connectionTimeoutMs: 2_000,
    });
  });
  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('streams a multipart backup, verifies it and records its checksum', async () => {
    // 12 MiB of zeros (two parts of the store's 8 MiB); their SHA-256 is known in advance.
    const cmd = 'head -c 12582912 /dev/zero';
    const expected = createHash('sha256').update(Buffer.alloc(12582912)).digest('hex');
    const { check, record } = await takeBackup(store, input(cmd));
    expect(check.status).toBe('pass');
    expect(record).toBeDefined();
    expect(record!.size).toBe(12582912);
    expect(record!.sha256).toBe(expected);
    expect(record!.key).toMatch(/^production-deploy\/o\/r\/production\/\d{8}T\d{6}Z-abcdef1-run77-\d\.dump$/);
    expect(check.reason).toContain('12 MiB');
    expect(check.reason).toContain('verified');
    expect(await keys()).toContain(record!.key);
    const again = await store.verify({ bucket, key: record!.key, size: record!.size, sha256: record!.sha256 });
    expect(again.ok).toBe(true);
  });

  it('a command that fails after writing leaves no object, single-part or multipart', async () => {
    const before = await keys();
    for (const cmd of [
      "printf 'partial dump'; echo 'pg_dump: error: connection to postgres://app:hunter2@db failed' >&2; exit 3",
      'head -c 9000000 /dev/zero; exit 1',
    ]) {
      const { check, record } = await takeBackup(store, input(cmd));
      expect(check.status).toBe('fail');
      expect(record).toBeUndefined();
      expect(check.reason).toMatch(/^backup-command exited with code (3|1)/);
      expect(check.reason).toContain('no backup was stored');
      expect(check.reason).not.toContain('hunter2');
    }
    expect(await keys()).toEqual(before);
  });

  it('says where the upload goes before it starts, and clears it once verified or marks it abandoned', async () => {
    const ok: (BackupInFlight | undefined)[] = [];
    const { record } = await takeBackup(store, { ...input('printf dump'), track: (f) => ok.push(f) });
    expect(ok).toEqual([{ bucket, key: record!.key }, undefined]);

    const failed: (BackupInFlight | undefined)[] = [];
    const before = Date.now();
    await takeBackup(store, { ...input('printf half; exit 2'), track: (f) => failed.push(f) });
    expect(failed).toHaveLength(2);
    expect(failed[1]).toEqual({ ...failed[0], abandonedAt: expect.any(String) });
    expect(Date.parse(failed[1]!.abandonedAt!)).toBeGreaterThanOrEqual(before - 1000);
    expect(await keys()).not.toContain(failed[0]!.key);
  });

  it('a backup that cannot be verified is removed, not left looking like one', async () => {
    // The real store, except that its HeadObject-based check fails as a throttled S3 would.
    const blind = Object.assign(Object.create(store) as BackupStore, {
      verify: async () => {
        throw new Error('S3 verify failed: HTTP 503 SlowDown');
      },
    });
    const tracked: (BackupInFlight | undefined)[] = [];
    const r = await takeBackup(blind, { ...input('printf whole'), track: (f) => tracked.push(f) });
    expect(r.record).toBeUndefined();
    expect(r.check.status).toBe('fail');
    expect(r.check.reason).toContain('did not verify: it could not be checked (S3 verify failed: HTTP 503 SlowDown)');
    expect(r.check.reason).toContain('it was removed');
    expect(tracked.at(-1)).toMatchObject({ abandonedAt: expect.any(String) });
    expect(await keys()).not.toContain(tracked[0]!.key);
  });

  it('an upload it cannot record is not started', async () => {
    const started = await keys();
    const r = takeBackup(store, {
      ...input('printf never'),
      track: () => {
        throw new Error('GITHUB_STATE is not writable');
      },
    });
    await expect(r).rejects.toThrow('GITHUB_STATE is not writable');
    expect(await keys()).toEqual(started);
  });

  it('the post step removes an abandoned upload, and one that lands late; it deletes only what it finds', async () => {
    const calls: string[] = [];
    const counting = {
      exists: (q: { bucket: string; key: string }, o?: { signal?: AbortSignal }) => {
        calls.push('HEAD');
        return store.exists(q, o);
      },
      deleteObject: (q: { bucket: string; key: string }, o?: { signal?: AbortSignal }) => {
        calls.push('DELETE');
        return store.deleteObject(q, o);
      },
    };
    const signal = AbortSignal.timeout(10_000);
    const key = 'abandoned/left.dump';
    await store.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'unverified' }));
    const left = await removeAbandonedBackup(
      counting,
      { bucket, key, abandonedAt: '2020-01-01T00:00:00Z' },
      { signal },
    );
    expect(left).toMatchObject({ deleted: 1 });
    expect(calls).toEqual(['HEAD', 'DELETE', 'HEAD']);
    expect(await keys()).not.toContain(key);

    // A write the client gave up on lands 300 ms into the watch: it is found and removed too.
    calls.length = 0;
    const late = 'abandoned/late.dump';
    const landing = new Promise<void>((resolve) =>
      setTimeout(() => {
        void store.client.send(new PutObjectCommand({ Bucket: bucket, Key: late, Body: 'late' })).then(() => resolve());
      }, 300),
    );
    const r = await removeAbandonedBackup(
      counting,
      { bucket, key: late, abandonedAt: new Date().toISOString() },
      { signal, lateWriteMs: 1_200, everyMs: 100 },
    );
    await landing;
    expect(r.deleted).toBe(1);
    expect(r.reason).toContain('removed s3://backups/abandoned/late.dump');
    expect(await keys()).not.toContain(late);

    // Nothing there, the watch over: one look, no delete (a second post run changes nothing).
    calls.length = 0;
    const none = await removeAbandonedBackup(
      counting,
      { bucket, key, abandonedAt: '2020-01-01T00:00:00Z' },
      { signal },
    );
    expect(none.reason).toContain('nothing is left under');
    expect(calls).toEqual(['HEAD']);
  });

  it('a failing upload stops the command and reports the upload', async () => {
    const r = await takeBackup(store, {
      ...input('head -c 20000000 /dev/zero'),
      backup: { ...cfg, bucket: 'no-such-bucket' },
    });
    expect(r.check.status).toBe('fail');
    expect(r.check.reason).toContain('the upload to s3://no-such-bucket/');
  });

  it('backup-max-age: passes a recent backup, fails an old or missing one, not-checked when listing fails', async () => {
    const now = Date.now();
    await store.client.send(new PutObjectCommand({ Bucket: bucket, Key: 'aged/db.dump', Body: 'x' }));
    const newest = await store.newest({ bucket, prefix: 'aged/' });
    const where = { bucket, prefix: 'aged/' };
    expect(evaluateBackupAge(found(newest), where, 3_600_000, now).status).toBe('pass');
    const old = evaluateBackupAge(found(newest), where, 1_000, now + 3_600_000);
    expect(old.status).toBe('fail');
    expect(old.reason).toContain('older than backup-max-age 1 s');
    expect(evaluateBackupAge(found(undefined), where, 1_000, now).status).toBe('fail');
    const listing = await store.newest({ bucket: 'no-such-bucket', prefix: 'x/' }).then(
      (v) => found(v),
      (err: Error & { status?: number }) => lookupFailed<undefined>(err.message, err.status),
    );
    const r = evaluateBackupAge(listing, { bucket: 'no-such-bucket', prefix: 'x/' }, 1_000, now);
    expect(r.status).toBe('not-checked');
    expect(r.reason).toContain('HTTP 404');
  });
});

describe('spawnBackup', () => {
  it('ends its stream only after the command exited 0, and errors it otherwise', async () => {
    const ok = spawnBackup('echo hello');
    const chunks: Buffer[] = [];
    for await (const c of ok.stdout) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('hello\n');
    expect((await ok.finished).code).toBe(0);

    const bad = spawnBackup('echo partial; false');
    await expect(
      (async () => {
        for await (const _ of bad.stdout) void _;
      })(),
    ).rejects.toThrow('backup-command exited with code 1');
  });

  it('does not pass the action inputs (its tokens) to the command', async () => {
    process.env['INPUT_VERCEL-TOKEN'] = 'secret-token-value';
    try {
      const p = spawnBackup('env');
      let out = '';
      for await (const c of p.stdout) out += String(c);
      expect(out).not.toContain('secret-token-value');
      expect(out).toContain('PATH=');
    } finally {
      delete process.env['INPUT_VERCEL-TOKEN'];
    }
  });
});

describe.skipIf(process.platform !== 'linux')('spawnBackupFifo', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'pd-fifo-test-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });
  /**
   * This process's descriptors open on a FIFO made under `tmp` (Linux: /proc/self/fd names the
   * removed FIFO's path; elsewhere there is no such listing and this says 0).
   */
  const openFifos = () => {
    if (process.platform !== 'linux') return 0;
    let n = 0;
    for (const fd of readdirSync('/proc/self/fd')) {
      try {
        if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(tmp)) n++;
      } catch {
        // closed meanwhile
      }
    }
    return n;
  };
  const start = (command: string) => spawnBackupFifo(command, { tmpdir: tmp, secrets: ['hunter2'] });

  /** Reads everything into one buffer, `chunk` bytes offered at a time; counts the reads. */
  async function readAll(source: { read: (b: Buffer, o: number, l: number) => Promise<number> }, chunk: number) {
    const buf = Buffer.alloc(64 * 1024 * 1024);
    let filled = 0;
    let reads = 0;
    for (;;) {
      const n = await source.read(buf, filled, Math.min(chunk, buf.length - filled));
      reads++;
      if (n === 0) return { data: buf.subarray(0, filled), reads };
      filled += n;
    }
  }

  it("reads the output into the caller's buffer up to EOF, with short reads; the directory is gone at once", async () => {
    const size = 3 * 1024 * 1024 + 17;
    const p = await start(`head -c ${size} /dev/zero | tr '\\0' x`);
    // The FIFO's directory is removed as soon as both ends are open: nothing is left to clean up.
    expect(await readdir(tmp)).toEqual([]);
    // The read end only: the parent's write end is closed once the command has its own copy.
    if (process.platform === 'linux') expect(openFifos()).toBe(1);
    const { data, reads } = await readAll(p.source, 1024 * 1024);
    expect(data.length).toBe(size);
    expect(data.every((b) => b === 0x78)).toBe(true);
    // A pipe gives at most its capacity (64 KiB by default) per read, yet each read fills what was
    // offered: three whole MiB, the 17 bytes before EOF, then 0.
    expect(reads).toBe(5);
    expect((await p.finished).code).toBe(0);
    // Reads of a few bytes fill exactly what was offered.
    const q = await start('printf 0123456789');
    const buf = Buffer.alloc(10);
    expect(await q.source.read(buf, 0, 3)).toBe(3);
    let at = 3;
    while (at < 10) at += await q.source.read(buf, at, 10 - at);
    expect(buf.toString()).toBe('0123456789');
    expect(await q.source.read(buf, 0, 1)).toBe(0);
    p.source.close();
    q.source.close();
    expect(openFifos()).toBe(0);
  });

  it('EOF only once the command and what it started closed their output (pg_dump | gzip)', async () => {
    // bash exits at once; a background child writes later: its bytes are part of the backup.
    const p = await start('(sleep 0.3; printf late) & printf early');
    const { data } = await readAll(p.source, 1024);
    expect(data.toString()).toBe('earlylate');
    p.source.close();
  });

  it('a command failing after its output fails the read, its stderr redacted', async () => {
    const p = await start("printf 'partial'; echo 'connection to postgres://app:hunter2@db failed' >&2; exit 3");
    const buf = Buffer.alloc(1024);
    let filled = 0;
    const err = await (async () => {
      for (;;) {
        const n = await p.source.read(buf, filled, buf.length - filled);
        if (n === 0) return undefined;
        filled += n;
      }
    })().catch((e: unknown) => e);
    // What was read before the failure is whatever the reads got to before the exit was known (a command
    // that has already failed fails the next read at once): a prefix of the output, never more.
    p.source.close();
    expect('partial'.startsWith(buf.subarray(0, filled).toString())).toBe(true);
    expect(err).toBeInstanceOf(BackupCommandError);
    expect((err as Error).message).toMatch(
      /^backup-command exited with code 3: connection to postgres:\/\/\*\*\*@db failed/,
    );
    expect((err as Error).message).not.toContain('hunter2');
    // Once failed, it stays failed.
    await expect(p.source.read(buf, 0, 10)).rejects.toThrow('exited with code 3');
    p.source.close();
    expect(openFifos()).toBe(0);
  });

  it('close while a read is pending stops the command; the read fails and the descriptor closes after it', async () => {
    const p = await start('printf a; exec sleep 30');
    const buf = Buffer.alloc(16);
    expect(await p.source.read(buf, 0, 1)).toBe(1);
    const pending = p.source.read(buf, 0, 16).then(
      () => 'resolved',
      (e: Error) => e.message,
    );
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    p.source.close();
    expect(await pending).toMatch(/backup-command (was stopped|was killed by SIGTERM)/);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(p.wasStopped()).toBe(true);
    expect((await p.finished).signal).toBe('SIGTERM');
    await expect(p.source.read(buf, 0, 1)).rejects.toThrow();
    p.source.close();
    expect(openFifos()).toBe(0);
  });

  it('close stops what the command started too, even after bash exited, so no read stays pending', async () => {
    // `sleep | cat`: cat holds the output open while bash waits for both.
    const p = await start('sleep 30 | cat');
    const pending = p.source.read(Buffer.alloc(8), 0, 8).catch((e: Error) => e.message);
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    p.source.close();
    expect(await pending).toMatch(/backup-command (was stopped|was killed by SIGTERM)/);
    expect(Date.now() - t0).toBeLessThan(5_000);
    // bash exits at once; the process it left behind holds the output open (not stderr) and writes nothing.
    const q = await start('(exec sleep 30 2>/dev/null) & printf x');
    const buf = Buffer.alloc(8);
    expect(await q.source.read(buf, 0, 1)).toBe(1);
    expect((await q.finished).code).toBe(0);
    const waiting = q.source.read(buf, 0, 8).catch((e: Error) => e.message);
    await new Promise((r) => setTimeout(r, 100));
    const t1 = Date.now();
    q.source.close();
    expect(await waiting).toMatch(/backup-command was stopped/);
    expect(Date.now() - t1).toBeLessThan(5_000);
    expect(openFifos()).toBe(0);
  });

  it("the run's signal stops it like close; a FIFO that cannot be made leaves nothing open", async () => {
    const ac = new AbortController();
    const p = await spawnBackupFifo('exec sleep 30', { tmpdir: tmp, signal: ac.signal });
    const pending = p.source.read(Buffer.alloc(8), 0, 8).catch((e: Error) => e.message);
    ac.abort();
    expect(await pending).toMatch(/backup-command (was stopped|was killed by SIGTERM)/);
    p.source.close();
    expect((await p.finished).signal).toBe('SIGTERM');
    await expect(spawnBackupFifo('true', { tmpdir: path.join(tmp, 'missing') })).rejects.toThrow();
    expect(openFifos()).toBe(0);
  });
});

describe('backupKey', () => {
  it('is sortable by time and unique to a run attempt', () => {
    expect(backupKey('p/', new Date('2026-01-02T03:04:05.678Z'), 'abcdef1234', '9', 2)).toBe(
      'p/20260102T030405Z-abcdef1-run9-2.dump',
    );
  });
});
