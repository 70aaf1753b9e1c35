/**
 * How the Vercel miniature renders its state as API JSON. Shapes follow the official spec
 * (`sandbox/contract/specs/vercel.openapi.json`): the deployment is the "full" variant, because
 * `@vercel/sdk` and the contract tests validate every required field.
 */
import type { SandboxRequest, SandboxResponse } from '../core/service.ts';
import { configJson } from './vercel-rolling.ts';
import type { World } from '../core/world.ts';
import { aliasesOf, type Alias, type Deployment, type Project, type VercelState } from './vercel-state.ts';

const USER = { uid: 'usr_sandboxuser0000000000000', username: 'sandbox-user', email: 'sandbox@example.com' };

function team(state: VercelState): { id: string; name: string; slug: string } {
  return { id: state.teamId, name: 'Sandbox Team', slug: 'sandbox-team' };
}

function inspectorUrl(state: VercelState, d: Deployment): string {
  return `https://vercel.com/sandbox-team/${d.name}/${d.id.replace(/^dpl_/, '')}`;
}

/** The "public and private information" deployment object of `GET /v13/deployments/{id}`. */
export function deploymentJson(state: VercelState, d: Deployment): Record<string, unknown> {
  const aliasAssigned = d.aliasAssignedAt !== undefined;
  const json: Record<string, unknown> = {
    id: d.id,
    name: d.name,
    url: d.url,
    projectId: d.projectId,
    ownerId: state.teamId,
    team: team(state),
    creator: { uid: USER.uid, username: USER.username },
    createdAt: d.createdAt,
    createdIn: 'sfo1',
    bootedAt: d.createdAt,
    buildingAt: d.buildingAt ?? d.createdAt,
    readyState: d.readyState,
    status: d.readyState,
    type: 'LAMBDAS',
    version: 2,
    plan: 'pro',
    public: false,
    regions: ['iad1'],
    routes: null,
    meta: d.meta,
    env: [],
    build: { env: [] },
    projectSettings: {},
    source: d.source,
    target: d.target,
    inspectorUrl: inspectorUrl(state, d),
    isInConcurrentBuildsQueue: false,
    isInSystemBuildsQueue: false,
    buildSkipped: false,
    autoAssignCustomDomains: d.autoAssignCustomDomains,
    alias: aliasesOf(state, d.id),
    aliasAssigned,
    aliasAssignedAt: d.aliasAssignedAt ?? null,
    aliasError: null,
    lambdas: [],
  };
  if (d.readyAt !== undefined) json.ready = d.readyAt;
  if (d.readyState === 'READY' && d.readySubstate) json.readySubstate = d.readySubstate;
  if (d.readyState === 'ERROR') {
    json.errorCode = d.errorCode;
    json.errorMessage = d.errorMessage;
    json.errorStep = 'build';
  }
  return json;
}

/** An item of `GET /v6/deployments` (uses `uid`, not `id`). */
export function deploymentListItem(state: VercelState, d: Deployment): Record<string, unknown> {
  const item: Record<string, unknown> = {
    uid: d.id,
    name: d.name,
    projectId: d.projectId,
    url: d.url,
    created: d.createdAt,
    createdAt: d.createdAt,
    buildingAt: d.buildingAt ?? d.createdAt,
    state: d.readyState,
    readyState: d.readyState,
    type: 'LAMBDAS',
    creator: { uid: USER.uid, username: USER.username, email: USER.email },
    meta: d.meta,
    target: d.target,
    aliasAssigned: d.aliasAssignedAt !== undefined,
    aliasError: null,
    inspectorUrl: inspectorUrl(state, d),
    isRollbackCandidate: d.readySubstate === 'PROMOTED',
    source: d.source,
  };
  if (d.readyAt !== undefined) item.ready = d.readyAt;
  if (d.readyState === 'READY' && d.readySubstate) item.readySubstate = d.readySubstate;
  if (d.readyState === 'ERROR') {
    item.errorCode = d.errorCode;
    item.errorMessage = d.errorMessage;
  }
  return item;
}

/** The short deployment summary used in `targets` and `latestDeployments` of a project. */
function deploymentSummary(d: Deployment): Record<string, unknown> {
  return {
    id: d.id,
    name: d.name,
    url: d.url,
    createdAt: d.createdAt,
    createdIn: 'sfo1',
    creator: { uid: USER.uid, username: USER.username, email: USER.email },
    deploymentHostname: d.url,
    plan: 'pro',
    private: true,
    readyState: d.readyState,
    readySubstate: d.readyState === 'READY' ? d.readySubstate : undefined,
    target: d.target,
    type: 'LAMBDAS',
    userId: USER.uid,
    aliasAssigned: d.aliasAssignedAt ?? null,
    aliasError: null,
    buildingAt: d.buildingAt ?? d.createdAt,
    readyAt: d.readyAt,
    meta: d.meta,
  };
}

