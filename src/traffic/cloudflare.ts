/**
 * The Cloudflare traffic manager: two pools (slots) behind one load balancer, each reaching Vercel
 * under its own slot hostname. Green is staged on the idle slot by moving that hostname to it
 * (a Vercel alias), then takes traffic by pool weights, one PATCH per step. Blue keeps its hostname
 * throughout, so going back is one PATCH of the recorded weights.
 */
import type { DeploymentRef, Logger, TrafficSnapshot } from '../pipeline/types.js';
import type { CloudflareLb, LoadBalancer } from '../providers/cloudflare.js';
import { ProviderError } from '../providers/http.js';
import type { VercelApi } from '../providers/vercel-api.js';
import {
  buildSnapshot,
  effectiveWeights,
  lbFromSnapshot,
  matchesSnapshot,
  readSlots,
  restorePatch,
  sharePatch,
  type CloudflareSnapshot,
} from './cloudflare-model.js';
import { productionView, readSlotsView, readVercelProduction } from './describe.js';
import type {
  LiveReading,
  ProductionView,
  RetireOutcome,
  RoutingCheck,
  RoutingExpectation,
  TrafficManager,
} from './types.js';
import { checkAttribution, verifyConfigured, type VerifyOptions } from './verify.js';
import { sleep } from '../text.js';

export interface CloudflareManagerDeps {
  lb: Pick<CloudflareLb, 'getLoadBalancer' | 'patchLoadBalancer' | 'getPool' | 'getPoolHealth'>;
  vercel: Pick<VercelApi, 'getAlias' | 'assignAlias' | 'getDeployment' | 'getProject'>;
  /** The Vercel project, for its production deployment (plan reports it beside the slots). */
  projectId: string;
  pools: [string, string];
  /** How long a freshly assigned slot may take to report healthy (`health-check-timeout`). */
  healthTimeoutMs: number;
  /** Pause between pool health reads (default 2 s). */
  healthIntervalMs?: number;
  /** Absent without `production-url` (allowed in `mode: plan`, which verifies nothing). */
  verify?: VerifyOptions;
  log: Logger;
  signal?: AbortSignal;
}

function asCloudflare(s: TrafficSnapshot): CloudflareSnapshot {
  if (s.kind !== 'cloudflare')
    throw new Error(`a ${s.kind} traffic snapshot cannot be applied with traffic-manager: cloudflare`);
  return s;
}

/** The slot that is not live in `snap`. */
function idleOf(snap: CloudflareSnapshot): string {
  const idle = Object.keys(snap.slots).find((p) => p !== snap.livePool);
  if (!idle) throw new Error(`the recorded Cloudflare state has no idle slot besides ${snap.livePool}`);
  return idle;
}

export class CloudflareTrafficManager implements TrafficManager {
  readonly kind = 'cloudflare' as const;
  private readonly d: CloudflareManagerDeps;

  constructor(deps: CloudflareManagerDeps) {
    this.d = deps;
  }

  async readLive(): Promise<LiveReading> {
    const { lb, vercel, pools } = this.d;
    const balancer = await lb.getLoadBalancer();
    const views = await Promise.all(pools.map((id) => lb.getPool(id)));
    const reading = readSlots(balancer, views, pools);
    const byPool: Record<string, string | undefined> = {};
    for (const pool of pools)
      byPool[pool] = (await vercel.getAlias(reading.hostnames[pool]!))?.deploymentId ?? undefined;
    const blueId = byPool[reading.livePool];
    const liveHost = reading.hostnames[reading.livePool]!;
    if (!blueId) {
      throw new Error(
        `the live slot ${reading.livePool} reaches ${liveHost}, but that hostname is not assigned to any Vercel deployment: ` +
          'cannot tell which deployment serves production',
      );
    }
    const blue = await vercel.getDeployment(blueId);
    const snapshot = buildSnapshot(balancer, reading, byPool);
    const stray = reading.shares[reading.idlePool] ?? 0;
    return {
      blue: { id: blue.id, url: blue.url, ...(blue.meta.githubCommitSha ? { sha: blue.meta.githubCommitSha } : {}) },
      snapshot,
      strayShare: stray,
      description: `pool ${reading.livePool} (${liveHost}) → ${blue.id}; idle slot ${reading.idlePool} (${reading.hostnames[reading.idlePool]})`,
      notes: reading.notes,
    };
  }

