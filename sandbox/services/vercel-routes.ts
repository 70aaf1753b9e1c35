/**
 * The Vercel miniature's REST routes: deployments and files (the `@vercel/client` upload flow),
 * aliases, projects, env, promote and instant rollback. Paths, status codes and envelopes follow
 * Vercel's OpenAPI spec (`sandbox/contract/specs/vercel.openapi.json`) and its REST API docs.
 */
import type http from 'node:http';
import type { SandboxRequest, SandboxResponse } from '../core/service.ts';
import type { World } from '../core/world.ts';
import {
  aliasJson,
  deploymentJson,
  deploymentListItem,
  domainJson,
  envJson,
  projectJson,
  vercelError as err,
} from './vercel-json.ts';
import {
  assignAlias,
  buildEvents,
  createDeploymentRecord,
  deleteDeployment,
  scheduleBuild,
  startAliasJob,
} from './vercel-lifecycle.ts';
import { abortOnRollback, activeRelease, ROLLING_ROUTES } from './vercel-rolling.ts';
import {
  findDeployment,
  findProject,
  newId,
  sha1,
  storeFile,
  vercelState,
  type DeploymentFile,
  type Project,
  type VercelState,
} from './vercel-state.ts';

type Handle = (
  world: World,
  req: SandboxRequest,
  params: string[],
  res: http.ServerResponse,
) => Promise<SandboxResponse | 'handled'>;

export interface Route {
  method: string;
  pattern: RegExp;
  handle: Handle;
}

const ok = (body: unknown, status = 200): SandboxResponse => ({ status, body });
const HOST_RE = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;

function newProject(state: VercelState, name: string): Project {
  const now = Date.now();
  const p: Project = {
    id: newId('prj_'),
    name,
    createdAt: now,
    updatedAt: now,
    productionDomains: [],
    domains: [],
    autoAssignCustomDomains: true,
    protection: null,
    protectionBypass: {},
    env: [],
    lastAliasRequest: null,
    aliasJob: [],
    plan: 'pro',
    rollingReleaseConfig: null,
    rollingRelease: null,
  };
  state.projects.set(p.id, p);
  return p;
}

/** POST /v13/deployments: every file must already be uploaded (or inline), else 400 missing_files. */
const createDeployment: Handle = async (world, req) => {
  const state = vercelState(world);
  const body = req.json as Record<string, unknown> | undefined;
  if (!body || typeof body !== 'object') return err(world, req, 400, 'bad_request', 'Invalid request body');
  const name = typeof body.name === 'string' ? body.name : undefined;
  let project: Project | undefined;
  if (typeof body.project === 'string') {
    project = findProject(state, body.project);
    if (!project) return err(world, req, 404, 'not_found', `Project not found: ${body.project}`);
  } else if (name) project = findProject(state, name) ?? newProject(state, name);
  else return err(world, req, 400, 'bad_request', 'Invalid request: missing required property `name`');
  const meta = body.meta ?? {};
  if (
    typeof meta !== 'object' ||
    Object.values(meta).some((v) => typeof v !== 'string') ||
    Object.keys(meta).length > 100
  )
    return err(world, req, 400, 'bad_request', 'Invalid request: `meta` must be an object of at most 100 strings');
  let files: DeploymentFile[] = [];
  if (typeof body.deploymentId === 'string') {
    const source = findDeployment(state, body.deploymentId);
    if (!source) return err(world, req, 404, 'not_found', 'The deployment to redeploy was not found');
    files = [...source.files.values()];
  } else {
    if (!Array.isArray(body.files)) return err(world, req, 400, 'bad_request', 'Invalid request: missing `files`');
    const missing: string[] = [];
    for (const f of body.files as Array<Record<string, unknown>>) {
      if (!f || typeof f.file !== 'string') return err(world, req, 400, 'bad_request', 'Invalid file entry');
      const mode = typeof f.mode === 'number' ? f.mode : 0o100644;
      if (typeof f.data === 'string') {
        const data = Buffer.from(f.data, f.encoding === 'base64' ? 'base64' : 'utf8');
        files.push({ file: f.file, sha: storeFile(state, data), size: data.length, mode });
      } else if (typeof f.sha === 'string') {
        if (!state.files.has(f.sha)) missing.push(f.sha);
        files.push({ file: f.file, sha: f.sha, size: Number(f.size ?? 0), mode });
      } else return err(world, req, 400, 'bad_request', `File ${f.file} has neither sha nor data`);
    }
    if (missing.length > 0)
      return err(world, req, 400, 'missing_files', 'Missing files', { missing: [...new Set(missing)] });
  }
  const target = body.target === 'production' ? 'production' : null;
  const d = await createDeploymentRecord(world, {
    project,
    name: name ?? project.name,
    files,
    target,
    autoAssignCustomDomains: body.autoAssignCustomDomains !== false,
    meta: meta as Record<string, string>,
    source: typeof body.source === 'string' ? body.source : 'cli',
  });
  scheduleBuild(world, d);
  return ok(deploymentJson(state, d));
};

