/**
 * The Vercel edge miniature: every deployment is served over real HTTP on loopback.
 *
 * - Each deployment has a port of its own (`openDeploymentPort`, called when it is created); its
 *   API `url` is `127.0.0.1:PORT`, because `*.localhost`-style hostnames do not resolve here.
 * - `startEdge(world)` starts one shared port that routes by `Host` header to the deployment an
 *   alias points at (slot hostnames like `blue.example.com`, production domains). It returns a
 *   `RunningService` named `vercel-edge` and sets `world.urls['vercel-edge']`.
 *
 * What a deployment answers comes from its own uploaded files: static files from its output
 * directory, `/api/<name>` from `api/<name>.json`, and the behaviour knobs of its `sandbox.json`
 * (added latency, error ratio, health status, failing paths, the response headers its code sends).
 * Deployment protection answers 401 without a valid `x-vercel-protection-bypass` (header, query
 * parameter, or the cookie it sets).
 *
 * As Vercel documents (sources in sandbox/README.md, "Modelled behaviours and their sources"):
 * answers carry only Vercel's own response headers (`cache-control`, `content-type`, `date`,
 * `server`, `strict-transport-security`, `x-vercel-cache`, `x-vercel-id`) plus what the app's code
 * sends — no deployment id, and a version header only when the app's `sandbox.json` `headers` says
 * so. The request the app sees has `host` = the domain as accessed and `x-forwarded-host` identical
 * to it, whatever a proxy in front sent (the built-in `/api/request` echoes both).
 *
 * Which deployment served a request is sandbox bookkeeping, not a response header: the load balancer
 * proxy tags each request with `SERVED_BY` (removed here before the app sees it) and reads the answer
 * back with `takeServed`, so Datadog metrics and traffic counts stay
 * exact without putting anything in the answer that real Vercel does not send.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import {
  globMatch,
  sleep,
  startService,
  type RunningService,
  type SandboxRequest,
  type SandboxResponse,
} from '../core/service.ts';
import type { World } from '../core/world.ts';
import { pickForVisitor } from './vercel-rolling.ts';
import { readStoredFile, vercelState, type Deployment, type Project, type VercelState } from './vercel-state.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'application/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

const BYPASS = 'x-vercel-protection-bypass';
const BYPASS_COOKIE = '_vercel_jwt';

function platformError(status: number, code: string, message: string): SandboxResponse {
  return {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'x-vercel-error': code, server: 'Vercel' },
    body: `${status}: ${message}\nCode: ${code}\n`,
  };
}

/** The cookie value Vercel would set for a bypass secret (never the secret itself). */
function bypassCookie(secret: string): string {
  return crypto.createHash('sha256').update(`bypass:${secret}`).digest('hex');
}

/** Is this request blocked by deployment protection? (`via` = how it reached the deployment.) */
function protectedRequest(project: Project | undefined, d: Deployment, via: 'url' | 'alias', host: string): boolean {
  const mode = project?.protection;
  if (!project || !mode) return false;
  if (mode === 'all') return true;
  if (mode === 'preview') return d.target !== 'production';
  if (via === 'url') return true;
  // "All except custom domains": every custom domain of the project (production or preview) is public.
  if (mode === 'all_except_custom_domains')
    return !project.productionDomains.includes(host) && !project.domains.includes(host);
  // Standard protection "protects all deployments except production domains"
  // (https://vercel.com/docs/deployment-protection): preview/branch domains — the slot hostnames when
  // they are not production domains — are protected too.
  return !project.productionDomains.includes(host);
}

function checkBypass(project: Project, req: SandboxRequest): { ok: boolean; setCookie?: string } {
  const given = (req.headers[BYPASS] as string | undefined) ?? req.url.searchParams.get(BYPASS) ?? undefined;
  const secrets = Object.keys(project.protectionBypass);
  if (given && secrets.includes(given)) {
    const wants =
      (req.headers['x-vercel-set-bypass-cookie'] as string | undefined) ??
      req.url.searchParams.get('x-vercel-set-bypass-cookie');
    const cookie = `${BYPASS_COOKIE}=${bypassCookie(given)}; Path=/; HttpOnly${wants === 'samesitenone' ? '; SameSite=None; Secure' : ''}`;
    return { ok: true, setCookie: wants ? cookie : undefined };
  }
  const cookies = String(req.headers.cookie ?? '');
  const ok = secrets.some((s) => cookies.split(/;\s*/).includes(`${BYPASS_COOKIE}=${bypassCookie(s)}`));
  return { ok };
}

