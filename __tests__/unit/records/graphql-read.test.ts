import { describe, expect, it } from 'vitest';
import { deploymentsWithLatest, loadRecords, type RecordsApi } from '../../../src/records/github.ts';
import type { DeploymentWithStatus, GitHubDeployment } from '../../../src/providers/github.ts';

const dep = (id: number, runId = `r${id}`): GitHubDeployment => ({
  id,
  sha: 'a'.repeat(40),
  ref: 'main',
  environment: 'production',
  payload: {
    tool: 'production-deploy',
    version: 1,
    kind: 'deploy',
    runId,
    runAttempt: 1,
    runUrl: `https://github.com/acme/shop/actions/runs/${runId}`,
    sha: 'a'.repeat(40),
    environment: 'production',
    strategy: 'blue-green',
    trafficManager: 'cloudflare',
    green: { id: `dpl_${id}`, url: `https://g${id}.vercel.app` },
  },
  createdAt: '2026-12-01T00:00:00Z',
});

/** A fake adapter that counts its calls; `graph` is what the GraphQL read does. */
function api(graph?: () => Promise<DeploymentWithStatus[] | undefined>) {
  const calls: string[] = [];
  const list = [dep(3), dep(2), dep(1)];
  const fake: RecordsApi = {
    listDeployments: async (q) => {
      calls.push(`list${q.sha ? ` sha=${q.sha.slice(0, 1)}` : ''}`);
      return list;
    },
    listDeploymentStatuses: async (id) => {
      calls.push(`status ${id}`);
      return [{ id: 100 + id, state: id === 2 ? 'success' : 'inactive', createdAt: '2026-12-01T00:00:00Z' }];
    },
    createDeployment: async () => {
      throw new Error('not used');
    },
    createDeploymentStatus: async () => {
      throw new Error('not used');
    },
    ...(graph
      ? {
          listDeploymentsWithStatus: async () => {
            calls.push('graphql');
            return graph();
          },
        }
      : {}),
  };
  return { fake, calls, list };
}

describe("an environment's deployments with their latest status", () => {
  it('is one GraphQL read when the adapter answers whole', async () => {
    const { fake, calls, list } = api(async () =>
      list.map((d) => ({ deployment: d, latest: { state: d.id === 2 ? 'success' : 'inactive', createdAt: 'x' } })),
    );
    const got = await deploymentsWithLatest(fake, 'production', 20, (d) => d.id !== 3);
    expect(got.map((x) => [x.deployment.id, x.latest?.state])).toEqual([
      [2, 'success'],
      [1, 'inactive'],
    ]);
    expect(calls).toEqual(['graphql']);
  });

  it('falls back to REST (the list, then only the kept ones’ statuses) when GraphQL fails or is not whole', async () => {
    for (const graph of [async () => undefined, async () => Promise.reject(new Error('HTTP 502'))]) {
      const { fake, calls } = api(graph);
      const got = await deploymentsWithLatest(fake, 'production', 20, (d) => d.id !== 3);
      expect(got.map((x) => [x.deployment.id, x.latest?.state])).toEqual([
        [2, 'success'],
        [1, 'inactive'],
      ]);
      expect(calls).toEqual(['graphql', 'list', 'status 2', 'status 1']);
    }
  });

  it("reads a commit's records over REST (GraphQL cannot filter by commit), and the lock's records by GraphQL", async () => {
    const { fake, calls, list } = api(async () => list.map((d) => ({ deployment: d })));
    const bySha = await loadRecords(fake, 'production', { sha: 'a'.repeat(40) });
    expect(bySha.map((r) => r.id)).toEqual([3, 2, 1]);
    expect(calls).toEqual(['list sha=a', 'status 3', 'status 2', 'status 1']);
    calls.length = 0;
    const all = await loadRecords(fake, 'production', { relevant: (_, p) => p.runId !== 'r1' });
    expect(all.map((r) => [r.id, r.latest?.state])).toEqual([
      [3, undefined],
      [2, undefined],
    ]);
    expect(calls).toEqual(['graphql']);
  });

  it('a REST failure after a GraphQL failure throws (the lock never passes unread)', async () => {
    const { fake } = api(async () => Promise.reject(new Error('HTTP 502')));
    fake.listDeployments = async () => Promise.reject(new Error('HTTP 503'));
    await expect(deploymentsWithLatest(fake, 'production', 20)).rejects.toThrow('HTTP 503');
  });
});
