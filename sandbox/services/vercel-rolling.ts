/**
 * The Vercel Rolling Releases miniature: the project's rolling-release config, the rolling release a
 * promote starts while that config is enabled, its stages (manual approval), complete, abort (an
 * instant rollback), the billing status a Hobby team answers, and which deployment serves a request
 * to a production domain while a release is active.
 *
 * Sources (sandbox/README.md, "Rolling Releases"): Vercel's OpenAPI spec
 * (`sandbox/contract/specs/vercel.openapi.json`, operations getRollingRelease, approveRollingReleaseStage,
 * completeRollingRelease, get/update/deleteRollingReleaseConfig, getRollingReleaseBillingStatus),
 * vercel.com/docs/rolling-releases, /docs/cli/rolling-release, the Vercel CLI (`promote` polls the
 * rolling release until `activeStage` exists; `rolling-release abort` calls the rollback endpoint on
 * the current deployment) and /work/shared/research/vercel.md §2.2, §6.1.
 *
 * Where the sources are silent the harsher reading is modelled:
 * - a config PATCH on a plan without Rolling Releases is refused (403 `plan_not_supported`);
 * - a visitor is assigned once (RNG < stage percentage, as the spec's stage description says) and
 *   kept on that side by a cookie until the release ends — later stages only move new visitors;
 * - disabling or deleting the config never stops an active release (spec text);
 * - approving into the final stage completes the release (the final stage is 100 %).
 */
import crypto from 'node:crypto';
import type { SandboxRequest, SandboxResponse } from '../core/service.ts';
import type { World } from '../core/world.ts';
import { vercelError as err } from './vercel-json.ts';
import { moveProductionDomains, startAliasJob } from './vercel-lifecycle.ts';
import { findDeployment, findProject, vercelState, type Deployment, type Project } from './vercel-state.ts';

/** A stage of the project config (`duration` in minutes, as the spec's config schema says). */
export interface RollingStageConfig {
  targetPercentage: number;
  requireApproval?: boolean;
  duration?: number;
  linearShift?: boolean;
}

/** The project's rolling-release config (`null` on the project = disabled). */
export interface RollingReleaseConfig {
  target: 'production';
  advancementType: 'automatic' | 'manual-approval';
  stages: RollingStageConfig[];
  canaryResponseHeader?: boolean;
}

export interface RollingRelease {
  state: 'ACTIVE' | 'COMPLETE' | 'ABORTED';
  currentDeploymentId: string;
  canaryDeploymentId: string;
  queuedDeploymentId: string | null;
  advancementType: RollingReleaseConfig['advancementType'];
  stages: RollingStageConfig[];
  activeIndex: number;
  startedAt: number;
  updatedAt: number;
}

export type Plan = 'hobby' | 'pro' | 'enterprise';

/** The cookie that keeps a visitor on the side it was assigned to (sandbox name: Vercel documents none). */
export const ASSIGNMENT_COOKIE = '_vercel_rr';

const ok = (body: unknown, status = 200): SandboxResponse => ({ status, body });
const changed = (world: World) => world.events.emit('change', 'vercel');

function projectOf(world: World, req: SandboxRequest, id: string): Project | SandboxResponse {
  return findProject(vercelState(world), id) ?? err(world, req, 404, 'not_found', 'Project not found');
}

export function activeRelease(p: Project): RollingRelease | undefined {
  return p.rollingRelease?.state === 'ACTIVE' ? p.rollingRelease : undefined;
}

function deploymentRef(world: World, id: string): Record<string, unknown> | null {
  const d = vercelState(world).deployments.get(id);
  if (!d) return null;
  return {
    id: d.id,
    name: d.name,
    url: d.url,
    target: d.target,
    source: d.source,
    createdAt: d.createdAt,
    readyState: d.readyState,
    readyStateAt: d.readyAt ?? d.createdAt,
  };
}

function stageJson(rr: RollingRelease, i: number): Record<string, unknown> {
  const s = rr.stages[i];
  return {
    index: i,
    isFinalStage: i === rr.stages.length - 1,
    targetPercentage: s.targetPercentage,
    requireApproval: rr.advancementType === 'manual-approval' || s.requireApproval === true,
    // The release document's duration is in seconds; the config's in minutes (spec).
    duration: s.duration === undefined ? null : s.duration * 60,
    linearShift: s.linearShift ?? false,
  };
}

