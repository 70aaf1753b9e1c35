import { describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config/types.ts';
import {
  looseEnds,
  POST_BUDGET_MS,
  postDecision,
  postRestoreTimeoutMs,
  recoveryFacts,
  runPost,
  type LooseEnds,
  type PostDeps,
  type TidyOutcome,
} from '../../../src/pipeline/post-step.ts';
import type { RunState, StepContext, StepOutcome } from '../../../src/pipeline/types.ts';
import { recordingLogger, SECRET, SHA, SNAPSHOT, testConfig } from './fixtures.ts';

const MID_SWITCH: RunState = {
  phase: 'switched',
  mode: 'deploy',
  environment: 'production',
  sha: SHA,
  green: { id: 'dpl_green', url: 'green.vercel.app' },
  blue: { id: 'dpl_blue', url: 'blue.vercel.app' },
  trafficBefore: SNAPSHOT,
  greenShare: 100,
};

/**
 * The post step's dependencies over an in-memory "runner": `saved` is what it persisted (the last
 * one is what a second post run would be handed), `failures` what it failed with.
 */
function world(
  initial: RunState | undefined | Error,
  reconcile?: (ctx: StepContext<{ providers: string }>) => Promise<StepOutcome>,
  config: Config = testConfig('deploy'),
  tidy?: (ctx: StepContext<{ providers: string }>, ends: LooseEnds) => Promise<TidyOutcome>,
) {
  const saved: RunState[] = [];
  const failures: string[] = [];
  const log = recordingLogger();
  const controller = new AbortController();
  let current = initial;
  const deps: PostDeps<{ providers: string }> = {
    loadState: () => {
      if (current instanceof Error) throw current;
      return current;
    },
    saveState: (state, secrets) => {
      expect(secrets).toEqual(config.secrets);
      saved.push(structuredClone(state));
    },
    loadConfig: () => config,
    createServices: () => ({ providers: 'providers' }),
    reconcile,
    logger: () => log,
    signal: controller.signal,
    fail: (m) => failures.push(m),
    appendSummary: async () => {},
    ...(tidy ? { tidy } : {}),
  };
  return {
    deps,
    saved,
    failures,
    log,
    controller,
    /** As the runner would: hand the post step's own saved state to a second post run. */
    carryOver: () => (current = saved.at(-1) ?? current),
  };
}

describe('postDecision', () => {
  it('acts only for a deploy left mid-switch with a recorded traffic state, not yet restored', () => {
    expect(postDecision(MID_SWITCH).act).toBe(true);
    expect(postDecision({ ...MID_SWITCH, phase: 'switching' }).act).toBe(true);
    expect(postDecision(undefined)).toMatchObject({ act: false });
    for (const phase of [
      'started',
      'staged',
      'smoke-passed',
      'validated',
      'cleaned',
      'failed',
      'rolled-back',
    ] as const) {
      expect(postDecision({ ...MID_SWITCH, phase }).act).toBe(false);
    }
    expect(postDecision({ ...MID_SWITCH, restored: true }).act).toBe(false);
    expect(postDecision({ ...MID_SWITCH, reconciled: true }).act).toBe(false);
    expect(postDecision({ ...MID_SWITCH, mode: 'rollback' })).toMatchObject({ act: false, warn: true });
    expect(postDecision({ ...MID_SWITCH, trafficBefore: undefined })).toMatchObject({ act: false, warn: true });
  });
});

describe('runPost', () => {
  it('restores blue once, marks the state reconciled, and a second run does nothing', async () => {
    let calls = 0;
    const w = world(MID_SWITCH, async (ctx) => {
      calls += 1;
      expect(ctx.state.trafficBefore).toEqual(SNAPSHOT);
      expect(ctx.providers).toBe('providers');
      return { status: 'passed', reason: 'pool-blue back at 100 %' };
    });
    await runPost(w.deps);
    expect(calls).toBe(1);
    expect(w.failures).toEqual([]);
    expect(w.saved.at(-1)).toMatchObject({ phase: 'rolled-back', restored: true, reconciled: true, greenShare: 0 });

    w.carryOver();
    await runPost(w.deps);
    expect(calls).toBe(1);
    expect(w.log.lines.at(-1)).toContain('already reconciled');
  });

  it('says plainly there is nothing to reconcile when the phase says so, without reading inputs', async () => {
    const w = world({ ...MID_SWITCH, phase: 'cleaned' });
    w.deps.loadConfig = () => {
      throw new Error('must not be read');
    };
    await runPost(w.deps);
    expect(w.failures).toEqual([]);
    expect(w.log.lines).toEqual([
      'info production-deploy post: nothing to reconcile: the run ended in phase cleaned: production was not left mid-switch.',
    ]);
    const none = world(undefined);
    await runPost(none.deps);
    expect(none.log.lines[0]).toContain('nothing to reconcile: no run state was saved');
  });

  it('never pretends: without a reconcile step it fails loudly with how to recover', async () => {
    const w = world(MID_SWITCH, undefined);
    await runPost(w.deps);
    expect(w.failures).toHaveLength(1);
    expect(w.failures[0]).toContain('PRODUCTION MAY BE ON THE NEW RELEASE (green: dpl_green)');
    expect(w.failures[0]).toContain('no traffic step');
    expect(w.failures[0]).toContain('rollback-to: dpl_blue');
    expect(w.saved).toEqual([]);
  });

  it('fails loudly, without marking anything, when the restore fails or throws (redacted)', async () => {
    const failing = world(MID_SWITCH, async () => ({ status: 'failed', reason: `Cloudflare 403 for ${SECRET}` }));
    await runPost(failing.deps);
    expect(failing.failures[0]).toContain('Cloudflare 403');
    expect(failing.failures[0]).not.toContain(SECRET);
    expect(failing.saved.some((s) => s.reconciled)).toBe(false);

    const throwing = world(MID_SWITCH, async () => {
      throw new Error('socket hang up');
    });
    await runPost(throwing.deps);
    expect(throwing.failures[0]).toContain('because socket hang up');
  });

  it('records "checked, nothing needed" as reconciled without claiming a restore', async () => {
    const w = world(MID_SWITCH, async () => ({ status: 'skipped', reason: 'production already on blue' }));
    await runPost(w.deps);
    expect(w.saved.at(-1)).toMatchObject({ reconciled: true, phase: 'switched' });
    expect(w.saved.at(-1)?.restored).toBeUndefined();
  });

  it('gives up on a restore that hangs after rollback-timeout', async () => {
    const w = world(MID_SWITCH, () => new Promise(() => {}), testConfig('deploy', { 'rollback-timeout': '150ms' }));
    const started = Date.now();
    await runPost(w.deps);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(w.failures[0]).toContain('did not finish within rollback-timeout');
  });

  it('warns (and does not act) for a rollback-mode run left mid-switch, and fails on unreadable state', async () => {
    const w = world({ ...MID_SWITCH, mode: 'rollback' }, async () => ({ status: 'passed', reason: '' }));
    await runPost(w.deps);
    expect(w.log.lines[0]).toMatch(/^warning .*not put back/);
    expect(w.saved).toEqual([]);

    const broken = world(new Error('the saved run state is not valid JSON'));
    await runPost(broken.deps);
    expect(broken.failures[0]).toContain('cannot tell whether production was left mid-switch');
  });
});

/** A deploy that stopped with its GitHub deployment (42) still open. */
const STOPPED: RunState = { ...MID_SWITCH, githubDeploymentId: 42 };

describe('looseEnds', () => {
  it('closes the record by where production is: validated → success, before the switch → error', () => {
    expect(looseEnds({ ...STOPPED, phase: 'validated' }).record).toEqual({
      id: 42,
      state: 'success',
      description: 'Live: green dpl_green is live and validated; cleanup was interrupted (closed by the post step)',
    });
    expect(looseEnds({ ...STOPPED, phase: 'cleaned' }).record).toMatchObject({ state: 'success' });
    for (const phase of ['started', 'preflight-passed', 'prepared', 'staged', 'smoke-passed'] as const) {
      expect(looseEnds({ ...STOPPED, phase, trafficBefore: undefined, greenShare: undefined }).record).toEqual({
        id: 42,
        state: 'error',
        description: 'Cancelled before traffic moved: production still serves blue (closed by the post step)',
      });
    }
    // The runner's cancel ends a pre-switch run in `failed`; a restored run is on blue as well.
    expect(looseEnds({ ...STOPPED, phase: 'failed', trafficBefore: undefined }).record?.state).toBe('error');
    expect(looseEnds({ ...STOPPED, phase: 'failed', restored: true }).record?.description).toContain('back on blue');
    expect(looseEnds({ ...STOPPED, phase: 'rolled-back', restored: true }).record?.state).toBe('failure');
  });

  it('leaves alone what is not its to say: mid-switch, green serving after a failure, rollback runs, reconciled', () => {
    expect(looseEnds({ ...STOPPED, phase: 'switched' })).toEqual({});
    expect(looseEnds({ ...STOPPED, phase: 'failed' })).toEqual({});
    expect(looseEnds({ ...STOPPED, phase: 'validated', mode: 'rollback' })).toEqual({});
    expect(looseEnds({ ...STOPPED, phase: 'validated', reconciled: true })).toEqual({});
    expect(looseEnds({ ...STOPPED, phase: 'no-go', githubDeploymentId: undefined })).toEqual({});
    expect(looseEnds(undefined)).toEqual({});
  });

  it('an upload that never became the verified backup must go; the verified one stays', () => {
    const flying = { bucket: 'b', key: 'p/1.dump', abandonedAt: '2026-01-01T00:00:00.000Z' };
    const base = { ...STOPPED, phase: 'failed' as const, githubDeploymentId: undefined, trafficBefore: undefined };
    expect(looseEnds({ ...base, backupInFlight: flying })).toEqual({ backup: flying });
    const verified = { bucket: 'b', key: 'p/1.dump', sha256: 'f'.repeat(64), size: 3 };
    expect(looseEnds({ ...base, backupInFlight: flying, backup: verified })).toEqual({});
  });
});

describe('runPost: closing what the main step left open', () => {
  const done = (lines: string[] = []): TidyOutcome => ({ done: lines, warnings: [], failures: [] });

  it("closes a validated run's record once, marks the state reconciled; a second run does nothing", async () => {
    const calls: LooseEnds[] = [];
    const w = world({ ...STOPPED, phase: 'validated' }, undefined, testConfig('deploy'), async (ctx, ends) => {
      expect(ctx.providers).toBe('providers');
      calls.push(ends);
      return done(['GitHub deployment 42 was still open: now success']);
    });
    await runPost(w.deps);
    expect(calls).toEqual([{ record: expect.objectContaining({ id: 42, state: 'success' }) }]);
    expect(w.failures).toEqual([]);
    expect(w.saved.at(-1)).toMatchObject({ reconciled: true, phase: 'validated' });
    expect(w.log.lines.join('\n')).toContain('now success');

    w.carryOver();
    await runPost(w.deps);
    expect(calls).toHaveLength(1);
    expect(w.log.lines.at(-1)).toContain('already reconciled');
  });

  it('an abandoned upload it could not remove fails the step; a record it could not close only warns', async () => {
    const flying = { bucket: 'b', key: 'p/1.dump' };
    const failing = world(
      { ...STOPPED, phase: 'failed', trafficBefore: undefined, backupInFlight: flying },
      undefined,
      testConfig('deploy'),
      async () => ({
        done: [],
        warnings: ['GitHub deployment 42 may still be open'],
        failures: [`s3://b/p/1.dump stays (HTTP 403 for ${SECRET})`],
      }),
    );
    await runPost(failing.deps);
    expect(failing.failures).toHaveLength(1);
    expect(failing.failures[0]).toMatch(/^production-deploy post: s3:\/\/b\/p\/1\.dump stays \(HTTP 403 for /);
    expect(failing.failures[0]).not.toContain(SECRET);
    expect(failing.saved.some((s) => s.reconciled)).toBe(false);

    const warned = world({ ...STOPPED, phase: 'staged' }, undefined, testConfig('deploy'), async () => ({
      done: [],
      warnings: ['GitHub deployment 42 may still be open: HTTP 503'],
      failures: [],
    }));
    await runPost(warned.deps);
    expect(warned.failures).toEqual([]);
    expect(warned.log.lines.join('\n')).toContain('may still be open');
    expect(warned.saved.some((s) => s.reconciled)).toBe(false);
  });

  it('clears the in-flight upload once it is gone, and reads no inputs when nothing is open', async () => {
    const w = world(
      {
        ...STOPPED,
        phase: 'failed',
        trafficBefore: undefined,
        githubDeploymentId: undefined,
        backupInFlight: { bucket: 'b', key: 'k' },
      },
      undefined,
      testConfig('deploy'),
      async () => done(['nothing is left under s3://b/k']),
    );
    await runPost(w.deps);
    expect(w.saved.at(-1)?.backupInFlight).toBeUndefined();
    expect(w.saved.at(-1)?.reconciled).toBe(true);

    const quiet = world({ ...STOPPED, phase: 'failed', trafficBefore: undefined, githubDeploymentId: undefined });
    quiet.deps.loadConfig = () => {
      throw new Error('must not be read');
    };
    await runPost(quiet.deps);
    expect(quiet.log.lines[0]).toContain('nothing to reconcile');
  });

  it('says so when it cannot check: no tidy in this build, unreadable inputs (failing only for an upload)', async () => {
    const none = world({ ...STOPPED, phase: 'staged' });
    await runPost(none.deps);
    expect(none.log.lines.at(-1)).toMatch(/^warning .*cannot check GitHub deployment 42/);
    expect(none.failures).toEqual([]);

    const unreadable = world(
      { ...STOPPED, phase: 'staged', backupInFlight: { bucket: 'b', key: 'k' } },
      undefined,
      testConfig('deploy'),
      async () => done(),
    );
    unreadable.deps.loadConfig = () => {
      throw new Error('Invalid input `environment`');
    };
    await runPost(unreadable.deps);
    expect(unreadable.failures[0]).toContain('Delete s3://b/k: it is not a verified backup');
  });

  it('gives up on closing that hangs, and fails when an upload may be left', async () => {
    const w = world(
      { ...STOPPED, phase: 'staged', backupInFlight: { bucket: 'b', key: 'k' } },
      undefined,
      testConfig('deploy'),
      () => new Promise(() => {}),
    );
    w.controller.abort(new Error('SIGTERM'));
    await runPost(w.deps);
    expect(w.failures[0]).toContain('cancelled');
  });
});

describe("the post step's budget: it finishes inside GitHub's forced termination", () => {
  it('bounds the restore by min(rollback-timeout, budget), the budget staying under 4 minutes', () => {
    expect(POST_BUDGET_MS).toBeLessThan(4 * 60_000);
    // The default rollback-timeout (600 s) is cut to the budget, less the time kept for the state and summary.
    expect(postRestoreTimeoutMs(600_000, POST_BUDGET_MS)).toBe(POST_BUDGET_MS - 10_000);
    expect(postRestoreTimeoutMs(60_000, POST_BUDGET_MS)).toBe(60_000);
    expect(postRestoreTimeoutMs(600_000, 30_000)).toBe(20_000);
    expect(postRestoreTimeoutMs(600_000, 0)).toBe(1_000);
  });

  it('gives up on a hanging restore at the budget even with a long rollback-timeout, and says which bound', async () => {
    const w = world(MID_SWITCH, () => new Promise(() => {}), testConfig('deploy', { 'rollback-timeout': '600' }));
    w.deps.budgetMs = 11_200; // 1.2 s for the restore once 10 s are kept back
    const started = Date.now();
    await runPost(w.deps);
    expect(Date.now() - started).toBeLessThan(6_000);
    expect(w.failures[0]).toMatch(/did not finish within the post step's budget \(1 s/);
    expect(w.failures[0]).toContain('PRODUCTION MAY BE ON THE NEW RELEASE');
  });

  it('bounds closing the records by what is left of the budget', async () => {
    const open: RunState = { ...MID_SWITCH, phase: 'validated', githubDeploymentId: 42 };
    const w = world(open, undefined, testConfig('deploy'), () => new Promise(() => {}));
    w.deps.budgetMs = 1_000;
    const started = Date.now();
    await runPost(w.deps);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(w.failures[0]).toMatch(/closing the run did not finish within 1 s/);
  });

  it('prints the recovery facts first, before reading the inputs or trying the restore', async () => {
    const order: string[] = [];
    const w = world(MID_SWITCH, async () => {
      order.push('restore');
      return { status: 'passed', reason: 'back' };
    });
    const load = w.deps.loadConfig;
    w.deps.loadConfig = () => {
      order.push(`config read after ${w.log.lines.length} line(s)`);
      return load();
    };
    await runPost(w.deps);
    expect(order).toEqual(['config read after 2 line(s)', 'restore']);
    const facts = w.log.lines[0]!;
    expect(facts).toMatch(/^warning production-deploy post: recovery facts \(phase switched, green at 100%\)/);
    expect(facts).toContain('green dpl_green (green.vercel.app)');
    expect(facts).toContain('blue dpl_blue (blue.vercel.app)');
    expect(facts).toContain(JSON.stringify(SNAPSHOT));
    expect(facts).toContain('mode: rollback with rollback-to: dpl_blue');
    expect(facts.split('\n')).toHaveLength(1);
  });

  it('the facts are in the log even when nothing else can be done (inputs unreadable)', async () => {
    const w = world(MID_SWITCH, async () => ({ status: 'passed', reason: '' }));
    w.deps.loadConfig = () => {
      throw new Error('INPUT_VERCEL-TOKEN is missing');
    };
    await runPost(w.deps);
    expect(w.log.lines[0]).toContain('recovery facts');
    expect(w.failures[0]).toContain('PRODUCTION MAY BE ON THE NEW RELEASE');
  });

  it('names the Cloudflare load balancer and every recorded field for a hand restore', () => {
    const facts = recoveryFacts({
      ...MID_SWITCH,
      greenShare: 50,
      trafficBefore: {
        kind: 'cloudflare',
        loadBalancerId: 'lb_1',
        poolWeights: { pool_b: 1, pool_g: 0 },
        defaultPools: ['pool_b', 'pool_g'],
        fallbackPool: 'pool_b',
        livePool: 'pool_b',
        slots: { pool_b: { hostname: 'blue.slot.example.com', deploymentId: 'dpl_blue' } },
        steeringPolicy: 'off',
      },
    });
    expect(facts).toContain('green at 50%');
    expect(facts).toContain('Cloudflare load balancer lb_1: live pool pool_b (→ dpl_blue), weights pool_b=1, pool_g=0');
    expect(facts).toContain('default pools pool_b, pool_g, fallback pool_b, steering off');
    expect(facts).toContain('PATCH load balancer lb_1 back to default_pools, fallback_pool');
    expect(facts).toContain('"steeringPolicy":"off"');
  });
});
