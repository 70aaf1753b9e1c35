/**
 * The shapes the Vercel adapter returns (ours, stable), and the raw API shapes it reads them from
 * (per Vercel's OpenAPI, vercel/sdk `vercel-spec.json`, and what the Vercel CLI reads).
 */

/** `GET /v13/deployments/{idOrUrl}`, the fields the steps read. */
export interface VercelDeployment {
  id: string;
  /** Hostname without scheme (`app-abc123.vercel.app`). */
  url: string;
  name?: string;
  projectId?: string;
  /** QUEUED, BUILDING, INITIALIZING, READY, ERROR, CANCELED (and newer values, passed through). */
  readyState: string;
  /** STAGED (never served production), ROLLING, PROMOTED. */
  readySubstate?: string;
  target?: string | null;
  alias: string[];
  aliasAssigned: boolean;
  aliasError?: { code: string; message: string } | null;
  meta: Record<string, string>;
  createdAt: number;
  inspectorUrl?: string | null;
  errorCode?: string;
  errorMessage?: string;
}

/** One item of `GET /v6/deployments` (whose items carry `uid`, here `id`). */
export interface VercelDeploymentSummary {
  id: string;
  url: string | null;
  state: string;
  readySubstate?: string;
  target?: string | null;
  meta: Record<string, string>;
  createdAt: number;
  isRollbackCandidate?: boolean;
}

/** `project.lastAliasRequest`: the latest promote or rollback and how far it got. */
export interface AliasRequest {
  fromDeploymentId: string;
  toDeploymentId: string;
  jobStatus: 'succeeded' | 'failed' | 'skipped' | 'pending' | 'in-progress';
  requestedAt: number;
  type: 'promote' | 'rollback';
}

export interface VercelProject {
  id: string;
  name: string;
  /** The deployment serving production, when there is one. */
  productionDeployment?: { id: string; url?: string; alias?: string[] };
  lastAliasRequest?: AliasRequest | null;
  autoAssignCustomDomains?: boolean;
  /** Present (non-null) when a rolling release is configured: promote then answers 202 (queued). */
  rollingRelease?: unknown;
  /** Skew Protection's boundary (ms): deployments created before it no longer answer pinned clients. */
  skewProtectionBoundaryAt?: number;
  /**
   * Deployment Protection as the project has it: `ssoProtection.deploymentType` / `passwordProtection.deploymentType`
   * (`all`, `preview`, `prod_deployment_urls_and_all_previews`, `all_except_custom_domains`), `null` when off.
   */
  protection?: { sso: string | null; password: string | null };
}

export interface VercelAlias {
  uid: string;
  alias: string;
  deploymentId?: string | null;
  projectId?: string | null;
}

/** An env variable's name and targets; values are never returned by this adapter. */
export interface VercelEnvVar {
  key: string;
  target: string[];
  type: string;
}

export interface BuildEvent {
  type: string;
  created?: number;
  /** Remote text: print with `log.untrusted`. */
  text: string;
}

export interface RawDeployment {
  id: string;
  url: string;
  name?: string;
  projectId?: string;
  readyState?: string;
  status?: string;
  readySubstate?: string;
  target?: string | null;
  alias?: string[];
  aliasAssigned?: boolean | number | null;
  aliasError?: { code: string; message: string } | null;
  meta?: Record<string, string>;
  createdAt?: number;
  inspectorUrl?: string | null;
  errorCode?: string;
  errorMessage?: string;
}

export function mapDeployment(d: RawDeployment): VercelDeployment {
  return {
    id: d.id,
    url: d.url,
    name: d.name,
    projectId: d.projectId,
    readyState: d.readyState ?? d.status ?? 'UNKNOWN',
    readySubstate: d.readySubstate,
    target: d.target,
    alias: d.alias ?? [],
    aliasAssigned: Boolean(d.aliasAssigned),
    aliasError: d.aliasError ?? null,
    meta: d.meta ?? {},
    createdAt: d.createdAt ?? 0,
    inspectorUrl: d.inspectorUrl,
    errorCode: d.errorCode,
    errorMessage: d.errorMessage,
  };
}

export interface RawSummary {
  uid: string;
  url?: string | null;
  state?: string;
  readyState?: string;
  readySubstate?: string;
  target?: string | null;
  meta?: Record<string, string>;
  createdAt?: number;
  created?: number;
  isRollbackCandidate?: boolean | null;
}

export interface RawProject {
  id: string;
  name: string;
  targets?: { production?: { id: string; url?: string; alias?: string[] } | null } | null;
  lastAliasRequest?: AliasRequest | null;
  autoAssignCustomDomains?: boolean;
  rollingRelease?: unknown;
  skewProtectionBoundaryAt?: number | null;
  ssoProtection?: { deploymentType?: string } | null;
  passwordProtection?: { deploymentType?: string } | null;
}

export interface RawEnv {
  key: string;
  type?: string;
  target?: string | string[];
}

export interface RawEvent {
  type?: string;
  created?: number;
  date?: number;
  text?: string;
  payload?: { text?: string };
}

/** One stage of a project's rolling-release config (`duration` in minutes, per the spec's config schema). */
export interface RollingStageConfig {
  targetPercentage: number;
  requireApproval?: boolean;
  duration?: number;
  linearShift?: boolean;
}

/**
 * A project's rolling-release config as `GET /v1/projects/{id}/rolling-release/config` gives it
 * (`null`: disabled). The config read back has no advancement type: it shows in the stages'
 * `requireApproval`.
 */
export interface RollingReleaseConfig {
  target: string;
  stages: RollingStageConfig[] | null;
  canaryResponseHeader?: boolean;
}

/** A stage of a rolling release (`duration` in seconds here). */
export interface RollingStage {
  index: number;
  isFinalStage: boolean;
  targetPercentage: number;
  requireApproval: boolean;
  duration: number | null;
}

/** `GET /v1/projects/{id}/rolling-release`: the project's last rolling release. */
export interface RollingRelease {
  state: 'ACTIVE' | 'COMPLETE' | 'ABORTED';
  currentDeployment: { id: string; url?: string; createdAt?: number } | null;
  canaryDeployment: { id: string; url?: string; createdAt?: number } | null;
  queuedDeploymentId: string | null;
  advancementType: 'automatic' | 'manual-approval';
  stages: RollingStage[];
  activeStage: RollingStage | null;
  nextStage: RollingStage | null;
  startedAt: number;
  updatedAt: number;
}

/** `GET /v1/projects/{id}/rolling-release/billing` (one of the spec's four answers). */
export interface RollingReleaseBilling {
  availableSlots: number | 'unlimited';
  reason: 'plan_not_supported' | 'unlimited_slots' | 'no_available_slots' | 'available_slots' | string;
  message: string;
  enabledProjects?: string[];
}
