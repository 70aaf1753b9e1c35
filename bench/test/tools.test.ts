import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { LoggedRequest } from '../../sandbox/core/service.ts';
import { generatorCommand, sizesThatFit, uploadTiming } from '../lib/backup-tools.ts';
import { NODE } from '../lib/paths.ts';
import { readCpuMs, readMemory } from '../lib/proc.ts';
import { timeToFirstLine } from '../lib/spawn.ts';
import { GiB, MiB } from '../lib/stats.ts';

const req = (over: Partial<LoggedRequest> & { at: number }): LoggedRequest =>
  ({
    seq: 0,
    service: 's3',
    method: 'PUT',
    path: '/shop-backups/a/b.dump',
    query: {},
    headers: {},
    status: 200,
    durationMs: 10,
    ...over,
    time: new Date(over.at).toISOString(),
  }) as LoggedRequest;

describe('uploadTiming', () => {
  it('takes the multipart completion as the end of the upload', () => {
    const log = [
      req({ at: 1000, method: 'POST', query: { uploads: '' } }),
      req({ at: 1100, query: { partNumber: '1', uploadId: 'u' } }),
      req({ at: 1200, query: { partNumber: '2', uploadId: 'u' } }),
      req({ at: 1300, method: 'POST', query: { uploadId: 'u' }, durationMs: 50 }),
      req({ at: 1400, headers: { 'x-amz-copy-source': 'shop-backups/a/b.dump' } }),
      req({ at: 1420, method: 'HEAD' }),
      req({ at: 1500, path: '/shop-backups/other.bin', method: 'POST', query: { uploadId: 'v' } }),
    ];
    expect(uploadTiming(log, 'shop-backups', 'a/b.dump')).toEqual({
      completedAt: 1350,
      lastAt: 1430,
      parts: 2,
      requests: 6,
    });
  });

  it('takes a single PUT for a small object, and says when there is none', () => {
    expect(uploadTiming([req({ at: 2000 })], 'shop-backups', 'a/b.dump').completedAt).toBe(2010);
    expect(() => uploadTiming([], 'shop-backups', 'a/b.dump')).toThrow(/no completed upload/);
    expect(() =>
      uploadTiming([req({ at: 1, method: 'POST', query: { uploadId: 'u' }, status: 500 })], 'shop-backups', 'a/b.dump'),
    ).toThrow(/HTTP 500/);
  });
});

describe('sizesThatFit', () => {
  it('keeps sizes that fit twice over with a margin', () => {
    expect(sizesThatFit([256 * MiB, GiB, 4 * GiB], 4 * GiB)).toEqual({ kept: [256 * MiB, GiB], dropped: [4 * GiB] });
  });
});

describe('generatorCommand', () => {
  it('writes exactly the size, the same bytes every time, and nothing that compresses', () => {
    const run = () => spawnSync('bash', ['-eo', 'pipefail', '-c', generatorCommand(MiB)], { maxBuffer: 4 * MiB });
    const a = run();
    const b = run();
    expect(a.status).toBe(0);
    expect(a.stdout.length).toBe(MiB);
    expect(createHash('sha256').update(a.stdout).digest('hex')).toBe(
      createHash('sha256').update(b.stdout).digest('hex'),
    );
    expect(gzipSync(a.stdout).length).toBeGreaterThan(0.99 * MiB);
  });
});

describe('proc', () => {
  it('reads this process’s peak memory and CPU time, and nothing for a process that is gone', () => {
    const m = readMemory(process.pid)!;
    expect(m.peakRss).toBeGreaterThanOrEqual(m.rss);
    expect(m.rss).toBeGreaterThan(10 * MiB);
    expect(readCpuMs(process.pid)).toBeGreaterThan(0);
    const gone = spawnSync('true').pid!;
    expect(readMemory(gone)).toBeUndefined();
  });
});

describe('timeToFirstLine', () => {
  it('returns the first line and stops the process when asked', async () => {
    const r = await timeToFirstLine(NODE, ['-e', "console.log('ready'); setTimeout(() => {}, 20000)"], {
      env: { PATH: process.env.PATH ?? '' },
      killAfter: true,
    });
    expect(r.line).toBe('ready');
    expect(r.ms).toBeGreaterThan(0);
    expect(r.ms).toBeLessThan(20_000);
  });

  it('fails when the process exits without a line', async () => {
    await expect(
      timeToFirstLine(NODE, ['-e', 'process.exit(3)'], { env: { PATH: process.env.PATH ?? '' } }),
    ).rejects.toThrow(/exited 3 before writing a line/);
  });
});
