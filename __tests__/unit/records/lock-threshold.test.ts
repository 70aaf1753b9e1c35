import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Config } from '../../../src/config/types.ts';
import { startHeartbeat, type HeartbeatContext } from '../../../src/records/heartbeat.ts';
import {
  decideLock,
  heartbeatEveryMs,
  LOCK_ALLOWANCE_MS,
  lockStaleAfterMs,
  type RecordView,
} from '../../../src/records/lock.ts';
import { PAYLOAD_TOOL, parsePayload } from '../../../src/records/payload.ts';
import { testConfig } from '../pipeline/fixtures.ts';

const S = 1000;
const M = 60 * S;
type LockConfig = Pick<Config, 'strategy' | 'traffic' | 'validation'>;
const config = (o: {
  strategy?: Config['strategy'];
  steps?: number[];
  stepMs?: number;
  windowMs?: number;
  rollbackWindowMs?: number;
  intervalMs?: number;
  rollbackTimeoutMs?: number;
}): LockConfig =>
  ({
    strategy: o.strategy ?? 'canary',
    traffic: { manager: 'cloudflare', steps: o.steps ?? [10, 50, 100], stepDurationMs: o.stepMs ?? 10 * M },
    validation: {
      windowMs: o.windowMs ?? 5 * M,
      rollbackWindowMs: o.rollbackWindowMs ?? 5 * M,
      intervalMs: o.intervalMs ?? 30 * S,
      rollbackTimeoutMs: o.rollbackTimeoutMs ?? 10 * M,
    },
  }) as unknown as LockConfig;

describe('lockStaleAfterMs: the longest a live run can be silent', () => {
  it('covers every traffic step, the validation window, the sampling slack and rollback-timeout', () => {
    // 3 steps × 10m + 5m window + 3 watches × (4 + 2) × 30s + 10m restore + the allowance.
    expect(lockStaleAfterMs(config({}))).toBe(30 * M + 5 * M + 9 * M + 10 * M + LOCK_ALLOWANCE_MS);
  });
  it('is far longer than the old rollback-timeout + validation-window for a long canary', () => {
    const c = config({ stepMs: 20 * M });
    expect(lockStaleAfterMs(c)).toBeGreaterThan(c.traffic.steps.length * 20 * M + 5 * M + 10 * M);
  });
  it('uses rollback-window for immediate (the hotfix example: 15 minutes watched)', () => {
    const c = config({ strategy: 'immediate', steps: [100], rollbackWindowMs: 15 * M, windowMs: 1 * M });
    expect(lockStaleAfterMs(c)).toBe(10 * M + 15 * M + 6 * 30 * S + 10 * M + LOCK_ALLOWANCE_MS);
  });
  it('grows with each input it depends on', () => {
    const base = lockStaleAfterMs(config({}));
    expect(lockStaleAfterMs(config({ steps: [5, 10, 50, 100] }))).toBeGreaterThan(base);
    expect(lockStaleAfterMs(config({ stepMs: 11 * M }))).toBeGreaterThan(base);
    expect(lockStaleAfterMs(config({ windowMs: 6 * M }))).toBeGreaterThan(base);
    expect(lockStaleAfterMs(config({ intervalMs: 60 * S }))).toBeGreaterThan(base);
    expect(lockStaleAfterMs(config({ rollbackTimeoutMs: 11 * M }))).toBeGreaterThan(base);
    // The record is made while green builds: the build's whole health-check-timeout is covered too.
    expect(lockStaleAfterMs({ ...config({}), vercel: { healthCheckTimeoutMs: 20 * M } })).toBe(base + 20 * M);
  });
  it('reads a parsed config (defaults: 5m build, blue-green, one step of 2m, 5m window, 30s interval, 600s restore)', () => {
    const c = testConfig('deploy');
    expect(lockStaleAfterMs(c)).toBe(5 * M + 2 * M + 5 * M + 6 * 30 * S + 10 * M + LOCK_ALLOWANCE_MS);
  });
});

describe('heartbeatEveryMs', () => {
  it('is a quarter of the threshold, between once a minute and every 5 minutes', () => {
    expect(heartbeatEveryMs(8 * M)).toBe(2 * M);
    expect(heartbeatEveryMs(2 * M)).toBe(1 * M);
    expect(heartbeatEveryMs(3 * 60 * M)).toBe(5 * M);
    expect(heartbeatEveryMs(lockStaleAfterMs(testConfig('deploy')))).toBeLessThanOrEqual(5 * M);
  });
});

