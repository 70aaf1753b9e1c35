/**
 * Uploading and creating a staged production deployment with `@vercel/client`: a production deployment
 * that takes no production domain (`target: production`, `autoAssignCustomDomains: false`, what
 * `vercel deploy --prod --skip-domain` sends), uploaded from a directory or, prebuilt, from its
 * `.vercel/output`. The client's own readiness polling is not used (its delays grow to 30 s and it waits
 * for `aliasAssigned`, which a staged deployment may never get): the generator is left at `created`, and
 * the caller polls `getDeployment`.
 *
 * The client's requests have no timeout of their own, so every step of the generator is raced against
 * the caller's deadline and the run's signal. A create whose outcome was lost (no answer, a reset, a 5xx)
 * is a ProviderError with `outcomeUnknown`: it is looked up before it is repeated, as `requestJson` does.
 */
import { join } from 'node:path';
import type { DeploymentOptions, VercelClientOptions } from '@vercel/client';
import { ProviderError, PROVIDER_TEXT_MAX } from './errors.js';
import { oneLine, redact } from '../text.js';

/** What to stage: the project, the files, and the meta that finds the deployment again. */
export interface StagedDeploymentRequest {
  projectId: string;
  projectName: string;
  /** The directory uploaded; with `prebuilt`, its `.vercel/output` is. */
  directory: string;
  prebuilt: boolean;
  meta: Record<string, string>;
  git: {
    commitSha: string;
    commitRef: string;
    remoteUrl: string;
    commitMessage?: string;
    commitAuthorName?: string;
  };
}

/** A deployment id and URL as Vercel returned them at creation; `lookedUp` when found after a lost create. */
export interface CreatedDeployment {
  id: string;
  url: string;
  inspectorUrl?: string;
  lookedUp?: boolean;
}

/** What the upload is doing, for the caller to report. `notice` text is Vercel's own: remote text. */
export type UploadProgress =
  | { type: 'files-collected'; count: number }
  | { type: 'uploading'; missing: number; total: number }
  | { type: 'uploaded' }
  | { type: 'notice'; kind: 'warning' | 'notice' | 'tip'; text: string };

/** Who calls Vercel, and how many times a lost create that Vercel does not have is repeated. */
export interface DeployClient {
  token: string;
  apiUrl: string;
  teamId?: string;
  secrets: readonly string[];
  retries: number;
}

export interface CreateOptions {
  /** Epoch ms: no step of the upload or create waits past it. */
  deadline: number;
  signal?: AbortSignal;
  onProgress?: (p: UploadProgress) => void;
  /** Finds the deployment of a create whose outcome was lost; `undefined` when Vercel has none. */
  lookup: () => Promise<CreatedDeployment | undefined>;
  /** Told after each lookup: what was found, and whether the create is repeated. */
  onLost?: (info: { error: ProviderError; found?: CreatedDeployment; repeating: boolean }) => void;
}

const OPERATION = 'createDeployment';

/**
 * Uploads and creates the deployment. A create whose outcome is unknown is looked up; when Vercel does
 * not have it, it is repeated up to `client.retries` times while the deadline allows. Throws ProviderError
 * (its message is safe to print), the lookup's own error, or the run's abort reason.
 */
export async function createStagedDeployment(
  client: DeployClient,
  req: StagedDeploymentRequest,
  o: CreateOptions,
): Promise<CreatedDeployment> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await createOnce(client, req, o);
    } catch (err) {
      if (!(err instanceof ProviderError) || !err.outcomeUnknown) throw err;
      const found = await o.lookup();
      if (found) {
        o.onLost?.({ error: err, found, repeating: false });
        return { ...found, lookedUp: true };
      }
      const repeating = attempt <= client.retries && Date.now() < o.deadline;
      o.onLost?.({ error: err, repeating });
      if (!repeating) throw err;
    }
  }
}

/**
 * @vercel/client is 1.5 MB of the bundle and ~100–140 ms to evaluate: only a run that stages a
 * deployment loads it (ncc emits it as a chunk), so every other mode and step starts without it.
 */
let client: Promise<typeof import('@vercel/client')> | undefined;
const loadClient = () => (client ??= import('@vercel/client'));

/**
 * Starts loading @vercel/client without waiting, for a step that is about to stage green but first
 * waits on the network (a load error is reported by the staging itself).
 */
export function preloadDeployClient(): void {
  loadClient().catch(() => undefined);
}

