import { describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config/types.ts';
import { postDecision, runPost, type PostDeps } from '../../../src/pipeline/reconcile.ts';
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
  reconcile?: (ctx: StepContext<string>) => Promise<StepOutcome>,
  config: Config = testConfig('deploy'),
) {
  const saved: RunState[] = [];
  const failures: string[] = [];
  const log = recordingLogger();
  const controller = new AbortController();
  let current = initial;
  const deps: PostDeps<string> = {
    loadState: () => {
      if (current instanceof Error) throw current;
      return current;
    },
    saveState: (state, secrets) => {
      expect(secrets).toEqual(config.secrets);
      saved.push(structuredClone(state));
    },
    loadConfig: () => config,
    createProviders: () => 'providers',
    reconcile,
    logger: () => log,
    signal: controller.signal,
    fail: (m) => failures.push(m),
    appendSummary: async () => {},
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