describe("a holder's recorded threshold", () => {
  const NOW = Date.parse('2026-10-01T12:00:00Z');
  const holder = (staleAfterMs: number | undefined, silentMs: number): RecordView => {
    const at = new Date(NOW - silentMs).toISOString();
    return {
      id: 1,
      createdAt: at,
      payload: {
        tool: PAYLOAD_TOOL,
        version: 1,
        kind: 'deploy',
        runId: '10',
        runAttempt: 1,
        runUrl: 'https://github.com/o/r/actions/runs/10',
        sha: 'a'.repeat(40),
        environment: 'production',
        strategy: 'canary',
        trafficManager: 'cloudflare',
        green: { id: 'dpl_g', url: 'g.vercel.app' },
        ...(staleAfterMs ? { staleAfterMs } : {}),
      },
      latest: { state: 'in_progress', createdAt: at },
    };
  };
  it('keeps a long canary locked against a run with shorter settings (a hotfix)', () => {
    expect(decideLock([holder(60 * M, 30 * M)], '12', NOW, 20 * M).kind).toBe('held');
  });
  it("is never shorter than the checker's own", () => {
    expect(decideLock([holder(1 * M, 10 * M)], '12', NOW, 20 * M).kind).toBe('held');
    expect(decideLock([holder(1 * M, 21 * M)], '12', NOW, 20 * M).kind).toBe('free');
  });
  it('is read from the payload only when it is a positive number', () => {
    const base = {
      tool: PAYLOAD_TOOL,
      version: 1,
      runId: '1',
      sha: 'a',
      environment: 'p',
      green: { id: 'd', url: 'u' },
    };
    expect(parsePayload({ ...base, staleAfterMs: 5 * M })?.staleAfterMs).toBe(5 * M);
    for (const bad of ['5', -1, Number.NaN, null]) {
      expect(parsePayload({ ...base, staleAfterMs: bad })).not.toHaveProperty('staleAfterMs');
    }
  });
});

describe('startHeartbeat', () => {
  afterEach(() => vi.useRealTimers());
  const ctx = (id: number | undefined, calls: { id: number; description?: string }[]): HeartbeatContext => ({
    config: { ...(config({}) as Config), run: { runUrl: 'https://log' } as Config['run'] },
    log: { warning: () => undefined },
    state: id === undefined ? {} : { githubDeploymentId: id },
    providers: {
      github: {
        createDeploymentStatus: async (i: number, s: { description?: string }) => {
          calls.push({ id: i, description: s.description });
        },
      } as unknown as HeartbeatContext['providers']['github'],
    },
  });

  it('writes one in_progress status per interval while the watch runs, and none after it stops', async () => {
    vi.useFakeTimers();
    const calls: { id: number; description?: string }[] = [];
    const stop = startHeartbeat(ctx(7, calls), (t) => `watched ${t}`, { everyMs: M });
    await vi.advanceTimersByTimeAsync(59 * S);
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(2 * M + 2 * S);
    expect(calls).toEqual([
      { id: 7, description: 'watched 1m' },
      { id: 7, description: 'watched 2m' },
      { id: 7, description: 'watched 3m' },
    ]);
    await stop();
    await vi.advanceTimersByTimeAsync(10 * M);
    expect(calls).toHaveLength(3);
  });

  it('makes no call for a watch shorter than one interval, or without a record', async () => {
    vi.useFakeTimers();
    const calls: { id: number; description?: string }[] = [];
    const stop = startHeartbeat(ctx(7, calls), () => 'x', { everyMs: M });
    await vi.advanceTimersByTimeAsync(30 * S);
    await stop();
    const none = startHeartbeat(ctx(undefined, calls), () => 'x', { everyMs: M });
    await vi.advanceTimersByTimeAsync(5 * M);
    await none();
    expect(calls).toEqual([]);
  });

  it('waits for a heartbeat in flight before the stop resolves (none lands after the final status)', async () => {
    vi.useFakeTimers();
    const order: string[] = [];
    const c = ctx(7, []);
    c.providers.github = {
      createDeploymentStatus: async () => {
        await new Promise((r) => setTimeout(r, 5 * S));
        order.push('heartbeat written');
      },
    } as unknown as HeartbeatContext['providers']['github'];
    const stop = startHeartbeat(c, () => 'x', { everyMs: M });
    await vi.advanceTimersByTimeAsync(M + S);
    const stopped = stop().then(() => order.push('stopped'));
    await vi.advanceTimersByTimeAsync(5 * S);
    await stopped;
    expect(order).toEqual(['heartbeat written', 'stopped']);
  });

  it('derives its interval from the config: at most every 5 minutes', async () => {
    vi.useFakeTimers();
    const calls: { id: number; description?: string }[] = [];
    const stop = startHeartbeat(ctx(7, calls), () => 'x');
    await vi.advanceTimersByTimeAsync(5 * M + S);
    await stop();
    expect(calls).toHaveLength(1);
  });
});
