import { describe, expect, it, vi } from 'vitest';
import { canTransition } from '../../../src/pipeline/phase.ts';
import { DEPLOY_POLICY, policyFor } from '../../../src/pipeline/policy.ts';
import { runPipeline, type RestoreFn } from '../../../src/pipeline/runner.ts';
import type { RunState, StepName } from '../../../src/pipeline/types.ts';
import { deploySteps, harness, SNAPSHOT, step, testConfig } from './fixtures.ts';

const fail = (reason: string) => async () => ({ status: 'failed' as const, reason });

/** A restore that records its calls and succeeds. */
function recordingRestore() {
  const calls: { state: RunState; reason: string }[] = [];
  const fn: RestoreFn = async (state, reason) => {
    calls.push({ state: structuredClone(state), reason });
  };
  return { fn, calls };
}

async function deployWith(override: Parameters<typeof deploySteps>[0], restore?: RestoreFn) {
  const config = testConfig('deploy');
  const h = harness(config);
  const result = await runPipeline({ steps: deploySteps(override), ctx: h.ctx, restore });
  return { ...h, result };
}

describe('runPipeline: a deploy that meets no failure', () => {
  it('runs the seven steps in order, times them, and ends success in phase cleaned', async () => {
    const order: StepName[] = [];
    const config = testConfig('deploy');
    const h = harness(config);
    const steps = deploySteps().map((s) => ({
      ...s,
      run: async (c: Parameters<typeof s.run>[0]) => (order.push(s.name), s.run(c)),
    }));
    const result = await runPipeline({ steps, ctx: h.ctx });
    expect(order).toEqual(['preflight', 'prepare', 'deploy', 'smoke', 'traffic', 'validate', 'cleanup']);
    expect(result.status).toBe('success');
    expect(result.go).toBe(true);
    expect(result.reason).toContain('dpl_green is live in production');
    expect(result.results.map((r) => r.status)).toEqual(Array(7).fill('passed'));
    for (const r of result.results) {
      expect(r.durationMs).toBeGreaterThanOrEqual(0);
      expect(Number.isNaN(Date.parse(r.startedAt))).toBe(false);
    }
    expect(h.store.state.phase).toBe('cleaned');
    // Every change was persisted, the last one being the terminal phase.
    expect(h.saved.at(-1)?.phase).toBe('cleaned');
    expect(h.saved.map((s) => s.phase)).toContain('switching');
  });

  it('runs each step inside its log group', async () => {
    const groups: string[] = [];
    const h = harness(testConfig('deploy'));
    await runPipeline({
      steps: deploySteps(),
      ctx: h.ctx,
      group: async (title, fn) => {
        groups.push(title);
        return fn();
      },
    });
    expect(groups).toEqual(deploySteps().map((s) => s.title));
  });

  it('records skipped and warned steps with their reasons and carries on', async () => {
    const { result, store } = await deployWith({
      prepare: async (c) => (c.update({ phase: 'prepared' }), { status: 'skipped', reason: 'no backup configured' }),
      smoke: async (c) => (c.update({ phase: 'smoke-passed' }), { status: 'warned', reason: 'p95 close to budget' }),
    });
    expect(result.status).toBe('success');
    expect(result.reason).toContain('with warnings from step smoke');
    expect(result.results.find((r) => r.name === 'prepare')).toMatchObject({
      status: 'skipped',
      reason: 'no backup configured',
    });
    expect(result.decisions.map((d) => d.decision)).toEqual(
      expect.arrayContaining([
        'step prepare skipped: no backup configured → continue',
        'step smoke warned: p95 close to budget → continue',
      ]),
    );
    expect(store.state.phase).toBe('cleaned');
  });
});

