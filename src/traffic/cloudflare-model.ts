/**
 * The Cloudflare Load Balancer as the traffic switch sees it, as pure functions: which slot is live
 * (read from the weights, never assumed), each slot's hostname, the PATCH body for a given green
 * share, and the PATCH body that puts a recorded state back. No I/O here.
 */
import type { TrafficSnapshot } from '../pipeline/types.js';

/** The load balancer fields the switch reads and writes (Cloudflare API names). */
export interface LbView {
  id: string;
  default_pools: string[];
  fallback_pool: string;
  steering_policy?: string;
  random_steering?: { pool_weights?: Record<string, number>; default_weight?: number };
}

/** The fields a PATCH of the load balancer sets (Cloudflare overwrites exactly these). */
export type LbPatchBody = Partial<Omit<LbView, 'id'>>;

/** The pool fields the switch reads. */
export interface PoolView {
  id: string;
  name?: string;
  origins?: { address?: string; enabled?: boolean; header?: { Host?: string[] } }[];
}

export type CloudflareSnapshot = Extract<TrafficSnapshot, { kind: 'cloudflare' }>;

/** The two slots of a load balancer, as read. */
export interface SlotReading {
  livePool: string;
  idlePool: string;
  /** pool id → slot hostname */
  hostnames: Record<string, string>;
  /** Effective share of each of our pools, percent (0–100) of the traffic they split. */
  shares: Record<string, number>;
  /** Anything a user should know (mid-switch state found, etc.). */
  notes: string[];
}

/** A pool's slot hostname: its origins' `Host` header, else their address; all origins must agree. */
export function slotHostname(pool: PoolView): string {
  const hosts = new Set<string>();
  // Enabled origins name the slot; a slot drained by a restore (every origin disabled) still has one.
  const origins = pool.origins ?? [];
  const live = origins.some((o) => o.enabled !== false) ? origins.filter((o) => o.enabled !== false) : origins;
  for (const o of live) {
    const host = o.header?.Host?.[0] ?? o.address;
    if (host) hosts.add(host.toLowerCase());
  }
  if (hosts.size === 0) throw new Error(`Cloudflare pool ${pool.id} has no origin with a Host header or address`);
  if (hosts.size > 1) {
    throw new Error(
      `Cloudflare pool ${pool.id} reaches several hostnames (${[...hosts].join(', ')}); a slot pool must reach one`,
    );
  }
  return [...hosts][0]!;
}

/**
 * Each of our pools' effective weight: with `random` steering its pool weight (pools not listed get
 * `default_weight`, default 1); otherwise the first of our pools in `default_pools` (failover order)
 * takes everything. A pool outside `default_pools` gets nothing.
 */
export function effectiveWeights(lb: LbView, pools: readonly [string, string]): Record<string, number> {
  const out: Record<string, number> = {};
  const listed = pools.filter((p) => lb.default_pools.includes(p));
  if (lb.steering_policy === 'random') {
    const rs = lb.random_steering ?? {};
    for (const p of pools) out[p] = listed.includes(p) ? (rs.pool_weights?.[p] ?? rs.default_weight ?? 1) : 0;
  } else {
    const first = lb.default_pools.find((p) => pools.includes(p));
    for (const p of pools) out[p] = p === first ? 1 : 0;
  }
  return out;
}

/** Read the live and idle slots. Throws when neither slot receives traffic (nothing to switch from). */
export function readSlots(lb: LbView, poolViews: readonly PoolView[], pools: readonly [string, string]): SlotReading {
  const hostnames: Record<string, string> = {};
  for (const id of pools) {
    const view = poolViews.find((p) => p.id === id);
    if (!view) throw new Error(`Cloudflare pool ${id} was not found`);
    hostnames[id] = slotHostname(view);
  }
  if (hostnames[pools[0]] === hostnames[pools[1]]) {
    throw new Error(`both Cloudflare pools reach ${hostnames[pools[0]]}: the two slots need two hostnames`);
  }
  const weights = effectiveWeights(lb, pools);
  const total = weights[pools[0]]! + weights[pools[1]]!;
  if (total <= 0) {
    throw new Error(
      `neither Cloudflare pool (${pools.join(', ')}) receives traffic on load balancer ${lb.id}: no live slot to switch from`,
    );
  }
  const shares: Record<string, number> = {};
  for (const p of pools) shares[p] = (weights[p]! / total) * 100;
  const notes: string[] = [];
  let livePool: string;
  if (weights[pools[0]]! > 0 && weights[pools[1]]! > 0) {
    // An earlier run stopped mid-switch. The fallback pool is the one Cloudflare trusts when in
    // doubt, so it is taken as blue; failing that, the heavier pool.
    livePool = pools.includes(lb.fallback_pool)
      ? lb.fallback_pool
      : weights[pools[0]]! >= weights[pools[1]]!
        ? pools[0]
        : pools[1];
    notes.push(
      `both pools receive traffic (${pools.map((p) => `${p}: ${shares[p]!.toFixed(0)} %`).join(', ')}), left by an earlier run; ` +
        `taking ${livePool} (${pools.includes(lb.fallback_pool) ? 'the fallback pool' : 'the heavier pool'}) as blue`,
    );
  } else {
    livePool = weights[pools[0]]! > 0 ? pools[0] : pools[1];
  }
  const idlePool = livePool === pools[0] ? pools[1] : pools[0];
  return { livePool, idlePool, hostnames, shares, notes };
}

