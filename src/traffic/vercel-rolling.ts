/**
 * Canary through Vercel Rolling Releases (`traffic-manager: vercel`, `strategy: canary`): no load
 * balancer — Vercel splits the production domains' visitors between blue (the current deployment)
 * and green (the canary) by the stage's percentage.
 *
 * - The project's own rolling-release config is read into the traffic snapshot before anything
 *   changes (`readLive`, recorded by the deploy step), and put back exactly after the run.
 * - The first step sets a manual-approval config whose stages are `traffic-steps` and promotes green:
 *   with the config enabled the promote starts a rolling release at the first stage (docs: "Deploy to
 *   production (triggers rolling release automatically)"; the CLI's promote waits for `activeStage`).
 * - Each later step is approved only when the traffic step asks for it, i.e. after the analysis of the
 *   step before passed (the canary hold loop); 100 % completes the release.
 * - Restore aborts an active release by Instant Rollback to blue (what `vercel rolling-release abort`
 *   does), puts the config back, and moves Skew Protection's boundary past green so clients pinned to
 *   green stop reaching it (Vercel's remedy for a deployment that must no longer answer old clients).
 */
import type { CheckResult, DeploymentRef, TrafficSnapshot } from '../pipeline/types.js';
import type { VercelApi } from '../providers/vercel-api.js';
import type { RollingRelease, RollingReleaseConfig } from '../providers/vercel-types.js';
import { errorMessage, sleep } from '../text.js';
import type { LiveReading, RetireOutcome } from './types.js';
import { VercelTrafficManager, type VercelManagerDeps } from './vercel.js';

export interface VercelRollingDeps extends Omit<VercelManagerDeps, 'vercel'> {
  vercel: Pick<
    VercelApi,
    | 'getProject'
    | 'getDeployment'
    | 'promote'
    | 'rollback'
    | 'waitForAliasRequest'
    | 'getRollingReleaseBilling'
    | 'getRollingReleaseConfig'
    | 'updateRollingReleaseConfig'
    | 'deleteRollingReleaseConfig'
    | 'getRollingRelease'
    | 'approveRollingReleaseStage'
    | 'completeRollingRelease'
    | 'setSkewProtectionBoundary'
  >;
  /** `traffic-steps`: the release's stages (the last is 100). */
  steps: number[];
  /** How long Vercel may take to show a stage change in `GET …/rolling-release`. */
  stageTimeoutMs?: number;
  /**
   * `mode: rollback`: the emergency path is never blocked by Rolling Releases reads (a plan without
   * them may refuse those calls); what could not be read is said, and an unknown release is treated
   * as possibly active (the rollback is made, which aborts one).
   */
  emergency?: boolean;
}

/** One line for a config: `disabled` or its stages. */
export function describeRollingConfig(c: RollingReleaseConfig | null | undefined): string {
  if (!c) return 'disabled';
  const stages = (c.stages ?? []).map(
    (s) => `${s.targetPercentage}%${s.requireApproval ? ' (approval)' : s.duration ? ` (${s.duration} min)` : ''}`,
  );
  return `stages ${stages.join(' → ') || 'none'}`;
}

/** Same config, as far as the API shows one (order of stages matters; absent = default). */
function sameConfig(a: RollingReleaseConfig | null, b: RollingReleaseConfig | null): boolean {
  return JSON.stringify(normalise(a)) === JSON.stringify(normalise(b));
}

function normalise(c: RollingReleaseConfig | null): unknown {
  if (!c) return null;
  return {
    target: c.target,
    canaryResponseHeader: c.canaryResponseHeader ?? false,
    stages: (c.stages ?? []).map((s) => ({
      targetPercentage: s.targetPercentage,
      requireApproval: s.requireApproval ?? false,
      duration: s.duration ?? null,
      linearShift: s.linearShift ?? false,
    })),
  };
}

function recordedConfig(s: TrafficSnapshot): RollingReleaseConfig | null | undefined {
  return s.kind === 'vercel' ? s.rollingReleaseConfig : undefined;
}

export class VercelRollingTrafficManager extends VercelTrafficManager {
  private readonly r: VercelRollingDeps;

  constructor(deps: VercelRollingDeps) {
    super(deps);
    this.r = deps;
  }

