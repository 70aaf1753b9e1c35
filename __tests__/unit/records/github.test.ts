/**
 * The GitHub deployment record against the sandbox's GitHub miniature (real HTTP through the
 * GitHub adapter): one record per run with the rollback target in its payload, the environment
 * lock (held, stale and overridden, same run), the simultaneous-start tie-break, statuses.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Traffic, type RunningService } from '../../../sandbox/core/service.ts';
import type { World } from '../../../sandbox/core/world.ts';
import { loadScenario } from '../../../sandbox/index.ts';
import { startGithub } from '../../../sandbox/services/github.ts';
import type { Logger } from '../../../src/pipeline/types.ts';
import { GitHub } from '../../../src/providers/github.ts';
import { POLICIES } from '../../../src/providers/index.ts';
import {
  activeCommit,
  checkLock,
  closeRecord,
  createRecord,
  EnvironmentLockedError,
  finalStatus,
  findRunRecord,
  loadRecords,
  previousReleases,
  type ClosingConfig,
  type RecordPayload,
} from '../../../src/records/index.ts';

const SHA = 'c063502a72638f829a159c1a27c08e9dc9ef1993';
const HOUR = 3_600_000;
let world: World;
let service: RunningService;
let github: GitHub;
const warnings: string[] = [];
const log: Logger = {
  info: () => {},
  warning: (m) => warnings.push(m),
  error: () => {},
  debug: () => {},
  untrusted: () => {},
};

const payload = (runId: string, environment = 'staging'): RecordPayload => ({
  tool: 'production-deploy',
  version: 1,
  kind: 'deploy',
  runId,
  runAttempt: 1,
  runUrl: `https://github.com/acme/shop/actions/runs/${runId}`,
  sha: SHA,
  environment,
  strategy: 'blue-green',
  trafficManager: 'vercel',
  green: { id: `dpl_green_${runId}`, url: `green-${runId}.vercel.app` },
  blue: { id: 'dpl_blue', url: 'blue.vercel.app' },
  trafficBefore: { kind: 'vercel', productionDeploymentId: 'dpl_blue' },
});
const create = (runId: string, environment = 'staging') =>
  createRecord(github, {
    payload: payload(runId, environment),
    branch: 'main',
    description: 'test',
    logUrl: payload(runId).runUrl,
    staleAfterMs: HOUR,
  });
/** Requests that change something: GraphQL queries are POSTs but reads. */
const mutations = (from: number) =>
  world.traffic.requests.filter((r) => r.seq > from && r.method !== 'GET' && !r.path.endsWith('/graphql'));
const lastSeq = () => world.traffic.requests.at(-1)?.seq ?? 0;

beforeAll(async () => {
  world = {
    traffic: new Traffic(),
    urls: {},
    hits: [],
    state: {},
    events: new EventEmitter(),
    dir: fs.mkdtempSync(path.join(os.tmpdir(), 'h5-records-')),
  };
  const scenario = loadScenario('default');
  service = await startGithub(world, scenario);
  github = new GitHub({
    token: scenario.github.token,
    baseUrl: service.url,
    owner: scenario.repo.owner,
    repo: scenario.repo.name,
    timeoutMs: 5000,
    retries: 1,
    maxRateLimitWaitMs: 1000,
    createBackoff: POLICIES.github.createBackoff,
    retryBaseMs: 10,
  });
});
afterAll(async () => {
  await service.close();
  fs.rmSync(world.dir, { recursive: true, force: true });
});

