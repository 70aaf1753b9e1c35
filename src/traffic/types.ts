/**
 * The TrafficManager: how production traffic moves between blue and green, whatever carries it
 * (a Cloudflare Load Balancer over two slot hostnames, or Vercel's own promote / instant rollback).
 * The traffic step, the runner's restore, the post step and rollback mode all go through it.
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

/** What routing verification found. `notChecked`: responses could not be attributed (see reason). */
export type RoutingCheck =
  | ({ kind: 'share'; ok: boolean; notChecked?: false } & ShareVerdict)
  | { kind: 'not-checked'; ok: true; notChecked: true; reason: string; expected: number };

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
   * Rollback mode: move all production traffic to `target` (an earlier deployment). Take `snapshot`
   * first and record it: this is the first mutation. Returns a line saying what was done.
   */
  moveTo(target: DeploymentRef, snapshot: TrafficSnapshot, reason: string): Promise<string>;
}
