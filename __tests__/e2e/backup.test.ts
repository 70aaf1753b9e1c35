/**
 * End to end (the bundled action against the sandbox): the database backup.
 * 1. A `backup-command` that fails after writing part of its output stops the run in prepare:
 *    no object in the bucket, no deployment, no traffic change.
 * 2. A real backup: the default deploy runs `pg_dump --format=custom` against the sandbox's
 *    PostgreSQL (seeded rows), streams it to s3rver, verifies it and outputs its key and SHA-256;
 *    the test downloads the object, checks the checksum, restores it with `pg_restore` into a fresh
 *    database, and finds the seeded rows.
 * Every request pre-flight and prepare sent validates against the official specs.
 *
 * Needs PostgreSQL's server and client tools (initdb, pg_dump, pg_restore, psql).
 * Dist: `PD_DIST_DIR` (a private bundle, `node scripts/bundle.mjs --out DIR`), else `dist/`.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validator } from '../../sandbox/contract/testing.ts';
import { formatProblems } from '../../sandbox/contract/validate.ts';
import type { LoggedRequest } from '../../sandbox/core/service.ts';
import { startSandbox, type Sandbox } from '../../sandbox/index.ts';
import { runAction, type ActionRun } from './harness.ts';

const DIST = process.env.PD_DIST_DIR ?? 'dist';
let sb: Sandbox;
let dir: string;
let failing: ActionRun;
let real: ActionRun;
let initial: SandboxState;
let afterFailing: SandboxState;
let requests: LoggedRequest[];

/** The parts of `/_sandbox/state` this test reads. */
interface SandboxState {
  s3: { objects: unknown[] };
  vercel: { deployments: unknown };
  cloudflare: { loadBalancers: unknown };
  github: { deployments: unknown };
}

async function get<T>(path: string): Promise<T> {
  return (await fetch(`${sb.urls.sandbox}${path}`)).json() as Promise<T>;
}

/** psql against the sandbox's PostgreSQL; throws with its stderr on failure. */
function psql(db: string, sql: string): string {
  const url = sb.urls.postgres!.replace(/\/[^/]*$/, `/${db}`);
  const r = spawnSync('psql', ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
  return r.stdout.trim();
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pd-backup-'));
  sb = await startSandbox({ scenario: 'default' });
  if (!sb.urls.postgres) throw new Error(`PostgreSQL did not start in the sandbox: ${sb.notes.join('; ')}`);
  initial = await get<SandboxState>('/_sandbox/state');
  const since = (await get<LoggedRequest[]>('/_sandbox/requests')).at(-1)?.seq ?? 0;
  failing = await runAction({
    entry: join(DIST, 'index.js'),
    env: sb.env,
    // Part of a dump, then a failure: what a connection dropping mid-dump looks like.
    inputs: {
      'backup-command': `pg_dump --format=custom "$DATABASE_URL"; echo 'pg_dump: error: connection lost' >&2; exit 2`,
    },
    timeoutMs: 120_000,
  });
  afterFailing = await get<SandboxState>('/_sandbox/state');
  real = await runAction({ entry: join(DIST, 'index.js'), env: sb.env, timeoutMs: 180_000 });
  requests = await get<LoggedRequest[]>(`/_sandbox/requests?since=${since}`);
}, 300_000);
afterAll(async () => {
  await sb?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a failing backup-command', () => {
  it('stops the run in prepare, before any deployment', () => {
    expect(failing.code, failing.stdout.slice(-3000)).not.toBe(0);
    expect(failing.outputs.status).toBe('failed');
    expect(failing.report!.steps.map((s) => [s.name, s.status])).toEqual([
      ['preflight', 'passed'],
      ['prepare', 'failed'],
    ]);
    const backup = failing.report!.steps[1]!.checks.find((c) => c.name === 'Database backup')!;
    expect(backup.status).toBe('fail');
    expect(backup.reason).toMatch(
      /^backup-command exited with code 2: .*pg_dump: error: connection lost; no backup was stored$/,
    );
    expect(failing.outputs['backup-key']).toBe('');
  });

  it('leaves no object in the bucket and nothing deployed', () => {
    expect(afterFailing.s3.objects).toEqual(initial.s3.objects);
    expect(afterFailing.vercel.deployments).toEqual(initial.vercel.deployments);
    expect(afterFailing.cloudflare.loadBalancers).toEqual(initial.cloudflare.loadBalancers);
    expect(afterFailing.github.deployments).toEqual(initial.github.deployments);
  });
});

