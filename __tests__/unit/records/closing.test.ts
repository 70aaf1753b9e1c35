import { describe, expect, it } from 'vitest';
import type { RunState } from '../../../src/pipeline/types.ts';
import { closeRecord, finalStatus, trafficMoved, type ClosingConfig } from '../../../src/records/index.ts';
import { recordingLogger, SNAPSHOT } from '../pipeline/fixtures.ts';

const base: RunState = { phase: 'failed', mode: 'deploy', environment: 'production', sha: 'a'.repeat(40) };
const GREEN = { id: 'dpl_green', url: 'green.vercel.app' };
/** Green took all traffic and passed validation. */
const VALIDATED: RunState = { ...base, phase: 'validated', green: GREEN, trafficBefore: SNAPSHOT, greenShare: 100 };

describe('trafficMoved', () => {
  it('is true only while green has a share that was not put back', () => {
    expect(trafficMoved(VALIDATED)).toBe(true);
    expect(trafficMoved({ ...VALIDATED, restored: true })).toBe(false);
    expect(trafficMoved({ ...VALIDATED, greenShare: 0 })).toBe(false);
    expect(trafficMoved({ ...VALIDATED, trafficBefore: undefined })).toBe(false);
  });
});

describe('finalStatus at the end of the main step', () => {
  const main = (state: RunState, status: 'failed' | 'rolled-back' | 'success' | 'planned' | 'no-go', reason = 'r') =>
    finalStatus({ at: 'main', state, status, reason });

  it('a failure or rollback is failure with the reason, linking production; other verdicts close their own', () => {
    expect(main(base, 'failed', 'smoke failed')).toEqual({
      state: 'failure',
      description: 'Failed: smoke failed',
      linksProduction: true,
    });
    expect(main(base, 'rolled-back', 'error rate 0.3 > 0.05')).toMatchObject({
      state: 'failure',
      description: 'Rolled back: error rate 0.3 > 0.05',
    });
    for (const status of ['success', 'planned', 'no-go'] as const) expect(main(base, status)).toBeUndefined();
  });

  it('a cancelled run says where production is, for every phase a cancel can leave', () => {
    const cancelled = (state: RunState) =>
      finalStatus({ at: 'main', state, status: 'failed', reason: 'cancelled', cancelled: true });
    expect(cancelled({ ...base, phase: 'smoke-passed' })).toEqual({
      state: 'error',
      description: 'Cancelled before traffic moved: production still serves blue',
    });
    expect(cancelled({ ...base, phase: 'switched', trafficBefore: SNAPSHOT })).toBeUndefined();
    expect(cancelled({ ...base, phase: 'failed', restored: true, trafficBefore: SNAPSHOT })).toEqual({
      state: 'error',
      description: 'Cancelled: production is back on blue (restored)',
    });
    expect(cancelled(VALIDATED)).toEqual({
      state: 'success',
      description: 'Live: green dpl_green is live and validated; the run was cancelled during cleanup',
    });
    expect(cancelled({ ...VALIDATED, phase: 'failed' })).toMatchObject({ state: 'success' });
    expect(cancelled({ ...VALIDATED, phase: 'failed', greenShare: 50 })).toEqual({
      state: 'error',
      description: 'Cancelled with green dpl_green at 50%: check production',
    });
    expect(cancelled({ ...VALIDATED, mode: 'rollback' })).toEqual({
      state: 'error',
      description: 'Cancelled in phase validated: check which deployment serves production',
    });
  });
});

describe('finalStatus at the other moments', () => {
  it('cleanup is success with what shipped; rollback mode success or failure with its own text', () => {
    expect(finalStatus({ at: 'cleanup', description: 'Live: abcdef0, 2 new commits' })).toEqual({
      state: 'success',
      description: 'Live: abcdef0, 2 new commits',
    });
    expect(finalStatus({ at: 'rollback', ok: true, text: 'Rolled back to 4c60a8b: x' })).toEqual({
      state: 'success',
      description: 'Rolled back to 4c60a8b: x',
    });
    expect(finalStatus({ at: 'rollback', ok: false, text: 'Rollback to dpl_1 failed' })).toEqual({
      state: 'failure',
      description: 'Rollback to dpl_1 failed',
    });
  });

  it('the post step after restoring blue marks the record error, naming the phase', () => {
    expect(finalStatus({ at: 'post-restored', state: { ...VALIDATED, phase: 'switching' } })).toEqual({
      state: 'error',
      description: 'Interrupted mid-switch (switching); blue restored by the post step',
    });
  });

  it('the post step closes a record left open by where production is (deploy runs only)', () => {
    expect(finalStatus({ at: 'post', state: { ...VALIDATED, phase: 'cleaned' } })).toEqual({
      state: 'success',
      description: 'Live: green dpl_green is live and validated (closed by the post step)',
    });
    expect(finalStatus({ at: 'post', state: { ...base, phase: 'rolled-back', restored: true } })).toEqual({
      state: 'failure',
      description: 'Rolled back: production is back on blue (closed by the post step)',
    });
    expect(finalStatus({ at: 'post', state: { ...base, phase: 'failed', restored: true } })).toEqual({
      state: 'error',
      description: 'Stopped: production is back on blue (closed by the post step)',
    });
    expect(finalStatus({ at: 'post', state: { ...VALIDATED, mode: 'rollback' } })).toBeUndefined();
    expect(finalStatus({ at: 'post', state: { ...VALIDATED, phase: 'switched' } })).toBeUndefined();
  });
});

