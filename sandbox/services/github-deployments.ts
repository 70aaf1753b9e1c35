/**
 * GitHub deployments and deployment statuses, with the semantics the REST docs give them:
 * - create: `ref` required (branch, sha); `required_contexts` omitted → every context on the commit
 *   (commit statuses and check runs) must be `success`, else 409; `[]` skips the check; `payload`
 *   is kept as sent (object, or a JSON string parsed to an object); `production_environment`
 *   defaults to `environment === 'production'`. The miniature has no merge machinery: `auto_merge`
 *   never finds the ref behind, so it never answers 202.
 * - status create: `log_url` also sets `target_url`; `environment` moves the deployment;
 *   `auto_inactive` (default true) marks earlier successful, non-transient, non-production
 *   deployments of the same environment `inactive` when the new state is `success` (as documented).
 */
import type { SandboxRequest, SandboxResponse } from '../core/service.ts';
import { type Ctx, errorBody } from './github-shapes.ts';
import { type DeploymentRecord, deployment, deploymentStatus } from './github-records.ts';
import { type GithubState, settle } from './github-state.ts';

const DOC_CREATE = 'https://docs.github.com/rest/deployments/deployments#create-a-deployment';
const DOC_STATUS = 'https://docs.github.com/rest/deployments/statuses#create-a-deployment-status';
const STATES = ['error', 'failure', 'inactive', 'in_progress', 'queued', 'pending', 'success'];

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

function invalid(doc: string, resource: string, field: string, message: string): SandboxResponse {
  return {
    status: 422,
    body: {
      message: 'Validation Failed',
      errors: [{ resource, code: 'custom', field, message }],
      documentation_url: doc,
      status: '422',
    },
  };
}

/** The state of every context on a commit: latest commit status per context, latest check run per name. */
function contextStates(st: GithubState, sha: string): Map<string, string> {
  settle(st);
  const out = new Map<string, string>();
  for (const s of st.statuses) if (s.sha === sha) out.set(s.context, s.state);
  for (const c of st.checkRuns) {
    if (c.sha !== sha) continue;
    const ok = c.status === 'completed' && ['success', 'neutral', 'skipped'].includes(c.conclusion ?? '');
    out.set(c.name, c.status !== 'completed' ? 'pending' : ok ? 'success' : (c.conclusion ?? 'failure'));
  }
  return out;
}

/** POST /repos/{owner}/{repo}/deployments */
export function createDeployment(
  c: Ctx,
  st: GithubState,
  req: SandboxRequest,
  resolveRef: (ref: string) => string | undefined,
): SandboxResponse {
  const b = req.json as Record<string, unknown> | undefined;
  if (!b || typeof b !== 'object' || Array.isArray(b))
    return { status: 400, body: errorBody('Problems parsing JSON', DOC_CREATE, 400) };
  if (typeof b.ref !== 'string' || !b.ref)
    return {
      status: 422,
      body: { message: 'Invalid request.\n\n"ref" wasn\'t supplied.', documentation_url: DOC_CREATE, status: '422' },
    };
  const sha = resolveRef(b.ref);
  if (!sha)
    return {
      status: 422,
      body: { message: `No ref found for: ${b.ref}`, documentation_url: DOC_CREATE, status: '422' },
    };
  if (b.description != null && (typeof b.description !== 'string' || b.description.length > 140))
    return invalid(DOC_CREATE, 'Deployment', 'description', 'description is too long (maximum is 140 characters)');
  if (b.required_contexts !== undefined && !Array.isArray(b.required_contexts))
    return {
      status: 422,
      body: {
        message: 'Invalid request.\n\nFor \'properties/required_contexts\', "x" is not an array.',
        documentation_url: DOC_CREATE,
        status: '422',
      },
    };
  const states = contextStates(st, sha);
  const required = Array.isArray(b.required_contexts) ? (b.required_contexts as string[]) : [...states.keys()];
  const failing = required
    .map((context) => ({ context, state: states.get(context) ?? 'missing' }))
    .filter((x) => x.state !== 'success');
  if (failing.length > 0) {
    return {
      status: 409,
      body: {
        message: `Conflict: Commit status checks failed for ${b.ref}.`,
        errors: [{ contexts: failing, resource: 'Deployment', field: 'required_contexts', code: 'invalid' }],
        documentation_url: DOC_CREATE,
        status: '409',
      },
    };
  }
  let payload: Record<string, unknown> | string = {};
  if (typeof b.payload === 'string') {
    try {
      const parsed: unknown = b.payload ? JSON.parse(b.payload) : {};
      payload = parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : b.payload;
    } catch {
      payload = b.payload;
    }
  } else if (b.payload && typeof b.payload === 'object') payload = b.payload as Record<string, unknown>;
  const environment = typeof b.environment === 'string' && b.environment ? b.environment : 'production';
  const t = now();
  const d: DeploymentRecord = {
    id: st.nextId++,
    sha,
    ref: b.ref,
    task: typeof b.task === 'string' && b.task ? b.task : 'deploy',
    environment,
    originalEnvironment: environment,
    description: typeof b.description === 'string' ? b.description : null,
    creator: 'github-actions[bot]',
    payload,
    transient: b.transient_environment === true,
    production: typeof b.production_environment === 'boolean' ? b.production_environment : environment === 'production',
    createdAt: t,
    updatedAt: t,
    statuses: [],
  };
  st.deployments.push(d);
  // GitHub creates a deployment's environment when it does not exist yet, with no protection rules.
  if (st.environments !== 403 && !st.environments.has(environment)) {
    st.environments.set(environment, {
      id: st.nextId++,
      name: environment,
      createdAt: new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      rules: [],
      branchPolicy: null,
    });
  }
  return {
    status: 201,
    headers: { location: `${c.api}/repos/${c.owner}/${c.repo}/deployments/${d.id}` },
    body: deployment(c, d),
  };
}

