/**
 * The sandbox as the benchmarks drive it: through its documented control endpoints (`/_sandbox/latency`,
 * `/_sandbox/requests`, `/_sandbox/traffic`), as any user of `npm run sandbox` could, plus a probe of the
 * round trip the action sees from a separate process's point of view.
 */
import type { LoggedRequest } from '../../sandbox/core/service.ts';
import { type Sandbox, type SandboxOptions, scenarioFrom, startSandbox } from '../../sandbox/index.ts';
import { median } from './stats.ts';

export type { Sandbox };

async function control(sb: Sandbox, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${sb.urls.sandbox}/_sandbox/${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const json = (await res.json()) as unknown;
  if (!res.ok) throw new Error(`sandbox ${method} /_sandbox/${path}: HTTP ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Latency the sandbox adds to every API request (not to the data plane: edge, load balancer). */
export async function setLatency(sb: Sandbox, ms: number): Promise<void> {
  await control(sb, 'POST', 'latency', { ms });
}

/** The traffic stream's rate in requests per second. */
export async function setTrafficRate(sb: Sandbox, rate: number): Promise<void> {
  await control(sb, 'POST', 'traffic', { rate });
}

/** Every API request the sandbox received (after the last `clearRequests`). */
export async function requests(sb: Sandbox): Promise<LoggedRequest[]> {
  return (await control(sb, 'GET', 'requests')) as LoggedRequest[];
}

/** The sandbox's whole state (`GET /_sandbox/state`); callers read the few fields they need. */
export async function sandboxState(sb: Sandbox): Promise<Record<string, unknown>> {
  return (await control(sb, 'GET', 'state')) as Record<string, unknown>;
}

export async function clearRequests(sb: Sandbox): Promise<void> {
  await control(sb, 'DELETE', 'requests');
}

/**
 * Start a sandbox for a scenario given as overrides of a named one (`{extends: 'bad-release', …}`).
 * `latencyMs` is injected before the caller's run; the request log starts empty.
 */
export async function benchSandbox(
  override: Record<string, unknown>,
  opts: Omit<SandboxOptions, 'scenario'> & { latencyMs?: number } = {},
): Promise<Sandbox> {
  const { latencyMs, ...rest } = opts;
  const sb = await startSandbox({ ...rest, scenario: scenarioFrom(override) });
  try {
    if (latencyMs) await setLatency(sb, latencyMs);
    await clearRequests(sb);
    return sb;
  } catch (err) {
    await sb.stop();
    throw err;
  }
}

/**
 * Median round trip of `n` sequential GETs to `url` (ms), measured from this process over a fresh
 * connection each time as an action's first call would be; the body is read fully.
 */
export async function probeRtt(url: string, n = 7, headers: Record<string, string> = {}): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
    await res.arrayBuffer();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/**
 * The API round trip an action call pays with the injected latency: a GitHub read (`GET /repos/{o}/{r}`)
 * through the sandbox, with the scenario's token. The probe's requests are removed from the log after.
 */
export async function apiRtt(sb: Sandbox): Promise<number> {
  const repo = sb.env.GITHUB_REPOSITORY;
  const token = sb.env['INPUT_GITHUB-TOKEN'];
  const rtt = await probeRtt(`${sb.urls.github}/repos/${repo}`, 7, { authorization: `Bearer ${token}` });
  await clearRequests(sb);
  return rtt;
}
