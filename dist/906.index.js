export const id = 906;
export const ids = [906];
export const modules = {

/***/ 34906:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  BackupStore: () => (/* binding */ BackupStore)
});

// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(77598);
// EXTERNAL MODULE: ./node_modules/@aws-sdk/client-s3/dist-cjs/index.js
var dist_cjs = __webpack_require__(53711);
// EXTERNAL MODULE: ./node_modules/@smithy/node-http-handler/dist-cjs/index.js
var node_http_handler_dist_cjs = __webpack_require__(61279);
// EXTERNAL MODULE: ./lib/providers/http.js
var http = __webpack_require__(81596);
;// CONCATENATED MODULE: ./lib/providers/multipart.js
/**
 * The pieces of the backup's multipart upload that do not talk to S3: which size each part has, and
 * the part buffers that are filled, sent and filled again.
 *
 * S3's limits (https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html): an object of at
 * most 5 TiB, in at most 10,000 parts of 5 MiB to 5 GiB each (the last part may be smaller). A stream
 * of unknown length (`pg_dump` writing to stdout) cannot pick one part size: a fixed 8 MiB stops at
 * 78 GiB, a fixed 525 MiB would hold half a gigabyte per part for every small backup. So the part size
 * grows with the stream: the first part size for `step` parts, then doubling every `step` parts up to
 * a cap; `step` is the largest that still reaches 5 TiB within 10,000 parts.
 */
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;
/** S3's multipart limits. */
const S3_LIMITS = {
    maxParts: 10_000,
    minPartBytes: 5 * MiB,
    maxPartBytes: 5 * GiB,
    maxObjectBytes: 5 * TiB,
};
/**
 * The largest part the schedule grows to unless the first part is larger. A part is held in memory
 * while it is filled and sent, so this bounds the upload's memory on the largest backups: parts in
 * flight shrink as parts grow (`partsInFlight`), and at this size one part is read, then sent (2 GiB).
 *
 * Why 2 GiB and not 1: the higher the cap, the longer 10,000 parts can stay at the first size and
 * still reach 5 TiB, and a backup that never leaves the first size has the memory of a small one.
 * From 5 MiB parts, a 1 GiB cap makes parts double at 3.53 GiB (722 parts); a 2 GiB cap at 4.68 GiB
 * (959 parts), so a 4 GiB backup stays in first-size buffers. The 2 GiB parts only come past 2 TiB
 * (2.34 TiB from 5 MiB parts, 2.07–3.50 TiB from 6–8 MiB). A 2 TiB backup streamed through a runner
 * at ~100 MiB/s takes 5.8 hours: a GitHub-hosted job is stopped at 6 hours ("Job execution time",
 * https://docs.github.com/en/actions/reference/usage-limits-billing-and-administration#usage-limits),
 * so only a self-hosted runner (5 days), sized for such a database, ever holds a 2 GiB part. A cap of
 * 4–5 GiB (S3's part limit) would keep first-size parts only ~0.2 GiB longer and hold 4–5 GiB.
 */
const DEFAULT_PART_CAP = 2 * GiB;
/** The size of part `partNumber` (1-based) under `s`. */
function partSize(s, partNumber) {
    const doublings = Math.floor((partNumber - 1) / s.step);
    // 2^31 parts of the first size would overflow nothing here: doublings stays below 10,000 / step.
    return Math.min(s.cap, s.first * 2 ** doublings);
}
/** The most bytes a stream can carry under `s` within S3's 10,000 parts. */
function scheduleReach(s) {
    let total = 0;
    // One size per `step` parts.
    for (let n = 1; n <= S3_LIMITS.maxParts; n += s.step) {
        total += partSize(s, n) * Math.min(s.step, S3_LIMITS.maxParts - n + 1);
    }
    return total;
}
/**
 * The schedule starting at `first` bytes: parts of that size for as long as possible (the largest
 * `step`) while 10,000 parts still reach S3's 5 TiB object limit. Throws on a first part outside
 * S3's 5 MiB–5 GiB.
 */
