export const id = 467;
export const ids = [467];
export const modules = {

/***/ 33467:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   BackupStore: () => (/* binding */ BackupStore)
/* harmony export */ });
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(77598);
/* harmony import */ var node_stream__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(57075);
/* harmony import */ var _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(6265);
/* harmony import */ var _aws_sdk_lib_storage__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(27228);
/* harmony import */ var _smithy_node_http_handler__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(57105);
/* harmony import */ var _http_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(72265);
/* harmony import */ var _text_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(53001);
/**
 * The backup store (`BackupStore` in providers/index.ts) over S3 or any S3-compatible store (R2, MinIO,
 * the sandbox's s3rver): stream a backup up with its SHA-256, verify it, find the newest, delete.
 *
 * Credentials come from the SDK's standard chain (env, OIDC web identity, profiles, IMDS); nothing here
 * reads them. Every request has a connection and a request timeout (the SDK's default is none) and the
 * SDK's standard retry mode with 3 attempts.
 */




// A dependency of @aws-sdk/client-s3 (its default handler); imported for typed timeout options.



/**
 * Counts and hashes the bytes that pass through. (The count must not be called `size`: lib-storage reads
 * `Body.size` as the body's total length.)
 */
class HashingTransform extends node_stream__WEBPACK_IMPORTED_MODULE_1__.Transform {
    hash = (0,node_crypto__WEBPACK_IMPORTED_MODULE_0__.createHash)('sha256');
    bytes = 0;
    _transform(chunk, _enc, cb) {
        this.hash.update(chunk);
        this.bytes += chunk.length;
        cb(null, chunk);
    }
}
const SIDECAR = '.sha256';
/** Removing what a failed upload left must not wait on the run's (possibly aborted) signal, nor forever. */
const CLEANUP_DEADLINE_MS = 5_000;
/** The backup bucket client of one run. */
class BackupStore {
    client;
    o;
    constructor(o) {
        this.o = o;
        const config = {
            region: o.region,
            maxAttempts: o.maxAttempts ?? 3,
            requestHandler: new _smithy_node_http_handler__WEBPACK_IMPORTED_MODULE_4__.NodeHttpHandler({
                requestTimeout: o.requestTimeoutMs,
                connectionTimeout: o.connectionTimeoutMs,
                throwOnRequestTimeout: true,
            }),
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
        this.client = new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_5__.S3Client(config);
    }
    toError(operation, err, detail) {
        if (this.o.signal?.aborted)
            return err instanceof Error ? err : new Error(String(err));
        if (err instanceof _http_js__WEBPACK_IMPORTED_MODULE_3__/* .ProviderError */ .mZ)
            return err;
        const e = (err ?? {});
        const status = e.$metadata?.httpStatusCode;
        const code = e.Code ?? e.name;
        const text = detail ??
            `${status ? `HTTP ${status} ` : ''}${code ?? 'error'}: ${(0,_text_js__WEBPACK_IMPORTED_MODULE_6__/* .oneLine */ .TN)(e.message ?? String(err), _http_js__WEBPACK_IMPORTED_MODULE_3__/* .PROVIDER_TEXT_MAX */ .DS)}`;
        return new _http_js__WEBPACK_IMPORTED_MODULE_3__/* .ProviderError */ .mZ({
            provider: 's3',
            operation,
            status,
            code,
            retryable: Boolean(e.$retryable) || code === 'TimeoutError',
            message: (0,_text_js__WEBPACK_IMPORTED_MODULE_6__/* .redact */ .E$)((0,_http_js__WEBPACK_IMPORTED_MODULE_3__/* .providerMessage */ .fs)('s3', operation, text), this.o.secrets ?? []),
        });
    }
    /**
     * Streams `body` to `bucket/key` (multipart for anything over one part), hashing and counting on the
     * way, then records the SHA-256 in the object's metadata (`sha256`, `size`). On any failure — the body
     * stream erroring (e.g. the backup command failing), S3 refusing — the multipart upload is aborted, no
     * object is completed, and this throws.
     */
    async streamUpload(input) {
        const hashing = new HashingTransform();
        let streamError;
        // pipeline destroys both streams on an error either side, so Upload sees a failing body.
        (0,node_stream__WEBPACK_IMPORTED_MODULE_1__.pipeline)(input.body, hashing, (err) => {
            if (err)
                streamError = err;
        });
        const contentType = input.contentType ?? 'application/octet-stream';
        const upload = new _aws_sdk_lib_storage__WEBPACK_IMPORTED_MODULE_2__/* .Upload */ ._({
            client: this.client,
            params: {
                Bucket: input.bucket,
                Key: input.key,
                Body: hashing,
                ContentType: contentType,
                Metadata: input.metadata,
            },
            partSize: this.o.partSize ?? 8 * 1024 * 1024,
            queueSize: this.o.queueSize ?? 2,
            leavePartsOnError: false,
        });
        const onAbort = () => void upload.abort();
        this.o.signal?.addEventListener('abort', onAbort, { once: true });
        let etag;
        try {
            const res = await upload.done();
            etag = res.ETag;
        }
        catch (err) {
            hashing.destroy();
            if (this.o.signal?.aborted)
                throw err;
            // lib-storage aborts the multipart upload itself. s3rver answers AbortMultipartUpload with 405, and that
            // error then replaces the original one: report the original. Either way nothing was completed, so no
            // object (partial or whole) exists under the key.
            const cause = streamError ?? err;
            const why = streamError
                ? `the backup stream failed: ${(0,_text_js__WEBPACK_IMPORTED_MODULE_6__/* .oneLine */ .TN)(streamError.message, _http_js__WEBPACK_IMPORTED_MODULE_3__/* .PROVIDER_TEXT_MAX */ .DS)}`
                : undefined;
            throw this.toError('streamUpload', cause, why ? `${why}; the upload was aborted and no object was written` : undefined);
        }
        finally {
            this.o.signal?.removeEventListener('abort', onAbort);
        }
        const size = hashing.bytes;
        const sha256 = hashing.hash.digest('hex');
        const meta = { ...input.metadata, sha256, size: String(size) };
        try {
            if (size <= (this.o.copyLimitBytes ?? 5 * 1024 ** 3)) {
                // Metadata is fixed when an upload starts, before the hash is known: copy the object onto itself.
                const copy = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_5__.CopyObjectCommand({
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
                await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_5__.PutObjectCommand({
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
                .send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_5__.DeleteObjectCommand({ Bucket: input.bucket, Key: input.key }), {
                abortSignal: AbortSignal.timeout(CLEANUP_DEADLINE_MS),
            })
                .catch(() => undefined);
            throw this.toError('streamUpload', err);
        }
        return { key: input.key, size, sha256, etag };
    }
    /** Checks that the object exists with the expected size and SHA-256 (from its metadata or its `.sha256`). */
    async verify(q) {
        let head;
        try {
            head = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_5__.HeadObjectCommand({ Bucket: q.bucket, Key: q.key }), {
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
            const res = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_5__.GetObjectCommand({ Bucket: bucket, Key: key + SIDECAR }), {
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
                const page = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_5__.ListObjectsV2Command({ Bucket: q.bucket, Prefix: q.prefix, ContinuationToken: token, MaxKeys: 1000 }), { abortSignal: this.o.signal });
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
            await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_5__.HeadObjectCommand({ Bucket: q.bucket, Key: q.key }), {
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
            await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_5__.DeleteObjectCommand({ Bucket: q.bucket, Key: q.key }), { abortSignal });
            await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_5__.DeleteObjectCommand({ Bucket: q.bucket, Key: q.key + SIDECAR }), { abortSignal });
        }
        catch (err) {
            throw this.toError('deleteObject', err);
        }
    }
}


/***/ })

};