/** `rollingRelease` of GET/approve/complete (spec `getRollingRelease` 200). */
export function releaseJson(world: World, rr: RollingRelease | null | undefined): Record<string, unknown> | null {
  if (!rr) return null;
  const active = rr.state === 'ACTIVE';
  return {
    state: rr.state,
    currentDeployment: deploymentRef(world, rr.currentDeploymentId),
    canaryDeployment: deploymentRef(world, rr.canaryDeploymentId),
    queuedDeploymentId: rr.queuedDeploymentId,
    advancementType: rr.advancementType,
    stages: rr.stages.map((_, i) => stageJson(rr, i)),
    activeStage: active ? stageJson(rr, rr.activeIndex) : null,
    nextStage: active && rr.activeIndex + 1 < rr.stages.length ? stageJson(rr, rr.activeIndex + 1) : null,
    startedAt: rr.startedAt,
    updatedAt: rr.updatedAt,
  };
}

export function configJson(c: RollingReleaseConfig | null): Record<string, unknown> | null {
  if (!c) return null;
  return {
    target: c.target,
    stages: c.stages.map((s) => ({ ...s })),
    ...(c.canaryResponseHeader === undefined ? {} : { canaryResponseHeader: c.canaryResponseHeader }),
  };
}

/** GET /v1/projects/{idOrName}/rolling-release?state=: the last release (any state), or null. */
async function getRelease(world: World, req: SandboxRequest, [id]: string[]): Promise<SandboxResponse> {
  const p = projectOf(world, req, id);
  if ('status' in p) return p;
  const want = req.url.searchParams.get('state');
  if (want && !['ACTIVE', 'COMPLETE', 'ABORTED'].includes(want))
    return err(world, req, 400, 'bad_request', 'Invalid query: `state` must be ACTIVE, COMPLETE or ABORTED');
  const rr = p.rollingRelease && (!want || p.rollingRelease.state === want) ? p.rollingRelease : null;
  return ok({ rollingRelease: releaseJson(world, rr) });
}

/** GET …/rolling-release/config: the template for the next production deployment. */
async function getConfig(world: World, req: SandboxRequest, [id]: string[]): Promise<SandboxResponse> {
  const p = projectOf(world, req, id);
  if ('status' in p) return p;
  return ok({ rollingRelease: configJson(p.rollingReleaseConfig) });
}

function parseStages(raw: unknown): RollingStageConfig[] | string {
  if (!Array.isArray(raw) || raw.length < 2) return '`stages` must list at least two stages';
  const out: RollingStageConfig[] = [];
  let last = 0;
  for (const s of raw as Array<Record<string, unknown>>) {
    const pct = s?.targetPercentage;
    if (typeof pct !== 'number' || !(pct > last) || pct > 100)
      return '`stages[].targetPercentage` must rise strictly, between 1 and 100';
    last = pct;
    const stage: RollingStageConfig = { targetPercentage: pct };
    for (const k of ['requireApproval', 'linearShift'] as const)
      if (k in s) {
        if (typeof s[k] !== 'boolean') return `\`stages[].${k}\` must be a boolean`;
        stage[k] = s[k];
      }
    if ('duration' in s && s.duration !== undefined) {
      if (typeof s.duration !== 'number' || s.duration <= 0) return '`stages[].duration` must be a positive number';
      stage.duration = s.duration;
    }
    out.push(stage);
  }
  if (last !== 100) return 'The final stage must always have targetPercentage: 100';
  return out;
}

/**
 * PATCH …/rolling-release/config with the CLI's body `{enabled, advancementType, stages}`
 * (the spec documents no body). Refused on a plan without Rolling Releases.
 */
async function patchConfig(world: World, req: SandboxRequest, [id]: string[]): Promise<SandboxResponse> {
  const p = projectOf(world, req, id);
  if ('status' in p) return p;
  const body = (req.json ?? {}) as Record<string, unknown>;
  if (body.enabled === false) {
    // Disabling never alters a release in flight (spec).
    p.rollingReleaseConfig = null;
    changed(world);
    return ok({ rollingRelease: null });
  }
  if (p.plan === 'hobby')
    return err(world, req, 403, 'plan_not_supported', 'Rolling Releases are available on Pro and Enterprise plans');
  const stages = parseStages(body.stages);
  if (typeof stages === 'string') return err(world, req, 400, 'bad_request', `Invalid request: ${stages}`);
  const advancementType = body.advancementType ?? 'automatic';
  if (advancementType !== 'automatic' && advancementType !== 'manual-approval')
    return err(
      world,
      req,
      400,
      'bad_request',
      'Invalid request: `advancementType` must be automatic or manual-approval',
    );
  if (advancementType === 'automatic' && stages.slice(0, -1).some((s) => !s.duration && !s.requireApproval))
    return err(world, req, 400, 'bad_request', 'Invalid request: automatic stages need a `duration`');
  // The config the API gives back has no advancement type: it shows as each stage's requireApproval.
  if (advancementType === 'manual-approval') for (const s of stages.slice(0, -1)) s.requireApproval ??= true;
  p.rollingReleaseConfig = {
    target: 'production',
    advancementType,
    stages,
    ...(typeof body.canaryResponseHeader === 'boolean' ? { canaryResponseHeader: body.canaryResponseHeader } : {}),
  };
  // "Enabling Rolling Releases automatically enables skew protection … if it wasn't configured" (spec).
  p.skewProtectionMaxAge ??= 12 * 3600;
  changed(world);
  return ok({ rollingRelease: { stages: stages.map((s) => ({ ...s })) } });
}