  /** Production as Vercel has it, with the project's rolling-release config and any active release. */
  override async readLive(): Promise<LiveReading> {
    const live = await super.readLive();
    const notes = [...live.notes];
    let config: RollingReleaseConfig | null | undefined;
    let active: RollingRelease | null = null;
    try {
      [config, active] = await Promise.all([
        this.r.vercel.getRollingReleaseConfig(this.r.projectId),
        this.r.vercel.getRollingRelease(this.r.projectId, 'ACTIVE'),
      ]);
    } catch (err) {
      if (!this.r.emergency) throw err;
      config = undefined;
      notes.push(`Vercel Rolling Releases could not be read (${errorMessage(err)}): not recorded`);
    }
    let strayShare = 0;
    if (active) {
      strayShare = active.activeStage?.targetPercentage ?? 0;
      notes.push(
        `a rolling release is active: ${active.canaryDeployment?.id ?? '?'} serves ${strayShare}% ` +
          `beside ${active.currentDeployment?.id ?? '?'}`,
      );
    }
    return {
      ...live,
      snapshot: {
        kind: 'vercel',
        productionDeploymentId: live.blue.id,
        ...(config === undefined ? {} : { rollingReleaseConfig: config }),
      },
      strayShare,
      description:
        config === undefined
          ? live.description
          : `${live.description}; rolling releases ${describeRollingConfig(config)}`,
      notes,
    };
  }

  /** Green READY, the plan allows Rolling Releases, and no other release is running. */
  override async prepareGreen(green: DeploymentRef, snapshot?: TrafficSnapshot): Promise<string> {
    const ready = await super.prepareGreen(green, snapshot);
    const billing = await this.r.vercel.getRollingReleaseBilling(this.r.projectId);
    if (billing.reason === 'plan_not_supported')
      throw new Error(`Vercel Rolling Releases are not available: ${billing.message} (reason plan_not_supported)`);
    const active = await this.r.vercel.getRollingRelease(this.r.projectId, 'ACTIVE');
    if (active && active.canaryDeployment?.id !== green.id)
      throw new Error(
        `a rolling release of ${active.canaryDeployment?.id ?? '?'} is active on the project: finish or abort it first`,
      );
    return `${ready}; Vercel Rolling Releases available (${billing.reason})`;
  }

  override async setGreenShare(pct: number, green: DeploymentRef, snapshot?: TrafficSnapshot): Promise<string> {
    if (!snapshot) throw new Error('no recorded traffic state: the rolling release would have nothing to restore');
    const steps = this.r.steps;
    const index = steps.indexOf(pct);
    if (index < 0) throw new Error(`${pct}% is not one of traffic-steps (${steps.join(', ')})`);
    const active = await this.r.vercel.getRollingRelease(this.r.projectId, 'ACTIVE');
    const ours = active?.canaryDeployment?.id === green.id ? active : null;
    if (!ours) {
      if (active) throw new Error(`a rolling release of ${active.canaryDeployment?.id ?? '?'} is active: not ours`);
      if (index !== 0) throw new Error(`no active rolling release of green (${green.id}) to move to ${pct}%`);
      return this.start(green, pct);
    }
    const at = ours.activeStage?.index ?? -1;
    if (at === index) return `rolling release of ${green.id} already at ${pct}%`;
    if (pct === 100) {
      const done = await this.r.vercel.completeRollingRelease(this.r.projectId, green.id);
      await this.waitFor(green.id, (rr) => rr?.state === 'COMPLETE', 'complete');
      this.r.log.info(`Rolling release of ${green.id} completed: it serves 100% of production`);
      // The project's own config comes back at once: the next production deployment is not ours to stage.
      // Green is live and good; a config that cannot be put back now is said loudly and tried again
      // by cleanup, never a reason to roll a good release back.
      let put: string;
      try {
        put = await this.putConfigBack(snapshot);
      } catch (err) {
        put = `rolling-release config NOT put back yet: ${errorMessage(err)}`;
        this.r.log.warning(
          `${put}. Cleanup tries again; otherwise set it by hand (Project Settings → Build & Deployment → ` +
            `Rolling Releases) to: ${describeRollingConfig(recordedConfig(snapshot))}`,
        );
      }
      return `rolling release completed (${done?.state ?? 'COMPLETE'}); ${put}`;
    }
    if (index !== at + 1) throw new Error(`the rolling release is at stage ${at}; ${pct}% is stage ${index}`);
    await this.r.vercel.approveRollingReleaseStage(this.r.projectId, green.id, index);
    await this.waitFor(green.id, (rr) => rr?.activeStage?.index === index, `stage ${index} (${pct}%)`);
    this.r.log.info(`Rolling release of ${green.id}: stage ${index} approved, green at ${pct}%`);
    return `rolling release stage ${index} approved: green at ${pct}%`;
  }