/** POST /repos/{owner}/{repo}/deployments/{id}/statuses */
export function createDeploymentStatus(c: Ctx, st: GithubState, req: SandboxRequest, id: number): SandboxResponse {
  const d = st.deployments.find((x) => x.id === id);
  if (!d) return { status: 404, body: errorBody('Not Found', DOC_STATUS, 404) };
  const b = (req.json ?? {}) as Record<string, unknown>;
  if (typeof b.state !== 'string')
    return {
      status: 422,
      body: { message: 'Invalid request.\n\n"state" wasn\'t supplied.', documentation_url: DOC_STATUS, status: '422' },
    };
  if (!STATES.includes(b.state))
    return invalid(DOC_STATUS, 'DeploymentStatus', 'state', 'state is not included in the list');
  const description = typeof b.description === 'string' ? b.description : '';
  if (description.length > 140)
    return invalid(
      DOC_STATUS,
      'DeploymentStatus',
      'description',
      'description is too long (maximum is 140 characters)',
    );
  const prev = d.statuses[d.statuses.length - 1];
  const environment =
    typeof b.environment === 'string' && b.environment ? b.environment : (prev?.environment ?? d.environment);
  const logUrl = typeof b.log_url === 'string' ? b.log_url : '';
  const targetUrl = logUrl || (typeof b.target_url === 'string' ? b.target_url : '');
  const t = now();
  const s = {
    id: st.nextId++,
    state: b.state,
    description,
    environment,
    targetUrl,
    logUrl: logUrl || targetUrl,
    environmentUrl: typeof b.environment_url === 'string' ? b.environment_url : '',
    creator: 'github-actions[bot]',
    createdAt: t,
  };
  d.statuses.push(s);
  d.environment = environment;
  d.updatedAt = t;
  if (b.state === 'success' && b.auto_inactive !== false) {
    for (const o of st.deployments) {
      if (o.id === d.id || o.environment !== environment || o.transient || o.production) continue;
      const last = o.statuses[o.statuses.length - 1];
      if (last?.state !== 'success') continue;
      o.statuses.push({ ...last, id: st.nextId++, state: 'inactive', description: '', createdAt: t });
      o.updatedAt = t;
    }
  }
  return {
    status: 201,
    headers: { location: `${c.api}/repos/${c.owner}/${c.repo}/deployments/${d.id}/statuses/${s.id}` },
    body: deploymentStatus(c, d, s),
  };
}

/** GET …/deployments/{id}/statuses: newest first; undefined when the deployment does not exist. */
export function listDeploymentStatuses(c: Ctx, st: GithubState, id: number): unknown[] | undefined {
  const d = st.deployments.find((x) => x.id === id);
  if (!d) return undefined;
  return [...d.statuses].reverse().map((s) => deploymentStatus(c, d, s));
}