/** `GET /v9/projects/{idOrName}`. */
export function projectJson(state: VercelState, p: Project): Record<string, unknown> {
  const production = p.productionDeploymentId ? state.deployments.get(p.productionDeploymentId) : undefined;
  const latest = [...state.deployments.values()]
    .filter((d) => d.projectId === p.id && !d.deletedAt)
    .sort((a, b) => b.createdAt - a.createdAt)
    .slice(0, 5);
  return {
    id: p.id,
    name: p.name,
    accountId: state.teamId,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
    framework: null,
    nodeVersion: '22.x',
    directoryListing: false,
    live: false,
    resourceConfig: { functionDefaultRegions: ['iad1'] },
    defaultResourceConfig: { functionDefaultRegions: ['iad1'] },
    autoAssignCustomDomains: p.autoAssignCustomDomains,
    autoExposeSystemEnvs: true,
    env: p.env.map((e) => envJson(e, false)),
    targets: production && !production.deletedAt ? { production: deploymentSummary(production) } : {},
    latestDeployments: latest.map(deploymentSummary),
    lastAliasRequest: p.lastAliasRequest,
    protectionBypass: p.protectionBypass,
    ssoProtection: p.protection ? { deploymentType: p.protection } : null,
    passwordProtection: null,
    // Spec: an object saying why and by whom (the description is capped at 250 characters).
    ...(p.rollbackDescription
      ? {
          rollbackDescription: {
            userId: 'usr_sandbox',
            username: 'sandbox-user',
            description: p.rollbackDescription.slice(0, 250),
            createdAt: p.lastAliasRequest?.requestedAt ?? p.updatedAt,
          },
        }
      : {}),
    ...(p.rollingReleaseConfig ? { rollingRelease: configJson(p.rollingReleaseConfig) } : {}),
    ...(p.skewProtectionMaxAge !== undefined ? { skewProtectionMaxAge: p.skewProtectionMaxAge } : {}),
    ...(p.skewProtectionBoundaryAt !== undefined ? { skewProtectionBoundaryAt: p.skewProtectionBoundaryAt } : {}),
  };
}

/** An env var; encrypted values are shown in clear only with `decrypt=true`, sensitive ones never. */
export function envJson(e: Project['env'][number], decrypt: boolean): Record<string, unknown> {
  let value = e.value;
  if (e.type === 'sensitive') value = '';
  else if (e.type === 'encrypted' || e.type === 'secret')
    value = decrypt ? e.value : Buffer.from(`enc:${e.id}`).toString('base64');
  return {
    id: e.id,
    key: e.key,
    value,
    type: e.type,
    target: e.target,
    configurationId: null,
    createdAt: e.createdAt,
    updatedAt: e.createdAt,
    decrypted: decrypt && e.type === 'encrypted',
  };
}

/** An alias as `GET /v2/deployments/{id}/aliases` and `GET /v4/aliases/{alias}` list it. */
export function aliasJson(state: VercelState, a: Alias, full: boolean): Record<string, unknown> {
  const base: Record<string, unknown> = {
    uid: a.uid,
    alias: a.alias,
    created: new Date(a.created).toISOString(),
    redirect: null,
  };
  if (!full) return base;
  const d = state.deployments.get(a.deploymentId);
  return {
    ...base,
    createdAt: a.created,
    updatedAt: a.created,
    deploymentId: a.deploymentId,
    projectId: a.projectId,
    creator: { uid: USER.uid, email: USER.email, username: USER.username },
    deployment: d ? { id: d.id, url: d.url, meta: JSON.stringify(d.meta) } : undefined,
  };
}

/** A project domain (`GET /v9/projects/{id}/domains`). */
export function domainJson(p: Project, name: string): Record<string, unknown> {
  const labels = name.split('.');
  return {
    name,
    apexName: labels.slice(-2).join('.'),
    projectId: p.id,
    verified: true,
    redirect: null,
    redirectStatusCode: null,
    // A project domain is a production domain (no git branch) or a preview domain of a git branch
    // (https://vercel.com/docs/domains/working-with-domains/assign-domain-to-a-git-branch): the
    // sandbox's non-production domains are branch domains named after their first label.
    gitBranch: p.productionDomains.includes(name) ? null : labels[0],
    customEnvironmentId: null,
    createdAt: p.createdAt,
    updatedAt: p.createdAt,
  };
}

/** Vercel's error envelope. With `traffic.echoCredentials`, the credential received is echoed (secrets tests). */
export function vercelError(
  world: World,
  req: SandboxRequest,
  status: number,
  code: string,
  message: string,
  extra: Record<string, unknown> = {},
): SandboxResponse {
  const echo = world.traffic.echoCredentials ? ` (received: ${String(req.headers.authorization ?? '')})` : '';
  return { status, body: { error: { code, message: message + echo, ...extra } } };
}