function partSchedule(first, cap = Math.max(DEFAULT_PART_CAP, first)) {
    if (!Number.isInteger(first) || first < S3_LIMITS.minPartBytes || first > S3_LIMITS.maxPartBytes) {
        throw new Error(`a part of ${first} bytes is outside S3's 5 MiB–5 GiB`);
    }
    const c = Math.min(cap, S3_LIMITS.maxPartBytes);
    // reach(step) falls as step grows (more parts stay small): the largest step that reaches 5 TiB.
    let lo = 1;
    let hi = S3_LIMITS.maxParts;
    if (scheduleReach({ first, step: lo, cap: c }) < S3_LIMITS.maxObjectBytes) {
        throw new Error(`parts capped at ${c} bytes cannot reach 5 TiB within ${S3_LIMITS.maxParts} parts`);
    }
    while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2);
        if (scheduleReach({ first, step: mid, cap: c }) >= S3_LIMITS.maxObjectBytes)
            lo = mid;
        else
            hi = mid - 1;
    }
    return { first, step: lo, cap: c };
}
/**
 * Parts in flight for parts of `size` when `queueSize` parts of the first size may be: the bytes in
 * flight stay within `queueSize × first` as parts grow, and at least one part is always sent.
 */
function partsInFlight(s, queueSize, size) {
    return Math.max(1, Math.floor((queueSize * s.first) / size));
}
/**
 * The part buffers of one upload. A part is filled in one preallocated buffer (read into straight from
 * a PartSource, or chunks copied in, never concatenated), sent from it, and the buffer is handed back
 * to be filled again: an upload allocates `parts in flight` buffers of each part size it reaches (the
 * next part is filled only once it could be sent), whatever the stream's length.
 */
class PartBuffers {
    free = [];
    /** Buffers allocated so far (for tests and the benchmark). */
    allocated = 0;
    /** Bytes allocated so far. */
    allocatedBytes = 0;
    /** A buffer of exactly `size` bytes: a returned one of that size, else a new one. */
    take(size) {
        const i = this.free.findIndex((b) => b.length === size);
        if (i >= 0)
            return this.free.splice(i, 1)[0];
        // Unpooled and uninitialised: every byte sent is first copied in, and only `filled` bytes are sent.
        const b = Buffer.allocUnsafeSlow(size);
        this.allocated++;
        this.allocatedBytes += size;
        return b;
    }
    /** Hands a buffer back. One smaller than `current` (the parts have grown) is dropped, not kept. */
    give(b, current) {
        if (b.length === current)
            this.free.push(b);
        // Parts only grow: drop the free buffers too small to be used again.
        for (let i = this.free.length - 1; i >= 0; i--)
            if (this.free[i].length < current)
                this.free.splice(i, 1);
    }
    /** Drops every free buffer. */
    clear() {
        this.free.length = 0;
    }
}
function isPartSource(body) {
    return (typeof body === 'object' &&
        body !== null &&
        typeof body.read === 'function' &&
        typeof body.close === 'function' &&
        // A Readable has read() and no close(); a fs FileHandle has both but is not handed here.
        !('pipe' in body));
}

// EXTERNAL MODULE: external "node:zlib"
var external_node_zlib_ = __webpack_require__(38522);
// EXTERNAL MODULE: ./node_modules/@smithy/signature-v4/dist-cjs/index.js
var signature_v4_dist_cjs = __webpack_require__(75118);
// EXTERNAL MODULE: ./lib/text.js
var lib_text = __webpack_require__(68804);
;// CONCATENATED MODULE: ./lib/providers/s3-parts.js
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




function header(headers, name) {
    for (const k of Object.keys(headers))
        if (k.toLowerCase() === name)
            return headers[k];
    return undefined;
}
/**
 * The target of a signed CreateMultipartUpload request, or undefined when it was not signed with
 * SigV4 for service `s3` (then the SDK sends the parts).
 */
