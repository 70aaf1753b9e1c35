/**
 * Staging green and waiting for it, against the sandbox's Vercel miniature (real HTTP, real
 * `@vercel/client` upload flow through the Vercel adapter) and its edge (real health checks); the
 * request and option builders pure.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Traffic, type RunningService } from '../../../../sandbox/core/service.ts';
import type { World } from '../../../../sandbox/core/world.ts';
import { APP_ROOT } from '../../../../sandbox/index.ts';
import { startEdge, startVercel } from '../../../../sandbox/services/vercel.ts';
import { fromEnv, parseConfig } from '../../../../src/config/index.ts';
import type { Config } from '../../../../src/config/types.ts';
import type { Logger } from '../../../../src/pipeline/types.ts';
import { ProviderError } from '../../../../src/providers/errors.ts';
import { VercelApi, type CreatedDeployment } from '../../../../src/providers/vercel-api.ts';
import { clientOptions, deploymentOptions, toCreateError } from '../../../../src/providers/vercel-deploy.ts';
import { buildLines } from '../../../../src/steps/deploy/build-log.ts';
import { GreenNotReadyError, pollDelay, waitHealthy, waitReady } from '../../../../src/steps/deploy/readiness.ts';
import { greenMeta, logUpload, runMeta, stagedRequest } from '../../../../src/steps/deploy/stage.ts';

const TOKEN = 'stage-test-vercel-token';
const SHA = 'c063502a72638f829a159c1a27c08e9dc9ef1993';

function configFor(env: Record<string, string>): Config {
  return parseConfig(
    fromEnv({
      GITHUB_REPOSITORY: 'acme/shop',
      GITHUB_SHA: SHA,
      GITHUB_REF: 'refs/heads/main',
      GITHUB_RUN_ID: '4242',
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_EVENT_NAME: 'push',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_ACTOR: 'bob',
      'INPUT_GITHUB-TOKEN': 'ghs_stageTestToken000000000000000000',
      'INPUT_PRODUCTION-URL': 'https://www.example.com',
      'INPUT_VERCEL-TOKEN': TOKEN,
      'INPUT_VERCEL-PROJECT-ID': 'prj_sandboxshop',
      'INPUT_VERCEL-TEAM-ID': 'team_sandbox',
      'INPUT_TRAFFIC-MANAGER': 'vercel',
      ...env,
    }),
  );
}

/** A Logger that keeps every line, untrusted blocks apart. */
function recorder(): Logger & { lines: string[]; untrustedBlocks: string[] } {
  const lines: string[] = [];
  const untrustedBlocks: string[] = [];
  return {
    lines,
    untrustedBlocks,
    info: (m) => lines.push(m),
    warning: (m) => lines.push(`warning: ${m}`),
    error: (m) => lines.push(`error: ${m}`),
    debug: () => {},
    untrusted: (t) => untrustedBlocks.push(t),
  };
}

