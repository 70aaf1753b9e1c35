import { describe, expect, it } from 'vitest';
import type { RunState } from '../../../../src/pipeline/types.ts';
import { finishRun } from '../../../../src/steps/cleanup/finish.ts';
import { recordingLogger, testConfig } from '../../pipeline/fixtures.ts';

/** A GitHub deployment-status store: what finishRun reads and writes, nothing else. */
function statusStore(initial: string) {
  const statuses: { state: string; description?: string }[] = [{ state: initial }];
  const github = {
    listDeploymentStatuses: async () => [...statuses].reverse(),
    createDeploymentStatus: async (_id: number, s: { state: string; description?: string }) => {
      statuses.push({ state: s.state, description: s.description });
      return { id: statuses.length };
    },
  };
  return { statuses, github };
}

const base: RunState = { phase: 'failed', mode: 'deploy', environment: 'production', sha: 'a'.repeat(40) };

async function finish(state: RunState, final: Parameters<typeof finishRun>[0]['final'], initial = 'in_progress') {
  const store = statusStore(initial);
  const providers = { github: store.github } as unknown as Parameters<typeof finishRun>[0]['providers'];
  await finishRun({ config: testConfig('deploy'), providers, state, final, log: recordingLogger() });
  return store.statuses.slice(1);
}

describe('finishRun: records the steps could not close', () => {
  it('a failed run gives its open record the final status failure with the reason', async () => {
    const written = await finish({ ...base, githubDeploymentId: 7 }, { status: 'failed', reason: 'smoke failed' });
    expect(written).toHaveLength(1);
    expect(written[0]?.state).toBe('failure');
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
  });

  it('success, no-go and plan runs are closed by their own steps', async () => {
    for (const status of ['success', 'no-go', 'planned'] as const) {
      expect(await finish({ ...base, githubDeploymentId: 7 }, { status, reason: 'r' })).toEqual([]);
    }
  });
});
