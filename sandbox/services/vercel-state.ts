/**
 * The Vercel miniature's state: the scenario section (`VercelScenario`, with defaults), projects,
 * deployments, aliases and the uploaded-file store. Kept under `world.state.vercel`; the API
 * (`vercel.ts`), the build/alias lifecycle (`vercel-lifecycle.ts`) and the edge (`vercel-edge.ts`)
 * all read and change this one object.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunningService } from '../core/service.ts';
import type { World } from '../core/world.ts';
import type { Plan, RollingRelease, RollingReleaseConfig } from './vercel-rolling.ts';

/** Vercel's `ssoProtection.deploymentType` values; `null` is "protection off". */
export type ProtectionType = 'all' | 'preview' | 'prod_deployment_urls_and_all_previews' | 'all_except_custom_domains';

/** One environment variable of the project (`GET /v10/projects/{id}/env`). */
export interface VercelEnvScenario {
  key: string;
  value: string;
  /** Default: all three targets. */
  target?: Array<'production' | 'preview' | 'development'>;
  /** Default `encrypted`. `sensitive` values are never returned. */
  type?: 'plain' | 'encrypted' | 'sensitive' | 'secret' | 'system';
}

/** A deployment that exists when the sandbox starts (built from a sample app). */
export interface VercelDeploymentScenario {
  /** Default: a stable id derived from the app and position. */
  id?: string;
  /** A version under `sandbox/app/` (`v1`, `v2`, `bad-errors`…) or a directory path. */
  app: string;
  /** Default `production`; `preview` deployments never take production domains. */
  target?: 'production' | 'preview';
  /** This deployment holds the production domains at start (default: the newest production one). */
  production?: boolean;
  /** Extra hostnames assigned to it at start (slot hostnames such as `blue.example.com`). */
  aliases?: string[];
  meta?: Record<string, string>;
  /** Age at start in seconds (default: one hour per place from the newest). */
  ageSeconds?: number;
}

/** The Vercel section of a scenario. Every field is optional; see `VERCEL_DEFAULTS`. */
export interface VercelScenario {
  /** Bearer token the API accepts. */
  token?: string;
  /** Team id the deployments belong to (`teamId` query is checked against it when sent). */
  teamId?: string;
  /** QUEUED → BUILDING → READY/ERROR takes this long (ms). */
  buildDelayMs?: number;
  /** A promote or rollback stays pending/in-progress this long before it succeeds (ms). */
  aliasDelayMs?: number;
  project?: {
    id?: string;
    name?: string;
    /** Domains that follow the production deployment (promote/rollback move them). */
    productionDomains?: string[];
    /** Preview (git branch) domains of the project (slot hostnames): covered by Standard Protection, moved by no promote. */
    domains?: string[];
    autoAssignCustomDomains?: boolean;
    protection?: ProtectionType | null;
    /** Protection Bypass for Automation secret. */
    bypassSecret?: string;
    env?: VercelEnvScenario[];
    /** The team's plan (default `pro`): `hobby` has no Rolling Releases. */
    plan?: Plan;
    /** The project's own rolling-release config at start (default: none, i.e. disabled). */
    rollingRelease?: RollingReleaseConfig | null;
  };
  deployments?: VercelDeploymentScenario[];
}

/** Defaults of every scenario field (a blue-green project with v1 live on the blue slot). */
export const VERCEL_DEFAULTS = {
  token: 'sandbox-vercel-token',
  teamId: 'team_sandbox',
  buildDelayMs: 300,
  aliasDelayMs: 300,
  project: {
    id: 'prj_sandboxshop',
    name: 'sandbox-shop',
    productionDomains: ['www.example.com'],
    domains: ['blue.example.com', 'green.example.com'],
    autoAssignCustomDomains: true,
    protection: null as ProtectionType | null,
    bypassSecret: 'sandboxbypasssecret0123456789abc',
    env: [
      { key: 'DATABASE_URL', value: 'postgres://shop@db.internal/shop', target: ['production'], type: 'encrypted' },
      { key: 'API_BASE', value: 'https://api.example.com', target: ['production', 'preview', 'development'] },
    ] as VercelEnvScenario[],
  },
  deployments: [{ app: 'v1', production: true, aliases: ['blue.example.com'] }] as VercelDeploymentScenario[],
};

