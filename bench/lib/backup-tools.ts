/**
 * What the backup benchmark needs around the two uploaders: the data generator, the AWS CLI, where
 * s3rver's files may go, and reading one upload's timing out of the sandbox's S3 request log.
 */
import { execFileSync, spawn } from 'node:child_process';
import { statfsSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { LoggedRequest } from '../../sandbox/core/service.ts';
import { GiB } from './stats.ts';

/**
 * `bytes` of AES-128-CTR keystream on stdout: deterministic, incompressible, and produced at memory
 * speed by OpenSSL (AES-NI), so neither uploader is held back by its source. Safe under `pipefail`:
 * `head` reads exactly `bytes` zeros and both ends exit 0.
 */
export function generatorCommand(bytes: number): string {
  return (
    `head -c ${bytes} /dev/zero | ` +
    'openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0f -iv 00000000000000000000000000000000'
  );
}

/** The AWS CLI binary (resolving a pyenv shim to the real script), or undefined when not installed. */
export function findAwsCli(): string | undefined {
  for (const [cmd, args] of [
    ['pyenv', ['which', 'aws']],
    ['bash', ['-c', 'command -v aws']],
  ] as const) {
    try {
      const out = execFileSync(cmd, [...args], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 15_000,
      });
      const p = out.trim().split('\n')[0];
      if (p) return p;
    } catch {
      // not this way
    }
  }
  return undefined;
}

function freeBytes(dir: string): number {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return 0;
  }
}

function memAvailable(): number {
  try {
    const kb = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1];
    return Number(kb ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/**
 * Where s3rver may keep the objects. Completing a multipart upload concatenates the parts into the
 * object before deleting them, so a size needs twice its bytes for a moment. A RAM disk is taken when
 * it and the memory behind it have room for that plus a margin; else the OS temporary directory.
 */
export function scratchFor(maxBytes: number): { dir: string; kind: 'ram' | 'disk'; freeBytes: number } {
  const need = 2 * maxBytes + GiB;
  const shm = '/dev/shm';
  if (freeBytes(shm) >= need && memAvailable() >= need + 4 * GiB)
    return { dir: shm, kind: 'ram', freeBytes: freeBytes(shm) };
  const tmp = os.tmpdir();
  return { dir: tmp, kind: 'disk', freeBytes: freeBytes(tmp) };
}

/** The sizes that fit in `free` bytes (2× each plus 1 GiB), keeping the order; the dropped ones too. */
export function sizesThatFit(sizes: readonly number[], free: number): { kept: number[]; dropped: number[] } {
  const kept = sizes.filter((s) => 2 * s + GiB <= free);
  return { kept, dropped: sizes.filter((s) => !kept.includes(s)) };
}

export interface UploadTiming {
  /** Epoch ms when the last byte was stored (CompleteMultipartUpload answered, or the single PUT). */
  completedAt: number;
  /** Epoch ms when the last request about the key ended (the action's self-copy and verification). */
  lastAt: number;
  parts: number;
  requests: number;
}

/** One key's upload timing from the sandbox's S3 request log. */
export function uploadTiming(log: readonly LoggedRequest[], bucket: string, key: string): UploadTiming {
  const path = `/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  const mine = log.filter(
    (r) => r.service === 's3' && (r.path === path || decodeURIComponent(r.path) === `/${bucket}/${key}`),
  );
  const end = (r: LoggedRequest) => Date.parse(r.time) + (r.durationMs ?? 0);
  // A completion the server failed (s3rver answered 500 once on a 4 GiB join) and the uploader retried:
  // the upload ends with the one that succeeded, and the retry's time is the uploader's.
  const completions = mine.filter((r) => r.method === 'POST' && r.query.uploadId !== undefined);
  const complete =
    completions.find((r) => r.status === 200) ??
    completions[0] ??
    mine.find((r) => r.method === 'PUT' && r.query.partNumber === undefined && !r.headers['x-amz-copy-source']);
  if (!complete) throw new Error(`no completed upload of s3://${bucket}/${key} in the sandbox's request log`);
  if (complete.status !== 200)
    throw new Error(`the upload of s3://${bucket}/${key} ended with HTTP ${complete.status}`);
  return {
    completedAt: end(complete),
    lastAt: Math.max(...mine.map(end)),
    parts: mine.filter((r) => r.method === 'PUT' && r.query.partNumber !== undefined).length,
    requests: mine.length,
  };
}

/** Runs the generator into `cat > /dev/null` and returns its throughput in bytes/s (the ceiling). */
export function generatorRate(bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('bash', ['-eo', 'pipefail', '-c', `${generatorCommand(bytes)} | cat > /dev/null`], {
      stdio: 'ignore',
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(bytes / ((performance.now() - t0) / 1000)) : reject(new Error(`generator exited ${code}`)),
    );
  });
}
