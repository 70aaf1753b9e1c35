/**
 * The backup store (`BackupStore` in providers/index.ts) over S3 or any S3-compatible store (R2, MinIO,
 * the sandbox's s3rver): stream a backup up with its SHA-256, verify it, find the newest, delete.
 *
 * Credentials come from the SDK's standard chain (env, OIDC web identity, profiles, IMDS); nothing here
 * reads them. Every request has a connection and a request timeout (the SDK's default is none) and the
 * SDK's standard retry mode with 3 attempts.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  ChecksumAlgorithm,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
// A dependency of @aws-sdk/client-s3 (its default handler); imported for typed timeout options.
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { ProviderError, providerMessage, PROVIDER_TEXT_MAX } from './http.js';
import {
  isPartSource,
  PartBuffers,
  type PartSchedule,
  partSchedule,
  partSize,
  type PartSource,
  partsInFlight,
  S3_LIMITS,
} from './multipart.js';
import { PartSender, partTargetOf } from './s3-parts.js';
import { oneLine, redact } from '../text.js';

export interface BackupStoreOptions {
  region: string;
  /** S3-compatible endpoint; path-style addressing and on-demand checksums are used with it. */
  endpoint?: string;
  /** Only for tests and explicit inputs: otherwise the SDK's standard chain is used. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Per request (a part upload included). */
  requestTimeoutMs: number;
  connectionTimeoutMs: number;
  maxAttempts?: number;
  /**
   * The first parts' size (default 8 MiB; parts grow from it, src/providers/multipart.ts) and how many
   * of them may be in flight (default 4): the upload holds about partSize × queueSize (the next part
   * is filled only once it could be sent).
   */
  partSize?: number;
  queueSize?: number;
  /** Only for tests: a part-size schedule of their own (e.g. one that grows within a few parts). */
  schedule?: PartSchedule;
  /**
   * Objects up to this size get their checksum in their own metadata (one server-side self-copy);
   * larger ones get a `<key>.sha256` object beside them (a single copy is limited to 5 GiB).
   */
  copyLimitBytes?: number;
  /** Only for tests: send every part through the SDK's UploadPartCommand (the fallback path). */
  sdkParts?: boolean;
  signal?: AbortSignal;
  secrets?: string[];
}

export interface UploadResult {
  key: string;
  size: number;
  /** Hex SHA-256 of the bytes sent, computed while streaming. */
  sha256: string;
  etag?: string;
}

export interface VerifyResult {
  ok: boolean;
  /** What was found vs what was expected, one line. */
  reason: string;
  size?: number;
  sha256?: string;
}