  /** Manual-approval stages from `traffic-steps`, then promote: Vercel starts the release at stage 0. */
  private async start(green: DeploymentRef, pct: number): Promise<string> {
    await this.r.vercel.updateRollingReleaseConfig(this.r.projectId, {
      enabled: true,
      advancementType: 'manual-approval',
      stages: this.r.steps.map((targetPercentage) => ({ targetPercentage })),
    });
    const { queued } = await this.r.vercel.promote(this.r.projectId, green.id);
    if (queued) throw new Error('Vercel queued the promote behind another rolling release (202): not started');
    await this.r.vercel.waitForAliasRequest(this.r.projectId, green.id, {
      timeoutMs: this.r.aliasTimeoutMs,
      signal: this.r.signal,
    });
    const rr = await this.waitFor(green.id, (r) => r?.state === 'ACTIVE' && r.activeStage?.index === 0, 'start');
    const got = rr?.activeStage?.targetPercentage;
    if (got !== pct) throw new Error(`the rolling release started at ${got ?? '?'}%, not ${pct}%`);
    this.r.log.info(`Rolling release of ${green.id} started: green at ${pct}% of production`);
    return `rolling release started (manual approval, stages ${this.r.steps.join(' → ')}%): green at ${pct}%`;
  }

  /** Polls `GET …/rolling-release` until `done` holds for green's release (Vercel applies changes asynchronously). */
  private async waitFor(
    canary: string,
    done: (rr: RollingRelease | null) => boolean,
    what: string,
  ): Promise<RollingRelease | null> {
    const deadline = Date.now() + (this.r.stageTimeoutMs ?? this.r.aliasTimeoutMs);
    for (;;) {
      const rr = await this.r.vercel.getRollingRelease(this.r.projectId);
      if (rr && rr.canaryDeployment?.id === canary && done(rr)) return rr;
      if (rr?.canaryDeployment?.id === canary && rr.state === 'ABORTED')
        throw new Error(`the rolling release of ${canary} was aborted (waiting for ${what})`);
      if (Date.now() >= deadline)
        throw new Error(`the rolling release of ${canary} did not reach ${what} (now: ${rr ? rr.state : 'none'})`);
      await sleep(250, this.r.signal);
    }
  }

  /**
   * Back to the recorded state: an active release is aborted by Instant Rollback to blue (a rollback
   * while a release is active aborts it); otherwise the ordinary rollback. Then the config, then Skew
   * Protection's boundary past the deployment rolled away from.
   */
  override async restore(snapshot: TrafficSnapshot, reason: string): Promise<{ changed: boolean; what: string }> {
    const parts: string[] = [];
    let changed = false;
    let failure: unknown;
    try {
      const back = await this.productionBack(snapshot, reason);
      changed = back.changed;
      parts.push(...back.parts);
    } catch (err) {
      failure = err;
    }
    // The config comes back whatever happened to production (its calls are its own, so a Vercel
    // answering the project or the rollback badly does not keep it away); the first failure is thrown.
    try {
      const put = await this.putConfigBack(snapshot);
      if (!put.startsWith('unchanged')) changed = true;
      parts.push(put);
    } catch (err) {
      failure ??= err;
    }
    if (failure !== undefined) throw failure;
    return { changed, what: parts.join('; ') };
  }

  /** Production back on blue: an active release aborted by Instant Rollback, else the plain rollback; then unpinned. */
  private async productionBack(
    snapshot: TrafficSnapshot,
    reason: string,
  ): Promise<{ changed: boolean; parts: string[] }> {
    const blue = snapshot.kind === 'vercel' ? snapshot.productionDeploymentId : '';
    const active = await this.r.vercel.getRollingRelease(this.r.projectId, 'ACTIVE');
    const parts: string[] = [];
    let changed = false;
    let away: string | undefined;
    if (active) {
      away = active.canaryDeployment?.id;
      await this.r.vercel.rollback(this.r.projectId, blue, reason);
      await this.r.vercel.waitForAliasRequest(this.r.projectId, blue, {
        timeoutMs: this.r.aliasTimeoutMs,
        signal: this.r.signal,
      });
      const after = await this.r.vercel.getRollingRelease(this.r.projectId, 'ACTIVE');
      if (after) throw new Error(`the rolling release of ${away ?? '?'} is still active after the rollback to ${blue}`);
      this.r.log.info(`Rolling release of ${away ?? '?'} aborted: Instant Rollback to ${blue}`);
      parts.push(`rolling release of ${away ?? '?'} aborted by Instant Rollback to ${blue}`);
      changed = true;
    } else {
      const before = (await this.r.vercel.getProject(this.r.projectId)).productionDeployment?.id;
      const back = await super.restore(snapshot, reason);
      if (back.changed) away = before;
      changed = back.changed;
      parts.push(back.what);
    }
    if (away && away !== blue) parts.push(await this.unpin(away));
    return { changed, parts };
  }

