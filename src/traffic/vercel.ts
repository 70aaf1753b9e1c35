/**
 * The Vercel traffic manager (`traffic-manager: vercel`): no gradual steps — green is promoted in
 * one move (all production domains at once, no rebuild), and blue comes back by Instant Rollback.
 * Both are asynchronous on Vercel's side: each is followed until the project's `lastAliasRequest`
 * says it succeeded.
 */
import type { DeploymentRef, Logger, TrafficSnapshot } from '../pipeline/types.js';
import type { VercelApi } from '../providers/vercel-api.js';
import { productionView, readVercelProduction } from './describe.js';
import type {
  LiveReading,
  ProductionView,
  RetireOutcome,
  RoutingCheck,
  RoutingExpectation,
  TrafficManager,
} from './types.js';
import { checkAttribution, verifyConfigured, type VerifyOptions } from './verify.js';

export interface VercelManagerDeps {
  vercel: Pick<VercelApi, 'getProject' | 'getDeployment' | 'promote' | 'rollback' | 'waitForAliasRequest'>;
  projectId: string;
  /** How long a promote or rollback may take to complete on Vercel's side. */
  aliasTimeoutMs: number;
  /** Absent without `production-url` (allowed in `mode: plan`, which verifies nothing). */
  verify?: VerifyOptions;
  log: Logger;
  signal?: AbortSignal;
}

function productionOf(s: TrafficSnapshot): string {
  if (s.kind !== 'vercel')
    throw new Error(`a ${s.kind} traffic snapshot cannot be applied with traffic-manager: vercel`);
  return s.productionDeploymentId;
}

export class VercelTrafficManager implements TrafficManager {
  readonly kind = 'vercel' as const;
  private readonly d: VercelManagerDeps;

  constructor(deps: VercelManagerDeps) {
    this.d = deps;
  }

  async readLive(): Promise<LiveReading> {
    const project = await this.d.vercel.getProject(this.d.projectId);
    const prod = project.productionDeployment;
    if (!prod)
      throw new Error(`Vercel project ${this.d.projectId} has no production deployment: nothing to switch from`);
    const blue = await this.d.vercel.getDeployment(prod.id);
    const notes: string[] = [];
    const pending = project.lastAliasRequest;
    if (pending && (pending.jobStatus === 'pending' || pending.jobStatus === 'in-progress')) {
      notes.push(`a ${pending.type} to ${pending.toDeploymentId} is still ${pending.jobStatus} on Vercel`);
    }
    return {
      blue: { id: blue.id, url: blue.url, ...(blue.meta.githubCommitSha ? { sha: blue.meta.githubCommitSha } : {}) },
      snapshot: { kind: 'vercel', productionDeploymentId: blue.id },
      strayShare: 0,
      description: `project ${project.name} production → ${blue.id} (${blue.url})`,
      notes,
    };
  }

  async snapshot(): Promise<TrafficSnapshot> {
    return (await this.readLive()).snapshot;
  }

  async prepareGreen(green: DeploymentRef, _snapshot?: TrafficSnapshot): Promise<string> {
    const d = await this.d.vercel.getDeployment(green.id);
    if (d.readyState !== 'READY')
      throw new Error(`green (${green.id}) is ${d.readyState}, not READY: it cannot be promoted`);
    return `green (${green.id}) is staged and READY; Vercel promotes it in one move`;
  }

  async setGreenShare(pct: number, green: DeploymentRef, _snapshot?: TrafficSnapshot): Promise<string> {
    if (pct !== 100) {
      throw new Error(
        `traffic-manager: vercel moves production in one step; ${pct}% needs traffic-manager: cloudflare`,
      );
    }
    const { queued } = await this.d.vercel.promote(this.d.projectId, green.id);
    if (queued) this.d.log.info('Vercel queued the promotion behind an active rolling release; waiting for it');
    await this.d.vercel.waitForAliasRequest(this.d.projectId, green.id, {
      timeoutMs: this.d.aliasTimeoutMs,
      signal: this.d.signal,
    });
    this.d.log.info(`Promoted green (${green.id}): production domains point at it`);
    return `promoted ${green.id}: production domains point at it`;
  }

  async restore(snapshot: TrafficSnapshot, reason: string): Promise<{ changed: boolean; what: string }> {
    return this.rollbackTo(productionOf(snapshot), reason);
  }

  /** Instant Rollback to `id` unless it already serves production; waits until Vercel is done. */
  private async rollbackTo(id: string, reason: string): Promise<{ changed: boolean; what: string }> {
    const project = await this.d.vercel.getProject(this.d.projectId);
    const pending = project.lastAliasRequest;
    const settled =
      !pending ||
      pending.jobStatus === 'succeeded' ||
      pending.jobStatus === 'failed' ||
      pending.jobStatus === 'skipped';
    if (project.productionDeployment?.id === id && settled)
      return { changed: false, what: `${id} already serves production` };
    await this.d.vercel.rollback(this.d.projectId, id, reason);
    await this.d.vercel.waitForAliasRequest(this.d.projectId, id, {
      timeoutMs: this.d.aliasTimeoutMs,
      signal: this.d.signal,
    });
    this.d.log.info(`Instant Rollback to ${id} finished: production domains point at it`);
    return { changed: true, what: `production rolled back to ${id} (Vercel Instant Rollback)` };
  }

  verify(expect: RoutingExpectation): Promise<RoutingCheck> {
    return verifyConfigured(expect, this.d.verify);
  }

  attributable(green: DeploymentRef, blue: DeploymentRef | undefined): Promise<{ ok: boolean; reason: string }> {
    return checkAttribution(green, blue, this.d.verify);
  }

  async moveTo(target: DeploymentRef, _snapshot: TrafficSnapshot, reason: string): Promise<string> {
    return (await this.rollbackTo(target.id, reason)).what;
  }

  async describeProduction(): Promise<ProductionView> {
    return productionView(this.kind, await readVercelProduction(this.d.vercel, this.d.projectId));
  }

  /** Nothing to retire: Vercel keeps blue for Instant Rollback without anything being set. */
  async retireBlue(snapshot: TrafficSnapshot): Promise<RetireOutcome> {
    return { ok: true, what: `Vercel keeps ${productionOf(snapshot)} as the instant-rollback target` };
  }
}
