import { describe, expect, it } from 'vitest';
import { closingSignal, finishRun, tidyAfterRun } from '../../../src/pipeline/close-run.ts';
import type { LooseEnds } from '../../../src/pipeline/post-step.ts';
import type { RunState, StepContext } from '../../../src/pipeline/types.ts';
import type { Providers } from '../../../src/providers/index.ts';
import { recordingLogger, SNAPSHOT, testConfig } from './fixtures.ts';

type Status = { state: string; description?: string };

/**
 * A GitHub deployment store: what finishRun and tidyAfterRun read and write, nothing else. Deployment
 * 7 is the run's; 3 is the release before it (`success`). `failReads` makes the statuses read fail
 * as a rate limit would.
 */
function statusStore(initial: string, o: { failReads?: boolean; hang?: boolean } = {}) {
  const statuses = new Map<number, Status[]>([
    [7, [{ state: initial }]],
    [3, [{ state: 'success' }]],
  ]);
  const writes: (Status & { id: number })[] = [];
  const hang = () => new Promise<never>(() => {});
  const github = {
    listDeployments: async () => [{ id: 7 }, { id: 3 }],
    listDeploymentStatuses: async (id: number) => {
      if (o.hang) return hang();
      if (o.failReads) throw new Error('GitHub listDeploymentStatuses failed: HTTP 429 Rate limit exceeded');
      return [...(statuses.get(id) ?? [])].reverse();
    },
    createDeploymentStatus: async (id: number, s: Status) => {
      if (o.hang) return hang();
      statuses.get(id)?.push({ state: s.state, description: s.description });
      writes.push({ id, state: s.state, description: s.description });
      return { id: writes.length };
    },
  };
  return { statuses, writes, github };
}

const base: RunState = { phase: 'failed', mode: 'deploy', environment: 'production', sha: 'a'.repeat(40) };
const GREEN = { id: 'dpl_green', url: 'green.vercel.app' };
/** Green took all traffic and passed validation. */
const VALIDATED: RunState = {
  ...base,
  phase: 'validated',
  githubDeploymentId: 7,
  green: GREEN,
  trafficBefore: SNAPSHOT,
  greenShare: 100,
};

async function finish(
  state: RunState,
  final: Parameters<typeof finishRun>[0]['final'],
  initial = 'in_progress',
  o: { failReads?: boolean } = {},
  log = recordingLogger(),
) {
  const store = statusStore(initial, o);
  const providers = { github: store.github } as unknown as Parameters<typeof finishRun>[0]['providers'];
  await finishRun({ config: testConfig('deploy'), providers, state, final, log });
  return store.writes;
}

