/**
 * One sandbox's shared world: the request log and fault rules (`traffic`), each service's URL,
 * and the data-plane hits that the load balancer proxy records and the Datadog miniature turns
 * into metrics. Each service module keeps its own state object here under its name.
 */
import { EventEmitter } from 'node:events';
import type { ServiceName, Traffic } from './service.ts';

/** One request that went through the load balancer proxy to a pool origin (the real traffic). */
export interface LbHit {
  /** ms since epoch when the response finished. */
  time: number;
  pool: string;
  /** Vercel deployment that served it (from the edge's `x-vercel-deployment-id`), if any. */
  deploymentId?: string;
  /** `x-app-version` of the response. */
  version?: string;
  status: number;
  latencyMs: number;
  path: string;
  /** Set for requests from the sandbox's own traffic stream. */
  synthetic?: boolean;
}

export interface World {
  traffic: Traffic;
  /** Base URL of every started service. */
  urls: Partial<Record<ServiceName, string>>;
  /** Data-plane hits through the load balancer, oldest first (bounded). */
  hits: LbHit[];
  /** Per-service state; each module owns its key (github, vercel, cloudflare, datadog, slack, s3…). */
  state: Record<string, unknown>;
  /** 'hit' (LbHit), 'change' (service name) … for tests and the traffic stream. */
  events: EventEmitter;
  /** Directory for this sandbox's files (uploads, s3rver data, postgres, event payload). */
  dir: string;
}
