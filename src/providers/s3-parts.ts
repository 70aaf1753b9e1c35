/**
 * UploadPart without the SDK's per-request pipeline: the backup's parts are signed with the SDK's own
 * SigV4 signer and sent through the S3 client's own request handler (the same sockets, connection
 * timeout and per-request timeout), and everything else stays with the SDK.
 *
 * Why: every `client.send` builds its middleware stack, resolves the endpoint, picks an auth scheme,
 * serialises through the model and makes a new signer: about 300 KB of short-lived objects per part
 * (a heap-sampling profile of a 1 GiB backup: 25 of 36 MB allocated while uploading). At 5 MiB parts
 * that garbage is what grew V8's young generation and with it the peak RSS of long backups
 * (docs/benchmarks.md §3). A part needs none of it: its URL and region are those of the upload.
 *
 * Where the part goes is read off the signed CreateMultipartUpload request the SDK sent (captured
 * by a middleware on that command, after the SDK resolved the endpoint, addressing style and any
 * region redirect): its host, port, path and the region and service of its SigV4 credential scope.
 * Anything else — S3 Express (`s3express` sessions), a request not signed with SigV4 — gives no
 * target, and the parts then go through `client.send` as before.
 *
 * Retries follow the SDK's standard mode (which the client uses for every other call): up to
 * `maxAttempts`, a full-jitter backoff of 100 ms × 2^attempt (500 ms base when throttled) capped at
 * 20 s; retried are network errors, timeouts, 5xx, 429 and S3's throttling and transient codes, and a
 * request S3 found signed with a skewed clock once the clock offset is corrected from its `Date`.
 * Re-sending a part is safe: a part number sent again replaces itself (S3 UploadPart docs).
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { SignatureV4 } from '@smithy/signature-v4';
import { sleep } from '../text.js';
import type {
  AwsCredentialIdentityProvider,
  ChecksumConstructor,
  HashConstructor,
  HttpRequest,
  HttpResponse,
} from '@smithy/types';

/** Where the parts of one multipart upload go, and the region they are signed for. */
export interface PartTarget {
  protocol: string;
  hostname: string;
  port?: number;
  /** The object's path as the SDK encoded it (path-style `/bucket/key` or virtual-hosted `/key`). */
  path: string;
  region: string;
}

function header(headers: Record<string, string | undefined>, name: string): string | undefined {
  for (const k of Object.keys(headers)) if (k.toLowerCase() === name) return headers[k];
  return undefined;
}

/**
 * The target of a signed CreateMultipartUpload request, or undefined when it was not signed with
 * SigV4 for service `s3` (then the SDK sends the parts).
 */
export function partTargetOf(request: HttpRequest): PartTarget | undefined {
  const auth = header(request.headers, 'authorization') ?? '';
  const scope = /^AWS4-HMAC-SHA256 Credential=[^/,\s]+\/\d{8}\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,/.exec(auth);
  if (!scope || scope[2] !== 's3' || header(request.headers, 'x-amz-s3session-token')) return undefined;
  if (!request.query || !('uploads' in request.query) || !request.hostname || !request.path) return undefined;
  return {
    protocol: request.protocol,
    hostname: request.hostname,
    ...(request.port !== undefined && { port: request.port }),
    path: request.path,
    region: scope[1]!,
  };
}

/** What a handler's `handle` returns (the S3 client's NodeHttpHandler). */
interface Handler {
  handle(
    request: HttpRequest,
    options?: { abortSignal?: AbortSignal; requestTimeout?: number },
  ): Promise<{ response: HttpResponse }>;
}

export interface PartSenderOptions {
  target: PartTarget;
  /** The S3 client's resolved credentials provider (memoised, refreshed by the SDK). */
  credentials: AwsCredentialIdentityProvider;
  sha256: ChecksumConstructor | HashConstructor;
  handler: Handler;
  /** The client's clock offset (ms), corrected by the SDK on skew errors; read at each signing. */
  clockOffset: () => number;
  maxAttempts: number;
  /** Tests: the wait before attempt `attempt + 1` (default: the SDK's standard backoff). */
  backoffMs?: (attempt: number, throttled: boolean) => number;
}

/** An S3 error in the SDK's shape, so BackupStore.toError reads it as it reads the SDK's. */
export type PartError = Error & {
  Code?: string;
  $metadata: { httpStatusCode?: number };
  $retryable?: { throttling: boolean };
};

const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'LimitExceededException',
  'RequestThrottled',
  'SlowDown',
  'PriorRequestNotComplete',
]);
const TRANSIENT_CODES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'InternalError']);
const TRANSIENT_STATUS = new Set([500, 502, 503, 504]);
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'EAI_AGAIN']);
const SKEW_CODES = new Set([
  'RequestTimeTooSkewed',
  'RequestExpired',
  'RequestInTheFuture',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'AuthFailure',
]);
/** A response Date this far from the signing clock means the signature was refused for the clock. */
const SKEW_MS = 5 * 60_000;
/** An error body longer than this is cut (S3's are a few hundred bytes). */
const ERROR_BODY_MAX = 16 * 1024;

function throttled(e: PartError): boolean {
  return e.$metadata.httpStatusCode === 429 || THROTTLING.has(e.Code ?? '');
}

function retryable(e: PartError): boolean {
  const status = e.$metadata.httpStatusCode;
  if (throttled(e)) return true;
  if (status !== undefined && TRANSIENT_STATUS.has(status)) return true;
  if (TRANSIENT_CODES.has(e.Code ?? e.name)) return true;
  const code = (e as { code?: string }).code;
  return status === undefined && code !== undefined && NETWORK_CODES.has(code);
}