/** DELETE …/rolling-release/config: disabled for future deployments; an active release goes on (spec). */
async function deleteConfig(world: World, req: SandboxRequest, [id]: string[]): Promise<SandboxResponse> {
  const p = projectOf(world, req, id);
  if ('status' in p) return p;
  p.rollingReleaseConfig = null;
  changed(world);
  return ok({ rollingRelease: null });
}

/** GET …/rolling-release/billing: a Hobby team has no slots (`plan_not_supported`). */
async function billing(world: World, req: SandboxRequest, [id]: string[]): Promise<SandboxResponse> {
  const p = projectOf(world, req, id);
  if ('status' in p) return p;
  if (p.plan === 'hobby')
    return ok({
      availableSlots: 0,
      reason: 'plan_not_supported',
      message: 'Rolling Releases are available on Pro and Enterprise plans',
    });
  if (p.plan === 'enterprise')
    return ok({ availableSlots: 'unlimited', reason: 'unlimited_slots', message: 'Unlimited rolling releases' });
  return ok({ availableSlots: 1, reason: 'available_slots', message: '1 project can use Rolling Releases' });
}

function activeFor(
  world: World,
  req: SandboxRequest,
  p: Project,
  canaryDeploymentId: unknown,
): RollingRelease | SandboxResponse {
  const rr = activeRelease(p);
  if (!rr) return err(world, req, 404, 'not_found', 'No active rolling release for this project');
  if (typeof canaryDeploymentId !== 'string')
    return err(world, req, 400, 'bad_request', 'Invalid request: missing required property `canaryDeploymentId`');
  if (canaryDeploymentId !== rr.canaryDeploymentId)
    return err(world, req, 400, 'bad_request', `${canaryDeploymentId} is not the canary of the active rolling release`);
  return rr;
}

/** POST …/rolling-release/approve-stage `{nextStageIndex, canaryDeploymentId}`: exactly the next stage. */
async function approveStage(world: World, req: SandboxRequest, [id]: string[]): Promise<SandboxResponse> {
  const p = projectOf(world, req, id);
  if ('status' in p) return p;
  const body = (req.json ?? {}) as Record<string, unknown>;
  const rr = activeFor(world, req, p, body.canaryDeploymentId);
  if ('status' in rr) return rr;
  if (body.nextStageIndex !== rr.activeIndex + 1)
    return err(
      world,
      req,
      400,
      'bad_request',
      `Invalid request: nextStageIndex must be ${rr.activeIndex + 1} (the active stage is ${rr.activeIndex})`,
    );
  if (rr.activeIndex + 1 === rr.stages.length - 1) finish(world, p, rr);
  else {
    rr.activeIndex++;
    rr.updatedAt = Date.now();
    changed(world);
  }
  return ok({ rollingRelease: releaseJson(world, rr) });
}

/** POST …/rolling-release/complete `{canaryDeploymentId}`: the canary serves 100 % (spec). */
async function complete(world: World, req: SandboxRequest, [id]: string[]): Promise<SandboxResponse> {
  const p = projectOf(world, req, id);
  if ('status' in p) return p;
  const rr = activeFor(world, req, p, ((req.json ?? {}) as Record<string, unknown>).canaryDeploymentId);
  if ('status' in rr) return rr;
  finish(world, p, rr);
  return ok({ rollingRelease: releaseJson(world, rr) });
}