describe('runPipeline: the error policy, row by row', () => {
  it('the table has one row per deploy step, as docs/architecture.md says', () => {
    expect(DEPLOY_POLICY.preflight.onFailure).toBe('no-go');
    expect(DEPLOY_POLICY.prepare.onFailure).toBe('stop');
    expect(DEPLOY_POLICY.deploy).toMatchObject({ onFailure: 'stop', ensureBlue: true });
    expect(DEPLOY_POLICY.smoke.onFailure).toBe('stop');
    expect(DEPLOY_POLICY.traffic.onFailure).toBe('restore');
    expect(DEPLOY_POLICY.validate.onFailure).toBe('restore');
    expect(DEPLOY_POLICY.cleanup.onFailure).toBe('warn');
    for (const name of ['preflight', 'traffic', 'validate', 'rollback'] as StepName[]) {
      expect(policyFor('rollback', name).onFailure).toBe('stop');
    }
    expect(policyFor('plan', 'preflight').onFailure).toBe('no-go');
    expect(policyFor('plan', 'plan').onFailure).toBe('stop');
  });

  it('pre-flight failure → no-go, go=false, nothing else runs', async () => {
    const restore = recordingRestore();
    const { result, store } = await deployWith({ preflight: fail('2 checks failed') }, restore.fn);
    expect(result.status).toBe('no-go');
    expect(result.go).toBe(false);
    expect(result.reason).toBe('step preflight failed: 2 checks failed');
    expect(result.results).toHaveLength(1);
    expect(store.state.phase).toBe('no-go');
    expect(restore.calls).toHaveLength(0);
    expect(result.decisions.some((d) => d.step === 'preflight' && d.decision.includes('no-go'))).toBe(true);
  });

  it('prepare failure → failed, nothing deployed, no restore', async () => {
    const restore = recordingRestore();
    const { result, store } = await deployWith({ prepare: fail('backup upload failed') }, restore.fn);
    expect(result).toMatchObject({ status: 'failed', go: true });
    expect(result.results.map((r) => r.name)).toEqual(['preflight', 'prepare']);
    expect(result.decisions.some((d) => d.decision.includes('nothing was deployed'))).toBe(true);
    expect(store.state.phase).toBe('failed');
    expect(restore.calls).toHaveLength(0);
  });

  it('deploy failure → failed, production still on blue, no restore when no traffic state was recorded', async () => {
    const restore = recordingRestore();
    const { result, store } = await deployWith(
      {
        deploy: async (c) => {
          c.update({ green: { id: 'dpl_green', url: 'green.vercel.app' } });
          throw new Error('build failed: exit 1');
        },
      },
      restore.fn,
    );
    expect(result.status).toBe('failed');
    expect(result.reason).toContain('build failed: exit 1');
    expect(result.reason).toContain('production is still on blue');
    expect(store.state.green?.id).toBe('dpl_green');
    expect(restore.calls).toHaveLength(0);
  });

  it('deploy failure after a traffic state was recorded → ensures blue (restore once), still failed', async () => {
    const restore = recordingRestore();
    const { result, store } = await deployWith(
      {
        deploy: async (c) => {
          c.update({ trafficBefore: SNAPSHOT });
          return { status: 'failed', reason: 'slot alias failed' };
        },
      },
      restore.fn,
    );
    expect(result.status).toBe('failed');
    expect(restore.calls).toHaveLength(1);
    expect(restore.calls[0]!.state.trafficBefore).toEqual(SNAPSHOT);
    expect(store.state.restored).toBe(true);
    expect(store.state.phase).toBe('failed');
  });

  it('smoke failure → failed, the switch is blocked, green named, no restore', async () => {
    const restore = recordingRestore();
    const { result, store } = await deployWith({ smoke: fail('GET /checkout → 500') }, restore.fn);
    expect(result.status).toBe('failed');
    expect(result.results.map((r) => r.name)).not.toContain('traffic');
    expect(result.decisions.some((d) => d.decision.includes('the switch is blocked'))).toBe(true);
    expect(store.state.green?.id).toBe('dpl_green');
    expect(restore.calls).toHaveLength(0);
  });

  it('traffic failure → restores the recorded state at once → rolled-back', async () => {
    const restore = recordingRestore();
    const { result, store } = await deployWith(
      {
        traffic: async (c) => {
          c.update({ trafficBefore: SNAPSHOT, phase: 'switching', greenShare: 10 });
          throw new Error('PATCH load balancer → 500');
        },
      },
      restore.fn,
    );
    expect(result.status).toBe('rolled-back');
    expect(restore.calls).toHaveLength(1);
    expect(restore.calls[0]!.reason).toContain('PATCH load balancer → 500');
    expect(store.state).toMatchObject({ phase: 'rolled-back', restored: true, greenShare: 0 });
    expect(result.results.map((r) => r.name)).not.toContain('validate');
    const words = result.decisions.map((d) => d.decision);
    expect(words.some((w) => w.startsWith('restore finished'))).toBe(true);
  });

  it('traffic failure before any traffic state was recorded → failed, nothing to restore', async () => {
    const restore = recordingRestore();
    const { result, store } = await deployWith({ traffic: fail('could not read the load balancer') }, restore.fn);
    expect(result.status).toBe('failed');
    expect(result.reason).toContain('production is still on blue');
    expect(restore.calls).toHaveLength(0);
    expect(store.state.phase).toBe('failed');
  });

  it('validate failure → restores blue → rolled-back', async () => {
    const restore = recordingRestore();
    const { result, store } = await deployWith(
      { validate: fail('error rate 0.031 > 0.01 in 3 of 10 samples') },
      restore.fn,
    );
    expect(result.status).toBe('rolled-back');
    expect(restore.calls).toHaveLength(1);
    expect(store.state).toMatchObject({ phase: 'rolled-back', restored: true });
    expect(result.results.map((r) => r.name)).not.toContain('cleanup');
  });

  it('no-data inconclusive with green at 100% → failed without a rollback; green keeps production', async () => {
    const restore = recordingRestore();
    const { result, store } = await deployWith(
      {
        validate: async () => ({
          status: 'failed',
          reason: 'no data for error rate at 12:03:30 (no-data: inconclusive)',
          stopWithoutRollback: true,
        }),
      },
      restore.fn,
    );
    expect(result.status).toBe('failed');
    expect(restore.calls).toHaveLength(0);
    expect(store.state.phase).toBe('failed');
    expect(result.decisions.map((d) => d.decision).join('\n')).toContain('green keeps production');
  });

  it('no-data inconclusive mid-canary → blue is restored anyway, never two versions left in production', async () => {
    const restore = recordingRestore();
    const { result, store } = await deployWith(
      {
        traffic: async (c) => {
          c.update({ trafficBefore: SNAPSHOT, greenShare: 0 });
          c.update({ phase: 'switching', greenShare: 10 });
          return {
            status: 'failed',
            reason: 'no data at the 10% step (no-data: inconclusive)',
            stopWithoutRollback: true,
          };
        },
      },
      restore.fn,
    );
    expect(result.status).toBe('rolled-back');
    expect(restore.calls).toHaveLength(1);
    expect(store.state.restored).toBe(true);
    expect(result.decisions.map((d) => d.decision).join('\n')).toContain('green serves only 10%');
  });

  it('a step that restored blue itself is not restored twice', async () => {
    const restore = recordingRestore();
    const { result } = await deployWith(
      { validate: async (c) => (c.update({ restored: true }), { status: 'failed', reason: 'breach' }) },
      restore.fn,
    );
    expect(result.status).toBe('rolled-back');
    expect(restore.calls).toHaveLength(0);
  });

  it('cleanup failure → a warning; the deploy stands (success)', async () => {
    const restore = recordingRestore();
    const { result, store, log } = await deployWith({ cleanup: fail('Slack 500') }, restore.fn);
    expect(result.status).toBe('success');
    const cleanup = result.results.find((r) => r.name === 'cleanup');
    expect(cleanup?.status).toBe('warned');
    expect(cleanup?.reason).toContain('Slack 500');
    expect(cleanup?.reason).toContain('the deploy stands');
    expect(store.state.phase).toBe('cleaned');
    expect(restore.calls).toHaveLength(0);
    expect(log.lines.some((l) => l.startsWith('warning') && l.includes('Slack 500'))).toBe(true);
  });

  it('rollback mode: a failed step fails the run and never restores the state it rolled away from', async () => {
    const restore = recordingRestore();
    const h = harness(testConfig('rollback'));
    const rollback = step('rollback', async (c) => {
      c.update({ trafficBefore: SNAPSHOT, phase: 'switching' });
      throw new Error('instant rollback → 409');
    });
    const result = await runPipeline({ steps: [rollback], ctx: h.ctx, restore: restore.fn });
    expect(result.status).toBe('failed');
    expect(restore.calls).toHaveLength(0);
    expect(h.store.state.phase).toBe('failed');
  });

  it('rollback mode success ends in phase rolled-back; plan mode ends planned', async () => {
    const r = harness(testConfig('rollback'));
    const rolled = await runPipeline({
      steps: [step('rollback', async () => ({ status: 'passed', reason: 'back on dpl_old' }))],
      ctx: r.ctx,
    });
    expect(rolled.status).toBe('success');
    expect(r.store.state.phase).toBe('rolled-back');

    const p = harness(testConfig('plan'));
    const planned = await runPipeline({
      steps: [
        step('preflight', async (c) => (c.update({ phase: 'preflight-passed' }), { status: 'passed', reason: 'go' })),
        step('plan', async () => ({ status: 'passed', reason: 'blue is pool-a' })),
      ],
      ctx: p.ctx,
    });
    expect(planned).toMatchObject({ status: 'planned', go: true });
    expect(p.store.state.phase).toBe('planned');
  });
});