  async snapshot(): Promise<TrafficSnapshot> {
    return (await this.readLive()).snapshot;
  }

  async prepareGreen(green: DeploymentRef, snapshot: TrafficSnapshot): Promise<string> {
    return this.stageOnIdle(green, asCloudflare(snapshot), 'green');
  }

  /** Point the idle slot's hostname at `deployment` and wait until Cloudflare finds its pool healthy. */
  private async stageOnIdle(deployment: DeploymentRef, snap: CloudflareSnapshot, label: string): Promise<string> {
    const idle = idleOf(snap);
    const hostname = snap.slots[idle]!.hostname;
    const current = (await this.d.vercel.getAlias(hostname))?.deploymentId;
    let what: string;
    if (current === deployment.id) {
      what = `${hostname} already points at ${label} (${deployment.id})`;
    } else {
      await this.d.vercel.assignAlias(deployment.id, hostname);
      what = `assigned ${hostname} to ${label} (${deployment.id})${current ? `, moving it off ${current}` : ''}`;
    }
    this.d.log.info(`Idle slot ${idle}: ${what}; waiting for Cloudflare to report the pool healthy`);
    await this.waitHealthy(idle);
    return `${what}; pool ${idle} is healthy`;
  }

  /**
   * Poll the pool's health until every reporting region says healthy, or the timeout passes.
   * Cloudflare's verdict can lag an alias change by one monitor interval; that is why green's own
   * health check passed before (deploy step), and why routing is verified after the first step.
   */
  private async waitHealthy(pool: string): Promise<void> {
    const deadline = Date.now() + this.d.healthTimeoutMs;
    let last = 'no region has reported yet';
    for (;;) {
      const h = await this.d.lb.getPoolHealth(pool);
      if (h.healthy) return;
      const bad = h.origins.filter((o) => !o.healthy).map((o) => `${o.address}: ${o.reason}`);
      last = h.regions.length === 0 ? 'no region has reported yet' : bad.join('; ') || 'a region reports it unhealthy';
      if (Date.now() >= deadline) {
        throw new Error(
          `Cloudflare pool ${pool} did not become healthy within ${Math.round(this.d.healthTimeoutMs / 1000)} s (${last})`,
        );
      }
      await sleep(Math.min(this.d.healthIntervalMs ?? 2000, Math.max(0, deadline - Date.now())), this.d.signal);
    }
  }

  async setGreenShare(pct: number, green: DeploymentRef, snapshot: TrafficSnapshot): Promise<string> {
    const snap = asCloudflare(snapshot);
    const greenPool = idleOf(snap);
    const patch = sharePatch(snap, greenPool, pct);
    const after = await this.d.lb.patchLoadBalancer(patch);
    const weight = after.random_steering?.pool_weights?.[greenPool];
    if (weight !== undefined && Math.abs(weight - pct / 100) > 0.005) {
      throw new Error(
        `Cloudflare accepted the change but reports green's pool ${greenPool} at weight ${weight}, not ${pct / 100}`,
      );
    }
    const weights = Object.entries(patch.random_steering?.pool_weights ?? {})
      .map(([p, w]) => `${p}=${w}`)
      .join(', ');
    this.d.log.info(`Green (${green.id}, pool ${greenPool}) now has ${pct}% of production (weights ${weights})`);
    return `weights ${weights}; fallback ${patch.fallback_pool}`;
  }