export type ReadyState = 'QUEUED' | 'BUILDING' | 'ERROR' | 'INITIALIZING' | 'READY' | 'CANCELED';

/** Behaviour knobs of a deployed app, from its `sandbox.json`. */
export interface AppKnobs {
  version: string;
  errorRatio: number;
  latencyMs: number;
  health: number;
  healthPath: string;
  failingPaths: string[];
  /**
   * Response headers the app's code sends on every answer (name → value; `{{version}}` and
   * `{{deploymentId}}` are filled in). None by default: an app sends a version header only if its
   * code does, and Vercel adds no deployment id of its own.
   */
  headers: Record<string, string>;
  /** Set → the build ends in ERROR with this message. */
  buildError?: string;
}

export interface DeploymentFile {
  file: string;
  sha: string;
  size: number;
  mode: number;
}

export interface Deployment {
  id: string;
  name: string;
  projectId: string;
  /** Loopback port serving this deployment (its `url` is `127.0.0.1:PORT`). */
  port: number;
  url: string;
  createdAt: number;
  buildingAt?: number;
  readyAt?: number;
  readyState: ReadyState;
  readySubstate?: 'STAGED' | 'ROLLING' | 'PROMOTED';
  target: 'production' | null;
  /** The create body's `autoAssignCustomDomains` (false = staged production deployment). */
  autoAssignCustomDomains: boolean;
  aliasAssignedAt?: number;
  errorCode?: string;
  errorMessage?: string;
  meta: Record<string, string>;
  source: string;
  files: Map<string, DeploymentFile>;
  /** Directory the edge serves from (`''`, `public/` or `.vercel/output/static/`). */
  root: string;
  knobs: AppKnobs;
  /** Lines of the app's `build-log.txt`, shown in the build events. */
  buildLog: string[];
  deletedAt?: number;
}

export interface LastAliasRequest {
  fromDeploymentId: string;
  toDeploymentId: string;
  jobStatus: 'succeeded' | 'failed' | 'skipped' | 'pending' | 'in-progress';
  requestedAt: number;
  type: 'promote' | 'rollback';
}

export interface Project {
  id: string;
  name: string;
  createdAt: number;
  updatedAt: number;
  productionDomains: string[];
  domains: string[];
  autoAssignCustomDomains: boolean;
  protection: ProtectionType | null;
  protectionBypass: Record<string, { createdAt: number; createdBy: string; scope: 'automation-bypass' }>;
  env: Array<Required<VercelEnvScenario> & { id: string; createdAt: number }>;
  /** The deployment Vercel names as `targets.production`. */
  productionDeploymentId?: string;
  lastAliasRequest: LastAliasRequest | null;
  /** Alias moves of the last promote/rollback (`GET …/promote/aliases`). */
  aliasJob: Array<{ alias: string; status: 'pending' | 'in-progress' | 'completed' | 'failed'; id: string }>;
  rollbackDescription?: string;
  plan: Plan;
  /** Rolling Releases config (`null`: disabled); see vercel-rolling.ts. */
  rollingReleaseConfig: RollingReleaseConfig | null;
  /** The last rolling release (any state). */
  rollingRelease: RollingRelease | null;
  /** Visitor cookie → side, for the active release. */
  rollingAssignments?: Map<string, 'canary' | 'current'>;
  /** Skew Protection (`PATCH /v9/projects`): max age in seconds, and the boundary (ms epoch). */
  skewProtectionMaxAge?: number;
  skewProtectionBoundaryAt?: number;
}

export interface Alias {
  uid: string;
  alias: string;
  deploymentId: string;
  projectId: string;
  created: number;
}

export interface VercelState {
  token: string;
  teamId: string;
  buildDelayMs: number;
  aliasDelayMs: number;
  projects: Map<string, Project>;
  deployments: Map<string, Deployment>;
  aliases: Map<string, Alias>;
  /** Uploaded file contents live in `fileDir/<sha>`. */
  fileDir: string;
  files: Set<string>;
  timers: Set<NodeJS.Timeout>;
  /** Per-deployment loopback servers, by deployment id. */
  servers: Map<string, RunningService>;
}

