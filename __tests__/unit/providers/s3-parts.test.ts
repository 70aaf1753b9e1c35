import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { Readable } from 'node:stream';
import { S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import type { HttpRequest, HttpResponse, SourceData } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import { PartSender, partTargetOf, type PartTarget } from '../../../src/providers/s3-parts.ts';
import { rejection } from './helpers.ts';

const AUTH = (region: string, service: string) =>
  `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261205/${region}/${service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc`;

function created(o: Partial<HttpRequest> & { auth?: string; extra?: Record<string, string> } = {}): HttpRequest {
  return {
    method: 'POST',
    protocol: 'https:',
    hostname: 'backups.s3.eu-west-1.amazonaws.com',
    path: '/prod/2026%3A12.dump',
    query: { uploads: '' },
    headers: { Authorization: o.auth ?? AUTH('eu-west-1', 's3'), ...o.extra },
    ...o,
  } as HttpRequest;
}

describe('partTargetOf: where the parts go, read off the signed CreateMultipartUpload', () => {
  it('takes the host, encoded path and signing region the SDK resolved (virtual-hosted, after a redirect)', () => {
    expect(partTargetOf(created())).toEqual({
      protocol: 'https:',
      hostname: 'backups.s3.eu-west-1.amazonaws.com',
      path: '/prod/2026%3A12.dump',
      region: 'eu-west-1',
    });
    expect(partTargetOf(created({ hostname: '127.0.0.1', port: 9000, protocol: 'http:', path: '/b/k' }))).toMatchObject(
      { hostname: '127.0.0.1', port: 9000, path: '/b/k' },
    );
  });

  it('gives no target (the SDK sends the parts) for S3 Express, another signing scheme or another request', () => {
    expect(partTargetOf(created({ auth: AUTH('us-east-1', 's3express') }))).toBeUndefined();
    expect(partTargetOf(created({ extra: { 'x-amz-s3session-token': 't' } }))).toBeUndefined();
    expect(
      partTargetOf(created({ auth: 'AWS4-ECDSA-P256-SHA256 Credential=AK/20261205/s3/aws4_request, x' })),
    ).toBeUndefined();
    expect(partTargetOf(created({ auth: '' }))).toBeUndefined();
    expect(partTargetOf(created({ query: { uploadId: 'x' } }))).toBeUndefined();
  });
});

/** A request handler answering from a script, recording what it was sent. */
function scripted(
  answers: ((req: HttpRequest) => { status: number; headers?: Record<string, string>; body?: string } | Error)[],
) {
  const seen: HttpRequest[] = [];
  return {
    seen,
    handler: {
      async handle(req: HttpRequest, _o?: { abortSignal?: AbortSignal; requestTimeout?: number }) {
        seen.push(req);
        const a = answers[Math.min(seen.length - 1, answers.length - 1)]!(req);
        if (a instanceof Error) throw a;
        const response = {
          statusCode: a.status,
          headers: a.headers ?? {},
          body: Readable.from([Buffer.from(a.body ?? '')]),
        } as unknown as HttpResponse;
        return { response };
      },
    },
  };
}

/** SHA-256 (an HMAC with a secret) in the SDK's Checksum shape, from node:crypto. */
class Sha256 {
  private h: Hash | Hmac;
  private readonly secret?: Uint8Array | string;
  constructor(secret?: SourceData) {
    this.secret = secret === undefined || typeof secret === 'string' ? secret : new Uint8Array(secret as ArrayBuffer);
    this.h = this.fresh();
  }
  private fresh() {
    return this.secret ? createHmac('sha256', this.secret) : createHash('sha256');
  }
  update(data: SourceData) {
    this.h.update(typeof data === 'string' ? data : new Uint8Array(data as ArrayBuffer));
  }
  async digest() {
    return new Uint8Array(this.h.digest());
  }
  reset() {
    this.h = this.fresh();
  }
}

const TARGET: PartTarget = { protocol: 'https:', hostname: 's3.example', path: '/b/k', region: 'us-east-1' };

function sender(handler: ReturnType<typeof scripted>['handler'], clock = 0) {
  return new PartSender({
    target: TARGET,
    credentials: async () => ({ accessKeyId: 'AKID', secretAccessKey: 'SECRET' }),
    sha256: Sha256,
    handler,
    clockOffset: () => clock,
    maxAttempts: 3,
    backoffMs: () => 1,
  });
}

const body = Buffer.from('part bytes '.repeat(100));
const send = (s: PartSender, o: { crc32?: boolean; signal?: AbortSignal } = {}) =>
  s.send({
    uploadId: 'U1',
    partNumber: 7,
    body,
    crc32: o.crc32 ?? false,
    abortSignal: o.signal ?? new AbortController().signal,
    requestTimeout: 1000,
  });

/** The `x-amz-checksum-crc32` the SDK itself sends for an UploadPart of `data` (caught before it leaves). */
async function sdkCrc32(data: Buffer): Promise<string | undefined> {
  const client = new S3Client({
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKID', secretAccessKey: 'SECRET' },
    requestChecksumCalculation: 'WHEN_SUPPORTED',
  });
  let sent: string | undefined;
  client.middlewareStack.add(
    () => async (args) => {
      sent = (args.request as HttpRequest).headers['x-amz-checksum-crc32'];
      throw new Error('caught before sending');
    },
    { step: 'deserialize' },
  );
  await client
    .send(
      new UploadPartCommand({
        Bucket: 'b',
        Key: 'k',
        UploadId: 'U',
        PartNumber: 1,
        Body: data,
        ChecksumAlgorithm: 'CRC32',
      }),
    )
    .catch(() => undefined);
  return sent;
}

describe('PartSender', () => {
  it('signs a PUT of the part with its payload hash (and CRC32 when the upload asked for it)', async () => {
    const h = scripted([() => ({ status: 200, headers: { etag: '"e7"', 'x-amz-checksum-crc32': 'AAAA' } })]);
    expect(await send(sender(h.handler), { crc32: true })).toEqual({ ETag: '"e7"', ChecksumCRC32: 'AAAA' });
    const req = h.seen[0]!;
    expect(req).toMatchObject({
      method: 'PUT',
      hostname: 's3.example',
      path: '/b/k',
      query: { partNumber: '7', uploadId: 'U1' },
    });
    expect(req.headers['x-amz-content-sha256']).toBe(createHash('sha256').update(body).digest('hex'));
    // The same header the SDK's own flexible-checksums middleware puts on this part.
    expect(req.headers['x-amz-checksum-crc32']).toBe(await sdkCrc32(body));
    expect(req.headers.host).toBe('s3.example');
    expect(req.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKID\/\d{8}\/us-east-1\/s3\/aws4_request, SignedHeaders=[^,]*x-amz-content-sha256/,
    );
  });

  it('corrects a skewed clock from S3 Date and signs again; a signature refused on time is not retried blindly', async () => {
    const later = new Date(Date.now() + 3_600_000).toUTCString();
    const skew = scripted([
      () => ({ status: 403, headers: { date: later }, body: '<Error><Code>RequestTimeTooSkewed</Code></Error>' }),
      () => ({ status: 200, headers: { etag: '"ok"' } }),
    ]);
    expect(await send(sender(skew.handler))).toEqual({ ETag: '"ok"' });
    const dates = skew.seen.map((r) => r.headers['x-amz-date']!);
    expect(dates[1]! > dates[0]!).toBe(true);

    const now = new Date().toUTCString();
    const wrongKey = scripted([
      () => ({
        status: 403,
        headers: { date: now },
        body: '<Error><Code>SignatureDoesNotMatch</Code><Message>no</Message></Error>',
      }),
    ]);
    const err = await rejection(send(sender(wrongKey.handler)));
    expect(err).toMatchObject({ name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403 } });
    expect(wrongKey.seen).toHaveLength(1);
  });

  it('retries network errors and timeouts up to maxAttempts, then fails with the last one', async () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const timeout = Object.assign(new Error('request timed out'), { name: 'TimeoutError' });
    const h = scripted([() => reset, () => timeout, () => timeout]);
    const err = await rejection(send(sender(h.handler)));
    expect(err.name).toBe('TimeoutError');
    expect(h.seen).toHaveLength(3);
  });

  it('a response body that stalls after its headers times out and is sent again', async () => {
    const stalled = new Readable({ read() {} }); // headers came, the body never ends
    const seen: HttpRequest[] = [];
    const handler = {
      async handle(req: HttpRequest) {
        seen.push(req);
        const body = seen.length === 1 ? stalled : Readable.from([Buffer.from('')]);
        const headers: Record<string, string> = seen.length === 1 ? {} : { etag: '"late"' };
        return { response: { statusCode: 200, headers, body } as unknown as HttpResponse };
      },
    };
    const s = new PartSender({
      target: TARGET,
      credentials: async () => ({ accessKeyId: 'AKID', secretAccessKey: 'SECRET' }),
      sha256: Sha256,
      handler,
      clockOffset: () => 0,
      maxAttempts: 3,
      backoffMs: () => 1,
    });
    const res = await s.send({
      uploadId: 'U1',
      partNumber: 1,
      body,
      crc32: false,
      abortSignal: new AbortController().signal,
      requestTimeout: 50,
    });
    expect(res).toEqual({ ETag: '"late"' });
    expect(seen).toHaveLength(2);
    expect(stalled.destroyed).toBe(true);
  });

  it('stops at once when the run is cancelled, between attempts too', async () => {
    const ac = new AbortController();
    const h = scripted([
      () => {
        ac.abort(new Error('cancelled'));
        return { status: 503, body: '<Error><Code>SlowDown</Code></Error>' };
      },
    ]);
    const err = await rejection(send(sender(h.handler), { signal: ac.signal }));
    expect(err.message).toBe('cancelled');
    expect(h.seen).toHaveLength(1);
  });
});
