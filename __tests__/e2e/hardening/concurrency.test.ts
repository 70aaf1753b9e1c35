/**
 * Concurrency (docs/safety.md, "How it is tested"): two deploys of the same commit, from two workflow runs,
 * started together against one sandbox. Exactly one moves traffic; the other refuses with a message
 * naming the run that holds the environment, leaves its own record closed, and production, records
 * and rollback target satisfy the invariant afterwards (each run followed by its post step).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../../sandbox/index.ts';
import { runAction, type ActionRun } from '../harness.ts';
import { checkInvariant, describeViolations, sandboxState, takeBaseline, type InvariantResult } from './invariant.ts';
import { DIST, matrixScenario } from './matrix.ts';

let sb: Sandbox;
let runs: { id: string; main: ActionRun; post: ActionRun }[];
let invariant: InvariantResult;
let state: Awaited<ReturnType<typeof sandboxState>>;

beforeAll(async () => {
  sb = await startSandbox({ scenario: matrixScenario([], 'concurrency') });
  const base = await takeBaseline(sb);
  const ids = [sb.env.GITHUB_RUN_ID!, String(Number(sb.env.GITHUB_RUN_ID) + 7)];
  const mains = await Promise.all(
    ids.map((id) =>
      runAction({ entry: join(DIST, 'index.js'), env: { ...sb.env, GITHUB_RUN_ID: id }, timeoutMs: 180_000 }),
    ),
  );
  runs = [];
  for (const [i, main] of mains.entries()) {
    const env = { ...sb.env, GITHUB_RUN_ID: ids[i]! };
    runs.push({
      id: ids[i]!,
      main,
      post: await runAction({ entry: join(DIST, 'post.js'), env, stateFrom: main, timeoutMs: 60_000 }),
    });
  }
  state = await sandboxState(sb);
  // The invariant for the pair: the winner's result says what production shows.
  const winner = runs.find((r) => r.main.outputs.status === 'success') ?? runs[0]!;
  invariant = await checkInvariant(sb, base, { main: winner.main, posts: runs.map((r) => r.post) });
}, 240_000);
afterAll(async () => sb?.stop());

describe('two deploys started together', () => {
  it('exactly one succeeds; the other refuses, naming the run that holds the environment', () => {
    const statuses = runs.map((r) => r.main.outputs.status);
    expect(
      statuses.filter((s) => s === 'success'),
      runs.map((r) => r.main.stdout.slice(-1500)).join('\n----\n'),
    ).toHaveLength(1);
    const winner = runs.find((r) => r.main.outputs.status === 'success')!;
    const loser = runs.find((r) => r !== winner)!;
    expect(loser.main.code).not.toBe(0);
    expect(loser.main.outputs.status).toBe('failed');
    const error = loser.main.stdout
      .split('\n')
      .filter((l) => l.startsWith('::error::'))
      .join('\n');
    expect(error).toMatch(/another run is deploying/);
    expect(error).toContain(`run ${winner.id}`);
    expect(loser.main.stdout).not.toMatch(/now has 100% of production/);
  });

  it('traffic moved once: one switch to green in the load balancer history', () => {
    const changes = (state.cloudflare.history as { kind: string; via: string }[]).filter(
      (h) => h.kind === 'load_balancer' && h.via !== 'scenario',
    );
    expect(changes.map((h) => h.via)).toHaveLength(1);
    const patches = sb.world.traffic.requests.filter((r) => r.service === 'cloudflare' && r.method !== 'GET');
    expect(patches).toHaveLength(1);
  });

  it('leaves no record open, and the invariant holds', () => {
    expect(invariant.holds, describeViolations(invariant)).toBe(true);
    expect(invariant.live).toBe('green');
  });
});