/** The sample apps shipped with the sandbox. */
export const APP_DIR = fileURLToPath(new URL('../app/', import.meta.url));

/** The Vercel state of this world (throws when `startVercel` has not run). */
export function vercelState(world: World): VercelState {
  const s = world.state.vercel as VercelState | undefined;
  if (!s) throw new Error('the Vercel miniature is not started in this world');
  return s;
}

/** Random id in Vercel's style (`dpl_` + 28 base-62 characters). */
export function newId(prefix: string, seed?: string): string {
  const bytes = seed ? crypto.createHash('sha256').update(seed).digest() : crypto.randomBytes(32);
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  let out = '';
  for (let i = 0; i < 28; i++) out += alphabet[bytes[i] % 62];
  return prefix + out;
}

export function sha1(data: Buffer): string {
  return crypto.createHash('sha1').update(data).digest('hex');
}

/** Store a file's bytes under its SHA-1 (idempotent). */
export function storeFile(state: VercelState, data: Buffer, sha = sha1(data)): string {
  if (!state.files.has(sha)) {
    fs.writeFileSync(path.join(state.fileDir, sha), data);
    state.files.add(sha);
  }
  return sha;
}

export function readStoredFile(state: VercelState, sha: string): Promise<Buffer> {
  return fs.promises.readFile(path.join(state.fileDir, sha));
}

/** Build the state from the scenario (no deployments yet: `startVercel` deploys those). */
export function createVercelState(world: World, scenario: VercelScenario): VercelState {
  const p = { ...VERCEL_DEFAULTS.project, ...(scenario.project ?? {}) };
  const now = Date.now();
  const fileDir = path.join(world.dir, 'vercel-files');
  fs.mkdirSync(fileDir, { recursive: true });
  const project: Project = {
    id: p.id,
    name: p.name,
    createdAt: now - 30 * 86_400_000,
    updatedAt: now,
    productionDomains: [...p.productionDomains],
    domains: [...p.domains],
    autoAssignCustomDomains: p.autoAssignCustomDomains,
    protection: p.protection,
    protectionBypass: p.bypassSecret
      ? { [p.bypassSecret]: { createdAt: now - 86_400_000, createdBy: 'sandbox-user', scope: 'automation-bypass' } }
      : {},
    env: p.env.map((e, i) => ({
      key: e.key,
      value: e.value,
      target: e.target ?? ['production', 'preview', 'development'],
      type: e.type ?? 'encrypted',
      id: newId('', `env:${p.id}:${e.key}:${i}`).slice(0, 16),
      createdAt: now - 86_400_000,
    })),
    lastAliasRequest: null,
    aliasJob: [],
    plan: p.plan ?? 'pro',
    rollingReleaseConfig: p.rollingRelease ? structuredClone(p.rollingRelease) : null,
    rollingRelease: null,
  };
  return {
    token: scenario.token ?? VERCEL_DEFAULTS.token,
    teamId: scenario.teamId ?? VERCEL_DEFAULTS.teamId,
    buildDelayMs: scenario.buildDelayMs ?? VERCEL_DEFAULTS.buildDelayMs,
    aliasDelayMs: scenario.aliasDelayMs ?? VERCEL_DEFAULTS.aliasDelayMs,
    projects: new Map([[project.id, project]]),
    deployments: new Map(),
    aliases: new Map(),
    fileDir,
    files: new Set(),
    timers: new Set(),
    servers: new Map(),
  };
}

