import { describe, expect, it } from 'vitest';
import { decideLock, isInProgress, lostRace, type RecordView } from '../../../src/records/lock.ts';
import { PAYLOAD_TOOL, parsePayload, type RecordPayload } from '../../../src/records/payload.ts';

const NOW = Date.parse('2026-10-01T12:00:00Z');
const STALE = 15 * 60_000;
const payload = (runId: string): RecordPayload => ({
  tool: PAYLOAD_TOOL,
  version: 1,
  kind: 'deploy',
  runId,
  runAttempt: 1,
  runUrl: `https://github.com/o/r/actions/runs/${runId}`,
  sha: 'a'.repeat(40),
  environment: 'production',
  strategy: 'blue-green',
  trafficManager: 'cloudflare',
  green: { id: 'dpl_g', url: 'g.vercel.app' },
});
const rec = (id: number, runId: string, state: string | undefined, minutesAgo: number): RecordView => {
  const at = new Date(NOW - minutesAgo * 60_000).toISOString();
  return {
    id,
    createdAt: at,
    payload: payload(runId),
    ...(state ? { latest: { state, createdAt: at, logUrl: `https://log/${runId}` } } : {}),
  };
};

describe('the environment lock', () => {
  it('is free when no other run is in progress', () => {
    expect(decideLock([rec(1, '10', 'success', 1), rec(2, '11', 'failure', 2)], '12', NOW, STALE)).toEqual({
      kind: 'free',
      stale: [],
    });
  });
  it('is held by another run in progress, naming the newest holder', () => {
    const d = decideLock([rec(1, '10', 'in_progress', 5), rec(2, '11', 'in_progress', 2)], '12', NOW, STALE);
    expect(d.kind).toBe('held');
    if (d.kind === 'held') {
      expect(d.holder.payload.runId).toBe('11');
      expect(d.ageMs).toBe(2 * 60_000);
    }
  });
  it('never blocks a run on its own earlier attempt', () => {
    expect(decideLock([rec(1, '12', 'in_progress', 1)], '12', NOW, STALE).kind).toBe('free');
  });
  it('reports a holder silent for longer than the stale limit and lets the run override it', () => {
    const d = decideLock([rec(1, '10', 'in_progress', 20)], '12', NOW, STALE);
    expect(d.kind).toBe('free');
    expect(d.stale.map((r) => r.id)).toEqual([1]);
  });
  it('counts a record without any status as in progress', () => {
    expect(isInProgress(rec(1, '10', undefined, 1))).toBe(true);
    expect(decideLock([rec(1, '10', undefined, 1)], '12', NOW, STALE).kind).toBe('held');
  });
  it('settles a simultaneous start: the lower id keeps the environment', () => {
    const records = [rec(7, '10', 'in_progress', 0), rec(8, '12', 'in_progress', 0)];
    expect(lostRace(records, 8, '12', NOW, STALE)?.id).toBe(7);
    expect(lostRace(records, 7, '10', NOW, STALE)).toBeUndefined();
  });
});

describe('record payloads', () => {
  it('reads our payload from an object or a JSON string', () => {
    const p = payload('5');
    expect(parsePayload(p)).toEqual(p);
    expect(parsePayload(JSON.stringify(p))).toEqual(p);
  });
  it('ignores payloads of other tools and malformed ones', () => {
    expect(parsePayload({})).toBeUndefined();
    expect(parsePayload('not json')).toBeUndefined();
    expect(parsePayload({ ...payload('5'), tool: 'vercel' })).toBeUndefined();
    expect(parsePayload({ ...payload('5'), green: { id: 1 } })).toBeUndefined();
    expect(parsePayload({ ...payload('5'), trafficBefore: { kind: 'cloudflare' } })).toBeUndefined();
    expect(
      parsePayload({ ...payload('5'), trafficBefore: { kind: 'vercel', productionDeploymentId: 'dpl_b' } })
        ?.trafficBefore,
    ).toEqual({
      kind: 'vercel',
      productionDeploymentId: 'dpl_b',
    });
  });
});