async function fileResponse(state: VercelState, d: Deployment, file: string, status = 200): Promise<SandboxResponse> {
  const f = d.files.get(file);
  if (!f) throw new Error(`missing ${file}`);
  const body = await readStoredFile(state, f.sha);
  return {
    status,
    headers: { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' },
    body,
  };
}

/** What the deployed app answers for one request (knobs first, then its files). */
async function appResponse(state: VercelState, d: Deployment, req: SandboxRequest): Promise<SandboxResponse> {
  const k = d.knobs;
  let p: string;
  try {
    p = decodeURIComponent(req.path);
  } catch {
    return { status: 400, body: 'Bad Request' };
  }
  if (p.length > 1) p = p.replace(/\/+$/, '');
  if (k.latencyMs > 0) await sleep(k.latencyMs);
  if (p === k.healthPath) {
    const ok = k.health < 400;
    return { status: k.health, body: { status: ok ? 'ok' : 'unhealthy', version: k.version } };
  }
  if (k.failingPaths.some((f) => globMatch(f, p))) {
    return { status: 500, body: { error: 'internal_error', message: `${p} failed` } };
  }
  if (k.errorRatio > 0 && Math.random() < k.errorRatio) {
    return { status: 500, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'Internal Server Error\n' };
  }
  if (p === '/api/version') return { status: 200, body: { version: k.version, deploymentId: d.id } };
  if (p === '/api/request') {
    // What a function reads from its request: Vercel sets host to the domain as accessed and
    // x-forwarded-host identical to it; an absolute URL built from it points at that domain.
    const host = String(req.headers.host ?? '');
    return {
      status: 200,
      body: {
        host,
        'x-forwarded-host': String(req.headers['x-forwarded-host'] ?? ''),
        absoluteUrl: `https://${host}${p}`,
      },
    };
  }
  const api = /^\/api\/([\w.-]+)$/.exec(p);
  if (api && d.files.has(`api/${api[1]}.json`)) return fileResponse(state, d, `api/${api[1]}.json`);
  const rel = p.slice(1);
  if (!rel.split('/').includes('..')) {
    const candidates = rel === '' ? ['index.html'] : [rel, `${rel}.html`, `${rel}/index.html`];
    for (const c of candidates) {
      if (!d.files.has(d.root + c)) continue;
      if (req.method !== 'GET' && req.method !== 'HEAD') return { status: 405, body: 'Method Not Allowed' };
      return fileResponse(state, d, d.root + c);
    }
  }
  if (d.files.has(`${d.root}404.html`)) return fileResponse(state, d, `${d.root}404.html`, 404);
  return platformError(404, 'NOT_FOUND', 'NOT_FOUND');
}

/** Serve one request on a deployment, reached by its own URL or through an alias hostname. */
export async function serveDeployment(
  world: World,
  d: Deployment,
  req: SandboxRequest,
  via: 'url' | 'alias',
  host: string,
): Promise<SandboxResponse> {
  const state = vercelState(world);
  if (d.deletedAt || d.readyState === 'ERROR' || d.readyState === 'CANCELED')
    return platformError(404, 'DEPLOYMENT_NOT_FOUND', 'The deployment could not be found on Vercel.');
  if (d.readyState !== 'READY') return platformError(503, 'DEPLOYMENT_NOT_READY', 'The deployment is still building.');
  const project = state.projects.get(d.projectId);
  const platform: Record<string, string> = {
    server: 'Vercel',
    'x-vercel-id': `iad1::${crypto.randomBytes(6).toString('hex')}`,
    'strict-transport-security': 'max-age=63072000',
  };
  // The app sees the domain as accessed, in host and in x-forwarded-host alike.
  req.headers.host = host;
  req.headers['x-forwarded-host'] = host;
  const ray = req.headers[SERVED_BY];
  delete req.headers[SERVED_BY];
  if (typeof ray === 'string') recordServed(world, ray, { deploymentId: d.id, version: d.knobs.version });
  let setCookie: string | undefined;
  if (project && protectedRequest(project, d, via, host)) {
    const bypass = checkBypass(project, req);
    if (!bypass.ok) {
      return {
        status: 401,
        headers: { ...platform, 'content-type': 'text/html; charset=utf-8' },
        body: '<!doctype html><title>Authentication Required</title><h1>Authentication Required</h1>\n',
      };
    }
    setCookie = bypass.setCookie;
  }
  const r = await appResponse(state, d, req);
  const own: Record<string, string> = {};
  for (const [k, v] of Object.entries(d.knobs.headers))
    own[k] = v.replaceAll('{{version}}', d.knobs.version).replaceAll('{{deploymentId}}', d.id);
  return {
    ...r,
    headers: {
      'cache-control': 'public, max-age=0, must-revalidate',
      'x-vercel-cache': 'MISS',
      ...(r.headers ?? {}),
      ...own,
      ...platform,
      ...(setCookie ? { 'set-cookie': setCookie } : {}),
    },
  };
}

/** The request header by which the load balancer proxy finds out who served a request (sandbox only). */
export const SERVED_BY = 'x-sandbox-served-by';

/** Which deployment (and app release) served one request, by the `SERVED_BY` tag it came with. */
export interface Served {
  deploymentId: string;
  version: string;
}

const MAX_SERVED = 10_000;

/** Per world, kept out of `world.state` (the state endpoint shows the providers' state, not this). */
const SERVED = new WeakMap<World, Map<string, Served>>();

function servedMap(world: World): Map<string, Served> {
  let m = SERVED.get(world);
  if (!m) SERVED.set(world, (m = new Map()));
  return m;
}

function recordServed(world: World, ray: string, served: Served): void {
  const m = servedMap(world);
  m.set(ray, served);
  if (m.size > MAX_SERVED) m.delete(m.keys().next().value as string);
}

/** Who served the request sent with this tag (read once; the load balancer records it as a hit). */
export function takeServed(world: World, ray: string): Served | undefined {
  const m = servedMap(world);
  const s = m.get(ray);
  m.delete(ray);
  return s;
}

/** Open the loopback port of one deployment (its `url`). Closed by `deleteDeployment` or on stop. */
export function openDeploymentPort(world: World, d: Deployment): Promise<RunningService> {
  return startService({
    name: 'vercel-edge',
    traffic: world.traffic,
    log: false,
    handler: async (req) => serveDeployment(world, d, req, 'url', d.url),
  });
}

/**
 * Skew Protection (vercel.com/docs/skew-protection): a client that names its deployment
 * (`x-deployment-id` header, `dpl` query, `__vdpl` cookie) keeps reaching it on a production domain
 * while skew protection is on, unless that deployment was created before `skewProtectionBoundaryAt`
 * ("Deployments created before this absolute datetime have Skew Protection disabled", spec).
 */
function skewPinned(state: VercelState, p: Project, req: SandboxRequest): Deployment | undefined {
  if (!p.skewProtectionMaxAge) return undefined;
  const cookie = String(req.headers.cookie ?? '')
    .split(/;\s*/)
    .find((c) => c.startsWith('__vdpl='))
    ?.slice(7);
  const id = (req.headers['x-deployment-id'] as string | undefined) ?? req.url.searchParams.get('dpl') ?? cookie;
  if (!id) return undefined;
  const d = state.deployments.get(id);
  if (!d || d.projectId !== p.id || d.deletedAt || d.readyState !== 'READY') return undefined;
  if (p.skewProtectionBoundaryAt !== undefined && d.createdAt < p.skewProtectionBoundaryAt) return undefined;
  if (Date.now() - d.createdAt > p.skewProtectionMaxAge * 1000) return undefined;
  return d;
}

/** Start the shared edge port: `Host` header → alias → deployment. */
export async function startEdge(world: World): Promise<RunningService> {
  const svc = await startService({
    name: 'vercel-edge',
    traffic: world.traffic,
    log: false,
    handler: async (req) => {
      const host = String(req.headers.host ?? '')
        .replace(/:\d+$/, '')
        .toLowerCase();
      const state = vercelState(world);
      const alias = state.aliases.get(host);
      let d = alias ? state.deployments.get(alias.deploymentId) : undefined;
      if (!d) return platformError(404, 'DEPLOYMENT_NOT_FOUND', 'The deployment could not be found on Vercel.');
      const project = state.projects.get(d.projectId);
      let setCookie: string | undefined;
      if (project?.productionDomains.includes(host)) {
        const pinned = skewPinned(state, project, req);
        const picked = pinned ? undefined : pickForVisitor(world, project, req);
        d = pinned ?? picked?.deployment ?? d;
        setCookie = picked?.setCookie;
      }
      const out = await serveDeployment(world, d, req, 'alias', host);
      if (!setCookie) return out;
      const had = out.headers?.['set-cookie'];
      // Two cookies go as two Set-Cookie headers (node writes an array so).
      const both = (had ? [had, setCookie] : setCookie) as string;
      return { ...out, headers: { ...out.headers, 'set-cookie': both } };
    },
  });
  world.urls['vercel-edge'] = svc.url;
  return svc;
}