/** The body stream failed (not S3): its error is the cause. */
class StreamFailed extends Error {
  override readonly cause: unknown;
  constructor(cause: unknown) {
    super(errorText(cause));
    this.name = 'StreamFailed';
    this.cause = cause;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The first part size, and how many parts of it may be in flight (POLICIES.s3 sets both for a run). */
const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
const DEFAULT_QUEUE_SIZE = 4;

const SIDECAR = '.sha256';

/** Removing what a failed upload left must not wait on the run's (possibly aborted) signal, nor forever. */
const CLEANUP_DEADLINE_MS = 5_000;

/** The backup bucket client of one run. */
export class BackupStore {
  readonly client: S3Client;
  private readonly o: BackupStoreOptions;
  private readonly handler: NodeHttpHandler;

  constructor(o: BackupStoreOptions) {
    this.o = o;
    this.handler = new NodeHttpHandler({
      requestTimeout: o.requestTimeoutMs,
      connectionTimeout: o.connectionTimeoutMs,
      throwOnRequestTimeout: true,
    });
    const config: S3ClientConfig = {
      region: o.region,
      maxAttempts: o.maxAttempts ?? 3,
      requestHandler: this.handler,
    };
    if (o.credentials) config.credentials = o.credentials;
    if (o.endpoint) {
      config.endpoint = o.endpoint;
      config.forcePathStyle = true;
      // Third-party stores reject or corrupt the SDK's default checksums and aws-chunked bodies
      // (R2 answers 501, s3rver stores the chunk framing): checksums only where the API requires them.
      config.requestChecksumCalculation = 'WHEN_REQUIRED';
      config.responseChecksumValidation = 'WHEN_REQUIRED';
    }
    this.client = new S3Client(config);
  }

  private toError(operation: string, err: unknown, detail?: string): Error {
    if (this.o.signal?.aborted) return err instanceof Error ? err : new Error(String(err));
    if (err instanceof ProviderError) return err;
    const e = (err ?? {}) as {
      name?: string;
      message?: string;
      Code?: string;
      $metadata?: { httpStatusCode?: number };
      $retryable?: unknown;
    };
    const status = e.$metadata?.httpStatusCode;
    const code = e.Code ?? e.name;
    const text =
      detail ??
      `${status ? `HTTP ${status} ` : ''}${code ?? 'error'}: ${oneLine(e.message ?? String(err), PROVIDER_TEXT_MAX)}`;
    return new ProviderError({
      provider: 's3',
      operation,
      status,
      code,
      retryable: Boolean(e.$retryable) || code === 'TimeoutError',
      message: redact(providerMessage('s3', operation, text), this.o.secrets ?? []),
    });
  }

  /**
   * Streams `body` to `bucket/key`, hashing and counting on the way, then records the SHA-256 in the
   * object's metadata (`sha256`, `size`) or, over the copy limit, in a `<key>.sha256` object.
   *
   * A stream shorter than one part goes up as one PutObject; a longer one as a multipart upload whose
   * part size grows with the stream (src/providers/multipart.ts), so a stream of unknown length can
   * reach S3's 5 TiB object limit. Each part is filled in a preallocated buffer and sent from it
   * (UploadPart with the buffer as body: the SDK's retries resend the same bytes, and a part number
   * sent twice replaces itself), with up to `queueSize` first-size parts' worth of bytes in flight.
   * On any failure — the body stream erroring (e.g. the backup command failing), S3 refusing, the
   * run's signal — the parts in flight are cancelled, the multipart upload is aborted, no object is
   * completed, and this throws.
   */
  async streamUpload(input: {
    bucket: string;
    key: string;
    body: Readable | PartSource;
    metadata?: Record<string, string>;
    contentType?: string;
  }): Promise<UploadResult> {
    const contentType = input.contentType ?? 'application/octet-stream';
    let sent: { size: number; sha256: string; etag?: string };
    try {
      sent = await this.sendStream({ ...input, contentType });
    } catch (err) {
      if (this.o.signal?.aborted) throw err instanceof StreamFailed ? err.cause : err;
      if (err instanceof StreamFailed) {
        throw this.toError(
          'streamUpload',
          err.cause,
          `the backup stream failed: ${oneLine(errorText(err.cause), PROVIDER_TEXT_MAX)}; the upload was aborted and no object was written`,
        );
      }
      throw this.toError('streamUpload', err);
    }
    const { size, sha256 } = sent;
    let etag = sent.etag;
    const meta = { ...input.metadata, sha256, size: String(size) };
    try {
      if (size <= (this.o.copyLimitBytes ?? 5 * 1024 ** 3)) {
        // Metadata is fixed when an upload starts, before the hash is known: copy the object onto itself.
        const copy = await this.client.send(
          new CopyObjectCommand({
            Bucket: input.bucket,
            Key: input.key,
            CopySource: `${input.bucket}/${input.key.split('/').map(encodeURIComponent).join('/')}`,
            MetadataDirective: 'REPLACE',
            Metadata: meta,
            ContentType: contentType,
          }),
          { abortSignal: this.o.signal },
        );
        etag = copy.CopyObjectResult?.ETag ?? etag;
      } else {
        const name = input.key.split('/').pop() ?? input.key;
        await this.client.send(
          new PutObjectCommand({
            Bucket: input.bucket,
            Key: input.key + SIDECAR,
            Body: `${sha256}  ${name}\n`,
            ContentType: 'text/plain',
            Metadata: meta,
          }),
          { abortSignal: this.o.signal },
        );
      }
    } catch (err) {
      // An object whose checksum cannot be found again is not a backup we can vouch for: remove it,
      // with a deadline of its own (the run's signal may be what made the copy fail).
      await this.client
        .send(new DeleteObjectCommand({ Bucket: input.bucket, Key: input.key }), {
          abortSignal: AbortSignal.timeout(CLEANUP_DEADLINE_MS),
        })
        .catch(() => undefined);
      throw this.toError('streamUpload', err);
    }
    return { key: input.key, size, sha256, etag };
  }

  /** The schedule of this store's part sizes. */
  get schedule(): PartSchedule {
    return (this.partSchedule ??= this.o.schedule ?? partSchedule(this.o.partSize ?? DEFAULT_PART_SIZE));
  }
  private partSchedule?: PartSchedule;

  /**
   * The upload itself: PutObject for a stream shorter than one part, else a multipart upload. Throws
   * StreamFailed when the body stream failed, the S3 error otherwise; either way nothing is completed.
   */
  private async sendStream(input: {
    bucket: string;
    key: string;
    body: Readable | PartSource;
    metadata?: Record<string, string>;
    contentType: string;
  }): Promise<{ size: number; sha256: string; etag?: string }> {
    const { bucket, key } = input;
    const schedule = this.schedule;
    const queueSize = Math.max(1, this.o.queueSize ?? DEFAULT_QUEUE_SIZE);
    const buffers = new PartBuffers();
    this.lastBuffers = buffers;
    const hash = createHash('sha256');
    let size = 0;
    // Cancels the parts in flight when one fails, the stream fails, or the run is cancelled.
    const local = new AbortController();
    const abortSignal = this.o.signal ? AbortSignal.any([this.o.signal, local.signal]) : local.signal;
    let uploadId: string | undefined;
    const done: CompletedPart[] = [];
    const inFlight = new Set<Promise<void>>();
    let failure: { err: unknown } | undefined;
    const source = isPartSource(input.body) ? input.body : undefined;
    const fail = (err: unknown) => {
      failure ??= { err };
      local.abort(err);
      // A read pending on the command's output returns once the stopped command writes or exits.
      source?.close();
    };

    let partNumber = 1;
    let current = schedule.first;
    let buf = buffers.take(current);
    let filled = 0;

    // As lib-storage does: where the SDK adds checksums to every request (S3 itself, not a third-party
    // endpoint), the upload is created with CRC32 and each part's checksum goes into the completion.
    const checksums = (await this.client.config.requestChecksumCalculation()) === 'WHEN_SUPPORTED';
    // The parts skip the SDK's per-request pipeline (src/providers/s3-parts.ts): they go where the
    // signed CreateMultipartUpload went, unless that was not plain SigV4 for S3.
    let parts: PartSender | undefined;
    const startUpload = async () => {
      const create = new CreateMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        ContentType: input.contentType,
        Metadata: input.metadata,
        ...(checksums && { ChecksumAlgorithm: ChecksumAlgorithm.CRC32 }),
      });
      let target: ReturnType<typeof partTargetOf>;
      create.middlewareStack.add(
        (next) => async (args) => {
          const out = await next(args);
          target = partTargetOf(args.request as Parameters<typeof partTargetOf>[0]);
          return out;
        },
        { step: 'deserialize', name: 'partTarget' },
      );
      const res = await this.client.send(create, { abortSignal });
      if (!res.UploadId) throw new Error('CreateMultipartUpload answered without an UploadId');
      uploadId = res.UploadId;
      const config = this.client.config;
      if (target && !this.o.sdkParts) {
        parts = new PartSender({
          target,
          credentials: config.credentials,
          sha256: config.sha256,
          handler: this.handler,
          clockOffset: () => config.systemClockOffset ?? 0,
          maxAttempts: this.o.maxAttempts ?? 3,
        });
      }
    };

    /**
     * Sends the filled buffer as part `partNumber`, then waits for room and takes the next buffer.
     * Its errors are recorded as the upload's failure (so they are never taken for the stream's).
     */
    const sendPart = async () => {
      try {
        await queuePart();
      } catch (err) {
        fail(err);
        throw err;
      }
    };
    const queuePart = async () => {
      if (!uploadId) await startUpload();
      if (partNumber > S3_LIMITS.maxParts) {
        throw new Error(
          `the backup is larger than S3 accepts: ${S3_LIMITS.maxParts} parts and more bytes (${size} read)`,
        );
      }
      // Room first: at most `partsInFlight` parts in flight (the full buffer waits, and so does the stream).
      while (inFlight.size >= partsInFlight(schedule, queueSize, current) && !failure) await Promise.race(inFlight);
      if (failure) throw failure.err;
      const n = partNumber;
      const body = buf;
      const length = filled;
      const partBody = length === body.length ? body : body.subarray(0, length);
      // The policy's timeout is for a first-size part; a larger part gets as long per byte.
      const requestTimeout = Math.round(this.o.requestTimeoutMs * Math.max(1, length / schedule.first));
      const sent = parts
        ? parts.send({
            uploadId: uploadId!,
            partNumber: n,
            body: partBody,
            crc32: checksums,
            abortSignal,
            requestTimeout,
          })
        : this.client.send(
            new UploadPartCommand({
              Bucket: bucket,
              Key: key,
              UploadId: uploadId,
              PartNumber: n,
              Body: partBody,
              ContentLength: length,
              ...(checksums && { ChecksumAlgorithm: ChecksumAlgorithm.CRC32 }),
            }),
            { abortSignal, requestTimeout },
          );
      const p = sent
        .then((res) => {
          if (!res.ETag) throw new Error(`UploadPart ${n} answered without an ETag`);
          done.push({
            PartNumber: n,
            ETag: res.ETag,
            ...(res.ChecksumCRC32 && { ChecksumCRC32: res.ChecksumCRC32 }),
          });
          buffers.give(body, current);
        })
        .catch((err: unknown) => fail(err))
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
      partNumber++;
      current = partSize(schedule, partNumber);
      filled = 0;
      // The next buffer only once the next part could be sent: the upload holds `partsInFlight`
      // buffers, not one more that would fill while all of them are in flight (the stream waits instead:
      // its producer blocks on its pipe).
      while (inFlight.size >= partsInFlight(schedule, queueSize, current) && !failure) await Promise.race(inFlight);
      // (Set while waiting: TypeScript cannot see that.)
      const failed = failure as { err: unknown } | undefined;
      if (failed) throw failed.err;
      buf = buffers.take(current);
    };

    try {
      try {
        if (source) {
          // Straight into the part buffer: no chunk is allocated, nothing is copied twice.
          for (;;) {
            if (failure) throw failure.err;
            // A part failing while the read is pending closes the source (fail()): its error, not the source's.
            const n = await source.read(buf, filled, buf.length - filled).catch((err: unknown) => {
              throw failure ? failure.err : err;
            });
            if (n === 0) break;
            hash.update(buf.subarray(filled, filled + n));
            size += n;
            filled += n;
            if (filled === buf.length) await sendPart();
          }
        } else
          for await (const data of input.body as Readable) {
            const chunk: Buffer = typeof data === 'string' ? Buffer.from(data) : (data as Buffer);
            if (failure) throw failure.err;
            hash.update(chunk);
            size += chunk.length;
            let offset = 0;
            while (offset < chunk.length) {
              const n = Math.min(chunk.length - offset, buf.length - filled);
              chunk.copy(buf, filled, offset, offset + n);
              filled += n;
              offset += n;
              if (filled === buf.length) await sendPart();
            }
          }
      } catch (err) {
        // The body's error, unless a part's failure came first (then the loop threw that).
        if (!failure) {
          fail(err);
          throw new StreamFailed(err);
        }
        throw err;
      }
      if (!uploadId) {
        // Shorter than one part: one request.
        const res = await this.client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: buf.subarray(0, filled),
            ContentLength: filled,
            ContentType: input.contentType,
            Metadata: input.metadata,
          }),
          { abortSignal },
        );
        return { size, sha256: hash.digest('hex'), etag: res.ETag };
      }
      if (filled > 0) await sendPart();
      while (inFlight.size > 0) await Promise.race(inFlight);
      if (failure) throw failure.err;
      done.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
      const res = await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: done },
        }),
        { abortSignal },
      );
      return { size, sha256: hash.digest('hex'), etag: res.ETag };
    } catch (err) {
      fail(err);
      if (source) source.close();
      else (input.body as Readable).destroy();
      // Let the cancelled parts settle before aborting, so none lands after the abort.
      await Promise.allSettled([...inFlight]);
      if (uploadId) {
        // Frees the stored parts. s3rver answers 405 (it has no AbortMultipartUpload); S3 removes the
        // parts. Either way nothing was completed, so no object exists under the key.
        await this.client
          .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }), {
            abortSignal: AbortSignal.timeout(CLEANUP_DEADLINE_MS),
          })
          .catch(() => undefined);
      }
      throw err;
    } finally {
      source?.close();
      buffers.clear();
    }
  }

  /** The part buffers of the last upload (tests and the benchmark read what it allocated). */
  lastBuffers?: PartBuffers;

  /** Checks that the object exists with the expected size and SHA-256 (from its metadata or its `.sha256`). */
  async verify(q: { bucket: string; key: string; size: number; sha256: string }): Promise<VerifyResult> {
    let head;
    try {
      head = await this.client.send(new HeadObjectCommand({ Bucket: q.bucket, Key: q.key }), {
        abortSignal: this.o.signal,
      });
    } catch (err) {
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) {
        return { ok: false, reason: `s3://${q.bucket}/${q.key} does not exist` };
      }
      throw this.toError('verify', err);
    }
    const size = head.ContentLength;
    let sha256 = head.Metadata?.sha256;
    if (!sha256) sha256 = await this.readSidecar(q.bucket, q.key);
    if (size !== q.size) return { ok: false, size, sha256, reason: `size ${size ?? '?'} bytes, expected ${q.size}` };
    if (sha256 !== q.sha256) {
      return {
        ok: false,
        size,
        sha256,
        reason: sha256 ? `sha256 ${sha256}, expected ${q.sha256}` : 'no sha256 recorded with the object',
      };
    }
    return { ok: true, size, sha256, reason: `${size} bytes, sha256 ${sha256}` };
  }

  private async readSidecar(bucket: string, key: string): Promise<string | undefined> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key + SIDECAR }), {
        abortSignal: this.o.signal,
      });
      const text = (await res.Body?.transformToString()) ?? '';
      return /^[0-9a-f]{64}/.exec(text.trim())?.[0];
    } catch (err) {
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
      throw this.toError('verify', err);
    }
  }

  /** The most recently modified object under `prefix` (checksum files aside), or undefined when there is none. */
  async newest(q: {
    bucket: string;
    prefix: string;
  }): Promise<{ key: string; size: number; lastModified: Date } | undefined> {
    let best: { key: string; size: number; lastModified: Date } | undefined;
    let token: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({ Bucket: q.bucket, Prefix: q.prefix, ContinuationToken: token, MaxKeys: 1000 }),
          { abortSignal: this.o.signal },
        );
        for (const o of page.Contents ?? []) {
          if (!o.Key || !o.LastModified || o.Key.endsWith(SIDECAR)) continue;
          if (!best || o.LastModified > best.lastModified)
            best = { key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified };
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw this.toError('newest', err);
    }
    return best;
  }

  /**
   * Whether an object exists under the key (HeadObject: 404 is `false`; any other failure throws,
   * since "could not tell" must not be taken for "absent"). `signal` replaces the run's.
   */
  async exists(q: { bucket: string; key: string }, opts: { signal?: AbortSignal } = {}): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: q.bucket, Key: q.key }), {
        abortSignal: opts.signal ?? this.o.signal,
      });
      return true;
    } catch (err) {
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
      throw this.toError('exists', err);
    }
  }

  /**
   * Deletes the object and its checksum file, if any (deleting a missing key is not an error in S3).
   * `signal` replaces the run's: removing a half-written backup must still happen after a cancel.
   */
  async deleteObject(q: { bucket: string; key: string }, opts: { signal?: AbortSignal } = {}): Promise<void> {
    const abortSignal = opts.signal ?? this.o.signal;
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: q.bucket, Key: q.key }), { abortSignal });
      await this.client.send(new DeleteObjectCommand({ Bucket: q.bucket, Key: q.key + SIDECAR }), { abortSignal });
    } catch (err) {
      throw this.toError('deleteObject', err);
    }
  }
}
