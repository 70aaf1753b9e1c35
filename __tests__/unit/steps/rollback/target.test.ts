import { describe, expect, it } from 'vitest';
import {
  ownRollbackRecord,
  parseTargetSpec,
  previousFromRecords,
  resolveTarget,
  RollbackRefused,
  type TargetDeps,
} from '../../../../src/steps/rollback/target.ts';
import type { RecordView } from '../../../../src/records/lock.ts';
import { ProviderError } from '../../../../src/providers/http.ts';
import type { VercelDeployment, VercelDeploymentSummary } from '../../../../src/providers/vercel-api.ts';

const SHA1 = '1'.repeat(40);
const SHA2 = '2'.repeat(40);
const SHA3 = '3'.repeat(40);

function record(id: number, green: string, state: string, minutesAgo: number, blue?: string, sha = SHA1): RecordView {
  return {
    id,
    createdAt: new Date(Date.UTC(2025, 0, 1, 12, 0) - minutesAgo * 60_000).toISOString(),
    payload: {
      tool: 'production-deploy',
      version: 1,
      kind: 'deploy',
      runId: String(id),
      runAttempt: 1,
      runUrl: 'https://x',
      sha,
      environment: 'production',
      strategy: 'blue-green',
      trafficManager: 'cloudflare',
      green: { id: green, url: `${green}.vercel.app` },
      ...(blue ? { blue: { id: blue, url: `${blue}.vercel.app` } } : {}),
    },
    latest: { state, createdAt: new Date().toISOString() },
  };
}

describe('parseTargetSpec', () => {
  it('reads previous, Vercel ids, SHAs and GitHub deployment ids', () => {
    expect(parseTargetSpec('previous')).toEqual({ kind: 'previous' });
    expect(parseTargetSpec('')).toEqual({ kind: 'previous' });
    expect(parseTargetSpec('dpl_abc123')).toEqual({ kind: 'vercel', id: 'dpl_abc123' });
    expect(parseTargetSpec(SHA1.toUpperCase())).toEqual({ kind: 'sha', sha: SHA1 });
    expect(parseTargetSpec('1234')).toEqual({ kind: 'github', id: 1234 });
    expect(() => parseTargetSpec('v1.2.3')).toThrow(/previous, a Vercel deployment id/);
  });
});

describe('previousFromRecords', () => {
  it('after a deploy, previous is the release before it', () => {
    const records = [record(3, 'dpl_v3', 'success', 1, 'dpl_v2'), record(2, 'dpl_v2', 'inactive', 10, 'dpl_v1')];
    expect(previousFromRecords(records, 'dpl_v3')).toEqual({
      target: { id: 'dpl_v2', url: 'dpl_v2.vercel.app' },
      from: 'GitHub deployment 2',
    });
  });

  it('a rolled-back or failed release is not a target', () => {
    const records = [
      record(4, 'dpl_v4', 'failure', 1, 'dpl_v3'),
      record(3, 'dpl_v3', 'success', 5, 'dpl_v2'),
      record(2, 'dpl_v2', 'inactive', 10, 'dpl_v1'),
    ];
    expect(previousFromRecords(records, 'dpl_v3')).toMatchObject({ target: { id: 'dpl_v2' } });
  });

  it('with only the live release recorded, previous is the blue it replaced', () => {
    expect(previousFromRecords([record(3, 'dpl_v2', 'success', 1, 'dpl_v1')], 'dpl_v2')).toEqual({
      target: { id: 'dpl_v1', url: 'dpl_v1.vercel.app' },
      from: 'GitHub deployment 3 (the release it replaced)',
    });
  });

  it('says so when nothing earlier is recorded', () => {
    const r = previousFromRecords([], 'dpl_v1');
    expect('none' in r && r.none).toContain('no earlier production release of dpl_v1');
  });
});

function deployment(id: string, over: Partial<VercelDeployment> = {}): VercelDeployment {
  return {
    id,
    url: `${id}.vercel.app`,
    projectId: 'prj_1',
    readyState: 'READY',
    alias: [],
    aliasAssigned: true,
    meta: { githubCommitSha: SHA1 },
    createdAt: 1,
    ...over,
  };
}

function deps(
  vercel: Record<string, VercelDeployment>,
  list: VercelDeploymentSummary[] = [],
  records: RecordView[] = [],
): TargetDeps {
  return {
    projectId: 'prj_1',
    liveId: 'dpl_live',
    records: async () => records,
    vercel: {
      getDeployment: async (id: string) => {
        const d = vercel[id];
        if (!d)
          throw new ProviderError({
            provider: 'vercel',
            operation: 'getDeployment',
            status: 404,
            message: 'not found',
          });
        return d;
      },
      listDeployments: async (q: { sha?: string }) => ({
        deployments: list.filter((d) => !q.sha || d.meta.githubCommitSha === q.sha),
        next: null,
      }),
    },
  };
}