/** The release completes: production domains move to the canary, which is now promoted. */
function finish(world: World, p: Project, rr: RollingRelease): void {
  const state = vercelState(world);
  const canary = state.deployments.get(rr.canaryDeploymentId);
  rr.state = 'COMPLETE';
  rr.activeIndex = rr.stages.length - 1;
  rr.updatedAt = Date.now();
  if (canary) {
    moveProductionDomains(world, p, canary);
    canary.readySubstate = 'PROMOTED';
  }
  changed(world);
  // A promote queued behind the release (202) starts now.
  const queued = rr.queuedDeploymentId ? findDeployment(state, rr.queuedDeploymentId) : undefined;
  if (queued?.readyState === 'READY') startAliasJob(world, p, queued, 'promote');
}

/**
 * Called when a promote's alias job reaches its end while the config is enabled: the promote starts
 * a rolling release instead of moving the production domains (the CLI's promote waits for the
 * release's `activeStage`). Returns true when it did.
 */
export function startReleaseOnPromote(world: World, p: Project, d: Deployment): boolean {
  const config = p.rollingReleaseConfig;
  const current = p.productionDeploymentId;
  if (!config || !current || current === d.id) return false;
  const now = Date.now();
  p.rollingRelease = {
    state: 'ACTIVE',
    currentDeploymentId: current,
    canaryDeploymentId: d.id,
    queuedDeploymentId: null,
    advancementType: config.advancementType,
    stages: config.stages.map((s) => ({ ...s })),
    activeIndex: 0,
    startedAt: now,
    updatedAt: now,
  };
  p.rollingAssignments = new Map();
  d.readySubstate = 'ROLLING';
  changed(world);
  return true;
}

/**
 * A rollback while a release is active aborts it (the CLI's `rolling-release abort` is a rollback to
 * the current deployment; Vercel documents rollback as the way out of a release).
 */
export function abortOnRollback(world: World, p: Project): void {
  const rr = activeRelease(p);
  if (!rr) return;
  rr.state = 'ABORTED';
  rr.updatedAt = Date.now();
  const canary = vercelState(world).deployments.get(rr.canaryDeploymentId);
  if (canary?.readySubstate === 'ROLLING') canary.readySubstate = 'STAGED';
  changed(world);
}

/**
 * Which deployment answers a request to a production domain while a release is active: a visitor
 * with an assignment cookie keeps its side; a new visitor goes to the canary when RNG < the active
 * stage's percentage (spec, stage description). Returns the deployment and the cookie to set.
 */
export function pickForVisitor(
  world: World,
  p: Project,
  req: SandboxRequest,
): { deployment: Deployment; setCookie?: string } | undefined {
  const rr = activeRelease(p);
  if (!rr) return undefined;
  const state = vercelState(world);
  const canary = findDeployment(state, rr.canaryDeploymentId);
  const current = findDeployment(state, rr.currentDeploymentId);
  if (!canary || !current) return undefined;
  const cookie = String(req.headers.cookie ?? '')
    .split(/;\s*/)
    .find((c) => c.startsWith(`${ASSIGNMENT_COOKIE}=`))
    ?.slice(ASSIGNMENT_COOKIE.length + 1);
  const known = cookie ? p.rollingAssignments?.get(cookie) : undefined;
  if (known) return { deployment: known === 'canary' ? canary : current };
  const side = Math.random() * 100 < rr.stages[rr.activeIndex].targetPercentage ? 'canary' : 'current';
  const visitor = crypto.randomBytes(12).toString('hex');
  const assignments = (p.rollingAssignments ??= new Map());
  assignments.set(visitor, side);
  if (assignments.size > 20_000) assignments.delete(assignments.keys().next().value as string);
  return {
    deployment: side === 'canary' ? canary : current,
    setCookie: `${ASSIGNMENT_COOKIE}=${visitor}; Path=/; HttpOnly; Secure; SameSite=Lax`,
  };
}

/** The Rolling Releases routes (added to the Vercel miniature's route table). */
export const ROLLING_ROUTES: Array<{
  method: string;
  path: string;
  handle: (world: World, req: SandboxRequest, params: string[]) => Promise<SandboxResponse>;
}> = [
  { method: 'GET', path: '/v1/projects/{}/rolling-release', handle: getRelease },
  { method: 'GET', path: '/v1/projects/{}/rolling-release/config', handle: getConfig },
  { method: 'PATCH', path: '/v1/projects/{}/rolling-release/config', handle: patchConfig },
  { method: 'DELETE', path: '/v1/projects/{}/rolling-release/config', handle: deleteConfig },
  { method: 'GET', path: '/v1/projects/{}/rolling-release/billing', handle: billing },
  { method: 'POST', path: '/v1/projects/{}/rolling-release/approve-stage', handle: approveStage },
  { method: 'POST', path: '/v1/projects/{}/rolling-release/complete', handle: complete },
];