describe('finishRun: records the steps could not close', () => {
  it('a failed run gives its open record the final status failure with the reason', async () => {
    const written = await finish({ ...base, githubDeploymentId: 7 }, { status: 'failed', reason: 'smoke failed' });
    expect(written).toHaveLength(1);
    expect(written[0]?.state).toBe('failure');
  });

  it('writes the final status even when the statuses cannot be read (a 429 on the read)', async () => {
    const log = recordingLogger();
    const written = await finish(
      { ...base, githubDeploymentId: 7 },
      { status: 'rolled-back', reason: 'error rate 0.3 > 0.05' },
      'in_progress',
      { failReads: true },
      log,
    );
    expect(written).toEqual([
      expect.objectContaining({ id: 7, state: 'failure', description: 'Rolled back: error rate 0.3 > 0.05' }),
    ]);
    expect(log.lines.join('\n')).toContain('writing its final status anyway');
  });

  it('a run cancelled before traffic moved marks its record error, so it does not hold the lock', async () => {
    const written = await finish(
      { ...base, phase: 'staged', githubDeploymentId: 7 },
      { status: 'failed', reason: 'cancelled', cancelled: true },
    );
    expect(written).toEqual([
      expect.objectContaining({ state: 'error', description: expect.stringContaining('before traffic moved') }),
    ]);
  });

  it('a cancelled run whose statuses cannot be read is still marked', async () => {
    const written = await finish(
      { ...base, phase: 'failed', githubDeploymentId: 7 },
      { status: 'failed', reason: 'cancelled', cancelled: true },
      'in_progress',
      { failReads: true },
    );
    expect(written).toEqual([expect.objectContaining({ id: 7, state: 'error' })]);
  });

  it('a run cancelled after validation passed is success (green is live), and the release before goes inactive', async () => {
    const log = recordingLogger();
    const written = await finish(
      VALIDATED,
      { status: 'failed', reason: 'cancelled', cancelled: true },
      'in_progress',
      {},
      log,
    );
    expect(written).toEqual([
      expect.objectContaining({
        id: 7,
        state: 'success',
        description: 'Live: green dpl_green is live and validated; the run was cancelled during cleanup',
      }),
      expect.objectContaining({ id: 3, state: 'inactive' }),
    ]);
    expect(log.lines.join('\n')).toContain('only cleanup was cut short');
  });

  it('a run cancelled mid-switch is left to the post step (it restores blue first)', async () => {
    const written = await finish(
      { ...base, phase: 'switching', githubDeploymentId: 7 },
      { status: 'failed', reason: 'cancelled', cancelled: true },
    );
    expect(written).toEqual([]);
  });

  it('a record somebody already closed is not written again', async () => {
    const written = await finish({ ...base, githubDeploymentId: 7 }, { status: 'failed', reason: 'x' }, 'failure');
    expect(written).toEqual([]);
    const cancelled = await finish(VALIDATED, { status: 'failed', reason: 'c', cancelled: true }, 'success');
    expect(cancelled).toEqual([]);
  });

  it('success, no-go and plan runs are closed by their own steps', async () => {
    for (const status of ['success', 'no-go', 'planned'] as const) {
      expect(await finish({ ...base, githubDeploymentId: 7 }, { status, reason: 'r' })).toEqual([]);
    }
  });

  it('stops waiting at its deadline when GitHub does not answer', async () => {
    const store = statusStore('in_progress', { hang: true });
    const providers = { github: store.github } as unknown as Parameters<typeof finishRun>[0]['providers'];
    const run = new AbortController();
    run.abort(new Error('SIGINT'));
    const started = Date.now();
    await finishRun({
      config: testConfig('deploy'),
      providers,
      state: { ...base, phase: 'staged', githubDeploymentId: 7 },
      final: { status: 'failed', reason: 'cancelled', cancelled: true },
      log: recordingLogger(),
      signal: closingSignal(run.signal, 100),
    });
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('closingSignal', () => {
  it('outlives the run signal by the grace period, counted from the cancel', async () => {
    const run = new AbortController();
    const closing = closingSignal(run.signal, 80);
    await new Promise((r) => setTimeout(r, 120));
    expect(closing.aborted).toBe(false);
    run.abort(new Error('SIGINT'));
    expect(closing.aborted).toBe(false);
    await new Promise((r) => setTimeout(r, 150));
    expect(closing.aborted).toBe(true);
    expect((closing.reason as DOMException).name).toBe('TimeoutError');

    const already = new AbortController();
    already.abort(new Error('SIGINT'));
    const late = closingSignal(already.signal, 50);
    expect(late.aborted).toBe(false);
    await new Promise((r) => setTimeout(r, 100));
    expect(late.aborted).toBe(true);
  });
});

describe('tidyAfterRun: the post step closes what is still open', () => {
  function ctx(providers: Partial<Providers>): StepContext<{ providers: Providers }> {
    return {
      config: testConfig('deploy'),
      providers: providers as Providers,
      log: recordingLogger(),
      signal: new AbortController().signal,
      state: VALIDATED,
      update: () => {},
      results: [],
    };
  }
  const record = { id: 7, state: 'success', description: 'Live: green dpl_green is live and validated' } as const;

  it('writes the final status once: a second run finds it closed and writes nothing', async () => {
    const store = statusStore('in_progress');
    const c = ctx({ github: store.github as unknown as Providers['github'] });
    const first = await tidyAfterRun(c, { record });
    expect(first).toMatchObject({ warnings: [], failures: [] });
    expect(first.done[0]).toContain('was still open: now success');
    expect(store.writes.map((w) => `${w.id} ${w.state}`)).toEqual(['7 success', '3 inactive']);
    const second = await tidyAfterRun(c, { record });
    expect(second.done).toEqual(['GitHub deployment 7 was already closed']);
    expect(store.writes).toHaveLength(2);
  });

  it('does not write when it cannot read: a warning instead (run twice, it would write twice)', async () => {
    const store = statusStore('in_progress', { failReads: true });
    const out = await tidyAfterRun(ctx({ github: store.github as unknown as Providers['github'] }), { record });
    expect(store.writes).toEqual([]);
    expect(out.warnings[0]).toContain('GitHub deployment 7 may still be open (it should be success)');
    expect(out.failures).toEqual([]);
  });

  it('an abandoned upload without a backup store to check it with fails, naming the object', async () => {
    const ends: LooseEnds = { backup: { bucket: 'b', key: 'k.dump', abandonedAt: new Date().toISOString() } };
    const out = await tidyAfterRun(ctx({ github: statusStore('success').github as never }), ends);
    expect(out.failures[0]).toContain('s3://b/k.dump');
  });

  it('an abandoned upload is removed through the store; a store that cannot tell is a failure', async () => {
    const present = new Set(['k.dump']);
    const calls: string[] = [];
    const backup = {
      exists: async (q: { key: string }) => (calls.push(`HEAD ${q.key}`), present.has(q.key)),
      deleteObject: async (q: { key: string }) => {
        calls.push(`DELETE ${q.key}`);
        present.delete(q.key);
      },
    };
    const ends: LooseEnds = { backup: { bucket: 'b', key: 'k.dump', abandonedAt: '2020-01-01T00:00:00Z' } };
    const out = await tidyAfterRun(ctx({ backup: backup as unknown as Providers['backup'] }), ends);
    expect(out.failures).toEqual([]);
    expect(out.done[0]).toContain('removed s3://b/k.dump');
    expect(calls).toEqual(['HEAD k.dump', 'DELETE k.dump', 'HEAD k.dump']);

    const blind = {
      exists: async () => {
        throw new Error('S3 exists failed: HTTP 503 SlowDown');
      },
      deleteObject: async () => {},
    };
    const bad = await tidyAfterRun(ctx({ backup: blind as unknown as Providers['backup'] }), ends);
    expect(bad.failures[0]).toContain('may still be there (S3 exists failed: HTTP 503 SlowDown)');
  });
});
