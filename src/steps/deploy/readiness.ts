/**
 * Waiting for green: first Vercel's `readyState` (QUEUED → BUILDING → READY, or ERROR / CANCELED),
 * polled with the build log streamed meanwhile; then green's own health check answering 2xx at
 * `deploymentBaseUrl(green.url) + health-check-path`, with the protection bypass header when one is
 * configured. Both share one deadline: `health-check-timeout` from the start of staging.
 */
import type { Logger } from '../../pipeline/types.js';
import { deploymentBaseUrl, probe } from '../../providers/health.js';
import type { VercelApi, VercelDeployment } from '../../providers/vercel-api.js';
import { BuildLogStream } from './build-log.js';
import { oneLine, sleep } from '../../text.js';

/** Why green is not usable: the build failed, or it was not ready/healthy in time. */
export class GreenNotReadyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GreenNotReadyError';
  }
}

/** Poll delay: every second for the first 15 s of a build, then every 2 s. */
export function pollDelay(elapsedMs: number): number {
  return elapsedMs < 15_000 ? 1000 : 2000;
}

const BUILDING = new Set(['QUEUED', 'INITIALIZING', 'BUILDING', 'ANALYZING', 'DEPLOYING']);

/**
 * Wait until green is READY. Throws GreenNotReadyError on ERROR / CANCELED (with Vercel's error
 * code and message) or at the deadline (with the last state seen).
 */
export async function waitReady(
  vercel: Pick<VercelApi, 'getDeployment' | 'getBuildEvents'> & Partial<Pick<VercelApi, 'buildStreamEnd'>>,
  id: string,
  log: Logger,
  o: { deadline: number; timeoutMs: number; signal?: AbortSignal; streamLog?: boolean },
): Promise<VercelDeployment> {
  const started = Date.now();
  const stream = o.streamLog === false ? undefined : new BuildLogStream(vercel, id, log);
  // Vercel's live event stream ends with the build: the poll after it comes at once instead of up to
  // a second late. A hint only (it may end early, fail or never end): polling goes on regardless.
  const stop = new AbortController();
  let streamEnd = vercel.buildStreamEnd?.(id, {
    timeoutMs: Math.max(0, o.deadline - started),
    signal: o.signal ? AbortSignal.any([o.signal, stop.signal]) : stop.signal,
  });
  // Sleeps between polls; the first pause that the stream's end falls in (or follows) is cut short.
  const pause = async (ms: number): Promise<void> => {
    const hint = streamEnd;
    if (!hint) return sleep(ms, o.signal);
    const woke = new AbortController();
    void hint.then(() => woke.abort());
    try {
      await sleep(ms, o.signal ? AbortSignal.any([o.signal, woke.signal]) : woke.signal);
    } catch (err) {
      if (!woke.signal.aborted || o.signal?.aborted) throw err;
      streamEnd = undefined; // used once: the plain cadence after it
    }
  };
  try {
    return await pollReady(vercel, id, log, o, started, stream, pause);
  } finally {
    stop.abort();
  }
}

async function pollReady(
  vercel: Pick<VercelApi, 'getDeployment'>,
  id: string,
  log: Logger,
  o: { deadline: number; timeoutMs: number },
  started: number,
  stream: BuildLogStream | undefined,
  pause: (ms: number) => Promise<void>,
): Promise<VercelDeployment> {
  let last = '';
  for (;;) {
    const d = await vercel.getDeployment(id);
    if (d.readyState !== last) {
      log.info(`Green ${id}: ${d.readyState}`);
      last = d.readyState;
    }
    if (stream && (BUILDING.has(d.readyState) || d.readyState === 'READY' || d.readyState === 'ERROR'))
      await stream.pump();
    if (d.readyState === 'READY') return d;
    if (d.readyState === 'ERROR' || d.readyState === 'CANCELED') {
      const why = [d.errorCode, d.errorMessage]
        .filter(Boolean)
        .map((x) => oneLine(String(x), 300))
        .join(': ');
      throw new GreenNotReadyError(
        `green's build ${d.readyState === 'ERROR' ? 'failed' : 'was canceled'}${why ? ` (${why})` : ''}`,
      );
    }
    if (Date.now() >= o.deadline) {
      throw new GreenNotReadyError(
        `green was not READY within health-check-timeout (${Math.round(o.timeoutMs / 1000)} s); last state ${d.readyState}`,
      );
    }
    await pause(Math.min(pollDelay(Date.now() - started), Math.max(0, o.deadline - Date.now())));
  }
}

/** What the health wait saw. */
export interface HealthResult {
  url: string;
  attempts: number;
  status: number;
  durationMs: number;
}

/**
 * Poll green's health check until it answers 2xx. Throws GreenNotReadyError at the deadline with
 * the last status (or transport error) seen.
 */
export async function waitHealthy(
  greenUrl: string,
  path: string,
  o: { deadline: number; timeoutMs: number; bypass?: string; signal?: AbortSignal; log: Logger },
): Promise<HealthResult> {
  const url = `${deploymentBaseUrl(greenUrl)}${path.startsWith('/') ? path : `/${path}`}`;
  const headers: Record<string, string> = o.bypass ? { 'x-vercel-protection-bypass': o.bypass } : {};
  let last = '';
  for (let attempt = 1; ; attempt++) {
    const remaining = Math.max(1000, o.deadline - Date.now());
    const r = await probe(url, {
      headers,
      timeoutMs: Math.min(10_000, remaining),
      signal: o.signal,
      maxRedirects: 0,
      maxBodyBytes: 4096,
    });
    if (r.ok) return { url, attempts: attempt, status: r.status, durationMs: r.durationMs };
    const seen = r.error ? r.error : `HTTP ${r.status}`;
    if (seen !== last) o.log.info(`Green's health check ${url}: ${seen}; waiting for 2xx`);
    last = seen;
    if (Date.now() >= o.deadline) {
      throw new GreenNotReadyError(
        `green's health check ${url} did not answer 2xx within health-check-timeout (${Math.round(o.timeoutMs / 1000)} s); last: ${seen}` +
          (r.status === 401 || r.status === 403 ? ' (deployment protection? set vercel-protection-bypass)' : ''),
      );
    }
    await sleep(Math.min(attempt < 10 ? 500 : 2000, Math.max(0, o.deadline - Date.now())), o.signal);
  }
}