describe('runPipeline: restore that fails', () => {
  const switchThenBreach = {
    validate: async () => ({ status: 'failed' as const, reason: 'latency 900 ms > 500 ms' }),
  };

  it('a failing restore ends the run failed, loudly, saying production may be on green and how to recover', async () => {
    const { result, store, log } = await deployWith(switchThenBreach, async () => {
      throw new Error('Cloudflare 503');
    });
    expect(result.status).toBe('failed');
    expect(result.restoreFailed).toContain('ROLLBACK FAILED: Cloudflare 503');
    expect(result.restoreFailed).toContain('dpl_green');
    expect(result.restoreFailed).toContain('rollback-to: dpl_blue');
    expect(result.restoreFailed).toContain('post step');
    expect(log.lines.some((l) => l.startsWith('error ROLLBACK FAILED'))).toBe(true);
    // The phase stays mid-switch so that the post step tries again.
    expect(store.state.phase).toBe('switched');
    expect(store.state.restored).toBeUndefined();
  });

  it('a restore that hangs is given up after rollback-timeout', async () => {
    const config = testConfig('deploy', { 'rollback-timeout': '200ms' });
    const h = harness(config);
    let sawAbort = false;
    const started = Date.now();
    const result = await runPipeline({
      steps: deploySteps(switchThenBreach),
      ctx: h.ctx,
      restore: (_state, _reason, signal) =>
        new Promise(() => {
          signal.addEventListener('abort', () => (sawAbort = true));
        }),
    });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(result.status).toBe('failed');
    expect(result.restoreFailed).toContain('did not finish within rollback-timeout');
    expect(sawAbort).toBe(true);
  });

  it('with no traffic manager to restore with, the run fails loudly rather than claiming a rollback', async () => {
    const { result } = await deployWith(switchThenBreach, undefined);
    expect(result.status).toBe('failed');
    expect(result.restoreFailed).toContain('no traffic manager is available');
  });
});

