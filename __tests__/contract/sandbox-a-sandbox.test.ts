/**
 * The assembled sandbox: `startSandbox` starts every service, builds the run's environment, serves
 * `/_sandbox/state`; the traffic stream produces metrics; PostgreSQL is real where installed; every
 * scenario file loads; the CLI writes the env file and stops everything on SIGTERM.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../sandbox/index.ts';
import { formatEnvFile, parseEnvFile } from '../../sandbox/cli.ts';
import { SCENARIO_DIR, loadScenario } from '../../sandbox/core/scenario.ts';
import { validator } from '../../sandbox/contract/testing.ts';
import { formatProblems } from '../../sandbox/contract/validate.ts';
import { findPostgres } from '../../sandbox/services/postgres.ts';

const run = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, '../..');
let sb: Sandbox;

beforeAll(async () => {
  sb = await startSandbox({ scenario: 'default' });
  // A benchmark concern, not a pass/fail criterion: print it.
  console.log(`sandbox startup: ${sb.startupMs} ms`, sb.readyAtMs);
});
afterAll(async () => {
  await sb?.stop();
});

describe('startSandbox', () => {
  it('builds the environment a runner would give the action', () => {
    const e = sb.env;
    for (const k of [
      'GITHUB_API_URL',
      'VERCEL_API_URL',
      'CLOUDFLARE_BASE_URL',
      'SLACK_API_URL',
      'AWS_ENDPOINT_URL_S3',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_REGION',
      'SANDBOX_URL',
      'GITHUB_REPOSITORY',
      'GITHUB_SHA',
      'GITHUB_REF',
      'GITHUB_EVENT_NAME',
      'GITHUB_EVENT_PATH',
      'GITHUB_RUN_ID',
      'GITHUB_RUN_ATTEMPT',
      'GITHUB_SERVER_URL',
      'GITHUB_JOB',
      'GITHUB_ACTOR',
      'INPUT_GITHUB-TOKEN',
      'INPUT_PRODUCTION-URL',
      'INPUT_VERCEL-TOKEN',
      'INPUT_VERCEL-PROJECT-ID',
      'INPUT_WORKING-DIRECTORY',
      'INPUT_CLOUDFLARE-API-TOKEN',
      'INPUT_CLOUDFLARE-ACCOUNT-ID',
      'INPUT_CLOUDFLARE-ZONE-ID',
      'INPUT_CLOUDFLARE-LOAD-BALANCER-ID',
      'INPUT_CLOUDFLARE-POOLS',
      'INPUT_DATADOG-API-KEY',
      'INPUT_DATADOG-APP-KEY',
      'INPUT_DATADOG-SITE',
      'INPUT_ERROR-RATE-QUERY',
      'INPUT_LATENCY-QUERY',
      'INPUT_SLACK-TOKEN',
      'INPUT_SLACK-CHANNEL',
      'INPUT_BACKUP-BUCKET',
      'INPUT_BACKUP-COMMAND',
      'INPUT_DEPENDENCY-URLS',
      'INPUT_STEP-DURATION',
    ])
      expect(e[k], k).toBeTruthy();
    expect(e['INPUT_PRODUCTION-URL']).toBe(sb.urls.lb);
    expect(e['INPUT_DATADOG-SITE']).toBe(sb.urls.datadog);
    expect(e.CLOUDFLARE_BASE_URL).toBe(`${sb.urls.cloudflare}/client/v4`);
    expect(e['INPUT_CLOUDFLARE-POOLS'].split(',')).toHaveLength(2);
    expect(e['INPUT_WORKING-DIRECTORY']).toBe(path.join(REPO, 'sandbox/app/v2/'.replace(/\/$/, '')));
    expect(fs.existsSync(path.join(e['INPUT_WORKING-DIRECTORY']!, 'sandbox.json'))).toBe(true);
    expect(e.GITHUB_REF).toBe('refs/heads/main');
    const event = JSON.parse(fs.readFileSync(e.GITHUB_EVENT_PATH!, 'utf8')) as {
      after: string;
      repository: { full_name: string };
    };
    expect(event.after).toBe(e.GITHUB_SHA);
    expect(event.repository.full_name).toBe(e.GITHUB_REPOSITORY);
  });

  it('serves v1 in production and streams traffic, which the Datadog miniature measures', async () => {
    const res = await fetch(sb.env['INPUT_PRODUCTION-URL']!);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-app-version')).toBe('v1');
    // Wait for about two seconds of the 20 req/s stream.
    const until = Date.now() + 5000;
    while (sb.world.hits.filter((h) => h.synthetic).length < 30 && Date.now() < until)
      await new Promise((r) => setTimeout(r, 100));
    const now = Math.floor(Date.now() / 1000);
    const q = encodeURIComponent(sb.env['INPUT_ERROR-RATE-QUERY']!);
    const dd = await fetch(`${sb.env['INPUT_DATADOG-SITE']}/api/v1/query?from=${now - 5}&to=${now}&query=${q}`, {
      headers: {
        'DD-API-KEY': sb.env['INPUT_DATADOG-API-KEY']!,
        'DD-APPLICATION-KEY': sb.env['INPUT_DATADOG-APP-KEY']!,
      },
    });
    const body = (await dd.json()) as { series: Array<{ pointlist: Array<[number, number | null]> }> };
    const values = body.series[0]!.pointlist.map((p) => p[1]).filter((v) => v !== null);
    expect(values.length).toBeGreaterThan(0);
    expect(values.every((v) => v === 0)).toBe(true);
  });

  it('GET /_sandbox/state shows the whole world', async () => {
    const st = (await (await fetch(`${sb.env.SANDBOX_URL}/_sandbox/state`)).json()) as Record<
      string,
      Record<string, unknown>
    >;
    expect(st.scenario).toBe('default');
    const vercel = st.vercel as {
      projects: Array<{ servingProduction: string }>;
      deployments: Array<{ id: string; version: string }>;
    };
    expect(vercel.deployments.find((d) => d.id === vercel.projects[0]!.servingProduction)?.version).toBe('v1');
    const cf = st.cloudflare as { loadBalancers: Array<{ pool_weights: Record<string, number> }>; history: unknown[] };
    expect(Object.values(cf.loadBalancers[0]!.pool_weights).sort()).toEqual([0, 1]);
    expect(cf.history.length).toBeGreaterThan(0);
    expect((st.github as { deployments: unknown[] }).deployments).toHaveLength(1);
    expect((st.s3 as { objects: Array<{ key: string }> }).objects[0]!.key).toContain('production-deploy/');
    expect(st.slack).toMatchObject({ messages: [] });
    expect(st.datadog).toMatchObject({ events: [], doraDeployments: [] });
    expect((st.traffic as { byVersion: Record<string, { requests: number }> }).byVersion.v1!.requests).toBeGreaterThan(
      0,
    );
    // The miniatures' own credentials are not in it, so a leak check over the state is meaningful.
    const text = JSON.stringify(st);
    for (const k of [
      'INPUT_GITHUB-TOKEN',
      'INPUT_VERCEL-TOKEN',
      'INPUT_CLOUDFLARE-API-TOKEN',
      'INPUT_DATADOG-API-KEY',
      'INPUT_SLACK-TOKEN',
    ])
      expect(text, k).not.toContain(sb.env[k]);
    const log = (await (await fetch(`${sb.env.SANDBOX_URL}/_sandbox/requests`)).json()) as unknown[];
    expect(Array.isArray(log)).toBe(true);
  });

  it('answers the dependency URLs', async () => {
    for (const url of sb.env['INPUT_DEPENDENCY-URLS']!.split(',')) expect((await fetch(url)).status).toBe(200);
  });

  it('runs a real PostgreSQL that pg_dump can back up (skipped where PostgreSQL is not installed)', async (ctx) => {
    const pg = findPostgres();
    if ('missing' in pg) {
      ctx.skip(`PostgreSQL not available: ${pg.missing}`);
      return;
    }
    expect(sb.env.DATABASE_URL).toMatch(/^postgresql:\/\/postgres@127\.0\.0\.1:\d+\/shop$/);
    const count = await run('psql', [sb.env.DATABASE_URL!, '-tAc', 'SELECT count(*) FROM products']);
    expect(count.stdout.trim()).toBe('2');
    const dump = await run('pg_dump', ['--format=custom', '--no-owner', sb.env.DATABASE_URL!], {
      encoding: 'buffer',
      maxBuffer: 64e6,
    });
    expect((dump.stdout as Buffer).subarray(0, 5).toString()).toBe('PGDMP');
  });

  it('the requests it logged for the API clients validate against the specs', async () => {
    const v = await validator();
    const results = v.validateAll(sb.world.traffic.requests).filter((r) => !r.skipped);
    expect(formatProblems(results)).toBe('');
  });
});

describe('scenarios', () => {
  it('every scenario file loads, deploys an existing app version and names valid fault services', () => {
    const names = fs
      .readdirSync(SCENARIO_DIR)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => f.replace(/\.yaml$/, ''));
    expect(names).toEqual(
      expect.arrayContaining(['default', 'bad-release', 'no-go', 'smoke-fail', 'flaky-providers', 'canary']),
    );
    for (const n of names) {
      const s = loadScenario(n);
      expect(s.name).toBe(n);
      expect(
        fs.existsSync(path.join(REPO, 'sandbox/app', s.deploy.version, 'sandbox.json')),
        `${n}: app ${s.deploy.version}`,
      ).toBe(true);
      for (const f of s.faults)
        expect(['github', 'vercel', 'vercel-edge', 'cloudflare', 'lb', 'datadog', 'slack', 's3', 'deps']).toContain(
          f.service,
        );
    }
  });

  it('rejects a scenario with a typo, naming the key', () => {
    const file = path.join(os.tmpdir(), `pd-bad-scenario-${process.pid}.yaml`);
    fs.writeFileSync(file, 'extends: default\ngithub_: {}\n');
    try {
      expect(() => loadScenario(file)).toThrow(/unknown top-level key "github_"/);
    } finally {
      fs.rmSync(file);
    }
  });
});

describe('env file', () => {
  const tricky = {
    PLAIN: 'http://127.0.0.1:8080/a,b',
    SPACES: 'pg_dump --format=custom "$DATABASE_URL"',
    QUOTE: "it's",
    LINES: '- name: health\n  path: /api/health\n',
    EMPTY: '',
    'INPUT_PRODUCTION-URL': 'http://127.0.0.1:1',
  };

  it('round-trips through parseEnvFile', () => {
    expect(parseEnvFile(formatEnvFile(tricky))).toEqual(tricky);
  });

  it('is valid POSIX shell for names a shell can hold', async () => {
    const file = path.join(os.tmpdir(), `pd-envfile-${process.pid}.sh`);
    const { 'INPUT_PRODUCTION-URL': _skip, ...shellable } = tricky;
    fs.writeFileSync(file, formatEnvFile(shellable));
    try {
      const script = `. '${file}'; printf '%s|' "$PLAIN" "$SPACES" "$QUOTE" "$LINES" "$EMPTY"`;
      const { stdout } = await run('sh', ['-c', script]);
      expect(stdout).toBe(`${shellable.PLAIN}|${shellable.SPACES}|${shellable.QUOTE}|${shellable.LINES}||`);
    } finally {
      fs.rmSync(file);
    }
  });
});

describe('CLI', () => {
  it('up --write-env prints the services, writes KEY=value lines, and stops on SIGTERM', async () => {
    const envFile = path.join(os.tmpdir(), `pd-sandbox-cli-${process.pid}.env`);
    const child = spawn(
      process.execPath,
      [path.join(REPO, 'sandbox/cli.ts'), 'up', '--scenario', 'default', '--write-env', envFile, '--no-traffic'],
      {
        cwd: REPO,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const until = Date.now() + 60_000;
      while (!out.includes('Ctrl-C to stop') && Date.now() < until && child.exitCode === null)
        await new Promise((r) => setTimeout(r, 100));
      expect(out).toContain('Ctrl-C to stop');
      for (const name of ['github', 'vercel', 'cloudflare', 'lb', 'datadog', 'slack', 's3', 'sandbox', 'production'])
        expect(out).toMatch(new RegExp(`^  ${name}\\s+http://127\\.0\\.0\\.1:\\d+`, 'm'));
      const env = parseEnvFile(fs.readFileSync(envFile, 'utf8'));
      expect(env['INPUT_PRODUCTION-URL']).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(env['INPUT_ERROR-RATE-QUERY']).toContain('sum:trace.http.request.errors{');
      expect(env['INPUT_SMOKE-SAMPLES']).toBe('3');
      expect((fs.statSync(envFile).mode & 0o777).toString(8)).toBe('600');
      const state = await fetch(`${env.SANDBOX_URL}/_sandbox/state`);
      expect(state.status).toBe(200);
      // with-env hands the hyphenated input names to a child process.
      const probe = await run(process.execPath, [
        path.join(REPO, 'sandbox/cli.ts'),
        'with-env',
        envFile,
        '--',
        process.execPath,
        '-e',
        "process.stdout.write(process.env['INPUT_PRODUCTION-URL'])",
      ]);
      expect(probe.stdout).toBe(env['INPUT_PRODUCTION-URL']);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      await expect(fetch(env['INPUT_PRODUCTION-URL']!)).rejects.toThrow();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      fs.rmSync(envFile, { force: true });
    }
  });
});