/** One upload and create; resolves at the `created` event. */
async function createOnce(
  client: DeployClient,
  req: StagedDeploymentRequest,
  o: CreateOptions,
): Promise<CreatedDeployment> {
  const { createDeployment } = await loadClient();
  const events = createDeployment(clientOptions(client, req), deploymentOptions(req));
  try {
    for (;;) {
      const next = await raceDeadline(events.next(), o.deadline, o.signal);
      if (next.done) throw createError('Vercel ended the upload without creating a deployment', true);
      const ev = next.value;
      switch (ev.type) {
        case 'hashes-calculated':
          o.onProgress?.({ type: 'files-collected', count: Object.keys(ev.payload ?? {}).length });
          break;
        case 'file-count':
          o.onProgress?.({
            type: 'uploading',
            missing: (ev.payload?.missing ?? []).length,
            total: countFiles(ev.payload?.total),
          });
          break;
        case 'all-files-uploaded':
          o.onProgress?.({ type: 'uploaded' });
          break;
        case 'warning':
        case 'notice':
        case 'tip':
          o.onProgress?.({
            type: 'notice',
            kind: ev.type,
            text: typeof ev.payload === 'string' ? ev.payload : JSON.stringify(ev.payload),
          });
          break;
        case 'created': {
          const d = ev.payload as { id?: string; url?: string; inspectorUrl?: string | null };
          if (!d?.id || !d.url) throw createError('Vercel answered the create without a deployment id or URL', true);
          return { id: d.id, url: d.url, ...(d.inspectorUrl ? { inspectorUrl: d.inspectorUrl } : {}) };
        }
        case 'error':
          throw toCreateError(ev.payload, [client.token, ...client.secrets]);
        case 'canceled':
          throw createError('the deployment was canceled on Vercel', false);
        default:
          break;
      }
    }
  } finally {
    // Stop the generator; its pending request (if any) is abandoned, not awaited.
    void events.return?.(undefined).catch(() => {});
  }
}

/** The deployment options sent to `POST /v13/deployments` (pure; exported for tests). */
export function deploymentOptions(req: StagedDeploymentRequest): DeploymentOptions & { project: string } {
  const g = req.git;
  return {
    name: req.projectName,
    project: req.projectId,
    target: 'production',
    autoAssignCustomDomains: false,
    meta: req.meta,
    gitMetadata: {
      commitSha: g.commitSha,
      commitRef: g.commitRef,
      remoteUrl: g.remoteUrl,
      dirty: false,
      ...(g.commitMessage ? { commitMessage: g.commitMessage } : {}),
      ...(g.commitAuthorName ? { commitAuthorName: g.commitAuthorName } : {}),
    },
  };
}

/** The client options (pure; exported for tests). The token is passed, never logged. */
export function clientOptions(client: DeployClient, req: StagedDeploymentRequest): VercelClientOptions {
  return {
    token: client.token,
    path: req.directory,
    apiUrl: client.apiUrl,
    ...(client.teamId ? { teamId: client.teamId } : {}),
    isDirectory: true,
    userAgent: 'production-deploy',
    ...(req.prebuilt ? { prebuilt: true, vercelOutputDir: join(req.directory, '.vercel', 'output') } : {}),
  };
}

function countFiles(total: unknown): number {
  if (total instanceof Map) return total.size;
  return total && typeof total === 'object' ? Object.keys(total).length : 0;
}

function createError(
  message: string,
  outcomeUnknown: boolean,
  more: { status?: number; code?: string } = {},
): ProviderError {
  return new ProviderError({
    provider: 'vercel',
    operation: OPERATION,
    message,
    ...more,
    // A lost create is repeated only after it was looked up; a refused one is final.
    retryable: outcomeUnknown,
    outcomeUnknown,
  });
}

/**
 * The client yields API errors as `{code, message, status}` and transport errors as Error. A create
 * refused with a 4xx (but 408/429) or never sent (connection refused, no DNS) did not happen; any other
 * failure may have created the deployment anyway (pure; exported for tests).
 */
export function toCreateError(payload: unknown, secrets: readonly string[]): ProviderError {
  if (payload instanceof Error) {
    const cause = (payload as { cause?: { code?: string } }).cause;
    const code = cause?.code ?? (payload as { code?: string }).code;
    const known = typeof code === 'string' && /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN)$/.test(code);
    return createError(
      redact(
        `creating the Vercel deployment failed: ${oneLine(payload.message, PROVIDER_TEXT_MAX)}${code ? ` (${code})` : ''}`,
        secrets,
      ),
      !known,
      typeof code === 'string' ? { code: redact(oneLine(code, PROVIDER_TEXT_MAX), secrets) } : {},
    );
  }
  const p = (payload ?? {}) as { code?: unknown; message?: unknown; status?: unknown };
  const status = typeof p.status === 'number' ? p.status : undefined;
  const text = [p.code, p.message].filter((x) => typeof x === 'string' && x).join(': ');
  const msg = `Vercel refused the deployment${status ? ` (HTTP ${status})` : ''}: ${oneLine(text || 'no reason given', PROVIDER_TEXT_MAX)}`;
  return createError(redact(msg, secrets), status === undefined || status >= 500 || status === 408 || status === 429, {
    ...(status !== undefined ? { status } : {}),
    ...(typeof p.code === 'string' && p.code ? { code: redact(oneLine(p.code, PROVIDER_TEXT_MAX), secrets) } : {}),
  });
}

/** Resolves with `work`, or rejects at the deadline or when the run is aborted. */
async function raceDeadline<T>(work: Promise<T>, deadline: number, signal?: AbortSignal): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(createError('no answer from Vercel before health-check-timeout', true, { code: 'timeout' })),
      Math.max(0, deadline - Date.now()),
    );
    if (signal) {
      onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error('cancelled'));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  try {
    return await Promise.race([work, stop]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}