describe('runPipeline: cancellation', () => {
  it('stops after the current step settles, saves state, and ends failed with "cancelled"', async () => {
    const config = testConfig('deploy');
    const h = harness(config);
    const ran: StepName[] = [];
    const steps = deploySteps({
      prepare: async (c) => {
        ran.push('prepare');
        h.controller.abort(new Error('SIGINT'));
        c.update({ phase: 'prepared' });
        return { status: 'passed', reason: 'ready' };
      },
      deploy: async () => (ran.push('deploy'), { status: 'passed', reason: 'never' }),
    });
    const savedBefore = h.saved.length;
    const result = await runPipeline({ steps, ctx: h.ctx });
    expect(ran).toEqual(['prepare']);
    expect(result).toMatchObject({ status: 'failed', cancelled: true });
    expect(result.reason).toBe('cancelled (SIGINT) after step prepare');
    expect(h.saved.length).toBeGreaterThan(savedBefore);
    expect(h.saved.at(-1)?.phase).toBe('failed');
  });

  it('mid-switch: applies no policy, leaves the phase for the post step, does not restore', async () => {
    const restore = recordingRestore();
    const h = harness(testConfig('deploy'));
    const steps = deploySteps({
      traffic: async (c) => {
        c.update({ trafficBefore: SNAPSHOT, phase: 'switching', greenShare: 10 });
        h.controller.abort(new Error('SIGTERM'));
        throw new DOMException('This operation was aborted', 'AbortError');
      },
    });
    const result = await runPipeline({ steps, ctx: h.ctx, restore: restore.fn });
    expect(result).toMatchObject({ status: 'failed', cancelled: true });
    expect(restore.calls).toHaveLength(0);
    expect(h.saved.at(-1)).toMatchObject({ phase: 'switching', trafficBefore: SNAPSHOT });
    expect(result.decisions.some((d) => d.decision.includes('post step restores blue'))).toBe(true);
  });

  it('after validation passed: keeps `validated` (green is live) and says only cleanup was cut short', async () => {
    const h = harness(testConfig('deploy'));
    const steps = deploySteps({
      cleanup: async () => {
        h.controller.abort(new Error('SIGINT'));
        return { status: 'warned', reason: 'retire blue: SIGINT' };
      },
    });
    const result = await runPipeline({ steps, ctx: h.ctx });
    expect(result).toMatchObject({ status: 'failed', cancelled: true });
    expect(result.reason).toMatch(
      /^cancelled \(SIGINT\) after step cleanup: green .* is live and validated; only cleanup was cut short$/,
    );
    expect(h.saved.at(-1)?.phase).toBe('validated');
  });

  it('an already aborted signal runs no step at all', async () => {
    const h = harness(testConfig('deploy'));
    h.controller.abort(new Error('SIGINT'));
    const result = await runPipeline({ steps: deploySteps(), ctx: h.ctx });
    expect(result.results).toHaveLength(0);
    expect(result.reason).toBe('cancelled (SIGINT) before the first step');
  });
});

