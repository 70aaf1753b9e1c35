import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PartSource } from '../../../src/providers/multipart.ts';
import { BackupStore, type BackupStoreOptions } from '../../../src/providers/s3.ts';
import { rejection } from './helpers.ts';

interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}
// s3rver is CommonJS without types.
const S3rver = createRequire(import.meta.url)('s3rver') as new (o: Record<string, unknown>) => S3rverInstance;

const BUCKET = 'b';
let server: S3rverInstance;
let proxy: http.Server;
let endpoint: string;
let dir: string;

/** What the proxy saw of each part: UploadPart requests, whoever sent them (the SDK or the store's own path). */
let partLog: { name: string; input: Record<string, unknown> }[] | undefined;
/** Part numbers the proxy answers with `refusal` instead of passing them on. */
const refused = new Map<number, { status: number; code: string; times: number }>();

/**
 * In front of s3rver: records UploadPart requests, refuses chosen parts, and checks a signed payload
 * as S3 does (x-amz-content-sha256 against the bytes received: 400 XAmzContentSHA256Mismatch), which
 * s3rver does not.
 */
function startProxy(backend: number): Promise<number> {
  proxy = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://x');
      const part = Number(url.searchParams.get('partNumber'));
      const answer = (status: number, code: string) => {
        res.writeHead(status, { 'content-type': 'application/xml' });
        res.end(
          `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code} (test)</Message></Error>`,
        );
      };
      if (req.method === 'PUT' && part) {
        partLog?.push({ name: 'UploadPartCommand', input: { PartNumber: part, ContentLength: body.length } });
        const r = refused.get(part);
        if (r && r.times > 0) {
          r.times--;
          return answer(r.status, r.code);
        }
      }
      const signed = req.headers['x-amz-content-sha256'];
      if (typeof signed === 'string' && /^[0-9a-f]{64}$/.test(signed)) {
        if (createHash('sha256').update(body).digest('hex') !== signed) return answer(400, 'XAmzContentSHA256Mismatch');
      }
      const headers = { ...req.headers, 'content-length': String(body.length) };
      delete headers['transfer-encoding'];
      delete headers.expect;
      const out = http.request(
        { host: '127.0.0.1', port: backend, method: req.method, path: req.url, headers },
        (back) => {
          res.writeHead(back.statusCode ?? 502, back.headers);
          back.pipe(res);
        },
      );
      out.on('error', () => res.destroy());
      out.end(body);
    });
  });
  return new Promise((resolve) =>
    proxy.listen(0, '127.0.0.1', () => resolve((proxy.address() as { port: number }).port)),
  );
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-s3-'));
  server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: [{ name: BUCKET }],
  });
  const backend = (await server.run()).port;
  endpoint = `http://127.0.0.1:${await startProxy(backend)}`;
});

beforeEach(() => {
  partLog = undefined;
  refused.clear();
});

