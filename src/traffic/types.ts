/**
 * The TrafficManager: how production traffic moves between blue and green, whatever carries it
 * (a Cloudflare Load Balancer over two slot hostnames, or Vercel's own promote / instant rollback).
 * The traffic step, the runner's restore, the post step, rollback mode, `mode: plan` (what serves
 * production) and cleanup (retiring blue) all go through it.
 */
import type { TrafficManagerKind } from '../config/types.js';
import type { DeploymentRef, TrafficSnapshot } from '../pipeline/types.js';
import type { ShareVerdict } from './routing.js';

/** Who serves production now, and the exact state to restore later. */
export interface LiveReading {
  /** The deployment serving production: blue. */
  blue: DeploymentRef;
  snapshot: TrafficSnapshot;
  /** Green's share left by an earlier run that stopped mid-switch (percent), else 0. */
  strayShare: number;
  /** One line for the log and the report: where production is served from. */
  description: string;
  /** What a user should know (a mid-switch state found, a slot pointing nowhere…). */
  notes: string[];
}

/** One part of production as read: its value, or why it is unknown (`not-configured`: no provider for it). */
export type ReadPart<T> = { state: 'read'; value: T } | { state: 'not-configured' | 'failed'; reason: string };

/** Vercel's side of production: the project and its production deployment (none before a first deploy). */
export interface VercelProduction {
  project: string;
  deployment?: { id: string; url?: string };
}

/** The two slots of a Cloudflare load balancer, as read. */
export interface SlotsView {
  livePool: string;
  idlePool: string;
  /** pool id → slot hostname */
  hostnames: Record<string, string>;
  /** Effective share of each slot pool, percent (0–100) of the traffic the two split. */
  shares: Record<string, number>;
  /** pool id → the deployment its slot hostname points at, when that could be read. */
  deployments: Record<string, string | undefined>;
  /** What a user should know (a mid-switch state found…). */
  notes: string[];
}

/** Production as `mode: plan` shows it: read with GET requests only, each part on its own. */
export interface ProductionView {
  kind: TrafficManagerKind;
  /** Vercel's production deployment (read with either manager: plan reports it on its own). */
  vercel: ReadPart<VercelProduction>;
  /** Cloudflare only: the live and idle slots. */
  slots?: ReadPart<SlotsView>;
  /**
   * Blue, the rollback target: the deployment the live slot's hostname points at (Cloudflare, when
   * read), else Vercel's production deployment. `url` only when Vercel names it for that deployment.
   */
  blue?: { id: string; url?: string };
  /** Set when the live slot serves a deployment other than Vercel's production deployment. */
  slotMismatch?: string;
}

/** What retiring blue found: `ok: false` when the provider is not in the state asked for (a warning). */
export interface RetireOutcome {
  ok: boolean;
  /** One line: what was done or found. */
  what: string;
}

/**
 * What routing verification found. Never a pass it did not see: answers that cannot be attributed
 * to green or blue, failed requests and non-2xx answers all make `ok` false (see `reason`).
 */
export type RoutingCheck = { kind: 'share' } & ShareVerdict;

/** What a routing verification expects. */
export type RoutingExpectation =
  /** Everything from this deployment (after a restore or a rollback). */
  | { deployment: DeploymentRef; other?: DeploymentRef }
  /** Green's share in percent, the rest from blue. */
  | { share: number; green: DeploymentRef; blue: DeploymentRef };

export interface TrafficManager {
  readonly kind: TrafficManagerKind;
  /** Who is live, read from the provider (never assumed). */
  readLive(): Promise<LiveReading>;
  /** The exact state to restore later (`readLive().snapshot`). */
  snapshot(): Promise<TrafficSnapshot>;
  /**
   * Make green reachable without production traffic: Cloudflare assigns the idle slot's hostname to
   * green and waits until its pool is healthy; Vercel has nothing to do (green is staged). Returns a
   * line saying what was done.
   */
  prepareGreen(green: DeploymentRef, snapshot: TrafficSnapshot): Promise<string>;
  /** Give green `pct` percent of production (one provider call per step). Returns the routing set, in one line. */
  setGreenShare(pct: number, green: DeploymentRef, snapshot: TrafficSnapshot): Promise<string>;
  /**
   * Put a recorded state back exactly. It reads first and changes only what differs, so repeating
   * it makes no further change (`changed: false`).
   */
  restore(snapshot: TrafficSnapshot, reason: string): Promise<{ changed: boolean; what: string }>;
  /** Do real requests to `production-url` follow the expectation? */
  verify(expect: RoutingExpectation): Promise<RoutingCheck>;
  /**
   * Before any traffic moves: can production's answers be told as `green`'s or `blue`'s (their own
   * URLs answer with different `version-header` values, or `version-path` bodies)? `ok: false`
   * says why and how to fix it; nothing that moves traffic may start then.
   */
  attributable(green: DeploymentRef, blue: DeploymentRef | undefined): Promise<{ ok: boolean; reason: string }>;
  /**
   * Rollback mode: move all production traffic to `target` (an earlier deployment). Take `snapshot`
   * first and record it: this is the first mutation. Returns a line saying what was done.
   */
  moveTo(target: DeploymentRef, snapshot: TrafficSnapshot, reason: string): Promise<string>;
  /**
   * `mode: plan`: who serves production and, with Cloudflare, the live and idle slots, each slot's
   * share and the deployment its hostname points at. GET requests only; a part that cannot be read
   * says why instead of throwing.
   */
  describeProduction(): Promise<ProductionView>;
  /**
   * Cleanup, once green has stood through validation: retire blue without taking it away.
   * Cloudflare: green's pool (the idle slot of `snapshot`) becomes the fallback pool; blue's pool
   * keeps weight 0 and its slot hostname stays on blue, so a later rollback is still one weight
   * change. Vercel: nothing to do, blue stays the Instant Rollback target. `blue` names it in the line.
   */
  retireBlue(snapshot: TrafficSnapshot, blue?: DeploymentRef): Promise<RetireOutcome>;
}