  /** The project's rolling-release config exactly as recorded (reads first; no call when equal). */
  private async putConfigBack(snapshot: TrafficSnapshot): Promise<string> {
    const recorded = recordedConfig(snapshot);
    if (recorded === undefined) return 'unchanged: no rolling-release config was recorded';
    const now = await this.r.vercel.getRollingReleaseConfig(this.r.projectId);
    if (sameConfig(now, recorded)) return `unchanged: rolling releases ${describeRollingConfig(recorded)}`;
    if (!recorded) await this.r.vercel.deleteRollingReleaseConfig(this.r.projectId);
    else {
      const stages = (recorded.stages ?? []).map((s) => ({ ...s }));
      await this.r.vercel.updateRollingReleaseConfig(this.r.projectId, {
        enabled: true,
        advancementType: stages.some((s) => s.requireApproval) ? 'manual-approval' : 'automatic',
        stages,
        ...(recorded.canaryResponseHeader === undefined ? {} : { canaryResponseHeader: recorded.canaryResponseHeader }),
      });
    }
    const check = await this.r.vercel.getRollingReleaseConfig(this.r.projectId);
    if (!sameConfig(check, recorded))
      throw new Error(
        `the project's rolling-release config could not be put back: recorded ${describeRollingConfig(recorded)}, ` +
          `now ${describeRollingConfig(check)}`,
      );
    this.r.log.info(`Project rolling-release config put back: ${describeRollingConfig(recorded)}`);
    return `rolling-release config put back (${describeRollingConfig(recorded)})`;
  }

  /**
   * Skew Protection keeps clients that loaded `id` on it after a rollback; Vercel's remedy is the
   * project's boundary (`skewProtectionBoundaryAt`): deployments created before it stop answering
   * pinned clients. Moved just past `id`'s creation, never back.
   */
  private async unpin(id: string): Promise<string> {
    try {
      return await this.moveBoundary(id);
    } catch (err) {
      // Production is already back; the pinning is what is left, said loudly with where to fix it.
      const what = `Skew Protection boundary NOT moved past ${id}: ${errorMessage(err)}`;
      this.r.log.warning(
        `${what}. Clients that loaded ${id} may keep reaching it until Skew Protection's max age passes; ` +
          'set the boundary by hand (Project Settings → Advanced → Skew Protection)',
      );
      return what;
    }
  }

  private async moveBoundary(id: string): Promise<string> {
    const d = await this.r.vercel.getDeployment(id);
    const at = d.createdAt + 1;
    const project = await this.r.vercel.getProject(this.r.projectId);
    if ((project.skewProtectionBoundaryAt ?? 0) >= at) return `Skew Protection already releases clients of ${id}`;
    await this.r.vercel.setSkewProtectionBoundary(this.r.projectId, at);
    this.r.log.info(`Skew Protection boundary moved past ${id}: clients pinned to it are served by production`);
    return `Skew Protection boundary moved past ${id}`;
  }