  async restore(snapshot: TrafficSnapshot, reason: string): Promise<{ changed: boolean; what: string }> {
    const snap = asCloudflare(snapshot);
    const { lb, vercel, log } = this.d;
    const done: string[] = [];
    // The weights first: that is what takes production off green, in one call — made only when
    // the load balancer differs from the record, so a second restore changes nothing.
    if (!matchesSnapshot(await lb.getLoadBalancer(), snap)) {
      const after: LoadBalancer = await lb.patchLoadBalancer(restorePatch(snap));
      if (!matchesSnapshot(after, snap) && !matchesSnapshot(await lb.getLoadBalancer(), snap)) {
        throw new Error(`Cloudflare did not take the recorded state of load balancer ${snap.loadBalancerId} back`);
      }
      done.push(`load balancer ${snap.loadBalancerId} back to its recorded weights (${snap.livePool} live)`);
      log.info(`Restored load balancer ${snap.loadBalancerId} to its recorded state (${reason})`);
    }
    // Then the hostnames: the live slot must reach blue (a deploy never moves it; if something did,
    // production depends on it); the idle slot goes back to what it pointed at, best effort.
    for (const pool of [snap.livePool, idleOf(snap)]) {
      const slot = snap.slots[pool]!;
      if (!slot.deploymentId) continue;
      try {
        const now = (await vercel.getAlias(slot.hostname))?.deploymentId;
        if (now === slot.deploymentId) continue;
        await vercel.assignAlias(slot.deploymentId, slot.hostname);
        done.push(`${slot.hostname} back on ${slot.deploymentId}`);
        log.info(`Pointed ${slot.hostname} back at ${slot.deploymentId}`);
      } catch (err) {
        if (pool === snap.livePool) throw err;
        log.warning(
          `Could not point the idle slot ${slot.hostname} back at ${slot.deploymentId}: ${message(err)} (it takes no traffic)`,
        );
      }
    }
    return done.length > 0
      ? { changed: true, what: done.join('; ') }
      : {
          changed: false,
          what: `load balancer ${snap.loadBalancerId} and both slots were already in the recorded state`,
        };
  }

  verify(expect: RoutingExpectation): Promise<RoutingCheck> {
    return verifyConfigured(expect, this.d.verify);
  }

  attributable(green: DeploymentRef, blue: DeploymentRef | undefined): Promise<{ ok: boolean; reason: string }> {
    return checkAttribution(green, blue, this.d.verify);
  }

  async moveTo(target: DeploymentRef, snapshot: TrafficSnapshot, reason: string): Promise<string> {
    const snap = asCloudflare(snapshot);
    const idle = idleOf(snap);
    const shares = effectiveWeights(lbFromSnapshot(snap), [snap.livePool, idle]);
    if (snap.slots[snap.livePool]?.deploymentId === target.id) {
      if (shares[idle] === 0) return `${target.id} already serves all of production`;
      // Left mid-switch with the target live: give it everything (the idle slot is "blue" here).
      await this.d.lb.patchLoadBalancer(sharePatch({ ...snap, livePool: idle }, snap.livePool, 100));
      return `${target.id} was live with traffic split; it has all of production again (${reason})`;
    }
    let staged = '';
    if (snap.slots[idle]?.deploymentId !== target.id)
      staged = `${await this.stageOnIdle(target, snap, 'the rollback target')}; `;
    await this.setGreenShare(100, target, snap);
    return `${staged}pool ${idle} with ${target.id} has all of production (${reason})`;
  }

  async describeProduction(): Promise<ProductionView> {
    const { lb, vercel, pools, projectId } = this.d;
    const [production, slots] = await Promise.all([
      readVercelProduction(vercel, projectId),
      readSlotsView(lb, pools, vercel),
    ]);
    return productionView(this.kind, production, slots);
  }

  async retireBlue(snapshot: TrafficSnapshot, blue?: DeploymentRef): Promise<RetireOutcome> {
    const snap = asCloudflare(snapshot);
    const { lb } = this.d;
    const bluePool = snap.livePool;
    const greenPool = Object.keys(snap.slots).find((p) => p !== bluePool);
    if (!greenPool) return { ok: false, what: `the recorded state has no slot besides ${bluePool}` };
    // Read first: a second cleanup (a re-run) finds green already the fallback and changes nothing.
    const now = await lb.getLoadBalancer();
    const after = now.fallback_pool === greenPool ? now : await lb.patchLoadBalancer({ fallback_pool: greenPool });
    const blueWeight = after.random_steering?.pool_weights?.[bluePool];
    const host = snap.slots[bluePool]?.hostname ?? bluePool;
    if (after.fallback_pool !== greenPool) {
      return {
        ok: false,
        what: `Cloudflare still reports fallback pool ${after.fallback_pool}, not green's ${greenPool}`,
      };
    }
    if (blueWeight !== undefined && blueWeight !== 0) {
      return {
        ok: false,
        what: `fallback pool is green's ${greenPool}, but blue's pool ${bluePool} still has weight ${blueWeight}`,
      };
    }
    return {
      ok: true,
      what: `fallback pool is now green's ${greenPool}; blue's pool ${bluePool} keeps weight 0 and ${host} stays on ${blue?.id ?? 'blue'} for rollback`,
    };
  }
}

function message(err: unknown): string {
  return err instanceof ProviderError || err instanceof Error ? err.message : String(err);
}
