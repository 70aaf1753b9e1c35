/**
 * Comparing traffic states: the traffic step switches only from the state the record was made
 * with, and a re-run recognises the state its earlier attempt left. Pure.
 */
import type { TrafficSnapshot } from '../pipeline/types.js';

function sameWeights(a: Record<string, number>, b: Record<string, number>): boolean {
  return Object.keys({ ...a, ...b }).every((k) => (a[k] ?? -1) === (b[k] ?? -1));
}

/** True when two snapshots describe the same traffic: same live deployment, same routing. */
export function sameTraffic(a: TrafficSnapshot, b: TrafficSnapshot): boolean {
  if (a.kind === 'vercel' || b.kind === 'vercel') {
    return a.kind === 'vercel' && b.kind === 'vercel' && a.productionDeploymentId === b.productionDeploymentId;
  }
  return (
    a.loadBalancerId === b.loadBalancerId &&
    a.livePool === b.livePool &&
    a.fallbackPool === b.fallbackPool &&
    a.defaultPools.join(',') === b.defaultPools.join(',') &&
    (a.steeringPolicy ?? '') === (b.steeringPolicy ?? '') &&
    sameWeights(a.poolWeights, b.poolWeights) &&
    a.slots[a.livePool]?.deploymentId === b.slots[b.livePool]?.deploymentId
  );
}

/** One line describing what differs (for the message when the switch refuses to start). */
export function describeSnapshot(s: TrafficSnapshot): string {
  if (s.kind === 'vercel') return `production → ${s.productionDeploymentId}`;
  const weights = Object.entries(s.poolWeights)
    .map(([p, w]) => `${p}=${w}`)
    .join(', ');
  return `live pool ${s.livePool} (→ ${s.slots[s.livePool]?.deploymentId ?? '?'}), weights ${weights || 'none'}, fallback ${s.fallbackPool}`;
}
