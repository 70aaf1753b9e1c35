/**
 * The Cloudflare traffic manager: two pools (slots) behind one load balancer, each reaching Vercel
 * under its own slot hostname. Green is staged on the idle slot by moving that hostname to it
 * (a Vercel alias), then takes traffic by pool weights, one PATCH per step. Blue keeps its hostname
 * throughout, so going back is one PATCH of the recorded weights.
 */
import type { DeploymentRef, Logger, TrafficSnapshot } from '../pipeline/types.js';
import type { CloudflareLb, LoadBalancer, Monitor, Pool, PoolHealth } from '../providers/cloudflare.js';
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
  lb: Pick<
    CloudflareLb,
    'getLoadBalancer' | 'patchLoadBalancer' | 'getPool' | 'patchPool' | 'getPoolHealth' | 'getMonitor'
  >;
  vercel: Pick<VercelApi, 'getAlias' | 'assignAlias' | 'getDeployment' | 'getProject'>;
  /** The Vercel project, for its production deployment (plan reports it beside the slots). */
  projectId: string;
  pools: [string, string];
  /** How long a freshly assigned slot may take to report healthy (`health-check-timeout`). */
  healthTimeoutMs: number;
  /** Longest pause between pool health reads (default 2 s; the first pauses are shorter, see `waitHealthy`). */
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

/** How long a reading of a slot's alias stands for staging on the idle slot. */
const ALIAS_FRESH_MS = 5_000;

/** What the manager uses of a Vercel deployment: fixed once it exists. */
interface DeploymentFacts {
  id: string;
  url: string;
  meta: { githubCommitSha?: string };
}

/** First pause between pool health reads; each next pause doubles, up to `healthIntervalMs`. */
const FIRST_HEALTH_PAUSE_MS = 250;

/**
 * What the run's one manager reuses of what it read (the API budget, docs/benchmarks.md §4):
 * - the load balancer — weights, fallback, default pools: what moves production — is never reused:
 *   every `readLive`, restore, retire and the world check read it anew;
 * - the pools (their origins' slot hostnames and monitor) and the monitors (their interval) are
 *   set-up: read once per run, checked by the world check before anything moves, and changed by
 *   this run only through its own writes, whose answers replace what was kept. A pool is read anew
 *   where it matters that it is current: before its origins are rewritten (`setOriginsEnabled`: a
 *   PATCH replaces the whole list) and for Cloudflare's own health verdict;
 * - a Vercel deployment's id, URL and commit never change: read once per run;
 * - a slot hostname's alias, as the latest reading of who is live saw it, stands for a few seconds:
 *   staging on the idle slot right after that reading does not ask again (a change in between is
 *   caught by the routing check after the switch, which restores blue).
 */
export class CloudflareTrafficManager implements TrafficManager {
  readonly kind = 'cloudflare' as const;
  private readonly d: CloudflareManagerDeps;
  private readonly pools = new Map<string, Pool>();
  private readonly monitors = new Map<string, Monitor>();
  private readonly deployments = new Map<string, DeploymentFacts>();
  /** Slot hostname → the deployment its alias named, and when that was read (or written). */
  private readonly aliases = new Map<string, { deploymentId: string | undefined; at: number }>();

  constructor(deps: CloudflareManagerDeps) {
    this.d = deps;
  }

  /** A pool as last read or written by this run (`fresh`: read it now). */
  private async pool(id: string, fresh = false): Promise<Pool> {
    const kept = this.pools.get(id);
    if (kept && !fresh) return kept;
    const read = await this.d.lb.getPool(id);
    this.pools.set(id, read);
    return read;
  }

  private async monitor(id: string): Promise<Monitor> {
    const kept = this.monitors.get(id);
    if (kept) return kept;
    const read = await this.d.lb.getMonitor(id);
    this.monitors.set(id, read);
    return read;
  }

  /**
   * The reads of the world check (src/traffic/world.ts), through this manager: the load balancer anew,
   * the pools and monitors read once and kept for the rest of the run (see the class comment).
   */
  worldReads(): Pick<CloudflareLb, 'getLoadBalancer' | 'getPool' | 'getMonitor'> {
    return {
      getLoadBalancer: () => this.d.lb.getLoadBalancer(),
      getPool: (id) => this.pool(id),
      getMonitor: (id) => this.monitor(id),
    };
  }