/** POST /v2/files: raw bytes, `x-now-digest`/`x-vercel-digest` = SHA-1; exactly 200 on success. */
const uploadFile: Handle = async (world, req) => {
  const state = vercelState(world);
  const digest = (req.headers['x-vercel-digest'] ?? req.headers['x-now-digest']) as string | undefined;
  if (!digest) return err(world, req, 400, 'missing_digest', 'Missing `x-vercel-digest` or `x-now-digest` header');
  const size = req.headers['x-now-size'] ?? req.headers['content-length'];
  if (size !== undefined && Number(size) !== req.raw.length)
    return err(world, req, 400, 'invalid_file_size', `File size ${req.raw.length} does not match ${String(size)}`);
  if (sha1(req.raw) !== digest.toLowerCase())
    return err(world, req, 400, 'invalid_digest', 'The file digest does not match its contents');
  storeFile(state, req.raw, digest.toLowerCase());
  return ok({});
};

function liveDeployment(world: World, req: SandboxRequest, idOrUrl: string) {
  const d = findDeployment(vercelState(world), idOrUrl);
  return d ?? err(world, req, 404, 'not_found', 'The deployment was not found');
}

const getDeployment: Handle = async (world, req, [id]) => {
  const d = liveDeployment(world, req, id);
  return 'status' in d ? d : ok(deploymentJson(vercelState(world), d));
};

/** GET /v6|v7/deployments: newest first, filters, `until`-based pagination. */
const listDeployments: Handle = async (world, req) => {
  const state = vercelState(world);
  const q = req.url.searchParams;
  const num = (k: string) => (q.get(k) ? Number(q.get(k)) : undefined);
  const limit = Math.min(100, Math.max(1, num('limit') ?? 20));
  const states = q
    .get('state')
    ?.split(',')
    .map((s) => s.trim().toUpperCase());
  const project = q.get('projectId') ? findProject(state, q.get('projectId')!) : undefined;
  const metaFilters = [...q.entries()].filter(([k]) => k.startsWith('meta-')).map(([k, v]) => [k.slice(5), v]);
  let list = [...state.deployments.values()].filter((d) => !d.deletedAt);
  if (q.get('projectId')) list = list.filter((d) => d.projectId === (project?.id ?? q.get('projectId')));
  if (q.get('app')) list = list.filter((d) => d.name === q.get('app'));
  if (q.get('target')) list = list.filter((d) => (d.target ?? 'preview') === q.get('target'));
  if (states) list = list.filter((d) => states.includes(d.readyState));
  if (q.get('sha')) list = list.filter((d) => d.meta.githubCommitSha === q.get('sha'));
  if (q.get('rollbackCandidate') === 'true') list = list.filter((d) => d.readySubstate === 'PROMOTED');
  for (const [k, v] of metaFilters) list = list.filter((d) => d.meta[k] === v);
  const since = num('since') ?? num('from');
  const until = num('until') ?? num('to');
  if (since !== undefined) list = list.filter((d) => d.createdAt > since);
  if (until !== undefined) list = list.filter((d) => d.createdAt < until);
  list.sort((a, b) => b.createdAt - a.createdAt);
  const page = list.slice(0, limit);
  return ok({
    deployments: page.map((d) => deploymentListItem(state, d)),
    pagination: {
      count: page.length,
      next: list.length > limit ? page[page.length - 1].createdAt : null,
      prev: page.length > 0 ? page[0].createdAt : null,
    },
  });
};

