/**
 * `mode: rollback`'s step (src) against the sandbox: v2 is live on the blue slot, v1 is an earlier
 * production deployment. Each test checks the sandbox state afterwards. The whole action (dist) is
 * exercised by rollback-mode.test.ts.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarioFrom, startSandbox, type Sandbox } from '../../sandbox/index.ts';
import { fromEnv, parseConfig } from '../../src/config/index.ts';
import type { Config } from '../../src/config/types.ts';
import { createRunServices, type RunContext } from '../../src/pipeline/context.ts';
import type { Logger, RunState } from '../../src/pipeline/types.ts';
import { createProviders } from '../../src/providers/index.ts';
import { PAYLOAD_TOOL } from '../../src/records/payload.ts';
import { rollbackStep } from '../../src/steps/rollback.ts';

const V1_SHA = '4c60a8b4d322696fd694f86492b603349eb97cca';
const RUN_SHA = 'c063502a72638f829a159c1a27c08e9dc9ef1993';
let sb: Sandbox;

beforeAll(async () => {
  sb = await startSandbox({
    scenario: scenarioFrom({
      vercel: {
        deployments: [
          { id: 'dpl_broken', app: 'broken-build', ageSeconds: 30_000 },
          { id: 'dpl_v1', app: 'v1', ageSeconds: 20_000, meta: { githubCommitSha: V1_SHA } },
          {
            id: 'dpl_v2',
            app: 'v2',
            production: true,
            aliases: ['blue.example.com'],
            ageSeconds: 100,
            meta: { githubCommitSha: RUN_SHA },
          },
        ],
      },
      inputs: { 'validation-window': '2s', 'validation-interval': '500ms' },
    }),
  });
});
afterAll(async () => sb?.stop());

function config(extra: Record<string, string>): Config {
  const env: Record<string, string> = { ...sb.env, INPUT_MODE: 'rollback' };
  for (const [k, v] of Object.entries(extra)) env[`INPUT_${k.toUpperCase()}`] = v;
  return parseConfig(fromEnv(env, { readFile: (f) => fs.readFileSync(f, 'utf8') }));
}

function ctx(c: Config): RunContext & { lines: string[] } {
  const lines: string[] = [];
  const log: Logger = {
    info: (m) => lines.push(`info ${m}`),
    warning: (m) => lines.push(`warning ${m}`),
    error: (m) => lines.push(`error ${m}`),
    debug: () => {},
    untrusted: (m) => lines.push(`untrusted ${m}`),
  };
  let state: RunState = { phase: 'started', mode: 'rollback', environment: 'production', sha: c.run.sha };
  const signal = new AbortController().signal;
  const core = {
    config: c,
    get state() {
      return state;
    },
    log,
    signal,
    update: (p: Partial<RunState>) => {
      state = { ...state, ...p };
    },
    results: [],
    lines,
  };
  return Object.assign(core, createRunServices(c, createProviders(c, log, signal), log, signal));
}

/** The parts of `/_sandbox/state` these tests read. */
interface SandboxState {
  github: {
    deployments: {
      id: number;
      sha: string;
      payload: Record<string, unknown>;
      statuses: { state: string; description: string; environmentUrl: string }[];
    }[];
  };
  slack: { messages: { ts: string; threadTs?: string; text: string; blocks?: unknown }[] };
  datadog: {
    events: { title: string; text: string; tags: string[]; alert_type: string }[];
    doraDeployments: Record<string, unknown>[];
  };
  cloudflare: {
    loadBalancers: { fallback_pool: string; pool_weights: Record<string, number> }[];
    pools: { id: string; origins: { host: string }[] }[];
    history: { kind: string; random_steering?: { pool_weights?: Record<string, number> } }[];
  };
}

async function sandboxState(): Promise<SandboxState> {
  return (await (await fetch(`${sb.urls.sandbox}/_sandbox/state`)).json()) as SandboxState;
}