/** The exact state to restore later. `slots` names the deployment behind each hostname when known. */
export function buildSnapshot(
  lb: LbView,
  reading: SlotReading,
  deploymentByPool: Record<string, string | undefined>,
): CloudflareSnapshot {
  const slots: CloudflareSnapshot['slots'] = {};
  for (const [pool, hostname] of Object.entries(reading.hostnames)) {
    const deploymentId = deploymentByPool[pool];
    slots[pool] = deploymentId ? { hostname, deploymentId } : { hostname };
  }
  return {
    kind: 'cloudflare',
    loadBalancerId: lb.id,
    poolWeights: { ...(lb.random_steering?.pool_weights ?? {}) },
    defaultPools: [...lb.default_pools],
    fallbackPool: lb.fallback_pool,
    livePool: reading.livePool,
    slots,
    ...(lb.steering_policy !== undefined ? { steeringPolicy: lb.steering_policy } : {}),
    ...(lb.random_steering?.default_weight !== undefined ? { defaultWeight: lb.random_steering.default_weight } : {}),
  };
}

/** The load balancer as a snapshot recorded it. */
export function lbFromSnapshot(snap: CloudflareSnapshot): LbView {
  return {
    id: snap.loadBalancerId,
    default_pools: snap.defaultPools,
    fallback_pool: snap.fallbackPool,
    ...(snap.steeringPolicy !== undefined ? { steering_policy: snap.steeringPolicy } : {}),
    random_steering: {
      pool_weights: snap.poolWeights,
      ...(snap.defaultWeight !== undefined ? { default_weight: snap.defaultWeight } : {}),
    },
  };
}

/** Cloudflare weights are 0–1 in steps of 0.01. */
function weight(pct: number): number {
  return Math.round(Math.min(Math.max(pct, 0), 100)) / 100;
}

/**
 * The PATCH body giving green `pct` percent with `random` steering. Other pools keep their recorded
 * weights; green joins `default_pools` right after blue when it was not listed. At 100 % green also
 * becomes the fallback pool: the next deploy stages into blue's slot, and a fallback pointing at a
 * slot being restaged would send production to an untested deployment.
 */
export function sharePatch(snap: CloudflareSnapshot, greenPool: string, pct: number): LbPatchBody {
  const bluePool = snap.livePool;
  const defaultPools = [...snap.defaultPools];
  if (!defaultPools.includes(bluePool)) defaultPools.unshift(bluePool);
  if (!defaultPools.includes(greenPool)) defaultPools.splice(defaultPools.indexOf(bluePool) + 1, 0, greenPool);
  return {
    steering_policy: 'random',
    default_pools: defaultPools,
    random_steering: {
      pool_weights: { ...snap.poolWeights, [bluePool]: weight(100 - pct), [greenPool]: weight(pct) },
      ...(snap.defaultWeight !== undefined ? { default_weight: snap.defaultWeight } : {}),
    },
    fallback_pool: pct >= 100 ? greenPool : snap.fallbackPool,
  };
}

/** The PATCH body that puts the recorded load balancer state back exactly. */
export function restorePatch(snap: CloudflareSnapshot): LbPatchBody {
  return {
    default_pools: [...snap.defaultPools],
    fallback_pool: snap.fallbackPool,
    ...(snap.steeringPolicy !== undefined ? { steering_policy: snap.steeringPolicy } : {}),
    random_steering: {
      pool_weights: { ...snap.poolWeights },
      ...(snap.defaultWeight !== undefined ? { default_weight: snap.defaultWeight } : {}),
    },
  };
}

/** True when the load balancer is in the recorded state (what restore must achieve). */
export function matchesSnapshot(lb: LbView, snap: CloudflareSnapshot): boolean {
  const same = (a: Record<string, number>, b: Record<string, number>) =>
    Object.keys({ ...a, ...b }).every((k) => (a[k] ?? -1) === (b[k] ?? -1));
  return (
    lb.fallback_pool === snap.fallbackPool &&
    lb.default_pools.join(',') === snap.defaultPools.join(',') &&
    (snap.steeringPolicy === undefined || lb.steering_policy === snap.steeringPolicy) &&
    same(lb.random_steering?.pool_weights ?? {}, snap.poolWeights)
  );
}