  async readLive(): Promise<LiveReading> {
    const { lb, vercel, pools } = this.d;
    // The load balancer anew and the pools as kept, together; then both slots' aliases together.
    const [balancer, views] = await Promise.all([lb.getLoadBalancer(), Promise.all(pools.map((id) => this.pool(id)))]);
    const reading = readSlots(balancer, views, pools);
    const aliases = await Promise.all(pools.map((pool) => vercel.getAlias(reading.hostnames[pool]!)));
    const byPool: Record<string, string | undefined> = {};
    const at = Date.now();
    pools.forEach((pool, i) => {
      byPool[pool] = aliases[i]?.deploymentId ?? undefined;
      this.aliases.set(reading.hostnames[pool]!, { deploymentId: byPool[pool], at });
    });
    const blueId = byPool[reading.livePool];
    const liveHost = reading.hostnames[reading.livePool]!;
    if (!blueId) {
      throw new Error(
        `the live slot ${reading.livePool} reaches ${liveHost}, but that hostname is not assigned to any Vercel deployment: ` +
          'cannot tell which deployment serves production',
      );
    }
    const blue = await this.deployment(blueId);
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

  /** A deployment's id, URL and commit: read once per run (they never change). */
  private async deployment(id: string): Promise<DeploymentFacts> {
    const kept = this.deployments.get(id);
    if (kept) return kept;
    const d = await this.d.vercel.getDeployment(id);
    const facts: DeploymentFacts = { id: d.id, url: d.url, meta: { githubCommitSha: d.meta.githubCommitSha } };
    this.deployments.set(id, facts);
    return facts;
  }

  /** The deployment `hostname`'s alias names: as read in the last few seconds, else read now. */
  private async aliasOf(hostname: string): Promise<string | undefined> {
    const seen = this.aliases.get(hostname);
    if (seen && Date.now() - seen.at <= ALIAS_FRESH_MS) return seen.deploymentId;
    return (await this.d.vercel.getAlias(hostname))?.deploymentId ?? undefined;
  }

  /** Point the idle slot's hostname at `deployment` and wait until Cloudflare finds its pool healthy. */
  private async stageOnIdle(deployment: DeploymentRef, snap: CloudflareSnapshot, label: string): Promise<string> {
    const idle = idleOf(snap);
    const hostname = snap.slots[idle]!.hostname;
    const current = await this.aliasOf(hostname);
    let what: string;
    if (current === deployment.id) {
      what = `${hostname} already points at ${label} (${deployment.id})`;
    } else {
      this.aliases.delete(hostname);
      await this.d.vercel.assignAlias(deployment.id, hostname);
      this.aliases.set(hostname, { deploymentId: deployment.id, at: Date.now() });
      what = `assigned ${hostname} to ${label} (${deployment.id})${current ? `, moving it off ${current}` : ''}`;
    }
    // A restore under session affinity leaves the slot's origins disabled (drained): enable them now
    // that the slot holds the deployment to stage. Cloudflare probes only enabled origins.
    // Decided on the pool as kept: if someone disabled its origins meanwhile, no health result comes and
    // the wait below fails before any traffic moves; a pool that needs the change is read anew first.
    if (await this.setOriginsEnabled(idle, true, { kept: true })) what += `; enabled the origins of pool ${idle}`;
    this.d.log.info(`Idle slot ${idle}: ${what}; waiting for a Cloudflare health result newer than the change`);
    await this.waitHealthy(idle);
    return `${what}; pool ${idle} is healthy`;
  }

  /**
   * Enable or disable every origin of a pool (endpoint drain); true when something changed. The pool
   * is read anew (`kept`: only when the pool as kept needs the change): the PATCH replaces the whole
   * origin list, so it starts from the pool as it is now.
   */
  private async setOriginsEnabled(pool: string, enabled: boolean, opts: { kept?: boolean } = {}): Promise<boolean> {
    const unchanged = (p: Pool) => p.origins.every((o) => (o.enabled !== false) === enabled);
    if (opts.kept && unchanged(await this.pool(pool))) return false;
    const view = await this.pool(pool, true);
    if (unchanged(view)) return false;
    const after = await this.d.lb.patchPool(pool, { origins: view.origins.map((o) => ({ ...o, enabled })) });
    this.pools.set(pool, after);
    if (!after.origins.every((o) => (o.enabled !== false) === enabled)) {
      throw new Error(`Cloudflare did not ${enabled ? 'enable' : 'disable'} the origins of pool ${pool}`);
    }
    this.d.log.info(`${enabled ? 'Enabled' : 'Disabled (drained)'} the origins of Cloudflare pool ${pool}`);
    return true;
  }

  /**
   * Wait until Cloudflare judges the pool healthy on a result newer than the change just made. The
   * health API carries no time, so a data center's result counts as new once what it reports has
   * changed twice since the change (the first change may come from a probe sent before it), or once
   * two monitor intervals have passed. The origin must then be healthy in a majority of the data
   * centers that report. A pool without a monitor has unknown health: refused.
   *
   * The first read after the change is the baseline (no data center's result in it counts as new);
   * the reads after it come 250 ms, 250 ms, 500 ms, 1 s … apart, up to `healthIntervalMs`: a result
   * newer than the change is a wait no implementation avoids (two changes, so two short pauses first:
   * a fast monitor's fresh result is seen one read after it exists), and the back-off after them keeps
   * the reads few when the monitor is slow (60 s by default: about one read more in its two minutes).
   */
  private async waitHealthy(pool: string): Promise<void> {
    const started = Date.now();
    const deadline = started + this.d.healthTimeoutMs;
    // The monitor id and its interval are set-up, kept from the world check or an earlier read.
    const view = await this.pool(pool);
    if (!view.monitor) {
      throw new Error(
        `Cloudflare pool ${pool} has no monitor: its health is unknown, so nothing says the slot answers (attach a monitor to the pool)`,
      );
    }
    const monitor = await this.monitor(view.monitor);
    const intervalMs = Math.max(1, Number(monitor.interval ?? 60)) * 1000;
    const changes = new Map<string, { last: string; count: number }>();
    let last = 'no data center has reported yet';
    let pauseMs = Math.min(FIRST_HEALTH_PAUSE_MS, this.d.healthIntervalMs ?? 2000);
    let pauses = 0;
    for (let baseline = true; ; baseline = false) {
      const h = await this.d.lb.getPoolHealth(pool);
      for (const [dc, sample] of Object.entries(h.samples)) {
        const c = changes.get(dc);
        if (!c) changes.set(dc, { last: sample, count: baseline ? 0 : 1 });
        else if (c.last !== sample) [c.last, c.count] = [sample, c.count + 1];
      }
      const allFresh = Date.now() - started >= 2 * intervalMs;
      const fresh = new Set([...changes].filter(([, c]) => allFresh || c.count >= 2).map(([dc]) => dc));
      let verdict = freshVerdict(h, fresh);
      // The pool's own verdict, when Cloudflare sends one, may only make it stricter: Cloudflare judges
      // by region, which the data center names of the health API do not tell.
      if (verdict.healthy && (await this.pool(pool, true)).healthy === false)
        verdict = { healthy: false, why: `Cloudflare reports pool ${pool} unhealthy` };
      if (verdict.healthy) return;
      last = verdict.why;
      if (Date.now() >= deadline) {
        throw new Error(
          `Cloudflare pool ${pool} did not become healthy within ${Math.round(this.d.healthTimeoutMs / 1000)} s (${last}; monitor interval ${intervalMs / 1000} s)`,
        );
      }
      await sleep(Math.min(pauseMs, Math.max(0, deadline - Date.now())), this.d.signal);
      if (++pauses >= 2) pauseMs = Math.min(pauseMs * 2, this.d.healthIntervalMs ?? 2000);
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
    // A restore re-points slots: what was read of their aliases no longer stands.
    this.aliases.clear();
    const snap = asCloudflare(snapshot);
    const { lb, vercel, log } = this.d;
    const done: string[] = [];
    const balancer = await lb.getLoadBalancer();
    const pinned = affinityOn(balancer);
    // The weights first: that is what takes production off green, in one call — made only when
    // the load balancer differs from the record, so a second restore changes nothing.
    if (!matchesSnapshot(balancer, snap)) {
      const after: LoadBalancer = await lb.patchLoadBalancer(restorePatch(snap));
      if (!matchesSnapshot(after, snap) && !matchesSnapshot(await lb.getLoadBalancer(), snap)) {
        throw new Error(`Cloudflare did not take the recorded state of load balancer ${snap.loadBalancerId} back`);
      }
      done.push(`load balancer ${snap.loadBalancerId} back to its recorded weights (${snap.livePool} live)`);
      log.info(`Restored load balancer ${snap.loadBalancerId} to its recorded state (${reason})`);
    }
    // With session affinity, weights do not move visitors pinned to green: disable (drain) green's
    // origins so Cloudflare sends them elsewhere.
    const idle = idleOf(snap);
    if (pinned && (await this.setOriginsEnabled(idle, false))) {
      const drain = balancer.session_affinity_attributes?.drain_duration ?? 0;
      done.push(
        `origins of pool ${idle} disabled so visitors pinned to it (session affinity ${balancer.session_affinity}) leave it` +
          (drain > 0 ? ` after the drain duration of ${drain} s` : ''),
      );
    }
    // Then the hostnames: the live slot must reach blue (a deploy never moves it; if something did,
    // production depends on it); the idle slot goes back to what it pointed at, best effort — but with
    // session affinity it may still hold pinned visitors, so it goes to blue, never to an older release.
    const blueId = snap.slots[snap.livePool]?.deploymentId;
    for (const pool of [snap.livePool, idle]) {
      const recorded = snap.slots[pool]!;
      const slot = pinned && pool === idle && blueId ? { ...recorded, deploymentId: blueId } : recorded;
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
    // Visitors pinned by session affinity to the slot left behind stay there whatever the weights.
    let drained = '';
    if (affinityOn(await this.d.lb.getLoadBalancer()) && (await this.setOriginsEnabled(snap.livePool, false)))
      drained = `; origins of pool ${snap.livePool} disabled so visitors pinned to it leave it`;
    return `${staged}pool ${idle} with ${target.id} has all of production${drained} (${reason})`;
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

/** Session affinity pins visitors to an endpoint whatever the weights (`none` and "" are off). */
export function affinityOn(lb: Pick<LoadBalancer, 'session_affinity'>): boolean {
  return !!lb.session_affinity && lb.session_affinity !== 'none';
}

/**
 * The pool's verdict from the data centers whose result is newer than the change (`fresh`): every
 * origin healthy in a majority of the data centers that report. Pure.
 */
export function freshVerdict(h: PoolHealth, fresh: ReadonlySet<string>): { healthy: boolean; why: string } {
  if (h.regions.length === 0) return { healthy: false, why: 'no data center has reported yet' };
  const byOrigin = new Map<string, { up: number; seen: number }>();
  for (const [dc, sample] of Object.entries(h.samples)) {
    for (const part of sample.split(';').filter(Boolean)) {
      const [address, healthy] = part.split('|');
      const o = byOrigin.get(address!) ?? { up: 0, seen: 0 };
      byOrigin.set(address!, o);
      o.seen++;
      if (fresh.has(dc) && healthy === 'true') o.up++;
    }
  }
  if (byOrigin.size === 0) return { healthy: false, why: 'no origin has been checked yet' };
  const bad = [...byOrigin].filter(([, o]) => o.up * 2 <= o.seen);
  if (bad.length === 0) return { healthy: true, why: 'healthy' };
  const stale = h.regions.length - fresh.size;
  const reasons = bad.map(([address, o]) => {
    const r = h.origins.find((x) => x.address === address);
    return `${address}: healthy on a new result in ${o.up} of ${o.seen} data centers${r && !r.healthy ? ` (${r.reason})` : ''}`;
  });
  return {
    healthy: false,
    why: `${reasons.join('; ')}${stale > 0 ? `; ${stale} data centers have no result newer than the change yet` : ''}`,
  };
}

function message(err: unknown): string {
  return err instanceof ProviderError || err instanceof Error ? err.message : String(err);
}