/** Read a directory the way `@vercel/client` would upload it: every file, hashed and stored. */
export function storeAppDir(state: VercelState, app: string): DeploymentFile[] {
  const dir = path.isAbsolute(app) || app.includes('/') ? path.resolve(app) : path.join(APP_DIR, app);
  if (!fs.existsSync(dir)) throw new Error(`sandbox app not found: ${app} (looked in ${dir})`);
  const out: DeploymentFile[] = [];
  const walk = (d: string): void => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const abs = path.join(d, entry.name);
      if (entry.isDirectory()) {
        if (!['node_modules', '.git'].includes(entry.name)) walk(abs);
      } else if (entry.isFile()) {
        const data = fs.readFileSync(abs);
        out.push({
          file: path.relative(dir, abs).split(path.sep).join('/'),
          sha: storeFile(state, data),
          size: data.length,
          mode: 0o100644,
        });
      }
    }
  };
  walk(dir);
  return out;
}

/** Where the edge serves from: Vercel's Build Output, else `public/`, else the root. */
export function outputRoot(files: Iterable<string>): string {
  let root = '';
  for (const f of files) {
    if (f.startsWith('.vercel/output/static/')) return '.vercel/output/static/';
    if (f.startsWith('public/')) root = 'public/';
  }
  return root;
}

/** Parse `sandbox.json` (missing → a well-behaved app; invalid → a build error). */
export function parseKnobs(text: string | undefined): AppKnobs {
  const knobs: AppKnobs = {
    version: 'unknown',
    errorRatio: 0,
    latencyMs: 0,
    health: 200,
    healthPath: '/api/health',
    failingPaths: [],
    headers: {},
  };
  if (text === undefined) return knobs;
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
    if (!raw || typeof raw !== 'object') throw new Error('not an object');
  } catch (err) {
    return { ...knobs, buildError: `sandbox.json is not valid JSON: ${(err as Error).message}` };
  }
  if (typeof raw.version === 'string') knobs.version = raw.version;
  if (typeof raw.errorRatio === 'number') knobs.errorRatio = Math.min(1, Math.max(0, raw.errorRatio));
  if (typeof raw.latencyMs === 'number') knobs.latencyMs = Math.max(0, raw.latencyMs);
  if (typeof raw.health === 'number') knobs.health = raw.health;
  if (typeof raw.healthPath === 'string') knobs.healthPath = raw.healthPath;
  if (Array.isArray(raw.failingPaths)) knobs.failingPaths = raw.failingPaths.filter((p) => typeof p === 'string');
  if (raw.headers && typeof raw.headers === 'object' && !Array.isArray(raw.headers)) {
    for (const [k, v] of Object.entries(raw.headers as Record<string, unknown>))
      if (typeof v === 'string' && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k)) knobs.headers[k.toLowerCase()] = v;
  }
  if (typeof raw.buildError === 'string' && raw.buildError) knobs.buildError = raw.buildError;
  return knobs;
}

/** Find a live deployment by id or by its URL/hostname (`GET /v13/deployments/{idOrUrl}`). */
export function findDeployment(state: VercelState, idOrUrl: string): Deployment | undefined {
  const byId = state.deployments.get(idOrUrl);
  if (byId) return byId.deletedAt ? undefined : byId;
  const host = idOrUrl.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  for (const d of state.deployments.values()) if (!d.deletedAt && d.url === host) return d;
  const alias = state.aliases.get(host);
  return alias ? state.deployments.get(alias.deploymentId) : undefined;
}

export function findProject(state: VercelState, idOrName: string): Project | undefined {
  for (const p of state.projects.values()) if (p.id === idOrName || p.name === idOrName) return p;
  return undefined;
}

/** Hostnames currently assigned to a deployment. */
export function aliasesOf(state: VercelState, deploymentId: string): string[] {
  return [...state.aliases.values()].filter((a) => a.deploymentId === deploymentId).map((a) => a.alias);
}

/** The deployment behind the project's first production domain (what production serves now). */
export function servingProduction(state: VercelState, project: Project): Deployment | undefined {
  for (const domain of project.productionDomains) {
    const a = state.aliases.get(domain);
    if (a) return state.deployments.get(a.deploymentId);
  }
  return undefined;
}

/** Run `fn` after `ms`; pending timers are cleared when the service stops. */
export function later(state: VercelState, ms: number, fn: () => void): void {
  const t = setTimeout(() => {
    state.timers.delete(t);
    fn();
  }, ms);
  state.timers.add(t);
}