describe('the run record and the environment lock', () => {
  it('creates one record, in progress, with the rollback target in its payload', async () => {
    const id = await create('100');
    const [record] = await loadRecords(github, 'staging');
    expect(record).toMatchObject({
      id,
      payload: payload('100'),
      latest: { state: 'in_progress', logUrl: payload('100').runUrl },
    });
    // Deployments of other tools (the scenario's v1 record for production) are not ours.
    expect(await loadRecords(github, 'production')).toEqual([]);
  });

  it('refuses another run while that record is in progress, naming the run and its log', async () => {
    const err = await checkLock(
      github,
      { environment: 'staging', runId: '101', runUrl: 'u', staleAfterMs: HOUR },
      log,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnvironmentLockedError);
    expect((err as Error).message).toMatch(
      /^another run is deploying to staging: GitHub deployment \d+ of run 100 \(commit c063502\) is in progress/,
    );
    expect((err as Error).message).toContain('https://github.com/acme/shop/actions/runs/100');
  });

  it("never blocks the same run's re-run, which finds its record again", async () => {
    await expect(
      checkLock(github, { environment: 'staging', runId: '100', runUrl: 'u', staleAfterMs: HOUR }, log),
    ).resolves.toEqual({ overridden: [] });
    expect((await findRunRecord(github, { environment: 'staging', sha: SHA, runId: '100' }))?.payload.runId).toBe(
      '100',
    );
    expect(await findRunRecord(github, { environment: 'staging', sha: SHA, runId: '555' })).toBeUndefined();
  });

  it('overrides a holder silent for longer than the stale limit, marking it error and saying so', async () => {
    await new Promise((r) => setTimeout(r, 20));
    const { overridden } = await checkLock(
      github,
      { environment: 'staging', runId: '102', runUrl: 'https://log/102', staleAfterMs: 5 },
      log,
    );
    expect(overridden.map((r) => r.payload.runId)).toEqual(['100']);
    expect(warnings.at(-1)).toMatch(/run 100 is still "in progress" but silent for longer than 0 s .* Overriding it/);
    const [record] = await loadRecords(github, 'staging');
    expect(record!.latest).toMatchObject({ state: 'error', logUrl: 'https://log/102' });
    await expect(
      checkLock(github, { environment: 'staging', runId: '103', runUrl: 'u', staleAfterMs: HOUR }, log),
    ).resolves.toEqual({ overridden: [] });
  });

  it('settles two runs starting at once: the later record backs out', async () => {
    const first = await create('200', 'qa');
    // Run 201 did its lock check before 200 created its record; its own create must notice.
    const err = await create('201', 'qa').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnvironmentLockedError);
    const records = await loadRecords(github, 'qa');
    expect(records.find((r) => r.id === first)!.latest!.state).toBe('in_progress');
    expect(records.find((r) => r.payload.runId === '201')!.latest).toMatchObject({ state: 'error' });
  });

  it('a record it cannot confirm is closed before the error goes up, not left holding the environment', async () => {
    // The check after the create (are we first?) cannot read the records: the run stops without the id.
    world.traffic.faults.push(
      { service: 'github', method: 'POST', path: '/graphql', operation: 'EnvironmentDeployments', status: 429 },
      { service: 'github', method: 'GET', path: '/repos/*/*/deployments', status: 429 },
    );
    const err = await create('400', 'demo').catch((e: unknown) => e);
    world.traffic.faults = [];
    expect((err as Error).message).toContain('HTTP 429');
    const [record] = await loadRecords(github, 'demo');
    expect(record).toMatchObject({ payload: { runId: '400' }, latest: { state: 'error' } });
    const [status] = await github.listDeploymentStatuses(record!.id);
    expect(status!.description).toBe('Backed out: the record could not be set up (see the run)');
  });

  it('marks an interrupted run error once, and closes a run by its final status', async () => {
    const id = await create('300', 'uat');
    const config: ClosingConfig = {
      environment: 'uat',
      productionUrl: 'https://www.example.com',
      run: { runUrl: 'u', sha: SHA },
    };
    const interrupted = { state: 'error', description: 'Interrupted mid-switch' } as const;
    const same = { check: { skipIf: 'same', ifUnreadable: 'throw' } } as const;
    expect(await closeRecord(github, config, id, interrupted, same)).toEqual({ wrote: true, inactive: [] });
    const mark = lastSeq();
    expect(await closeRecord(github, config, id, interrupted, same)).toEqual({ wrote: false, inactive: [] });
    expect(mutations(mark)).toEqual([]);
    const live = finalStatus({ at: 'cleanup', description: 'Live: dpl_x is live' });
    expect(await closeRecord(github, config, id, live)).toEqual({ wrote: true, inactive: [] });
    // Closed already: the main step's and the post step's check write nothing more.
    const closed = { check: { skipIf: 'closed', ifUnreadable: 'throw' } } as const;
    const failure = { state: 'failure', description: 'Failed: x' } as const;
    const before = lastSeq();
    expect(await closeRecord(github, config, id, failure, closed)).toEqual({ wrote: false, inactive: [] });
    expect(mutations(before)).toEqual([]);
    const [record] = await loadRecords(github, 'uat');
    expect(record!.latest!.state).toBe('success');
    expect(previousReleases([record!]).map((r) => r.id)).toEqual([id]);
    const statuses = await github.listDeploymentStatuses(id);
    expect(statuses[0]!).toMatchObject({
      description: 'Live: dpl_x is live',
      environmentUrl: 'https://www.example.com',
    });
  });
});

describe("the environment's active commit (blue's, when Vercel has none)", () => {
  it('is the commit of the newest deployment whose latest status is success, whoever made it', async () => {
    // The scenario's production environment holds one record of another tool: v1, success.
    expect(await activeCommit(github, 'production')).toBe('4c60a8b4d322696fd694f86492b603349eb97cca');
  });

  it('is unknown where no deployment of the environment is live', async () => {
    expect(await activeCommit(github, 'nowhere')).toBeUndefined();
  });

  it('makes no mutating request', async () => {
    const from = lastSeq();
    await activeCommit(github, 'production');
    expect(mutations(from)).toEqual([]);
  });
});
