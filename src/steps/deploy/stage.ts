/**
 * Staging green with `@vercel/client`: a production deployment that takes no production domain
 * (`target: production`, `autoAssignCustomDomains: false`, what `vercel deploy --prod --skip-domain`
 * sends), uploaded from `working-directory` or, with `prebuilt`, from `.vercel/output`. The client's
 * own readiness polling is not used (its delays grow to 30 s and it waits for `aliasAssigned`, which
 * a staged deployment may never get): the generator is left at `created`, and readiness.ts polls.
 *
 * The client's requests have no timeout of their own, so every step of the generator is raced
 * against the stage's deadline and the run's signal. A create whose answer was lost is looked up
 * by its meta (run id and attempt) before it is tried again.
 */
import { join } from 'node:path';
import type { DeploymentOptions, VercelClientOptions } from '@vercel/client';
import type { Config } from '../../config/types.js';
import type { Logger } from '../../pipeline/types.js';
import { oneLine, redact } from '../../providers/http.js';
import type { VercelApi, VercelDeploymentSummary } from '../../providers/vercel-api.js';

/** A deployment id and URL as Vercel returned them at creation. */
export interface Created {
  id: string;
  url: string;
  inspectorUrl?: string;
}

/** The meta every green carries: how a re-run and an unknown-outcome lookup find it again. */
export function greenMeta(config: Config): Record<string, string> {
  const r = config.run;
  return {
    githubCommitSha: r.sha,
    githubRunId: r.runId,
    githubRunAttempt: String(r.runAttempt),
    githubRunUrl: r.runUrl,
    githubRepo: `${r.owner}/${r.repo}`,
    githubCommitRef: config.branch,
    environment: config.environment,
    productionDeploy: 'true',
  };
}

/** The deployment options sent to `POST /v13/deployments` (pure; exported for tests). */
export function deploymentOptions(config: Config, projectName: string): DeploymentOptions & { project: string } {
  const r = config.run;
  const commitMessage = headCommitMessage(r.event);
  return {
    name: projectName,
    project: config.vercel.projectId,
    target: 'production',
    autoAssignCustomDomains: false,
    meta: greenMeta(config),
    gitMetadata: {
      commitSha: r.sha,
      commitRef: config.branch,
      remoteUrl: `${r.serverUrl}/${r.owner}/${r.repo}`,
      dirty: false,
      ...(commitMessage ? { commitMessage } : {}),
      ...(r.actor ? { commitAuthorName: r.actor } : {}),
    },
  };
}

/** The client options (pure; exported for tests). The token is passed, never logged. */
export function clientOptions(config: Config): VercelClientOptions {
  const v = config.vercel;
  return {
    token: v.token,
    path: v.workingDirectory,
    apiUrl: v.apiUrl,
    ...(v.teamId ? { teamId: v.teamId } : {}),
    isDirectory: true,
    userAgent: 'production-deploy',
    ...(v.prebuilt ? { prebuilt: true, vercelOutputDir: join(v.workingDirectory, '.vercel', 'output') } : {}),
  };
}

function headCommitMessage(event: Record<string, unknown>): string | undefined {
  const head = event.head_commit as { message?: unknown } | undefined;
  return typeof head?.message === 'string' ? head.message.slice(0, 1000) : undefined;
}

/** A failed create: `unknown` when Vercel may have created the deployment anyway. */
export class StageError extends Error {
  readonly unknown: boolean;
  constructor(message: string, unknown: boolean) {
    super(message);
    this.name = 'StageError';
    this.unknown = unknown;
  }
}

/**
 * Upload and create green. Resolves at the `created` event with green's id and URL. Throws
 * StageError (its message is safe to print) or the run's abort reason.
 */