describe('what is sent to create green (pure)', () => {
  const config = configFor({ 'INPUT_WORKING-DIRECTORY': '/tmp', INPUT_PREBUILT: 'true' });
  it('is a staged production deployment of the project, with the run in its meta', () => {
    const o = deploymentOptions(stagedRequest(config, 'sandbox-shop'));
    expect(o).toMatchObject({
      name: 'sandbox-shop',
      project: 'prj_sandboxshop',
      target: 'production',
      autoAssignCustomDomains: false,
    });
    expect(o.meta).toEqual(greenMeta(config));
    expect(o.meta).toMatchObject({
      githubCommitSha: SHA,
      githubRunId: '4242',
      githubRunAttempt: '1',
      githubRunUrl: 'https://github.com/acme/shop/actions/runs/4242',
      githubRepo: 'acme/shop',
      githubCommitRef: 'main',
      environment: 'production',
      productionDeploy: 'true',
    });
    expect(o.gitMetadata).toMatchObject({
      commitSha: SHA,
      commitRef: 'main',
      remoteUrl: 'https://github.com/acme/shop',
      dirty: false,
    });
  });
  it('uploads .vercel/output with prebuilt, to the configured API and team', () => {
    const client = { token: TOKEN, apiUrl: 'https://api.vercel.com', teamId: 'team_sandbox', secrets: [], retries: 0 };
    expect(clientOptions(client, stagedRequest(config, 'sandbox-shop'))).toMatchObject({
      token: TOKEN,
      path: '/tmp',
      teamId: 'team_sandbox',
      apiUrl: 'https://api.vercel.com',
      prebuilt: true,
      vercelOutputDir: path.join('/tmp', '.vercel', 'output'),
    });
  });
  it("classifies the client's errors: refused is final, lost or 5xx is an unknown outcome; no secret survives", () => {
    const refused = toCreateError({ code: 'forbidden', message: `Not authorized ${TOKEN}`, status: 403 }, [TOKEN]);
    expect(refused).toBeInstanceOf(ProviderError);
    expect(refused).toMatchObject({
      provider: 'vercel',
      operation: 'createDeployment',
      status: 403,
      code: 'forbidden',
    });
    expect(refused.outcomeUnknown).toBe(false);
    expect(refused.message).toBe('Vercel refused the deployment (HTTP 403): forbidden: Not authorized ***');
    expect(toCreateError({ code: 'internal_server_error', status: 500 }, []).outcomeUnknown).toBe(true);
    const lost = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } });
    expect(toCreateError(lost, []).outcomeUnknown).toBe(true);
    const never = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    expect(toCreateError(never, []).outcomeUnknown).toBe(false);
  });
  it('finds green by this run and commit, and by the attempt when given', () => {
    expect(runMeta(config)).toEqual({ githubRunId: '4242', githubCommitSha: SHA });
    expect(runMeta(config, 3)).toEqual({ githubRunId: '4242', githubCommitSha: SHA, githubRunAttempt: '3' });
  });
  it('reports each step of the upload in one line, Vercel notices as remote text', () => {
    const log = recorder();
    logUpload(config, log, { type: 'files-collected', count: 3 });
    logUpload(config, log, { type: 'uploading', missing: 1, total: 3 });
    logUpload(config, log, { type: 'uploaded' });
    logUpload(config, log, { type: 'notice', kind: 'warning', text: '::error::x' });
    expect(log.lines).toEqual([
      'Collected 3 files from .vercel/output',
      'Uploading 1 new file(s) of 3',
      'All files uploaded; creating the deployment',
    ]);
    expect(log.untrustedBlocks).toEqual(['Vercel warning: ::error::x']);
  });
  it('prints build events line by line, marking stderr and commands', () => {
    expect(
      buildLines([
        { type: 'command', text: 'npm run build' },
        { type: 'stdout', text: 'a\r\nb\n\n' },
        { type: 'stderr', text: '::error::not a command' },
        { type: 'delimiter', text: '' },
      ]),
    ).toEqual(['$ npm run build', 'a', 'b', '! ::error::not a command']);
  });
  it('polls every second at first, then every two', () => {
    expect(pollDelay(0)).toBe(1000);
    expect(pollDelay(20_000)).toBe(2000);
  });
  it('reads the deployment as soon as the live event stream ends, not up to a poll later', async () => {
    vi.useFakeTimers();
    try {
      let readyState = 'BUILDING';
      const reads: number[] = [];
      const t0 = Date.now();
      const vercel = {
        getDeployment: async () => {
          reads.push(Date.now() - t0);
          return { id: 'dpl_x', url: 'x.vercel.app', readyState };
        },
        getBuildEvents: async () => [],
        // The build ends 300 ms in; the stream ends with it.
        buildStreamEnd: () =>
          new Promise<void>((resolve) =>
            setTimeout(() => {
              readyState = 'READY';
              resolve();
            }, 300),
          ),
      } as unknown as Parameters<typeof waitReady>[0];
      const done = waitReady(vercel, 'dpl_x', recorder(), {
        deadline: t0 + 60_000,
        timeoutMs: 60_000,
        streamLog: false,
      });
      await vi.advanceTimersByTimeAsync(300);
      expect((await done).readyState).toBe('READY');
      expect(reads).toEqual([0, 300]);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('against the Vercel miniature', () => {
  let world: World;
  const services: RunningService[] = [];
  let vercel: VercelApi;
  const policy = { retries: 1, baseDelayMs: 50, maxDelayMs: 100, maxRetryAfterMs: 1000 };

  beforeAll(async () => {
    world = {
      traffic: new Traffic(),
      urls: {},
      hits: [],
      state: {},
      events: new EventEmitter(),
      dir: fs.mkdtempSync(path.join(os.tmpdir(), 'h5-stage-')),
    };
    services.push(
      await startVercel(world, { token: TOKEN, teamId: 'team_sandbox', buildDelayMs: 300, aliasDelayMs: 100 }),
    );
    services.push(await startEdge(world));
    vercel = new VercelApi({
      token: TOKEN,
      teamId: 'team_sandbox',
      apiUrl: world.urls.vercel!,
      timeoutMs: 5000,
      retry: policy,
    });
  });
  afterAll(async () => {
    await Promise.all(services.map((s) => s.close()));
    fs.rmSync(world.dir, { recursive: true, force: true });
  });

  /** Stages green as the deploy step does; a lost create finds nothing unless `lookup` is given. */
  const stage = (
    config: Config,
    log: Logger,
    o: { deadline: number; api?: VercelApi; lookup?: () => Promise<CreatedDeployment | undefined> },
  ) =>
    (o.api ?? vercel).createStagedDeployment(stagedRequest(config, 'sandbox-shop'), {
      deadline: o.deadline,
      onProgress: (p) => logUpload(config, log, p),
      lookup: o.lookup ?? (() => Promise.resolve(undefined)),
    });

  const configAt = (app: string, attempt = '1') =>
    configFor({
      'INPUT_WORKING-DIRECTORY': path.join(APP_ROOT, app),
      VERCEL_API_URL: world.urls.vercel!,
      GITHUB_RUN_ATTEMPT: attempt,
    });

  it('creates green staged, streams its build log fenced, waits until READY and healthy', async () => {
    const config = configAt('v2');
    const log = recorder();
    const created = await stage(config, log, { deadline: Date.now() + 20_000 });
    expect(log.lines.join('\n')).toContain('All files uploaded; creating the deployment');
    expect(created.id).toMatch(/^dpl_/);
    const ready = await waitReady(vercel, created.id, log, { deadline: Date.now() + 20_000, timeoutMs: 20_000 });
    expect(ready.readyState).toBe('READY');
    expect(ready.readySubstate).toBe('STAGED');
    expect(ready.alias).not.toContain('www.example.com');
    expect(log.untrustedBlocks.join('\n')).toContain('Building sandbox shop v2');
    expect(log.lines.join('\n')).not.toContain('Building sandbox shop v2');
    const health = await waitHealthy(ready.url, '/api/health', { deadline: Date.now() + 5000, timeoutMs: 5000, log });
    expect(health).toMatchObject({ status: 200, attempts: 1 });
    // Found again by its meta, as a re-run or an unknown outcome would.
    const find = (meta: Record<string, string>) => vercel.findDeploymentByMeta({ projectId: 'prj_sandboxshop', meta });
    expect((await find(runMeta(config, 1)))?.id).toBe(created.id);
    expect((await find(runMeta(config)))?.id).toBe(created.id);
    expect(await find(runMeta(config, 2))).toBeUndefined();
    expect(await find({ ...runMeta(config), githubRunId: '9999' })).toBeUndefined();
  });

  it('a failed build stops with Vercel’s reason', async () => {
    const log = recorder();
    const created = await stage(configAt('broken-build'), log, { deadline: Date.now() + 20_000 });
    const err = await waitReady(vercel, created.id, log, { deadline: Date.now() + 20_000, timeoutMs: 20_000 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GreenNotReadyError);
    expect((err as Error).message).toMatch(/^green's build failed \(.*npm run build.*exited with 1\)$/);
  });

  it('an unhealthy green is reported with the last status at the deadline', async () => {
    const log = recorder();
    const created = await stage(configAt('bad-health'), log, { deadline: Date.now() + 20_000 });
    const ready = await waitReady(vercel, created.id, log, { deadline: Date.now() + 20_000, timeoutMs: 20_000 });
    const started = Date.now();
    const err = await waitHealthy(ready.url, '/api/health', {
      deadline: Date.now() + 1500,
      timeoutMs: 1500,
      log,
    }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5000);
    expect((err as Error).message).toMatch(/did not answer 2xx within health-check-timeout \(2 s\); last: HTTP 503$/);
  });

  it('a refused create is final, with a message safe to print', async () => {
    const config = configFor({
      'INPUT_WORKING-DIRECTORY': path.join(APP_ROOT, 'v2'),
      VERCEL_API_URL: world.urls.vercel!,
      'INPUT_VERCEL-TOKEN': 'a-wrong-token-value',
    });
    const api = new VercelApi({
      token: 'a-wrong-token-value',
      teamId: 'team_sandbox',
      apiUrl: world.urls.vercel!,
      timeoutMs: 5000,
      retry: policy,
      create: { retries: 1 },
    });
    let lookups = 0;
    const lookup = () => {
      lookups++;
      return Promise.resolve(undefined);
    };
    const err = await stage(config, recorder(), { deadline: Date.now() + 10_000, api, lookup }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).outcomeUnknown).toBe(false);
    expect(lookups).toBe(0);
    expect((err as Error).message).toMatch(/^Vercel refused the deployment \(HTTP 40[13]\)/);
    expect((err as Error).message).not.toContain('a-wrong-token-value');
  });

  it('a create that gets no answer stops at the deadline as an unknown outcome', async () => {
    world.traffic.faults.push({ service: 'vercel', method: 'POST', path: '/v13/deployments', hang: true, times: 5 });
    try {
      const started = Date.now();
      const err = await stage(configAt('v2', '3'), recorder(), { deadline: Date.now() + 800 }).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(4000);
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).outcomeUnknown).toBe(true);
      expect((err as Error).message).toBe('no answer from Vercel before health-check-timeout');
    } finally {
      world.traffic.faults.length = 0;
    }
  });

  it('a lost create that Vercel has is looked up and used, not repeated', async () => {
    const config = configAt('v2', '5');
    const earlier = await stage(config, recorder(), { deadline: Date.now() + 20_000 });
    world.traffic.faults.push({ service: 'vercel', method: 'POST', path: '/v13/deployments', hang: true, times: 1 });
    try {
      const lost: { found?: string; repeating: boolean }[] = [];
      const green = await vercel.createStagedDeployment(stagedRequest(config, 'sandbox-shop'), {
        deadline: Date.now() + 800,
        lookup: async () => {
          const d = await vercel.findDeploymentByMeta({ projectId: 'prj_sandboxshop', meta: runMeta(config, 5) });
          return d?.url ? { id: d.id, url: d.url } : undefined;
        },
        onLost: (i) => lost.push({ found: i.found?.id, repeating: i.repeating }),
      });
      expect(green).toEqual({ id: earlier.id, url: expect.any(String), lookedUp: true });
      expect(lost).toEqual([{ found: earlier.id, repeating: false }]);
    } finally {
      world.traffic.faults.length = 0;
    }
  });

  it('a lost create that Vercel does not have is repeated as often as the policy allows', async () => {
    const unavailable = { error: { code: 'service_unavailable', message: 'try again later' } };
    const api = new VercelApi({
      token: TOKEN,
      teamId: 'team_sandbox',
      apiUrl: world.urls.vercel!,
      timeoutMs: 5000,
      retry: policy,
      create: { retries: 1 },
    });
    world.traffic.faults.push({
      service: 'vercel',
      method: 'POST',
      path: '/v13/deployments',
      status: 503,
      body: unavailable,
      times: 1,
    });
    try {
      const lost: { status?: number; repeating: boolean }[] = [];
      const green = await api.createStagedDeployment(stagedRequest(configAt('v2', '6'), 'sandbox-shop'), {
        deadline: Date.now() + 20_000,
        lookup: () => Promise.resolve(undefined),
        onLost: (i) => lost.push({ status: i.error.status, repeating: i.repeating }),
      });
      expect(green.id).toMatch(/^dpl_/);
      expect(green.lookedUp).toBeUndefined();
      expect(lost).toEqual([{ status: 503, repeating: true }]);

      world.traffic.faults.push({
        service: 'vercel',
        method: 'POST',
        path: '/v13/deployments',
        status: 503,
        body: unavailable,
        times: 2,
      });
      lost.length = 0;
      const err = await api
        .createStagedDeployment(stagedRequest(configAt('v2', '7'), 'sandbox-shop'), {
          deadline: Date.now() + 20_000,
          lookup: () => Promise.resolve(undefined),
          onLost: (i) => lost.push({ status: i.error.status, repeating: i.repeating }),
        })
        .catch((e: unknown) => e);
      expect((err as ProviderError).outcomeUnknown).toBe(true);
      expect((err as Error).message).toMatch(/^Vercel refused the deployment \(HTTP 503\)/);
      expect(lost).toEqual([
        { status: 503, repeating: true },
        { status: 503, repeating: false },
      ]);
    } finally {
      world.traffic.faults.length = 0;
    }
  });
});
