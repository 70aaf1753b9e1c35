/**
 * Staging green and waiting for it, against the sandbox's Vercel miniature (real HTTP, real
 * `@vercel/client` upload flow) and its edge (real health checks); the option builders pure.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Traffic, type RunningService } from '../../../../sandbox/core/service.ts';
import type { World } from '../../../../sandbox/core/world.ts';
import { APP_ROOT } from '../../../../sandbox/index.ts';
import { startEdge, startVercel } from '../../../../sandbox/services/vercel.ts';
import { fromEnv, parseConfig } from '../../../../src/config/index.ts';
import type { Config } from '../../../../src/config/types.ts';
import type { Logger } from '../../../../src/pipeline/types.ts';
import { VercelApi } from '../../../../src/providers/vercel-api.ts';
import { buildLines } from '../../../../src/steps/deploy/build-log.ts';
import { GreenNotReadyError, pollDelay, waitHealthy, waitReady } from '../../../../src/steps/deploy/readiness.ts';
import {
  clientOptions,
  createGreen,
  deploymentOptions,
  findGreen,
  greenMeta,
  StageError,
  toStageError,
} from '../../../../src/steps/deploy/stage.ts';

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
    const o = deploymentOptions(config, 'sandbox-shop');
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
    expect(clientOptions(config)).toMatchObject({
      token: TOKEN,
      path: '/tmp',
      teamId: 'team_sandbox',
      apiUrl: 'https://api.vercel.com',
      prebuilt: true,
      vercelOutputDir: path.join('/tmp', '.vercel', 'output'),
    });
  });
  it("classifies the client's errors: refused is final, lost or 5xx is an unknown outcome; no secret survives", () => {
    const refused = toStageError({ code: 'forbidden', message: `Not authorized ${TOKEN}`, status: 403 }, [TOKEN]);
    expect(refused).toBeInstanceOf(StageError);
    expect(refused.unknown).toBe(false);
    expect(refused.message).toBe('Vercel refused the deployment (HTTP 403): forbidden: Not authorized ***');
    expect(toStageError({ code: 'internal_server_error', status: 500 }, []).unknown).toBe(true);
    const lost = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } });
    expect(toStageError(lost, []).unknown).toBe(true);
    const never = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    expect(toStageError(never, []).unknown).toBe(false);
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

  const configAt = (app: string, attempt = '1') =>
    configFor({
      'INPUT_WORKING-DIRECTORY': path.join(APP_ROOT, app),
      VERCEL_API_URL: world.urls.vercel!,
      GITHUB_RUN_ATTEMPT: attempt,
    });

  it('creates green staged, streams its build log fenced, waits until READY and healthy', async () => {
    const config = configAt('v2');
    const log = recorder();
    const created = await createGreen(config, 'sandbox-shop', log, { deadline: Date.now() + 20_000 });
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
    const found = await findGreen(vercel, { projectId: 'prj_sandboxshop', sha: SHA, runId: '4242', attempt: 1 });
    expect(found?.id).toBe(created.id);
    expect(
      await findGreen(vercel, { projectId: 'prj_sandboxshop', sha: SHA, runId: '4242', attempt: 2 }),
    ).toBeUndefined();
    expect(await findGreen(vercel, { projectId: 'prj_sandboxshop', sha: SHA, runId: '9999' })).toBeUndefined();
  });

  it('a failed build stops with Vercel’s reason', async () => {
    const log = recorder();
    const created = await createGreen(configAt('broken-build'), 'sandbox-shop', log, { deadline: Date.now() + 20_000 });
    const err = await waitReady(vercel, created.id, log, { deadline: Date.now() + 20_000, timeoutMs: 20_000 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GreenNotReadyError);
    expect((err as Error).message).toMatch(/^green's build failed \(.*npm run build.*exited with 1\)$/);
  });

  it('an unhealthy green is reported with the last status at the deadline', async () => {
    const log = recorder();
    const created = await createGreen(configAt('bad-health'), 'sandbox-shop', log, { deadline: Date.now() + 20_000 });
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
    const err = await createGreen(config, 'sandbox-shop', recorder(), { deadline: Date.now() + 10_000 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StageError);
    expect((err as StageError).unknown).toBe(false);
    expect((err as Error).message).toMatch(/^Vercel refused the deployment \(HTTP 40[13]\)/);
    expect((err as Error).message).not.toContain('a-wrong-token-value');
  });

  it('a create that gets no answer stops at the deadline as an unknown outcome', async () => {
    world.traffic.faults.push({ service: 'vercel', method: 'POST', path: '/v13/deployments', hang: true, times: 5 });
    try {
      const started = Date.now();
      const err = await createGreen(configAt('v2', '3'), 'sandbox-shop', recorder(), {
        deadline: Date.now() + 800,
      }).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(4000);
      expect(err).toBeInstanceOf(StageError);
      expect((err as StageError).unknown).toBe(true);
    } finally {
      world.traffic.faults.length = 0;
    }
  });
});