const removeDeployment: Handle = async (world, req, [id]) => {
  const d = liveDeployment(world, req, req.url.searchParams.get('url') ?? id);
  if ('status' in d) return d;
  await deleteDeployment(world, d);
  return ok({ uid: d.id, state: 'DELETED' });
};

const cancelDeployment: Handle = async (world, req, [id]) => {
  const d = liveDeployment(world, req, id);
  if ('status' in d) return d;
  if (d.readyState !== 'QUEUED' && d.readyState !== 'BUILDING')
    return err(world, req, 400, 'bad_request', `Cannot cancel a deployment in state ${d.readyState}`);
  d.readyState = 'CANCELED';
  world.events.emit('change', 'vercel');
  return ok(deploymentJson(vercelState(world), d));
};

/** GET /v3/deployments/{id}/events: the build log; `follow=1` streams NDJSON until the build ends. */
const deploymentEvents: Handle = async (world, req, [id], res) => {
  const state = vercelState(world);
  const d = liveDeployment(world, req, id);
  if ('status' in d) return d;
  if (req.url.searchParams.get('follow') !== '1') {
    const events = buildEvents(state, d);
    if (req.url.searchParams.get('direction') === 'backward') events.reverse();
    const limit = Number(req.url.searchParams.get('limit') ?? -1);
    return ok(limit > 0 ? events.slice(0, limit) : events);
  }
  res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8' });
  req.log.status = 200;
  let sent = 0;
  while (!res.destroyed) {
    const events = buildEvents(state, d);
    for (; sent < events.length; sent++) res.write(`${JSON.stringify(events[sent])}\n`);
    if (!['QUEUED', 'BUILDING', 'INITIALIZING'].includes(d.readyState) || d.deletedAt) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  res.end();
  return 'handled';
};

/** POST /v2/deployments/{id}/aliases: point a hostname at this deployment (moves it off the previous one). */
const createAlias: Handle = async (world, req, [id]) => {
  const state = vercelState(world);
  const d = liveDeployment(world, req, id);
  if ('status' in d) return d;
  const alias = String((req.json as { alias?: unknown } | undefined)?.alias ?? '').toLowerCase();
  if (!HOST_RE.test(alias)) return err(world, req, 400, 'invalid_alias', `Invalid alias: "${alias}"`);
  if (d.readyState !== 'READY')
    return err(world, req, 400, 'deployment_not_ready', 'The deployment is not READY and can not be aliased');
  const r = assignAlias(world, alias, d);
  const created = new Date(state.aliases.get(alias)!.created).toISOString();
  return ok({ uid: r.uid, alias, created, oldDeploymentId: r.oldDeploymentId ?? null });
};

const listAliases: Handle = async (world, req, [id]) => {
  const state = vercelState(world);
  const d = liveDeployment(world, req, id);
  if ('status' in d) return d;
  const aliases = [...state.aliases.values()].filter((a) => a.deploymentId === d.id);
  return ok({ aliases: aliases.map((a) => aliasJson(state, a, false)) });
};

const getAlias: Handle = async (world, req, [idOrAlias]) => {
  const state = vercelState(world);
  const a = state.aliases.get(idOrAlias.toLowerCase()) ?? [...state.aliases.values()].find((x) => x.uid === idOrAlias);
  if (!a) return err(world, req, 404, 'not_found', 'The alias was not found');
  return ok([aliasJson(state, a, true)]);
};

function project(world: World, req: SandboxRequest, idOrName: string): Project | SandboxResponse {
  return findProject(vercelState(world), idOrName) ?? err(world, req, 404, 'not_found', 'Project not found');
}

const getProject: Handle = async (world, req, [id]) => {
  const p = project(world, req, id);
  return 'status' in p ? p : ok(projectJson(vercelState(world), p));
};

/** PATCH /v9/projects/{idOrName}: the settings the miniature models; other known fields are accepted. */
const updateProject: Handle = async (world, req, [id]) => {
  const p = project(world, req, id);
  if ('status' in p) return p;
  const body = (req.json ?? {}) as Record<string, unknown>;
  if ('autoAssignCustomDomains' in body) {
    if (typeof body.autoAssignCustomDomains !== 'boolean')
      return err(world, req, 400, 'bad_request', 'Invalid request: `autoAssignCustomDomains` should be boolean');
    p.autoAssignCustomDomains = body.autoAssignCustomDomains;
  }
  if (typeof body.name === 'string') p.name = body.name;
  for (const k of ['skewProtectionBoundaryAt', 'skewProtectionMaxAge'] as const)
    if (k in body) {
      if (typeof body[k] !== 'number' || (body[k] as number) < 0)
        return err(world, req, 400, 'bad_request', `Invalid request: \`${k}\` should be a non-negative number`);
      p[k] = body[k] as number;
    }
  if ('ssoProtection' in body) {
    const sso = body.ssoProtection as { deploymentType?: Project['protection'] } | null;
    p.protection = sso?.deploymentType ?? null;
  }
  p.updatedAt = Date.now();
  world.events.emit('change', 'vercel');
  return ok(projectJson(vercelState(world), p));
};

const projectDomains: Handle = async (world, req, [id]) => {
  const p = project(world, req, id);
  if ('status' in p) return p;
  const production = req.url.searchParams.get('production');
  let names = [...p.productionDomains, ...p.domains];
  if (production === 'true') names = p.productionDomains;
  if (production === 'false') names = p.domains;
  return ok({
    domains: names.map((n) => domainJson(p, n)),
    pagination: { count: names.length, next: null, prev: null },
  });
};

/** GET /v10/projects/{idOrName}/env, with the CLI's `target` filter and `decrypt`. */
const projectEnv: Handle = async (world, req, [id]) => {
  const p = project(world, req, id);
  if ('status' in p) return p;
  const target = req.url.searchParams.get('target');
  const decrypt = req.url.searchParams.get('decrypt') === 'true';
  const envs = p.env.filter((e) => !target || e.target.includes(target as 'production'));
  return ok({ envs: envs.map((e) => envJson(e, decrypt)) });
};

/** Promote (v10) and instant rollback (v1, and the CLI's v9): 201 now, the alias job afterwards. */
function aliasJob(type: 'promote' | 'rollback'): Handle {
  return async (world, req, [projectId, deploymentId]) => {
    const p = project(world, req, projectId);
    if ('status' in p) return p;
    const d = liveDeployment(world, req, deploymentId);
    if ('status' in d) return d;
    if (d.projectId !== p.id) return err(world, req, 400, 'bad_request', 'The deployment belongs to another project');
    if (d.readyState !== 'READY')
      return err(world, req, 400, 'deployment_not_ready', `The deployment is ${d.readyState}, not READY`);
    if (d.target !== 'production')
      return err(world, req, 400, 'bad_request', 'Only production deployments can be promoted without a rebuild');
    if (type === 'rollback' && d.readySubstate !== 'PROMOTED')
      return err(world, req, 422, 'rollback_not_eligible', 'The deployment has never served production traffic');
    const last = p.lastAliasRequest;
    if (last && (last.jobStatus === 'pending' || last.jobStatus === 'in-progress'))
      return err(world, req, 409, 'conflict', `A ${last.type} of this project is already in progress`);
    const rr = activeRelease(p);
    if (type === 'promote' && rr) {
      // Queued behind the active rolling release: it starts once that completes (CLI: 202).
      rr.queuedDeploymentId = d.id;
      world.events.emit('change', 'vercel');
      return { status: 202 };
    }
    // A rollback while a rolling release is active aborts it (the CLI's `rolling-release abort`).
    if (type === 'rollback') abortOnRollback(world, p);
    startAliasJob(world, p, d, type, req.url.searchParams.get('description') ?? undefined);
    return { status: 201 };
  };
}

/** GET /v1/projects/{id}/promote/aliases (spec: `alias` a string) and the CLI's v9 variant (an object). */
function aliasJobStatus(cliShape: boolean): Handle {
  return async (world, req, [id]) => {
    const p = project(world, req, id);
    if ('status' in p) return p;
    if (p.aliasJob.length === 0) return ok({});
    const failedOnly = req.url.searchParams.get('failedOnly') === 'true';
    const items = p.aliasJob.filter((a) => !failedOnly || a.status === 'failed');
    const to = p.lastAliasRequest?.toDeploymentId ?? '';
    return ok({
      aliases: items.map((a) => ({
        status: a.status,
        id: a.id,
        alias: cliShape ? { alias: a.alias, deploymentId: to } : a.alias,
      })),
      pagination: { count: items.length, next: null, prev: null },
    });
  };
}

/** PATCH /v1/projects/{idOrName}/protection-bypass: generate or revoke automation bypass secrets. */
const protectionBypass: Handle = async (world, req, [id]) => {
  const p = project(world, req, id);
  if ('status' in p) return p;
  const body = (req.json ?? {}) as {
    generate?: { secret?: string };
    revoke?: { secret: string; regenerate?: boolean };
  };
  if (body.revoke) {
    if (!p.protectionBypass[body.revoke.secret]) return err(world, req, 404, 'not_found', 'Secret not found');
    delete p.protectionBypass[body.revoke.secret];
  }
  if (body.generate || !body.revoke || body.revoke.regenerate) {
    const secret = body.generate?.secret ?? newId('').slice(0, 28) + 'abcd';
    p.protectionBypass[secret] = { createdAt: Date.now(), createdBy: 'sandbox-user', scope: 'automation-bypass' };
  }
  world.events.emit('change', 'vercel');
  return ok({ protectionBypass: p.protectionBypass });
};

const SEG = '([^/]+)';
const r = (method: string, path: string, handle: Handle): Route => ({
  method,
  pattern: new RegExp(`^${path.replaceAll('{}', SEG)}/?$`),
  handle,
});

/** Every route, first match wins (405 when the path matches with another method). */
export const ROUTES: Route[] = [
  r('POST', '/v13/deployments', createDeployment),
  r('GET', '/v(?:6|7)/deployments', listDeployments),
  r('GET', '/v13/deployments/{}', getDeployment),
  r('DELETE', '/v13/deployments/{}', removeDeployment),
  r('PATCH', '/v12/deployments/{}/cancel', cancelDeployment),
  r('GET', '/v(?:2|3)/deployments/{}/events', deploymentEvents),
  r('POST', '/v2/files', uploadFile),
  r('POST', '/v2/deployments/{}/aliases', createAlias),
  r('GET', '/v2/deployments/{}/aliases', listAliases),
  r('GET', '/v4/aliases/{}', getAlias),
  r('GET', '/v9/projects/{}', getProject),
  r('PATCH', '/v9/projects/{}', updateProject),
  r('GET', '/v9/projects/{}/domains', projectDomains),
  r('GET', '/v10/projects/{}/env', projectEnv),
  r('POST', '/v10/projects/{}/promote/{}', aliasJob('promote')),
  r('POST', '/v(?:1|9)/projects/{}/rollback/{}', aliasJob('rollback')),
  r('GET', '/v1/projects/{}/promote/aliases', aliasJobStatus(false)),
  r('GET', '/v9/projects/{}/(?:promote|rollback)/aliases', aliasJobStatus(true)),
  ...ROLLING_ROUTES.map((x) => r(x.method, x.path, (world, req, params) => x.handle(world, req, params))),
  r('PATCH', '/v1/projects/{}/protection-bypass', protectionBypass),
];