describe('resolveTarget', () => {
  it('a Vercel id that exists and is READY', async () => {
    const r = await resolveTarget({ kind: 'vercel', id: 'dpl_a' }, deps({ dpl_a: deployment('dpl_a') }));
    expect(r.target).toEqual({ id: 'dpl_a', url: 'dpl_a.vercel.app', sha: SHA1 });
  });

  it('refuses a target that no longer exists, is not READY, or is another project’s', async () => {
    await expect(resolveTarget({ kind: 'vercel', id: 'dpl_gone' }, deps({}))).rejects.toThrow(
      /dpl_gone \(rollback-to\) no longer exists on Vercel; nothing was changed/,
    );
    await expect(
      resolveTarget({ kind: 'vercel', id: 'dpl_b' }, deps({ dpl_b: deployment('dpl_b', { readyState: 'ERROR' }) })),
    ).rejects.toThrow(/is ERROR, not READY/);
    await expect(
      resolveTarget({ kind: 'vercel', id: 'dpl_c' }, deps({ dpl_c: deployment('dpl_c', { projectId: 'prj_other' }) })),
    ).rejects.toBeInstanceOf(RollbackRefused);
  });

  it('a commit SHA: the newest READY production deployment of it', async () => {
    const list: VercelDeploymentSummary[] = [
      { id: 'dpl_old', url: null, state: 'READY', meta: { githubCommitSha: SHA2 }, createdAt: 1 },
      { id: 'dpl_new', url: null, state: 'READY', meta: { githubCommitSha: SHA2 }, createdAt: 2 },
      { id: 'dpl_err', url: null, state: 'ERROR', meta: { githubCommitSha: SHA2 }, createdAt: 3 },
    ];
    const r = await resolveTarget({ kind: 'sha', sha: SHA2 }, deps({ dpl_new: deployment('dpl_new') }, list));
    expect(r.target.id).toBe('dpl_new');
    await expect(resolveTarget({ kind: 'sha', sha: SHA3 }, deps({}, list))).rejects.toThrow(
      /commit 3333333 has no production deployment on Vercel/,
    );
  });

  it('a GitHub deployment id: its green, checked on Vercel', async () => {
    const records = [record(77, 'dpl_g', 'inactive', 5)];
    const r = await resolveTarget({ kind: 'github', id: 77 }, deps({ dpl_g: deployment('dpl_g') }, [], records));
    expect(r).toMatchObject({ target: { id: 'dpl_g' }, from: 'GitHub deployment 77' });
    await expect(resolveTarget({ kind: 'github', id: 78 }, deps({}, [], records))).rejects.toThrow(/78 is not one of/);
  });

  it('previous, through the records', async () => {
    const records = [record(3, 'dpl_live', 'success', 1, 'dpl_v1')];
    const r = await resolveTarget({ kind: 'previous' }, deps({ dpl_v1: deployment('dpl_v1') }, [], records));
    expect(r.target.id).toBe('dpl_v1');
  });
});

describe('the commit of a target', () => {
  it('is kept from the record when Vercel has none (a deployment made without Git metadata)', async () => {
    const records = [record(3, 'dpl_live', 'success', 1, 'dpl_v1')];
    records[0]!.payload.blue!.sha = SHA2;
    const bare = deployment('dpl_v1', { meta: {} });
    const r = await resolveTarget({ kind: 'previous' }, deps({ dpl_v1: bare }, [], records));
    expect(r.target).toEqual({ id: 'dpl_v1', url: 'dpl_v1.vercel.app', sha: SHA2 });
  });

  it("is Vercel's when it has one", async () => {
    const records = [record(3, 'dpl_live', 'success', 1, 'dpl_v1')];
    records[0]!.payload.blue!.sha = SHA2;
    const r = await resolveTarget({ kind: 'previous' }, deps({ dpl_v1: deployment('dpl_v1') }, [], records));
    expect(r.target.sha).toBe(SHA1);
  });
});

describe('ownRollbackRecord: what a re-run of a rollback carries on with', () => {
  const rollback = (id: number, runId: string): RecordView => {
    const r = record(id, 'dpl_v1', 'failure', 1, 'dpl_v2');
    return { ...r, payload: { ...r.payload, kind: 'rollback', runId } };
  };

  it("is this run's newest rollback record", () => {
    const records = [rollback(9, '555'), rollback(8, '555'), rollback(7, '444'), record(6, 'dpl_v2', 'success', 5)];
    expect(ownRollbackRecord(records, '555')?.id).toBe(9);
    expect(ownRollbackRecord(records, '444')?.id).toBe(7);
  });

  it("is never a deploy record or another run's", () => {
    const deployOfThisRun = {
      ...record(6, 'dpl_v2', 'success', 5),
      payload: { ...record(6, 'dpl_v2', 'success', 5).payload, runId: '555' },
    };
    expect(ownRollbackRecord([deployOfThisRun, rollback(7, '444')], '555')).toBeUndefined();
  });
});