function partTargetOf(request) {
    const auth = header(request.headers, 'authorization') ?? '';
    const scope = /^AWS4-HMAC-SHA256 Credential=[^/,\s]+\/\d{8}\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,/.exec(auth);
    if (!scope || scope[2] !== 's3' || header(request.headers, 'x-amz-s3session-token'))
        return undefined;
    if (!request.query || !('uploads' in request.query) || !request.hostname || !request.path)
        return undefined;
    return {
        protocol: request.protocol,
        hostname: request.hostname,
        ...(request.port !== undefined && { port: request.port }),
        path: request.path,
        region: scope[1],
    };
}
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
function throttled(e) {
    return e.$metadata.httpStatusCode === 429 || THROTTLING.has(e.Code ?? '');
}
function retryable(e) {
    const status = e.$metadata.httpStatusCode;
    if (throttled(e))
        return true;
    if (status !== undefined && TRANSIENT_STATUS.has(status))
        return true;
    if (TRANSIENT_CODES.has(e.Code ?? e.name))
        return true;
    const code = e.code;
    return status === undefined && code !== undefined && NETWORK_CODES.has(code);
}
/** The SDK's standard backoff: full jitter on base × 2^attempt, capped at 20 s. */
function standardBackoff(attempt, isThrottled) {
    return Math.floor(Math.random() * Math.min(20_000, (isThrottled ? 500 : 100) * 2 ** attempt));
}
/**
 * Reads a response body to its end (so the socket goes back to the pool), keeping at most `max`
 * bytes. The handler's request timeout ends with the response's headers, so the body has its own:
 * a body that stalls for `timeoutMs` fails as a TimeoutError (retried like any other timeout).
 */