afterAll(async () => {
  await new Promise((r) => proxy.close(r));
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function store(o: Partial<BackupStoreOptions> = {}): BackupStore {
  return new BackupStore({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestTimeoutMs: 10_000,
    connectionTimeoutMs: 2_000,
    ...o,
  });
}

/** `total` random bytes in 64 KiB chunks, optionally failing after `failAfter` bytes. */
function source(total: number, failAfter?: number): { stream: Readable; sha256: string } {
  const chunk = 64 * 1024;
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  for (let sent = 0; sent < total; sent += chunk) {
    const b = randomBytes(Math.min(chunk, total - sent));
    hash.update(b);
    chunks.push(b);
  }
  let sent = 0;
  const stream = new Readable({
    read() {
      if (failAfter !== undefined && sent >= failAfter) {
        this.destroy(new Error('pg_dump: connection to server lost'));
        return;
      }
      const next = chunks.shift();
      if (next) sent += next.length;
      this.push(next ?? null);
    },
  });
  return { stream, sha256: hash.digest('hex') };
}

/**
 * `total` random bytes as a PartSource (what the backup command's FIFO is): each read returns at most
 * `maxRead` bytes, often fewer (short reads, as a pipe gives); it fails after `failAfter` bytes, or
 * holds its next read until `close()` when `hangAfter` bytes were read (a command that went quiet).
 */
function partSource(
  total: number,
  o: { maxRead?: number; failAfter?: number; hangAfter?: number } = {},
): { source: PartSource; sha256: string; closed: () => number } {
  const data = randomBytes(total);
  const sha256 = createHash('sha256').update(data).digest('hex');
  let at = 0;
  let closes = 0;
  let release: (() => void) | undefined;
  const source: PartSource = {
    async read(buf, offset, length) {
      if (closes > 0) throw new Error('source read after close');
      if (o.failAfter !== undefined && at >= o.failAfter) throw new Error('backup-command exited with code 3');
      if (o.hangAfter !== undefined && at >= o.hangAfter) {
        await new Promise<void>((r) => (release = r));
        throw new Error('backup-command was stopped');
      }
      await new Promise((r) => setImmediate(r));
      // Short reads: between 1 byte and maxRead, whatever room the caller offered.
      const n = Math.min(length, total - at, 1 + Math.floor(Math.random() * (o.maxRead ?? 64 * 1024)));
      data.copy(buf, offset, at, at + n);
      at += n;
      return n;
    },
    close() {
      closes++;
      release?.();
    },
  };
  return { source, sha256, closed: () => closes };
}

async function keys(s: BackupStore, prefix: string): Promise<string[]> {
  const res = await s.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (res.Contents ?? []).map((o) => o.Key!).sort();
}

/** S3 answers part `partNumber` of every upload with HTTP 500 InternalError (as often as it is sent). */
function refusePart(
  _s: BackupStore,
  partNumber: number,
  o: { status?: number; code?: string; times?: number } = {},
): void {
  refused.set(partNumber, { status: o.status ?? 500, code: o.code ?? 'InternalError', times: o.times ?? Infinity });
}

describe('BackupStore against a real s3rver', () => {
  it('streams a multipart upload, hashing on the way, and records the checksum in the metadata', async () => {
    const s = store();
    const size = 20 * 1024 * 1024 + 123; // three parts: 8, 8 and 4 MiB
    const { stream, sha256 } = source(size);
    const res = await s.streamUpload({
      bucket: BUCKET,
      key: 'backups/big.dump',
      body: stream,
      metadata: { run: '42' },
    });
    expect(res).toMatchObject({ key: 'backups/big.dump', size, sha256 });
    expect(res.etag).toBeTruthy();

    const head = await s.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'backups/big.dump' }));
    expect(head.ContentLength).toBe(size);
    expect(head.Metadata).toMatchObject({ sha256, size: String(size), run: '42' });

    expect(await s.verify({ bucket: BUCKET, key: 'backups/big.dump', size, sha256 })).toMatchObject({
      ok: true,
      size,
      sha256,
    });
    const wrong = await s.verify({ bucket: BUCKET, key: 'backups/big.dump', size, sha256: '0'.repeat(64) });
    expect(wrong.ok).toBe(false);
    expect(wrong.reason).toContain(`sha256 ${sha256}, expected ${'0'.repeat(64)}`);
    expect((await s.verify({ bucket: BUCKET, key: 'backups/none', size, sha256 })).reason).toContain('does not exist');
  });

  it('a failing backup stream aborts the upload and leaves no object', async () => {
    const s = store();
    const { stream } = source(30 * 1024 * 1024, 18 * 1024 * 1024); // fails after two parts went up
    const err = await rejection(s.streamUpload({ bucket: BUCKET, key: 'failed/x.dump', body: stream }));
    expect(err.message).toContain('the backup stream failed: pg_dump: connection to server lost');
    expect(err.message).toContain('no object was written');
    expect(await keys(s, 'failed/')).toEqual([]);
  });

  /**
   * Records the input of every command the store sends through the SDK (name → inputs), and every
   * part request the proxy saw (as `UploadPartCommand`: the parts do not go through the SDK).
   */
  function recordCommands(s: BackupStore): { name: string; input: Record<string, unknown> }[] {
    const sent: { name: string; input: Record<string, unknown> }[] = [];
    partLog = sent;
    s.client.middlewareStack.add(
      (next, context) => (args) => {
        if (context.commandName !== 'UploadPartCommand') {
          sent.push({ name: String(context.commandName), input: args.input as Record<string, unknown> });
        }
        return next(args);
      },
      { step: 'initialize' },
    );
    return sent;
  }

  it('fills a few part buffers over and over: as many as parts in flight, whatever the length', async () => {
    const s = store({ partSize: 5 * 1024 * 1024, queueSize: 2 });
    const size = 41 * 1024 * 1024 + 7; // 9 parts
    const { stream, sha256 } = source(size);
    const sent = recordCommands(s);
    const res = await s.streamUpload({ bucket: BUCKET, key: 'reuse/a.dump', body: stream });
    expect(res).toMatchObject({ size, sha256 });
    const parts = sent.filter((c) => c.name === 'UploadPartCommand');
    expect(parts.map((p) => p.input.PartNumber)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(s.lastBuffers?.allocated).toBe(2);
    expect(await s.verify({ bucket: BUCKET, key: 'reuse/a.dump', size, sha256 })).toMatchObject({ ok: true });
  });

  it('grows the parts along the schedule and completes them in order', async () => {
    const MiB = 1024 * 1024;
    const s = store({ schedule: { first: 5 * MiB, step: 1, cap: 20 * MiB } });
    const size = 40 * MiB; // 5 + 10 + 20, then 5 MiB in a last part of 20
    const { stream, sha256 } = source(size);
    const sent = recordCommands(s);
    await s.streamUpload({ bucket: BUCKET, key: 'grow/a.dump', body: stream });
    const parts = sent.filter((c) => c.name === 'UploadPartCommand').map((c) => c.input.ContentLength);
    expect(parts).toEqual([5 * MiB, 10 * MiB, 20 * MiB, 5 * MiB]);
    const complete = sent.find((c) => c.name === 'CompleteMultipartUploadCommand')!;
    const listed = (complete.input.MultipartUpload as { Parts: { PartNumber: number }[] }).Parts;
    expect(listed.map((p) => p.PartNumber)).toEqual([1, 2, 3, 4]);
    expect(await s.verify({ bucket: BUCKET, key: 'grow/a.dump', size, sha256 })).toMatchObject({ ok: true });
  });

  it('a stream shorter than one part goes up as one PutObject; an empty one too', async () => {
    const s = store();
    const sent = recordCommands(s);
    const small = source(1000);
    expect(await s.streamUpload({ bucket: BUCKET, key: 'small/a.dump', body: small.stream })).toMatchObject({
      size: 1000,
      sha256: small.sha256,
    });
    const empty = source(0);
    expect(await s.streamUpload({ bucket: BUCKET, key: 'small/b.dump', body: empty.stream })).toMatchObject({
      size: 0,
      sha256: empty.sha256,
    });
    expect(sent.map((c) => c.name).filter((n) => /Multipart|UploadPart/.test(n))).toEqual([]);
    expect(await keys(s, 'small/')).toEqual(['small/a.dump', 'small/b.dump']);
  });

  it('a part S3 refuses stops the upload: the parts are abandoned, the upload aborted, no object', async () => {
    const s = store({ partSize: 5 * 1024 * 1024, queueSize: 2, maxAttempts: 1 });
    const sent = recordCommands(s);
    refusePart(s, 3);
    const { stream } = source(30 * 1024 * 1024);
    const err = await rejection(s.streamUpload({ bucket: BUCKET, key: 'refused/x.dump', body: stream }));
    expect(err.message).toMatch(/^S3 streamUpload failed: HTTP 500 InternalError/);
    expect(sent.map((c) => c.name)).toContain('AbortMultipartUploadCommand');
    expect(sent.map((c) => c.name)).not.toContain('CompleteMultipartUploadCommand');
    expect(await keys(s, 'refused/')).toEqual([]);
  });

  it('retries a part S3 throttles or fails once, as the SDK would; never one it refuses for good', async () => {
    const s = store({ partSize: 5 * 1024 * 1024, queueSize: 2, maxAttempts: 3 });
    const sent = recordCommands(s);
    refusePart(s, 2, { status: 503, code: 'SlowDown', times: 1 });
    refusePart(s, 3, { status: 500, code: 'InternalError', times: 2 });
    const size = 16 * 1024 * 1024;
    const { stream, sha256 } = source(size);
    expect(await s.streamUpload({ bucket: BUCKET, key: 'retried/a.dump', body: stream })).toMatchObject({
      size,
      sha256,
    });
    const parts = sent.filter((c) => c.name === 'UploadPartCommand').map((c) => c.input.PartNumber);
    expect(parts.filter((n) => n === 2)).toHaveLength(2);
    expect(parts.filter((n) => n === 3)).toHaveLength(3);
    expect(await s.verify({ bucket: BUCKET, key: 'retried/a.dump', size, sha256 })).toMatchObject({ ok: true });

    // Access denied is an answer, not a blip: one attempt, the upload aborted, S3's code in the error.
    const denied = store({ partSize: 5 * 1024 * 1024, queueSize: 2, maxAttempts: 3 });
    const sentDenied = recordCommands(denied);
    refusePart(denied, 1, { status: 403, code: 'AccessDenied' });
    const err = await rejection(
      denied.streamUpload({ bucket: BUCKET, key: 'denied/a.dump', body: source(12 * 1024 * 1024).stream }),
    );
    expect(err.message).toMatch(/^S3 streamUpload failed: HTTP 403 AccessDenied/);
    expect(sentDenied.filter((c) => c.name === 'UploadPartCommand' && c.input.PartNumber === 1)).toHaveLength(1);
    expect(sentDenied.map((c) => c.name)).toContain('AbortMultipartUploadCommand');
    expect(await keys(denied, 'denied/')).toEqual([]);
  });

  it('the SDK path for parts (where no plain SigV4 target was seen) uploads the same bytes', async () => {
    const s = store({ partSize: 5 * 1024 * 1024, queueSize: 2, sdkParts: true });
    const size = 11 * 1024 * 1024 + 1;
    const { stream, sha256 } = source(size);
    const sent = recordCommands(s);
    expect(await s.streamUpload({ bucket: BUCKET, key: 'sdk/a.dump', body: stream })).toMatchObject({ size, sha256 });
    expect(sent.filter((c) => c.name === 'UploadPartCommand').map((c) => c.input.ContentLength)).toEqual([
      5 * 1024 * 1024,
      5 * 1024 * 1024,
      1024 * 1024 + 1,
    ]);
    expect(await s.verify({ bucket: BUCKET, key: 'sdk/a.dump', size, sha256 })).toMatchObject({ ok: true });
  });

  it('reads a PartSource straight into the part buffers: short reads, a last part cut mid-buffer', async () => {
    const s = store({ partSize: 5 * 1024 * 1024, queueSize: 2 });
    const size = 12 * 1024 * 1024 + 5; // 5 + 5 + 2 MiB and 5 bytes: EOF mid-part
    const src = partSource(size);
    const sent = recordCommands(s);
    const res = await s.streamUpload({ bucket: BUCKET, key: 'fifo/a.dump', body: src.source });
    expect(res).toMatchObject({ size, sha256: src.sha256 });
    const parts = sent.filter((c) => c.name === 'UploadPartCommand').map((c) => c.input.ContentLength);
    expect(parts).toEqual([5 * 1024 * 1024, 5 * 1024 * 1024, 2 * 1024 * 1024 + 5]);
    expect(s.lastBuffers?.allocated).toBe(2);
    expect(src.closed()).toBeGreaterThanOrEqual(1); // released once read to the end
    expect(await s.verify({ bucket: BUCKET, key: 'fifo/a.dump', size, sha256: src.sha256 })).toMatchObject({
      ok: true,
    });
    // Reads of one byte at most, shorter than a part: one PutObject.
    const tiny = partSource(300, { maxRead: 1 });
    expect(await s.streamUpload({ bucket: BUCKET, key: 'fifo/b.dump', body: tiny.source })).toMatchObject({
      size: 300,
      sha256: tiny.sha256,
    });
  });

  it('a PartSource failing after output aborts the upload: no object', async () => {
    const s = store({ partSize: 5 * 1024 * 1024, queueSize: 2 });
    const src = partSource(20 * 1024 * 1024, { failAfter: 11 * 1024 * 1024 }); // after two parts went up
    const err = await rejection(s.streamUpload({ bucket: BUCKET, key: 'fifo-failed/x.dump', body: src.source }));
    expect(err.message).toContain('the backup stream failed: backup-command exited with code 3');
    expect(err.message).toContain('no object was written');
    expect(src.closed()).toBeGreaterThanOrEqual(1);
    expect(await keys(s, 'fifo-failed/')).toEqual([]);
  });

  it('a part S3 refuses while a read is pending closes the PartSource; the upload fails with the S3 error', async () => {
    const s = store({ partSize: 5 * 1024 * 1024, queueSize: 2, maxAttempts: 1 });
    refusePart(s, 1);
    // The command goes quiet after one part: only closing the source (stopping it) ends the read.
    const src = partSource(20 * 1024 * 1024, { hangAfter: 5 * 1024 * 1024 });
    const err = await rejection(s.streamUpload({ bucket: BUCKET, key: 'fifo-refused/x.dump', body: src.source }));
    expect(err.message).toMatch(/^S3 streamUpload failed: HTTP 500 InternalError/);
    expect(src.closed()).toBeGreaterThanOrEqual(1);
    expect(await keys(s, 'fifo-refused/')).toEqual([]);
  });

  it('an object over the copy limit gets a .sha256 beside it; verify, newest and delete handle it', async () => {
    const s = store({ copyLimitBytes: 1000 });
    const { stream, sha256 } = source(100_000);
    await s.streamUpload({ bucket: BUCKET, key: 'side/a.dump', body: stream });
    expect(await keys(s, 'side/')).toEqual(['side/a.dump', 'side/a.dump.sha256']);
    expect(await s.verify({ bucket: BUCKET, key: 'side/a.dump', size: 100_000, sha256 })).toMatchObject({ ok: true });

    await new Promise((r) => setTimeout(r, 1100)); // s3rver's LastModified has one-second resolution
    const second = source(10);
    await s.streamUpload({ bucket: BUCKET, key: 'side/b.dump', body: second.stream });
    expect(await s.newest({ bucket: BUCKET, prefix: 'side/' })).toMatchObject({ key: 'side/b.dump', size: 10 });

    await s.deleteObject({ bucket: BUCKET, key: 'side/b.dump' });
    await s.deleteObject({ bucket: BUCKET, key: 'side/a.dump' });
    expect(await keys(s, 'side/')).toEqual([]);
    expect(await s.newest({ bucket: BUCKET, prefix: 'side/' })).toBeUndefined();
  });

  it('exists says whether a key is there; a store it cannot reach is an error, never "absent"', async () => {
    const s = store();
    await s.streamUpload({ bucket: BUCKET, key: 'exists/a.dump', body: source(10).stream });
    expect(await s.exists({ bucket: BUCKET, key: 'exists/a.dump' })).toBe(true);
    expect(await s.exists({ bucket: BUCKET, key: 'exists/none.dump' })).toBe(false);
    // The run's signal is aborted (a cancel): a signal of the caller's own still works.
    const run = new AbortController();
    run.abort(new Error('SIGINT'));
    const cancelled = store({ signal: run.signal });
    await cancelled.deleteObject({ bucket: BUCKET, key: 'exists/a.dump' }, { signal: AbortSignal.timeout(5_000) });
    expect(
      await cancelled.exists({ bucket: BUCKET, key: 'exists/a.dump' }, { signal: AbortSignal.timeout(5_000) }),
    ).toBe(false);
    const down = store({ endpoint: 'http://127.0.0.1:1', maxAttempts: 1, connectionTimeoutMs: 500 });
    const err = await rejection(down.exists({ bucket: BUCKET, key: 'x' }));
    expect(err.message).toMatch(/^S3 exists failed: /);
  });

  it('an unreachable endpoint fails with an S3 error, not a hang', async () => {
    const s = store({ endpoint: 'http://127.0.0.1:1', maxAttempts: 1, connectionTimeoutMs: 500 });
    const err = await rejection(s.newest({ bucket: BUCKET, prefix: '' }));
    expect(err.message).toMatch(/^S3 newest failed: /);
  });
});