/** Versions that served `n` requests to the production URL. */
async function servedVersions(n = 10): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${sb.urls.production}/api/health`);
    await res.arrayBuffer();
    out.push(res.headers.get('x-app-version') ?? '?');
  }
  return [...new Set(out)];
}

describe('rollback step against the sandbox', () => {
  it('refuses a target that no longer exists, before anything moves', async () => {
    const lbState = async () => {
      const cf = (await sandboxState()).cloudflare;
      return JSON.stringify({ lb: cf.loadBalancers, pools: cf.pools, history: cf.history.length });
    };
    const before = await lbState();
    const c = ctx(config({ 'rollback-to': 'dpl_doesnotexist' }));
    const out = await rollbackStep.run(c);
    expect(out.status).toBe('failed');
    expect(out.reason).toBe(
      'the rollback target dpl_doesnotexist (rollback-to) no longer exists on Vercel; nothing was changed',
    );
    expect(c.state.phase).toBe('started');
    expect(await lbState()).toBe(before);
    expect(await servedVersions()).toEqual(['v2']);
  });

  it('refuses a target that never reached READY', async () => {
    const c = ctx(config({ 'rollback-to': 'dpl_broken' }));
    const out = await rollbackStep.run(c);
    expect(out.status).toBe('failed');
    expect(out.reason).toContain('is ERROR, not READY');
    expect(await servedVersions()).toEqual(['v2']);
  });

  it('previous: moves production back to v1, verifies it, records the reason, notifies Datadog', async () => {
    const c0 = config({ 'rollback-to': 'previous', reason: 'checkout errors after v2' });
    const gh = createProviders(c0, ctx(c0).log, new AbortController().signal).github;
    // The record the deploy of v2 left: green v2, blue v1, success.
    const rec = await gh.createDeployment({
      ref: 'main',
      sha: RUN_SHA,
      environment: 'production',
      description: 'v2',
      payload: {
        tool: PAYLOAD_TOOL,
        version: 1,
        kind: 'deploy',
        runId: '555',
        runAttempt: 1,
        runUrl: 'https://x',
        sha: RUN_SHA,
        environment: 'production',
        strategy: 'blue-green',
        trafficManager: 'cloudflare',
        green: { id: 'dpl_v2', url: 'v2.example' },
        blue: { id: 'dpl_v1', url: 'v1.example', sha: V1_SHA },
      },
    });
    await gh.createDeploymentStatus(rec.id, { state: 'success' });

    const c = ctx(c0);
    const out = await rollbackStep.run(c);
    expect(out.status, `${out.reason}\n${c.lines.join('\n')}`).toBe('passed');
    expect(out.reason).toBe('production is back on dpl_v1 (from dpl_v2): checkout errors after v2');
    expect(c.state).toMatchObject({ phase: 'validated', green: { id: 'dpl_v1' }, blue: { id: 'dpl_v2' } });
    expect(await servedVersions()).toEqual(['v1']);

    // GitHub: a rollback record for v1 with the reason, success; v2's record inactive.
    const id = c.state.githubDeploymentId!;
    const st = await sandboxState();
    const ghDeployments = st.github.deployments;
    const ours = ghDeployments.find((d) => d.id === id)!;
    expect(ours.sha).toBe(V1_SHA);
    expect(ours.payload).toMatchObject({
      kind: 'rollback',
      reason: 'checkout errors after v2',
      green: { id: 'dpl_v1' },
    });
    expect(ours.statuses.at(-1)!).toMatchObject({ state: 'success' });
    expect(ours.statuses.at(-1)!.description).toBe('Rolled back to 4c60a8b: checkout errors after v2');
    expect(ghDeployments.find((d) => d.id === rec.id)!.statuses.at(-1)!.state).toBe('inactive');
    // Datadog: an event with the reason.
    const ev = st.datadog.events.at(-1)!;
    expect(ev.title).toBe('Rolled back acme/shop production to 4c60a8b');
    expect(ev.text).toContain('Reason: checkout errors after v2');
    // Samples were taken on the target.
    expect((out.details!.samples as unknown[]).length).toBeGreaterThanOrEqual(4);
  });
});