/** The SDK's standard backoff: full jitter on base × 2^attempt, capped at 20 s. */
function standardBackoff(attempt: number, isThrottled: boolean): number {
  return Math.floor(Math.random() * Math.min(20_000, (isThrottled ? 500 : 100) * 2 ** attempt));
}

/**
 * Reads a response body to its end (so the socket goes back to the pool), keeping at most `max`
 * bytes. The handler's request timeout ends with the response's headers, so the body has its own:
 * a body that stalls for `timeoutMs` fails as a TimeoutError (retried like any other timeout).
 */
async function drain(body: unknown, max: number, timeoutMs: number): Promise<string> {
  if (!body || typeof (body as Readable)[Symbol.asyncIterator] !== 'function') return '';
  const stream = body as Readable;
  const timer = setTimeout(() => {
    stream.destroy(
      Object.assign(new Error(`the response body did not end within ${timeoutMs} ms`), { name: 'TimeoutError' }),
    );
  }, timeoutMs);
  const kept: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      if (size < max) kept.push(b.subarray(0, max - size));
      size += b.length;
    }
  } finally {
    clearTimeout(timer);
  }
  return Buffer.concat(kept).toString('utf8');
}

function tag(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
}

function responseError(status: number, body: string): PartError {
  const code = tag(body, 'Code') ?? (status === 429 ? 'TooManyRequests' : `Http${status}`);
  const message = tag(body, 'Message') ?? (body.trim() || `HTTP ${status}`);
  return Object.assign(new Error(message), { name: code, Code: code, $metadata: { httpStatusCode: status } });
}

function crc32Base64(body: Buffer): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc32(body) >>> 0);
  return b.toString('base64');
}

/** Sends the parts of one multipart upload (see the file's comment). */
export class PartSender {
  private readonly signer: SignatureV4;
  private readonly o: PartSenderOptions;
  /** Clock correction learnt from a skew error, added to the client's. */
  private skew = 0;

  constructor(o: PartSenderOptions) {
    this.o = o;
    this.signer = new SignatureV4({
      credentials: o.credentials,
      region: o.target.region,
      service: 's3',
      sha256: o.sha256,
      // S3 signs the path as sent (it is not encoded twice), as the SDK's S3 signer does.
      uriEscapePath: false,
      applyChecksum: false,
    });
  }

  /**
   * Sends `body` as part `partNumber`; resolves its ETag (and its CRC32 when `crc32` was asked for:
   * an upload created with ChecksumAlgorithm CRC32 needs it on every part and in the completion).
   * Rejects with the last error in the SDK's shape; with the signal's reason when aborted.
   */
  async send(p: {
    uploadId: string;
    partNumber: number;
    body: Buffer;
    crc32: boolean;
    abortSignal: AbortSignal;
    requestTimeout: number;
  }): Promise<{ ETag?: string; ChecksumCRC32?: string }> {
    const t = this.o.target;
    const headers: Record<string, string> = {
      host: t.port !== undefined ? `${t.hostname}:${t.port}` : t.hostname,
      'content-length': String(p.body.length),
      // A signed payload: S3 checks the bytes it received against it (XAmzContentSHA256Mismatch).
      'x-amz-content-sha256': createHash('sha256').update(p.body).digest('hex'),
    };
    if (p.crc32) headers['x-amz-checksum-crc32'] = crc32Base64(p.body);
    // `x-id` as the SDK sends it: S3 ignores it; logs and fault rules name the operation by it.
    const query = { 'x-id': 'UploadPart', partNumber: String(p.partNumber), uploadId: p.uploadId };
    for (let attempt = 1; ; attempt++) {
      let err: PartError;
      const signedAt = Date.now() + this.o.clockOffset() + this.skew;
      try {
        const request = await this.signer.sign(
          {
            method: 'PUT',
            protocol: t.protocol,
            hostname: t.hostname,
            port: t.port,
            path: t.path,
            query,
            headers: { ...headers },
            body: p.body,
          },
          { signingDate: new Date(signedAt) },
        );
        const { response } = await this.o.handler.handle(request as HttpRequest, {
          abortSignal: p.abortSignal,
          requestTimeout: p.requestTimeout,
        });
        const text = await drain(response.body, ERROR_BODY_MAX, p.requestTimeout);
        const status = response.statusCode;
        if (status >= 200 && status < 300) {
          // As the SDK's output: the caller refuses a part answered without an ETag.
          const crc = header(response.headers, 'x-amz-checksum-crc32');
          return { ETag: header(response.headers, 'etag'), ...(crc && { ChecksumCRC32: crc }) };
        }
        err = responseError(status, text);
        const date = Date.parse(header(response.headers, 'date') ?? '');
        if (SKEW_CODES.has(err.Code ?? '') && Number.isFinite(date) && Math.abs(date - signedAt) > SKEW_MS) {
          this.skew += date - signedAt;
          err.$retryable = { throttling: false };
        }
      } catch (e) {
        if (p.abortSignal.aborted) throw e;
        err = Object.assign(e instanceof Error ? e : new Error(String(e)), {
          $metadata: (e as PartError).$metadata ?? {},
        }) as PartError;
      }
      const again = err.$retryable !== undefined || retryable(err);
      if (again) err.$retryable ??= { throttling: throttled(err) };
      if (!again || attempt >= this.o.maxAttempts) throw err;
      await sleep((this.o.backoffMs ?? standardBackoff)(attempt, throttled(err)), p.abortSignal);
    }
  }
}