export async function createGreen(
  config: Config,
  projectName: string,
  log: Logger,
  o: { deadline: number; signal?: AbortSignal },
): Promise<Created> {
  const secrets = config.secrets;
  // @vercel/client is 1.5 MB of the bundle and ~140 ms to load: only the step that stages green
  // loads it (ncc emits it as a chunk), so every other mode and step starts without it.
  const { createDeployment } = await import('@vercel/client');
  const events = createDeployment(clientOptions(config), deploymentOptions(config, projectName));
  try {
    for (;;) {
      const next = await raceDeadline(events.next(), o.deadline, o.signal);
      if (next.done) throw new StageError('Vercel ended the upload without creating a deployment', true);
      const ev = next.value;
      switch (ev.type) {
        case 'hashes-calculated':
          log.info(
            `Collected ${Object.keys(ev.payload ?? {}).length} files from ${config.vercel.prebuilt ? '.vercel/output' : 'the working directory'}`,
          );
          break;
        case 'file-count':
          log.info(`Uploading ${(ev.payload?.missing ?? []).length} new file(s) of ${countFiles(ev.payload?.total)}`);
          break;
        case 'all-files-uploaded':
          log.info('All files uploaded; creating the deployment');
          break;
        case 'warning':
        case 'notice':
        case 'tip':
          // Vercel's own words, possibly about the app: remote text.
          log.untrusted(
            `Vercel ${ev.type}: ${typeof ev.payload === 'string' ? ev.payload : JSON.stringify(ev.payload)}`,
          );
          break;
        case 'created': {
          const d = ev.payload as { id?: string; url?: string; inspectorUrl?: string | null };
          if (!d?.id || !d.url) throw new StageError('Vercel answered the create without a deployment id or URL', true);
          return { id: d.id, url: d.url, ...(d.inspectorUrl ? { inspectorUrl: d.inspectorUrl } : {}) };
        }
        case 'error':
          throw toStageError(ev.payload, secrets);
        case 'canceled':
          throw new StageError('the deployment was canceled on Vercel', false);
        default:
          break;
      }
    }
  } finally {
    // Stop the generator; its pending request (if any) is abandoned, not awaited.
    void events.return?.(undefined).catch(() => {});
  }
}

function countFiles(total: unknown): number {
  if (total instanceof Map) return total.size;
  return total && typeof total === 'object' ? Object.keys(total).length : 0;
}

/** The client yields API errors as `{code, message, status}` and transport errors as Error. */
export function toStageError(payload: unknown, secrets: readonly string[]): StageError {
  if (payload instanceof Error) {
    const cause = (payload as { cause?: { code?: string } }).cause;
    const code = cause?.code ?? (payload as { code?: string }).code;
    const known = typeof code === 'string' && /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN)$/.test(code);
    return new StageError(
      redact(`creating the Vercel deployment failed: ${oneLine(payload.message)}${code ? ` (${code})` : ''}`, secrets),
      !known,
    );
  }
  const p = (payload ?? {}) as { code?: unknown; message?: unknown; status?: unknown };
  const status = typeof p.status === 'number' ? p.status : undefined;
  const text = [p.code, p.message].filter((x) => typeof x === 'string' && x).join(': ');
  const msg = `Vercel refused the deployment${status ? ` (HTTP ${status})` : ''}: ${oneLine(text || 'no reason given')}`;
  return new StageError(
    redact(msg, secrets),
    status === undefined || status >= 500 || status === 408 || status === 429,
  );
}

/** Resolves with `work`, or rejects at the deadline or when the run is aborted. */
async function raceDeadline<T>(work: Promise<T>, deadline: number, signal?: AbortSignal): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new StageError('no answer from Vercel before health-check-timeout', true)),
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

/**
 * This run's green on Vercel, found by meta: the newest production deployment of the project made
 * by `runId` for `sha` (and, when given, by that attempt). Used after a create with an unknown
 * outcome, and by a re-run to reuse what an earlier attempt built.
 */
export async function findGreen(
  vercel: Pick<VercelApi, 'listDeployments'>,
  q: { projectId: string; sha: string; runId: string; attempt?: number },
): Promise<VercelDeploymentSummary | undefined> {
  const { deployments } = await vercel.listDeployments({ projectId: q.projectId, target: 'production', limit: 100 });
  return deployments
    .filter(
      (d) =>
        d.meta.githubRunId === q.runId &&
        d.meta.githubCommitSha === q.sha &&
        (q.attempt === undefined || d.meta.githubRunAttempt === String(q.attempt)),
    )
    .sort((a, b) => b.createdAt - a.createdAt)[0];
}