describe('runPipeline: robustness', () => {
  it('a thrown non-Error, an invalid outcome and an illegal phase move all become failed results', async () => {
    const h1 = harness(testConfig('deploy'));
    const r1 = await runPipeline({
      steps: [
        step('preflight', async () => {
          throw 'plain string';
        }),
      ],
      ctx: h1.ctx,
    });
    expect(r1.results[0]).toMatchObject({ status: 'failed', reason: 'plain string' });

    const h2 = harness(testConfig('deploy'));
    const r2 = await runPipeline({
      steps: [step('preflight', async () => ({ status: 'ok', reason: 1 }) as never)],
      ctx: h2.ctx,
    });
    expect(r2.results[0]?.reason).toContain('invalid outcome');

    const h3 = harness(testConfig('deploy'));
    const r3 = await runPipeline({
      steps: [step('preflight', async (c) => (c.update({ phase: 'validated' }), { status: 'passed', reason: '' }))],
      ctx: h3.ctx,
    });
    expect(r3.results[0]?.reason).toContain('illegal phase transition started → validated');
    expect(r3.status).toBe('no-go');
  });

  it('onStepDone errors are logged, never fatal; it sees every step', async () => {
    const seen: string[] = [];
    const h = harness(testConfig('deploy'));
    const onStepDone = vi.fn(async (r: { name: string }) => {
      seen.push(r.name);
      if (r.name === 'smoke') throw new Error('Slack down');
    });
    const result = await runPipeline({ steps: deploySteps(), ctx: h.ctx, onStepDone });
    expect(result.status).toBe('success');
    expect(seen).toHaveLength(7);
    expect(h.log.lines.some((l) => l.includes('could not update') && l.includes('Slack down'))).toBe(true);
  });

  it('an empty step list fails the run instead of succeeding', async () => {
    const h = harness(testConfig('deploy'));
    const result = await runPipeline({ steps: [], ctx: h.ctx });
    expect(result).toMatchObject({ status: 'failed', reason: 'no steps to run for mode deploy' });
  });

  it('a reason with line breaks cannot start a log line of its own', async () => {
    const h = harness(testConfig('deploy'));
    await runPipeline({
      steps: [step('preflight', async () => ({ status: 'failed', reason: 'bad\n::set-output name=x::evil' }))],
      ctx: h.ctx,
    });
    expect(h.log.lines.every((l) => !l.includes('\n'))).toBe(true);
  });
});

describe('phases', () => {
  it('follow the state machine; terminal phases go nowhere', () => {
    expect(canTransition('smoke-passed', 'switching')).toBe(true);
    expect(canTransition('switching', 'switching')).toBe(true);
    expect(canTransition('switched', 'rolled-back')).toBe(true);
    expect(canTransition('staged', 'switched')).toBe(false);
    expect(canTransition('cleaned', 'rolled-back')).toBe(false);
    expect(canTransition('failed', 'started')).toBe(false);
  });
});
