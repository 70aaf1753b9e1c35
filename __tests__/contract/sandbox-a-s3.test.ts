/**
 * S3 (real s3rver behind the sandbox's logging/faulting proxy) with the official clients:
 * @aws-sdk/client-s3 + @aws-sdk/lib-storage, the AWS CLI where installed, and the action's own
 * multipart loop (BackupStore) through the same proxy.
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarioFrom } from '../../sandbox/core/scenario.ts';
import { makeWorld } from '../../sandbox/contract/testing.ts';
import { BackupStore } from '../../src/providers/s3.ts';
import { type RunningS3, startS3 } from '../../sandbox/services/s3.ts';

const run = promisify(execFile);
const scenario = scenarioFrom({});
const bucket = scenario.s3.bucket;
const world = makeWorld();
let s3: RunningS3;
let client: S3Client;

beforeAll(async () => {
  s3 = await startS3(world, scenario.s3);
  client = new S3Client({
    region: scenario.s3.region,
    endpoint: s3.service.url,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
  });
});
afterAll(async () => {
  client?.destroy();
  await s3.close();
  world.cleanup();
});

describe('S3 through the sandbox proxy', () => {
  it('lists the seeded backup with its age', async () => {
    const out = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'production-deploy/' }));
    const obj = out.Contents?.[0];
    expect(obj?.Key).toBe(scenario.s3.objects[0]!.key);
    const age = (Date.now() - obj!.LastModified!.getTime()) / 1000;
    expect(age).toBeGreaterThan(scenario.s3.objects[0]!.ageSeconds - 5);
    expect(age).toBeLessThan(scenario.s3.objects[0]!.ageSeconds + 60);
  });

  it('refuses a signed payload whose bytes differ from its x-amz-content-sha256, as S3 does (s3rver alone does not)', async () => {
    const claimed = crypto.createHash('sha256').update('other bytes').digest('hex');
    const res = await fetch(`${s3.service.url}/${bucket}/production-deploy/test/tampered.dump`, {
      method: 'PUT',
      headers: { 'x-amz-content-sha256': claimed, 'content-type': 'application/octet-stream' },
      body: 'these bytes',
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('<Code>XAmzContentSHA256Mismatch</Code>');
    const head = await client
      .send(new HeadObjectCommand({ Bucket: bucket, Key: 'production-deploy/test/tampered.dump' }))
      .catch((e: { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode);
    expect(head).toBe(404);
  });

  it('streams a multipart upload with lib-storage and reads it back byte for byte', async () => {
    const size = 6 * 1024 * 1024 + 123; // two parts at the 5 MiB minimum
    const data = crypto.randomBytes(size);
    const upload = new Upload({
      client,
      params: {
        Bucket: bucket,
        Key: 'production-deploy/test/big.dump',
        Body: Readable.from([data.subarray(0, 1e6), data.subarray(1e6)]),
      },
      partSize: 5 * 1024 * 1024,
      queueSize: 2,
    });
    await upload.done();
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'production-deploy/test/big.dump' }));
    expect(head.ContentLength).toBe(size);
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'production-deploy/test/big.dump' }));
    const back = Buffer.from(await got.Body!.transformToByteArray());
    expect(crypto.createHash('sha256').update(back).digest('hex')).toBe(
      crypto.createHash('sha256').update(data).digest('hex'),
    );
    // The proxy logged the multipart calls (bodies as sizes only).
    const parts = world.traffic.requests.filter((r) => r.service === 's3' && r.method === 'PUT' && r.query.partNumber);
    const sizes = parts.map((p) => (p.body as { bytes: number }).bytes).sort((a, b) => a - b);
    expect(sizes).toEqual([size - 5 * 1024 * 1024, 5 * 1024 * 1024]);
    expect((await s3.list()).map((o) => o.key)).toContain('production-deploy/test/big.dump');
  });

  it('applies fault rules to S3 too: a 503 SlowDown is retried by the SDK', async () => {
    world.traffic.faults = [
      {
        service: 's3',
        method: 'GET',
        times: 1,
        status: 503,
        headers: { 'content-type': 'application/xml' },
        body: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
      },
    ];
    try {
      const before = world.traffic.requests.length;
      const out = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
      expect(out.KeyCount).toBeGreaterThan(0);
      const tries = world.traffic.requests.slice(before);
      expect(tries.map((r) => r.status)).toEqual([503, 200]);
    } finally {
      world.traffic.faults = [];
    }
  });

  it("the action's multipart loop: a part answered 503 SlowDown is sent again whole, and the object is byte for byte", async () => {
    const MiB = 1024 * 1024;
    const key = 'production-deploy/test/store.dump';
    const size = 12 * MiB + 321; // three parts of 5 MiB, 5 MiB and the rest
    const data = crypto.randomBytes(size);
    const sha256 = crypto.createHash('sha256').update(data).digest('hex');
    const store = new BackupStore({
      region: scenario.s3.region,
      endpoint: s3.service.url,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestTimeoutMs: 30_000,
      connectionTimeoutMs: 5_000,
      maxAttempts: 3,
      partSize: 5 * MiB,
      queueSize: 2,
    });
    world.traffic.faults = [
      {
        service: 's3',
        method: 'PUT',
        path: `/${bucket}/${key}`,
        after: 1,
        times: 1,
        status: 503,
        headers: { 'content-type': 'application/xml' },
        body: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
      },
    ];
    const before = world.traffic.requests.length;
    try {
      const chunks = [];
      for (let i = 0; i < size; i += 64 * 1024) chunks.push(data.subarray(i, i + 64 * 1024));
      const res = await store.streamUpload({ bucket, key, body: Readable.from(chunks) });
      expect(res).toMatchObject({ size, sha256 });
    } finally {
      world.traffic.faults = [];
      store.client.destroy();
    }
    const parts = world.traffic.requests
      .slice(before)
      .filter((r) => r.service === 's3' && r.method === 'PUT' && r.query.partNumber);
    const refused = parts.find((p) => p.status === 503)!;
    expect(refused).toBeDefined();
    expect(parts.filter((p) => p.query.partNumber === refused.query.partNumber).map((p) => p.status)).toEqual([
      503, 200,
    ]);
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const back = Buffer.from(await got.Body!.transformToByteArray());
    expect(crypto.createHash('sha256').update(back).digest('hex')).toBe(sha256);
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    expect(head.Metadata).toMatchObject({ sha256, size: String(size) });
  });

  it('the AWS CLI lists the backup bucket', async (ctx) => {
    const which = await run('sh', ['-c', 'command -v aws']).catch(() => undefined);
    if (!which?.stdout.trim()) {
      ctx.skip('the AWS CLI (`aws`) is not installed on this machine');
      return;
    }
    const env = {
      ...process.env,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    const { stdout } = await run(
      'aws',
      ['s3', 'ls', `s3://${bucket}/`, '--recursive', '--endpoint-url', s3.service.url],
      { env, timeout: 60_000 },
    );
    expect(stdout).toContain(scenario.s3.objects[0]!.key);
    const buckets = await run('aws', ['s3', 'ls', '--endpoint-url', s3.service.url], { env, timeout: 60_000 });
    expect(buckets.stdout).toContain(bucket);
  });
});