  /**
   * Rollback mode: an active release this action left is aborted by the Instant Rollback itself
   * (production still names blue then, so the rollback is made even when `target` is that deployment);
   * then clients pinned to the deployment rolled away from are released.
   */
  override async moveTo(target: DeploymentRef, snapshot: TrafficSnapshot, reason: string): Promise<string> {
    const before = (await this.r.vercel.getProject(this.r.projectId)).productionDeployment?.id;
    let active: RollingRelease | null | undefined;
    try {
      active = await this.r.vercel.getRollingRelease(this.r.projectId, 'ACTIVE');
    } catch (err) {
      if (!this.r.emergency) throw err;
      // Unknown: make the rollback anyway (it aborts a release, if one is active).
      this.r.log.warning(`Could not read the project's rolling release (${errorMessage(err)}): rolling back anyway`);
      active = undefined;
    }
    let what: string;
    if (active === undefined) {
      await this.r.vercel.rollback(this.r.projectId, target.id, reason);
      await this.r.vercel.waitForAliasRequest(this.r.projectId, target.id, {
        timeoutMs: this.r.aliasTimeoutMs,
        signal: this.r.signal,
      });
      what = `production rolled back to ${target.id} (Vercel Instant Rollback; any rolling release aborted)`;
    } else if (active) {
      await this.r.vercel.rollback(this.r.projectId, target.id, reason);
      await this.r.vercel.waitForAliasRequest(this.r.projectId, target.id, {
        timeoutMs: this.r.aliasTimeoutMs,
        signal: this.r.signal,
      });
      const still = await this.r.vercel.getRollingRelease(this.r.projectId, 'ACTIVE');
      if (still) throw new Error(`a rolling release of ${still.canaryDeployment?.id ?? '?'} is still active`);
      what = `rolling release of ${active.canaryDeployment?.id ?? '?'} aborted; production rolled back to ${target.id} (Vercel Instant Rollback)`;
    } else what = await super.moveTo(target, snapshot, reason);
    const away = active?.canaryDeployment?.id ?? before;
    return away && away !== target.id ? `${what}; ${await this.unpin(away)}` : what;
  }

  /** After a completed release the config is already back; make sure of it (idempotent). */
  override async retireBlue(snapshot: TrafficSnapshot): Promise<RetireOutcome> {
    const base = await super.retireBlue(snapshot);
    try {
      const put = await this.putConfigBack(snapshot);
      return { ok: base.ok, what: `${base.what}; ${put}` };
    } catch (err) {
      return { ok: false, what: `${base.what}; ${err instanceof Error ? err.message : String(err)}` };
    }
  }
}

/**
 * Pre-flight (deploy mode, `traffic-manager: vercel` + `strategy: canary`): can this project run a
 * rolling release? Refused before anything moves when the team's plan has no Rolling Releases, no
 * slot is left, or a release is already active; a read that fails is a failure, never a pass.
 */
export async function checkRollingReleases(
  vercel: Pick<VercelApi, 'getRollingReleaseBilling' | 'getRollingRelease' | 'getRollingReleaseConfig'> | undefined,
  projectId: string,
): Promise<CheckResult[]> {
  const name = 'Vercel Rolling Releases';
  if (!vercel) return [{ name, status: 'fail', reason: 'vercel-token is not set: Rolling Releases cannot be checked' }];
  try {
    const [billing, active, config] = await Promise.all([
      vercel.getRollingReleaseBilling(projectId),
      vercel.getRollingRelease(projectId, 'ACTIVE'),
      vercel.getRollingReleaseConfig(projectId),
    ]);
    if (billing.reason === 'plan_not_supported')
      return [
        {
          name,
          status: 'fail',
          reason:
            `the team's plan has no Rolling Releases (${billing.message}): strategy: canary with traffic-manager: vercel ` +
            'needs a Pro or Enterprise team; use strategy: blue-green, or traffic-manager: cloudflare',
        },
      ];
    const enabled = billing.enabledProjects ?? [];
    if (billing.reason === 'no_available_slots' && !config && !enabled.includes(projectId))
      return [
        {
          name,
          status: 'fail',
          reason:
            `no Rolling Releases slot is left on the team (${billing.message}; used by ${enabled.join(', ') || 'other projects'}): ` +
            'disable Rolling Releases on another project (Project Settings → Build & Deployment → Rolling Releases)',
        },
      ];
    if (active)
      return [
        {
          name,
          status: 'fail',
          reason:
            `a rolling release of ${active.canaryDeployment?.id ?? '?'} is active on the project ` +
            `(${active.activeStage?.targetPercentage ?? '?'}%): complete or abort it first (vercel rolling-release)`,
        },
      ];
    return [
      {
        name,
        status: 'pass',
        reason: `available (${billing.reason}); the project's own config (${describeRollingConfig(config)}) is put back after the run`,
      },
    ];
  } catch (err) {
    return [
      { name, status: 'fail', reason: `cannot read the project's Rolling Releases status: ${errorMessage(err)}` },
    ];
  }
}
