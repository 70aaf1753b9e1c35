/**
 * Routing verification over real HTTP: a batch of requests to `production-url`, each attributed to
 * green or blue (routing.ts), judged against the expected share. Load balancers and edges take a
 * moment to apply a change, so a batch that misses is taken again until a deadline; only the last
 * batch counts. Requests go out a few at a time, each with its own timeout.
 */
import type { DeploymentRef, Logger } from '../pipeline/types.js';
import { probe } from '../providers/health.js';
import { attribute, chooseFingerprint, judgeShare, type Fingerprint, type Served } from './routing.js';
import type { RoutingCheck, RoutingExpectation } from './types.js';
import { sleep } from '../text.js';

export interface VerifyOptions {
  /** `production-url` plus the path requested (the health check path: cheap and always there). */
  url: string;
  /** Requests per batch (default 40). */
  samples?: number;
  /** Per request (default 10 s). */
  requestTimeoutMs?: number;
  /** Batches are retried until this much time has passed (default 60 s). */
  deadlineMs?: number;
  /** Pause between batches (default 1 s). */
  intervalMs?: number;
  /** How a deployment's own URL is reached (`deploymentBaseUrl`), for learning a fingerprint. */
  baseUrlOf: (deploymentUrl: string) => string;
  /** `x-vercel-protection-bypass` for the deployments' own URLs (never sent to production). */
  bypass?: string;
  signal?: AbortSignal;
  log?: Logger;
}

const CONCURRENCY = 8;

/**
 * `verifyRouting` with the run's options; without them (no `production-url`, which only `mode: plan`
 * allows) it fails saying so, when a verification is asked for rather than when the manager is built.
 */
export async function verifyConfigured(
  expect: RoutingExpectation,
  o: VerifyOptions | undefined,
): Promise<RoutingCheck> {
  if (!o) throw new Error('production-url is required to verify routing');
  return verifyRouting(expect, o);
}

/** Verify that production follows `expect`. Never throws for a routing mismatch (see `ok`). */
export async function verifyRouting(expect: RoutingExpectation, o: VerifyOptions): Promise<RoutingCheck> {
  const [green, blue, expected] =
    'share' in expect ? [expect.green, expect.blue, expect.share] : [expect.deployment, expect.other, 100];
  const deadline = Date.now() + (o.deadlineMs ?? 60_000);
  let fingerprint: Fingerprint | undefined;
  for (let batch = 1; ; batch++) {
    const answers = await sampleProduction(o);
    if (!fingerprint) {
      const withId = answers.find((a) => a.headers?.get('x-vercel-deployment-id'));
      fingerprint = withId
        ? chooseFingerprint(withId.headers!, undefined, green, blue)
        : await learnFingerprint(green, blue, o);
      if (!fingerprint) {
        return {
          kind: 'not-checked',
          ok: true,
          notChecked: true,
          expected,
          reason:
            'production answers carry no x-vercel-deployment-id and green and blue send no distinguishing version header ' +
            '(x-app-version): routing could not be attributed',
        };
      }
    }
    const fp = fingerprint;
    const served: Served[] = answers.map((a) => (a.headers ? attribute(a.headers, fp) : 'error'));
    // For a restore or a rollback the deployment expected to serve is not green: name it.
    const verdict = judgeShare(served, expected, 'share' in expect ? 'green' : green.id);
    if (verdict.ok || Date.now() + (o.intervalMs ?? 1000) >= deadline) {
      return { kind: 'share', ...verdict, reason: batch > 1 ? `${verdict.reason} (batch ${batch})` : verdict.reason };
    }
    o.log?.debug(`Routing not settled yet (${verdict.reason}); sampling again`);
    await sleep(o.intervalMs ?? 1000, o.signal);
  }
}

interface Answer {
  headers?: Headers;
  error?: string;
}

/** One batch of production requests, CONCURRENCY at a time. */
async function sampleProduction(o: VerifyOptions): Promise<Answer[]> {
  const n = o.samples ?? 40;
  const out: Answer[] = [];
  for (let i = 0; i < n; i += CONCURRENCY) {
    const size = Math.min(CONCURRENCY, n - i);
    out.push(...(await Promise.all(Array.from({ length: size }, () => request(o.url, {}, o)))));
  }
  return out;
}

/** A header that tells green's answers from blue's, learned from their own URLs. */
async function learnFingerprint(
  green: DeploymentRef,
  blue: DeploymentRef | undefined,
  o: VerifyOptions,
): Promise<Fingerprint | undefined> {
  const path = new URL(o.url).pathname;
  const headers: Record<string, string> = o.bypass ? { 'x-vercel-protection-bypass': o.bypass } : {};
  const g = await request(`${o.baseUrlOf(green.url)}${path}`, headers, o);
  if (!g.headers) return undefined;
  const b = blue ? await request(`${o.baseUrlOf(blue.url)}${path}`, headers, o) : undefined;
  return chooseFingerprint(g.headers, b?.headers, green, blue);
}

async function request(url: string, headers: Record<string, string>, o: VerifyOptions): Promise<Answer> {
  // No cookies and no cache: every request is routed afresh (no session affinity, no cached page).
  const r = await probe(url, {
    headers: { 'cache-control': 'no-cache', ...headers },
    timeoutMs: o.requestTimeoutMs ?? 10_000,
    ...(o.signal ? { signal: o.signal } : {}),
    maxRedirects: 0,
    maxBodyBytes: 16 * 1024,
  });
  return r.error !== undefined ? { error: r.error } : { headers: r.headers };
}