describe('a real backup with pg_dump', () => {
  let file: string;

  it('is taken, verified and recorded by the deploy (the default scenario is a go)', () => {
    expect(real.code, `${real.stdout.slice(-4000)}\n${real.stderr}`).toBe(0);
    expect(real.outputs.go).toBe('true');
    expect(real.outputs.status).toBe('success');
    const key = real.outputs['backup-key']!;
    expect(key).toMatch(/^production-deploy\/acme\/shop\/production\/\d{8}T\d{6}Z-c063502-run1658821493-1\.dump$/);
    expect(real.outputs['backup-sha256']).toMatch(/^[0-9a-f]{64}$/);
    const check = real
      .report!.steps.find((s) => s.name === 'prepare')!
      .checks.find((c) => c.name === 'Database backup')!;
    expect(check.status).toBe('pass');
    expect(check.reason).toContain('verified');
    expect(real.report!.state.backup).toMatchObject({
      bucket: 'shop-backups',
      key,
      sha256: real.outputs['backup-sha256'],
    });
  });

  it('downloads with the recorded SHA-256', async () => {
    const s3 = new S3Client({
      region: 'us-east-1',
      endpoint: sb.env.AWS_ENDPOINT_URL_S3,
      forcePathStyle: true,
      credentials: { accessKeyId: sb.env.AWS_ACCESS_KEY_ID!, secretAccessKey: sb.env.AWS_SECRET_ACCESS_KEY! },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    const res = await s3.send(new GetObjectCommand({ Bucket: 'shop-backups', Key: real.outputs['backup-key'] }));
    const bytes = Buffer.from(await res.Body!.transformToByteArray());
    expect(bytes.subarray(0, 5).toString()).toBe('PGDMP');
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(real.outputs['backup-sha256']);
    expect(res.Metadata?.sha256).toBe(real.outputs['backup-sha256']);
    file = join(dir, 'backup.dump');
    writeFileSync(file, bytes);
  });

  it('restores with pg_restore into a fresh database, with the seeded rows', () => {
    psql('postgres', 'DROP DATABASE IF EXISTS restored');
    psql('postgres', 'CREATE DATABASE restored');
    const url = sb.urls.postgres!.replace(/\/[^/]*$/, '/restored');
    const r = spawnSync('pg_restore', ['--no-owner', '--exit-on-error', '-d', url, file], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(psql('restored', 'SELECT id, name, price_cents, active FROM products ORDER BY id')).toBe(
      psql('shop', 'SELECT id, name, price_cents, active FROM products ORDER BY id'),
    );
    expect(psql('restored', 'SELECT id, name, price_cents, active FROM products ORDER BY id')).toBe(
      '1|Blue mug|1200|t\n2|Green mug|1250|t',
    );
    expect(psql('restored', 'SELECT id, product_id, quantity FROM orders ORDER BY id')).toBe('1001|1|2');
  });

  it('every request pre-flight and prepare sent validates against the official specs', async () => {
    // All of the failing run (it stopped after prepare), and of the real one what came before deploy.
    const deployStarted = Date.parse(real.report!.steps.find((s) => s.name === 'deploy')!.startedAt);
    const ours = requests.filter((r) => r.service !== 'sandbox' && Date.parse(r.time) < deployStarted);
    expect(ours.some((r) => r.service === 'vercel' && r.path.endsWith('/env'))).toBe(true);
    expect(ours.some((r) => r.service === 'datadog' && r.path === '/api/v1/monitor')).toBe(true);
    const v = await validator();
    expect(formatProblems(ours.map((r) => v.validate(r)))).toBe('');
  });
});
