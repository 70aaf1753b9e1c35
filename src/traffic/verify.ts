/**
 * Routing verification over real HTTP: a batch of requests to `production-url`, each attributed to
 * green or blue (routing.ts), judged against the expected share. Load balancers and edges take a
 * moment to apply a change, so a batch that misses is taken again until a deadline; only the last
 * batch counts. Requests go out twenty at a time, each with its own timeout.
 *
 * It fails closed: answers are attributed by what the app sends (`version-header` or the body of
 * `version-path`), learned from green's and blue's own URLs; when the two cannot be told apart the
 * check fails (`checkAttribution` says so before any traffic moves), and a production that does not
 * answer 2xx fails it whoever would have served.
 */
import type { DeploymentRef, Logger } from '../pipeline/types.js';
import { probe } from '../providers/health.js';
import { attribute, judgeShare, valueOf, type AnswerView, type Fingerprint, type Served } from './routing.js';
import type { RoutingCheck, RoutingExpectation } from './types.js';
import { mapInOrder, sleep } from '../text.js';

/** How answers are attributed: the app's version header, or the body of its version endpoint. */
export type Attribution = { source: 'header'; name: string } | { source: 'body'; name: string };

export interface VerifyOptions {
  /** `production-url` plus the path requested (`version-path`, else `health-check-path`). */
  url: string;
  attribution: Attribution;
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

/**
 * Requests in flight at once: a batch of 40 is two round trips of production rather than five, and
 * twenty small GETs of the version or health path at a time weigh nothing on a production site.
 */
const CONCURRENCY = 20;

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

/** How to make answers attributable (the refusal's second half). */
export function attributionHelp(a: Attribution): string {
  return (
    'Make every answer of the app name its release: send a response header with a value unique per release ' +
    `(e.g. ${a.source === 'header' ? a.name : 'x-app-version'}: <commit sha>, from vercel.json "headers" or middleware; ` +
    'set version-header if it is not x-app-version), or serve a version endpoint whose body names the release ' +
    'and set version-path to it. See the README, "Telling green from blue".'
  );
}

export type Learned = { ok: true; fingerprint: Fingerprint } | { ok: false; reason: string };

/**
 * Learn what green's and blue's answers carry, from their own URLs (with the protection bypass):
 * both must answer 2xx with a value, the values must differ, and a version body must be stable.
 * Without blue, only green's value is learned (anything else then counts as neither).
 */
export async function learnFingerprint(
  green: DeploymentRef,
  blue: DeploymentRef | undefined,
  o: VerifyOptions,
): Promise<Learned> {
  const a = o.attribution;
  const path = new URL(o.url).pathname;
  const headers: Record<string, string> = o.bypass ? { 'x-vercel-protection-bypass': o.bypass } : {};
  const read = async (label: string, d: DeploymentRef): Promise<{ value: string } | { reason: string }> => {
    const url = `${o.baseUrlOf(d.url)}${path}`;
    const first = await request(url, headers, o);
    if (!first.answer) return { reason: `${label} (${d.id}) did not answer at ${url}: ${first.failure}` };
    const value = valueOf(first.answer, a.source, a.name);
    if (value === undefined)
      return {
        reason:
          a.source === 'header'
            ? `${label} (${d.id}) sends no ${a.name} header`
            : `${label} (${d.id}) answers ${a.name} with an empty body`,
      };
    if (a.source === 'body') {
      const again = await request(url, headers, o);
      const second = again.answer ? valueOf(again.answer, a.source, a.name) : undefined;
      if (second !== value)
        return { reason: `${label} (${d.id}) answers ${a.name} differently from one request to the next` };
    }
    return { value };
  };
  const g = await read('green', green);
  if ('reason' in g) return { ok: false, reason: g.reason };
  if (!blue) return { ok: true, fingerprint: { ...a, green: g.value } };
  const b = await read('blue', blue);
  if ('reason' in b) return { ok: false, reason: b.reason };
  if (b.value === g.value) {
    return {
      ok: false,
      reason: `green (${green.id}) and blue (${blue.id}) both answer ${a.source === 'header' ? `${a.name}: ` : `${a.name} with `}${clip(g.value)}`,
    };
  }
  return { ok: true, fingerprint: { ...a, green: g.value, blue: b.value } };
}

/**
 * Before any traffic moves: can production's answers be attributed to green or blue? `ok: false`
 * carries the reason and how to fix it.
 */
export async function checkAttribution(
  green: DeploymentRef,
  blue: DeploymentRef | undefined,
  o: VerifyOptions | undefined,
): Promise<{ ok: boolean; reason: string }> {
  if (!o) return { ok: false, reason: 'production-url is required to verify routing' };
  const learned = await learnFingerprint(green, blue, o);
  if (!learned.ok)
    return {
      ok: false,
      reason: `answers cannot be attributed to green or blue: ${learned.reason}. ${attributionHelp(o.attribution)}`,
    };
  const fp = learned.fingerprint;
  return {
    ok: true,
    reason: `${fp.source === 'header' ? fp.name : `body of ${fp.name}`}: green ${clip(fp.green)}${fp.blue !== undefined ? `, blue ${clip(fp.blue)}` : ''}`,
  };
}

function clip(v: string): string {
  const one = v.replace(/\s+/g, ' ');
  return JSON.stringify(one.length > 60 ? `${one.slice(0, 60)}…` : one);
}

/** Verify that production follows `expect`. Never throws for a routing mismatch (see `ok`). */
export async function verifyRouting(expect: RoutingExpectation, o: VerifyOptions): Promise<RoutingCheck> {
  const [green, blue, expected] =
    'share' in expect ? [expect.green, expect.blue, expect.share] : [expect.deployment, expect.other, 100];
  const target = 'share' in expect ? 'green' : green.id;
  const deadline = Date.now() + (o.deadlineMs ?? 60_000);
  const learned = await learnFingerprint(green, blue, o);
  if (!learned.ok) {
    const verdict = judgeShare([], expected, target);
    return {
      kind: 'share',
      ...verdict,
      reason: `routing cannot be verified, answers cannot be attributed: ${learned.reason}. ${attributionHelp(o.attribution)}`,
    };
  }
  const fp = learned.fingerprint;
  for (let batch = 1; ; batch++) {
    const answers = await sampleProduction(o);
    const failures: Record<string, number> = {};
    const served: Served[] = answers.map((a) => {
      if (!a.answer) {
        failures[a.failure] = (failures[a.failure] ?? 0) + 1;
        return 'error';
      }
      return attribute(a.answer, fp);
    });
    // For a restore or a rollback the deployment expected to serve is not green: name it.
    const verdict = judgeShare(served, expected, target, failures);
    if (verdict.ok || Date.now() + (o.intervalMs ?? 1000) >= deadline) {
      return { kind: 'share', ...verdict, reason: batch > 1 ? `${verdict.reason} (batch ${batch})` : verdict.reason };
    }
    o.log?.debug(`Routing not settled yet (${verdict.reason}); sampling again`);
    await sleep(o.intervalMs ?? 1000, o.signal);
  }
}

/** One request: a 2xx answer, or why there was none (`HTTP 503`, a timeout, a refused connection). */
type Answer = { answer: AnswerView; failure?: undefined } | { answer?: undefined; failure: string };

/** One batch of production requests, CONCURRENCY in flight (a new one as soon as one answers). */
async function sampleProduction(o: VerifyOptions): Promise<Answer[]> {
  return mapInOrder(Array.from({ length: o.samples ?? 40 }), CONCURRENCY, () => request(o.url, {}, o));
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
  if (r.error !== undefined) return { failure: r.error };
  if (r.status < 200 || r.status > 299) return { failure: `HTTP ${r.status}` };
  return { answer: { headers: r.headers, body: r.body } };
}