describe('closeRecord', () => {
  /** Deployment 7 is the run's; 3 the release before it (`success`). */
  function store(initial: string, o: { failReads?: boolean } = {}) {
    const statuses = new Map<number, { state: string }[]>([
      [7, [{ state: initial }]],
      [3, [{ state: 'success' }]],
    ]);
    const writes: { id: number; state: string; description?: string; environmentUrl?: string }[] = [];
    const github = {
      listDeployments: async () => [{ id: 7 }, { id: 3 }],
      listDeploymentStatuses: async (id: number) => {
        if (o.failReads) throw new Error('HTTP 429');
        return [...(statuses.get(id) ?? [])].reverse();
      },
      createDeploymentStatus: async (
        id: number,
        s: { state: string; description?: string; environmentUrl?: string },
      ) => {
        statuses.get(id)?.push({ state: s.state });
        writes.push({ id, state: s.state, description: s.description, environmentUrl: s.environmentUrl });
        return { id: writes.length };
      },
    };
    return { writes, github: github as unknown as Parameters<typeof closeRecord>[0] };
  }
  const config: ClosingConfig = {
    environment: 'production',
    productionUrl: 'https://www.example.com',
    run: { runUrl: 'https://github.com/acme/shop/actions/runs/1', sha: 'b'.repeat(40) },
  };

  it('links production on success and where the decision says; earlier successes go inactive', async () => {
    const s = store('in_progress');
    expect(await closeRecord(s.github, config, 7, { state: 'success', description: 'Live' })).toEqual({
      wrote: true,
      inactive: [3],
    });
    expect(s.writes).toEqual([
      { id: 7, state: 'success', description: 'Live', environmentUrl: 'https://www.example.com' },
      { id: 3, state: 'inactive', description: 'Replaced by bbbbbbb (deployment 7)', environmentUrl: undefined },
    ]);
    const f = store('in_progress');
    await closeRecord(f.github, config, 7, { state: 'failure', description: 'Failed: x', linksProduction: true });
    await closeRecord(f.github, config, 7, { state: 'error', description: 'Stopped' });
    expect(f.writes.map((w) => [w.state, w.environmentUrl])).toEqual([
      ['failure', 'https://www.example.com'],
      ['error', undefined],
    ]);
  });

  it("reads first only when asked, and then keeps to the caller's guard", async () => {
    const error = { state: 'error', description: 'Interrupted' } as const;
    const closedAlready = store('failure');
    const closed = { check: { skipIf: 'closed', ifUnreadable: 'throw' } } as const;
    expect(await closeRecord(closedAlready.github, config, 7, error, closed)).toMatchObject({ wrote: false });
    // `same` writes error over a record that says failure, not over one that says error.
    const same = { check: { skipIf: 'same', ifUnreadable: 'throw' } } as const;
    expect(await closeRecord(closedAlready.github, config, 7, error, same)).toMatchObject({ wrote: true });
    expect(await closeRecord(closedAlready.github, config, 7, error, same)).toMatchObject({ wrote: false });
    expect(closedAlready.writes).toHaveLength(1);

    const blind = store('in_progress', { failReads: true });
    await expect(closeRecord(blind.github, config, 7, error, closed)).rejects.toThrow('HTTP 429');
    expect(blind.writes).toEqual([]);
    const log = recordingLogger();
    const anyway = { check: { skipIf: 'closed', ifUnreadable: 'write' }, log } as const;
    expect(await closeRecord(blind.github, config, 7, error, anyway)).toMatchObject({ wrote: true });
    expect(log.lines.join('\n')).toContain('writing its final status anyway');
  });
});