async function drain(body, max, timeoutMs) {
    if (!body || typeof body[Symbol.asyncIterator] !== 'function')
        return '';
    const stream = body;
    const timer = setTimeout(() => {
        stream.destroy(Object.assign(new Error(`the response body did not end within ${timeoutMs} ms`), { name: 'TimeoutError' }));
    }, timeoutMs);
    const kept = [];
    let size = 0;
    try {
        for await (const chunk of stream) {
            const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
            if (size < max)
                kept.push(b.subarray(0, max - size));
            size += b.length;
        }
    }
    finally {
        clearTimeout(timer);
    }
    return Buffer.concat(kept).toString('utf8');
}
function tag(xml, name) {
    return new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
}
function responseError(status, body) {
    const code = tag(body, 'Code') ?? (status === 429 ? 'TooManyRequests' : `Http${status}`);
    const message = tag(body, 'Message') ?? (body.trim() || `HTTP ${status}`);
    return Object.assign(new Error(message), { name: code, Code: code, $metadata: { httpStatusCode: status } });
}
function crc32Base64(body) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE((0,external_node_zlib_.crc32)(body) >>> 0);
    return b.toString('base64');
}
/** Sends the parts of one multipart upload (see the file's comment). */
class PartSender {
    signer;
    o;
    /** Clock correction learnt from a skew error, added to the client's. */
    skew = 0;
    constructor(o) {
        this.o = o;
        this.signer = new signature_v4_dist_cjs.SignatureV4({
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
    async send(p) {
        const t = this.o.target;
        const headers = {
            host: t.port !== undefined ? `${t.hostname}:${t.port}` : t.hostname,
            'content-length': String(p.body.length),
            // A signed payload: S3 checks the bytes it received against it (XAmzContentSHA256Mismatch).
            'x-amz-content-sha256': (0,external_node_crypto_.createHash)('sha256').update(p.body).digest('hex'),
        };
        if (p.crc32)
            headers['x-amz-checksum-crc32'] = crc32Base64(p.body);
        // `x-id` as the SDK sends it: S3 ignores it; logs and fault rules name the operation by it.
        const query = { 'x-id': 'UploadPart', partNumber: String(p.partNumber), uploadId: p.uploadId };
        for (let attempt = 1;; attempt++) {
            let err;
            const signedAt = Date.now() + this.o.clockOffset() + this.skew;
            try {
                const request = await this.signer.sign({
                    method: 'PUT',
                    protocol: t.protocol,
                    hostname: t.hostname,
                    port: t.port,
                    path: t.path,
                    query,
                    headers: { ...headers },
                    body: p.body,
                }, { signingDate: new Date(signedAt) });
                const { response } = await this.o.handler.handle(request, {
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
            }
            catch (e) {
                if (p.abortSignal.aborted)
                    throw e;
                err = Object.assign(e instanceof Error ? e : new Error(String(e)), {
                    $metadata: e.$metadata ?? {},
                });
            }
            const again = err.$retryable !== undefined || retryable(err);
            if (again)
                err.$retryable ??= { throttling: throttled(err) };
            if (!again || attempt >= this.o.maxAttempts)
                throw err;
            await (0,lib_text/* sleep */.yy)((this.o.backoffMs ?? standardBackoff)(attempt, throttled(err)), p.abortSignal);
        }
    }
}

;// CONCATENATED MODULE: ./lib/providers/s3.js
/**
 * The backup store (`BackupStore` in providers/index.ts) over S3 or any S3-compatible store (R2, MinIO,
 * the sandbox's s3rver): stream a backup up with its SHA-256, verify it, find the newest, delete.
 *
 * Credentials come from the SDK's standard chain (env, OIDC web identity, profiles, IMDS); nothing here
 * reads them. Every request has a connection and a request timeout (the SDK's default is none) and the
 * SDK's standard retry mode with 3 attempts.
 */


// A dependency of @aws-sdk/client-s3 (its default handler); imported for typed timeout options.





/** The body stream failed (not S3): its error is the cause. */
class StreamFailed extends Error {
    cause;
    constructor(cause) {
        super(errorText(cause));
        this.name = 'StreamFailed';
        this.cause = cause;
    }
}
function errorText(err) {
    return err instanceof Error ? err.message : String(err);
}
/** The first part size, and how many parts of it may be in flight (POLICIES.s3 sets both for a run). */
const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
const DEFAULT_QUEUE_SIZE = 4;
const SIDECAR = '.sha256';
/** Removing what a failed upload left must not wait on the run's (possibly aborted) signal, nor forever. */
const CLEANUP_DEADLINE_MS = 5_000;
/** The backup bucket client of one run. */
class BackupStore {
    client;
    o;
    handler;
    constructor(o) {
        this.o = o;
        this.handler = new node_http_handler_dist_cjs.NodeHttpHandler({
            requestTimeout: o.requestTimeoutMs,
            connectionTimeout: o.connectionTimeoutMs,
            throwOnRequestTimeout: true,
        });
        const config = {
            region: o.region,
            maxAttempts: o.maxAttempts ?? 3,
            requestHandler: this.handler,
        };
        if (o.credentials)
            config.credentials = o.credentials;
        if (o.endpoint) {
            config.endpoint = o.endpoint;
            config.forcePathStyle = true;
            // Third-party stores reject or corrupt the SDK's default checksums and aws-chunked bodies
            // (R2 answers 501, s3rver stores the chunk framing): checksums only where the API requires them.
            config.requestChecksumCalculation = 'WHEN_REQUIRED';
            config.responseChecksumValidation = 'WHEN_REQUIRED';
        }
        this.client = new dist_cjs/* S3Client */.YxF(config);
    }
    toError(operation, err, detail) {
        if (this.o.signal?.aborted)
            return err instanceof Error ? err : new Error(String(err));
        if (err instanceof http/* ProviderError */.mZ)
            return err;
        const e = (err ?? {});
        const status = e.$metadata?.httpStatusCode;
        const code = e.Code ?? e.name;
        const text = detail ??
            `${status ? `HTTP ${status} ` : ''}${code ?? 'error'}: ${(0,lib_text/* oneLine */.TN)(e.message ?? String(err), http/* PROVIDER_TEXT_MAX */.DS)}`;
        return new http/* ProviderError */.mZ({
            provider: 's3',
            operation,
            status,
            code,
            retryable: Boolean(e.$retryable) || code === 'TimeoutError',
            message: (0,lib_text/* redact */.E$)((0,http/* providerMessage */.fs)('s3', operation, text), this.o.secrets ?? []),
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
    async streamUpload(input) {
        const contentType = input.contentType ?? 'application/octet-stream';
        let sent;
        try {
            sent = await this.sendStream({ ...input, contentType });
        }
        catch (err) {
            if (this.o.signal?.aborted)
                throw err instanceof StreamFailed ? err.cause : err;
            if (err instanceof StreamFailed) {
                throw this.toError('streamUpload', err.cause, `the backup stream failed: ${(0,lib_text/* oneLine */.TN)(errorText(err.cause), http/* PROVIDER_TEXT_MAX */.DS)}; the upload was aborted and no object was written`);
            }
            throw this.toError('streamUpload', err);
        }
        const { size, sha256 } = sent;
        let etag = sent.etag;
        const meta = { ...input.metadata, sha256, size: String(size) };
        try {
            if (size <= (this.o.copyLimitBytes ?? 5 * 1024 ** 3)) {
                // Metadata is fixed when an upload starts, before the hash is known: copy the object onto itself.
                const copy = await this.client.send(new dist_cjs/* CopyObjectCommand */.s9Z({
                    Bucket: input.bucket,
                    Key: input.key,
                    CopySource: `${input.bucket}/${input.key.split('/').map(encodeURIComponent).join('/')}`,
                    MetadataDirective: 'REPLACE',
                    Metadata: meta,
                    ContentType: contentType,
                }), { abortSignal: this.o.signal });
                etag = copy.CopyObjectResult?.ETag ?? etag;
            }
            else {
                const name = input.key.split('/').pop() ?? input.key;
                await this.client.send(new dist_cjs/* PutObjectCommand */.wKZ({
                    Bucket: input.bucket,
                    Key: input.key + SIDECAR,
                    Body: `${sha256}  ${name}\n`,
                    ContentType: 'text/plain',
                    Metadata: meta,
                }), { abortSignal: this.o.signal });
            }
        }
        catch (err) {
            // An object whose checksum cannot be found again is not a backup we can vouch for: remove it,
            // with a deadline of its own (the run's signal may be what made the copy fail).
            await this.client
                .send(new dist_cjs/* DeleteObjectCommand */.k4j({ Bucket: input.bucket, Key: input.key }), {
                abortSignal: AbortSignal.timeout(CLEANUP_DEADLINE_MS),
            })
                .catch(() => undefined);
            throw this.toError('streamUpload', err);
        }
        return { key: input.key, size, sha256, etag };
    }
    /** The schedule of this store's part sizes. */
    get schedule() {
        return (this.partSchedule ??= this.o.schedule ?? partSchedule(this.o.partSize ?? DEFAULT_PART_SIZE));
    }
    partSchedule;
    /**
     * The upload itself: PutObject for a stream shorter than one part, else a multipart upload. Throws
     * StreamFailed when the body stream failed, the S3 error otherwise; either way nothing is completed.
     */
    async sendStream(input) {
        const { bucket, key } = input;
        const schedule = this.schedule;
        const queueSize = Math.max(1, this.o.queueSize ?? DEFAULT_QUEUE_SIZE);
        const buffers = new PartBuffers();
        this.lastBuffers = buffers;
        const hash = (0,external_node_crypto_.createHash)('sha256');
        let size = 0;
        // Cancels the parts in flight when one fails, the stream fails, or the run is cancelled.
        const local = new AbortController();
        const abortSignal = this.o.signal ? AbortSignal.any([this.o.signal, local.signal]) : local.signal;
        let uploadId;
        const done = [];
        const inFlight = new Set();
        let failure;
        const source = isPartSource(input.body) ? input.body : undefined;
        const fail = (err) => {
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
        let parts;
        const startUpload = async () => {
            const create = new dist_cjs/* CreateMultipartUploadCommand */.nG4({
                Bucket: bucket,
                Key: key,
                ContentType: input.contentType,
                Metadata: input.metadata,
                ...(checksums && { ChecksumAlgorithm: dist_cjs/* ChecksumAlgorithm */.VD4.CRC32 }),
            });
            let target;
            create.middlewareStack.add((next) => async (args) => {
                const out = await next(args);
                target = partTargetOf(args.request);
                return out;
            }, { step: 'deserialize', name: 'partTarget' });
            const res = await this.client.send(create, { abortSignal });
            if (!res.UploadId)
                throw new Error('CreateMultipartUpload answered without an UploadId');
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
            }
            catch (err) {
                fail(err);
                throw err;
            }
        };
        const queuePart = async () => {
            if (!uploadId)
                await startUpload();
            if (partNumber > S3_LIMITS.maxParts) {
                throw new Error(`the backup is larger than S3 accepts: ${S3_LIMITS.maxParts} parts and more bytes (${size} read)`);
            }
            // Room first: at most `partsInFlight` parts in flight (the full buffer waits, and so does the stream).
            while (inFlight.size >= partsInFlight(schedule, queueSize, current) && !failure)
                await Promise.race(inFlight);
            if (failure)
                throw failure.err;
            const n = partNumber;
            const body = buf;
            const length = filled;
            const partBody = length === body.length ? body : body.subarray(0, length);
            // The policy's timeout is for a first-size part; a larger part gets as long per byte.
            const requestTimeout = Math.round(this.o.requestTimeoutMs * Math.max(1, length / schedule.first));
            const sent = parts
                ? parts.send({
                    uploadId: uploadId,
                    partNumber: n,
                    body: partBody,
                    crc32: checksums,
                    abortSignal,
                    requestTimeout,
                })
                : this.client.send(new dist_cjs/* UploadPartCommand */.iVK({
                    Bucket: bucket,
                    Key: key,
                    UploadId: uploadId,
                    PartNumber: n,
                    Body: partBody,
                    ContentLength: length,
                    ...(checksums && { ChecksumAlgorithm: dist_cjs/* ChecksumAlgorithm */.VD4.CRC32 }),
                }), { abortSignal, requestTimeout });
            const p = sent
                .then((res) => {
                if (!res.ETag)
                    throw new Error(`UploadPart ${n} answered without an ETag`);
                done.push({
                    PartNumber: n,
                    ETag: res.ETag,
                    ...(res.ChecksumCRC32 && { ChecksumCRC32: res.ChecksumCRC32 }),
                });
                buffers.give(body, current);
            })
                .catch((err) => fail(err))
                .finally(() => inFlight.delete(p));
            inFlight.add(p);
            partNumber++;
            current = partSize(schedule, partNumber);
            filled = 0;
            // The next buffer only once the next part could be sent: the upload holds `partsInFlight`
            // buffers, not one more that would fill while all of them are in flight (the stream waits instead:
            // its producer blocks on its pipe).
            while (inFlight.size >= partsInFlight(schedule, queueSize, current) && !failure)
                await Promise.race(inFlight);
            // (Set while waiting: TypeScript cannot see that.)
            const failed = failure;
            if (failed)
                throw failed.err;
            buf = buffers.take(current);
        };
        try {
            try {
                if (source) {
                    // Straight into the part buffer: no chunk is allocated, nothing is copied twice.
                    for (;;) {
                        if (failure)
                            throw failure.err;
                        // A part failing while the read is pending closes the source (fail()): its error, not the source's.
                        const n = await source.read(buf, filled, buf.length - filled).catch((err) => {
                            throw failure ? failure.err : err;
                        });
                        if (n === 0)
                            break;
                        hash.update(buf.subarray(filled, filled + n));
                        size += n;
                        filled += n;
                        if (filled === buf.length)
                            await sendPart();
                    }
                }
                else
                    for await (const data of input.body) {
                        const chunk = typeof data === 'string' ? Buffer.from(data) : data;
                        if (failure)
                            throw failure.err;
                        hash.update(chunk);
                        size += chunk.length;
                        let offset = 0;
                        while (offset < chunk.length) {
                            const n = Math.min(chunk.length - offset, buf.length - filled);
                            chunk.copy(buf, filled, offset, offset + n);
                            filled += n;
                            offset += n;
                            if (filled === buf.length)
                                await sendPart();
                        }
                    }
            }
            catch (err) {
                // The body's error, unless a part's failure came first (then the loop threw that).
                if (!failure) {
                    fail(err);
                    throw new StreamFailed(err);
                }
                throw err;
            }
            if (!uploadId) {
                // Shorter than one part: one request.
                const res = await this.client.send(new dist_cjs/* PutObjectCommand */.wKZ({
                    Bucket: bucket,
                    Key: key,
                    Body: buf.subarray(0, filled),
                    ContentLength: filled,
                    ContentType: input.contentType,
                    Metadata: input.metadata,
                }), { abortSignal });
                return { size, sha256: hash.digest('hex'), etag: res.ETag };
            }
            if (filled > 0)
                await sendPart();
            while (inFlight.size > 0)
                await Promise.race(inFlight);
            if (failure)
                throw failure.err;
            done.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
            const res = await this.client.send(new dist_cjs/* CompleteMultipartUploadCommand */.Gym({
                Bucket: bucket,
                Key: key,
                UploadId: uploadId,
                MultipartUpload: { Parts: done },
            }), { abortSignal });
            return { size, sha256: hash.digest('hex'), etag: res.ETag };
        }
        catch (err) {
            fail(err);
            if (source)
                source.close();
            else
                input.body.destroy();
            // Let the cancelled parts settle before aborting, so none lands after the abort.
            await Promise.allSettled([...inFlight]);
            if (uploadId) {
                // Frees the stored parts. s3rver answers 405 (it has no AbortMultipartUpload); S3 removes the
                // parts. Either way nothing was completed, so no object exists under the key.
                await this.client
                    .send(new dist_cjs/* AbortMultipartUploadCommand */.tfP({ Bucket: bucket, Key: key, UploadId: uploadId }), {
                    abortSignal: AbortSignal.timeout(CLEANUP_DEADLINE_MS),
                })
                    .catch(() => undefined);
            }
            throw err;
        }
        finally {
            source?.close();
            buffers.clear();
        }
    }
    /** The part buffers of the last upload (tests and the benchmark read what it allocated). */
    lastBuffers;
    /** Checks that the object exists with the expected size and SHA-256 (from its metadata or its `.sha256`). */
    async verify(q) {
        let head;
        try {
            head = await this.client.send(new dist_cjs/* HeadObjectCommand */.l81({ Bucket: q.bucket, Key: q.key }), {
                abortSignal: this.o.signal,
            });
        }
        catch (err) {
            if (err.$metadata?.httpStatusCode === 404) {
                return { ok: false, reason: `s3://${q.bucket}/${q.key} does not exist` };
            }
            throw this.toError('verify', err);
        }
        const size = head.ContentLength;
        let sha256 = head.Metadata?.sha256;
        if (!sha256)
            sha256 = await this.readSidecar(q.bucket, q.key);
        if (size !== q.size)
            return { ok: false, size, sha256, reason: `size ${size ?? '?'} bytes, expected ${q.size}` };
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
    async readSidecar(bucket, key) {
        try {
            const res = await this.client.send(new dist_cjs/* GetObjectCommand */.jLs({ Bucket: bucket, Key: key + SIDECAR }), {
                abortSignal: this.o.signal,
            });
            const text = (await res.Body?.transformToString()) ?? '';
            return /^[0-9a-f]{64}/.exec(text.trim())?.[0];
        }
        catch (err) {
            if (err.$metadata?.httpStatusCode === 404)
                return undefined;
            throw this.toError('verify', err);
        }
    }
    /** The most recently modified object under `prefix` (checksum files aside), or undefined when there is none. */
    async newest(q) {
        let best;
        let token;
        try {
            do {
                const page = await this.client.send(new dist_cjs/* ListObjectsV2Command */.u6x({ Bucket: q.bucket, Prefix: q.prefix, ContinuationToken: token, MaxKeys: 1000 }), { abortSignal: this.o.signal });
                for (const o of page.Contents ?? []) {
                    if (!o.Key || !o.LastModified || o.Key.endsWith(SIDECAR))
                        continue;
                    if (!best || o.LastModified > best.lastModified)
                        best = { key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified };
                }
                token = page.IsTruncated ? page.NextContinuationToken : undefined;
            } while (token);
        }
        catch (err) {
            throw this.toError('newest', err);
        }
        return best;
    }
    /**
     * Whether an object exists under the key (HeadObject: 404 is `false`; any other failure throws,
     * since "could not tell" must not be taken for "absent"). `signal` replaces the run's.
     */
    async exists(q, opts = {}) {
        try {
            await this.client.send(new dist_cjs/* HeadObjectCommand */.l81({ Bucket: q.bucket, Key: q.key }), {
                abortSignal: opts.signal ?? this.o.signal,
            });
            return true;
        }
        catch (err) {
            if (err.$metadata?.httpStatusCode === 404)
                return false;
            throw this.toError('exists', err);
        }
    }
    /**
     * Deletes the object and its checksum file, if any (deleting a missing key is not an error in S3).
     * `signal` replaces the run's: removing a half-written backup must still happen after a cancel.
     */
    async deleteObject(q, opts = {}) {
        const abortSignal = opts.signal ?? this.o.signal;
        try {
            await this.client.send(new dist_cjs/* DeleteObjectCommand */.k4j({ Bucket: q.bucket, Key: q.key }), { abortSignal });
            await this.client.send(new dist_cjs/* DeleteObjectCommand */.k4j({ Bucket: q.bucket, Key: q.key + SIDECAR }), { abortSignal });
        }
        catch (err) {
            throw this.toError('deleteObject', err);
        }
    }
}


/***/ })

};
