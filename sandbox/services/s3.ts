/**
 * S3: a real third-party S3 server (s3rver 3.7.1, programmatic, on an ephemeral loopback port) with
 * the scenario's backup bucket and existing backup objects (their LastModified set to the stated
 * age). In front of it, a small proxy built on `startService`, so S3 calls are logged and can be
 * faulted like every other service (`service: s3` in fault rules). `AWS_ENDPOINT_URL_S3` is the proxy.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { S3Scenario } from '../core/scenario.ts';
import { type RunningService, startService } from '../core/service.ts';
import type { World } from '../core/world.ts';

interface S3rverObject {
  key: string;
  size: number;
  lastModifiedDate: Date;
  metadata: Record<string, string>;
}
interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
  store: {
    listObjects(bucket: string, opts: Record<string, unknown>): Promise<{ objects: S3rverObject[] }>;
    getResourcePath(bucket: string, key: string, resource: string): string;
  };
}
type S3rverCtor = new (opts: Record<string, unknown>) => S3rverInstance;

// s3rver is CommonJS without types; load it with require and give it the small type above.
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverCtor;

export interface S3Object {
  key: string;
  size: number;
  lastModified: string;
  etag?: string;
}

/** Running S3: the logging/faulting proxy (`service`), and s3rver's own URL behind it. */
export interface RunningS3 {
  service: RunningService;
  backendUrl: string;
  /** Objects of the backup bucket now (for `/_sandbox/state`). */
  list(): Promise<S3Object[]>;
  close(): Promise<void>;
}

// Hop-by-hop headers are not forwarded; the body is re-sent with an exact length.
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'expect', 'upgrade', 'content-length']);

function forward(backend: URL, method: string, pathAndQuery: string, headers: http.IncomingHttpHeaders, body: Buffer) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
    const h: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(headers)) if (!HOP.has(k) && v !== undefined) h[k] = v;
    h['content-length'] = String(body.length);
    const req = http.request(
      { host: backend.hostname, port: backend.port, method, path: pathAndQuery, headers: h, timeout: 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('s3rver did not answer within 30 s')));
    req.on('error', reject);
    req.end(body);
  });
}

/** Start s3rver with the scenario's bucket and objects, and the proxy in front of it. */
export async function startS3(world: World, sc: S3Scenario): Promise<RunningS3> {
  const directory = path.join(world.dir, 's3');
  fs.mkdirSync(directory, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: sc.bucket }],
  });
  const addr = await server.run();
  const backend = new URL(`http://127.0.0.1:${addr.port}`);

  for (const o of sc.objects) {
    const body = Buffer.from(o.body ?? 'x'.repeat(o.size ?? 1024));
    const key = o.key.split('/').map(encodeURIComponent).join('/');
    const res = await forward(
      backend,
      'PUT',
      `/${sc.bucket}/${key}`,
      { 'content-type': 'application/octet-stream' },
      body,
    );
    if (res.status !== 200) throw new Error(`seeding s3://${sc.bucket}/${o.key} failed: HTTP ${res.status}`);
    const when = new Date(Date.now() - o.ageSeconds * 1000);
    fs.utimesSync(server.store.getResourcePath(sc.bucket, o.key, 'object'), when, when);
  }

  const service = await startService({
    name: 's3',
    traffic: world.traffic,
    handler: async (req, res) => {
      // Keep binary uploads out of the log: their size is what matters.
      if (req.raw.length > 0 && !String(req.headers['content-type'] ?? '').includes('xml'))
        req.log.body = { bytes: req.raw.length };
      // S3 checks a signed payload against the bytes it received; s3rver checks only the header's form.
      const signed = req.headers['x-amz-content-sha256'];
      if (typeof signed === 'string' && /^[0-9a-f]{64}$/.test(signed)) {
        if (createHash('sha256').update(req.raw).digest('hex') !== signed) {
          req.log.status = 400;
          res.writeHead(400, { 'content-type': 'application/xml' });
          res.end(
            '<?xml version="1.0" encoding="UTF-8"?><Error><Code>XAmzContentSHA256Mismatch</Code>' +
              "<Message>The provided 'x-amz-content-sha256' header does not match what was computed.</Message></Error>",
          );
          return 'handled';
        }
      }
      const out = await forward(backend, req.method, req.url.pathname + req.url.search, req.headers, req.raw);
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(out.headers)) if (!HOP.has(k) && v !== undefined) headers[k] = v;
      // HEAD keeps the object's length; other answers carry exactly the bytes we got.
      if (req.method === 'HEAD' && out.headers['content-length'])
        headers['content-length'] = out.headers['content-length'];
      else headers['content-length'] = String(out.body.length);
      req.log.status = out.status;
      if (String(out.headers['content-type'] ?? '').includes('xml') && out.body.length < 65_536)
        req.log.response = out.body.toString('utf8');
      res.writeHead(out.status, headers);
      res.end(out.body);
      if (req.method !== 'GET' && req.method !== 'HEAD' && out.status < 300) world.events.emit('change', 's3');
      return 'handled';
    },
  });

  return {
    service,
    backendUrl: backend.origin,
    list: async () => {
      const { objects } = await server.store.listObjects(sc.bucket, {});
      return objects.map((o) => ({
        key: o.key,
        size: o.size,
        lastModified: o.lastModifiedDate.toISOString(),
        etag: o.metadata?.etag,
      }));
    },
    close: async () => {
      await service.close();
      await server.close();
    },
  };
}
