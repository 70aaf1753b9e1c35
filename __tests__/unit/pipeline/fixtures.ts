/**
 * Fixtures for the frame's unit tests: a real Config (parsed from runner-style inputs), a recording
 * logger, a RunStateStore that records every persisted state, and test steps that move the phase
 * the way the real steps do. Test steps live here, never in src/.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromEnv, inputEnvName, parseConfig } from '../../../src/config/index.ts';
import type { Config, Mode } from '../../../src/config/types.ts';
import type { PipelineContext } from '../../../src/pipeline/runner.ts';
import { RunStateStore } from '../../../src/pipeline/state-store.ts';
import type {
  Logger,
  RunState,
  Step,
  StepContext,
  StepName,
  StepOutcome,
  TrafficSnapshot,
} from '../../../src/pipeline/types.ts';

/** A secret with characters that need escaping in JSON, URLs, shells and Markdown. */
export const SECRET = 'tok_"quote\\back%25|pipe<b>&amp;$(id)`tick`';

export const SHA = '0123456789abcdef0123456789abcdef01234567';

/** A valid Config for `mode` (traffic-manager vercel: fewest inputs), with RUNNER_TEMP in a temp dir. */
export function testConfig(mode: Mode = 'deploy', inputs: Record<string, string> = {}): Config {
  const temp = mkdtempSync(join(tmpdir(), 'pd-frame-'));
  const all: Record<string, string> = {
    mode,
    'github-token': 'ghs_unitTestToken123',
    'production-url': 'https://shop.example.com',
    'vercel-token': SECRET,
    'vercel-project-id': 'prj_shop',
    'traffic-manager': 'vercel',
    ...inputs,
  };
  const env: Record<string, string> = {
    GITHUB_REPOSITORY: 'acme/shop',
    GITHUB_SHA: SHA,
    GITHUB_REF: 'refs/heads/main',
    GITHUB_EVENT_NAME: 'push',
    GITHUB_RUN_ID: '77',
    GITHUB_RUN_ATTEMPT: '1',
    RUNNER_TEMP: temp,
  };
  for (const [name, value] of Object.entries(all)) env[inputEnvName(name)] = value;
  return parseConfig(fromEnv(env, { setSecret: () => {}, cwd: temp }));
}

/** A logger that records every line (level + message). */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => lines.push(`info ${m}`),
    warning: (m) => lines.push(`warning ${m}`),
    error: (m) => lines.push(`error ${m}`),
    debug: (m) => lines.push(`debug ${m}`),
    untrusted: (t) => lines.push(`untrusted ${t}`),
  };
}

/** A pipeline context over a real RunStateStore; `saved` holds every persisted state in order. */
export function harness(config: Config, initial: Partial<RunState> = {}) {
  const saved: RunState[] = [];
  const store = new RunStateStore(
    { phase: 'started', mode: config.mode, environment: config.environment, sha: SHA, ...initial },
    (s) => saved.push(structuredClone(s)),
  );
  const log = recordingLogger();
  const controller = new AbortController();
  const ctx: PipelineContext = {
    config,
    log,
    signal: controller.signal,
    get state() {
      return store.state;
    },
    update: (patch) => store.update(patch),
  };
  return { ctx, store, saved, log, controller };
}

export const SNAPSHOT: TrafficSnapshot = { kind: 'vercel', productionDeploymentId: 'dpl_blue' };

type Run = (ctx: StepContext) => Promise<StepOutcome>;

/** A test step. */
export function step(name: StepName, run: Run, title = `step ${name}`): Step {
  return { name, title, run };
}

const pass = (reason: string): StepOutcome => ({ status: 'passed', reason });

/**
 * The seven deploy steps as test doubles that advance the phase like the real ones; `override`
 * replaces the behaviour of some of them.
 */
export function deploySteps(override: Partial<Record<StepName, Run>> = {}): Step[] {
  const normal: Record<string, Run> = {
    preflight: async (c) => (c.update({ phase: 'preflight-passed' }), pass('all checks passed')),
    prepare: async (c) => (c.update({ phase: 'prepared' }), pass('ready')),
    deploy: async (c) => {
      c.update({
        green: { id: 'dpl_green', url: 'green.vercel.app' },
        blue: { id: 'dpl_blue', url: 'blue.vercel.app' },
        phase: 'staged',
      });
      return pass('green staged');
    },
    smoke: async (c) => (c.update({ phase: 'smoke-passed' }), pass('5 checks passed')),
    traffic: async (c) => {
      c.update({ trafficBefore: SNAPSHOT, greenShare: 0 });
      c.update({ phase: 'switching', greenShare: 100 });
      c.update({ phase: 'switched' });
      return pass('green has 100 %');
    },
    validate: async (c) => (c.update({ phase: 'validated' }), pass('no breach in 10 samples')),
    cleanup: async () => pass('nothing to delete'),
  };
  const names: StepName[] = ['preflight', 'prepare', 'deploy', 'smoke', 'traffic', 'validate', 'cleanup'];
  return names.map((n) => step(n, override[n] ?? normal[n]!));
}
