/**
 * The fault matrix (docs/safety.md, "How it is tested"): one fault at a time, on every provider
 * operation the action performs in a deploy, for every fault kind; after each case the invariant
 * (invariant.ts) is checked.
 *
 * Cases are generated from the request log of a clean run: each request becomes an operation
 * (service, method, path template) at a call site (the step it was made in). A fault rule then
 * targets that call site with `after` = how many matching requests the clean run made before it, so
 * an operation made in several steps (reading the load balancer in deploy, traffic and cleanup) is
 * faulted in each. A new call in the action is therefore covered without touching this file.
 */
import { join } from 'node:path';
import { appendFileSync } from 'node:fs';
import type { FaultRule, LoggedRequest, ServiceName } from '../../../sandbox/core/service.ts';
import { globMatch } from '../../../sandbox/core/service.ts';
import { scenarioFrom, startSandbox, type Sandbox } from '../../../sandbox/index.ts';
import { inputEnvName, runAction, type ActionRun } from '../harness.ts';
import {
  checkInvariant,
  checkRerun,
  countDuplicates,
  postTwice,
  takeBaseline,
  takeRollbackBaseline,
  type Baseline,
  type InvariantResult,
  type Violation,
} from './invariant.ts';

/** Where the bundle is: `PD_DIST_DIR` (a private bundle) or the repository's `dist/`. */
export const DIST = process.env.PD_DIST_DIR ?? 'dist';

/** The outside systems whose calls are faulted (the data plane and dependency checks are not provider calls). */
export const PROVIDERS: readonly ServiceName[] = ['github', 'vercel', 'cloudflare', 'datadog', 'slack', 's3'];

/**
 * The deploy the matrix runs: the default scenario with short windows, so a whole case takes seconds.
 * Inputs only; the action's own retry policies and timeouts are untouched.
 */
export function matrixScenario(
  faults: FaultRule[] = [],
  name = 'hardening',
  extra: { inputs?: Record<string, string>; timings?: Record<string, number>; [key: string]: unknown } = {},
): ReturnType<typeof scenarioFrom> {
  const { inputs, timings, faults: extraFaults, ...rest } = extra;
  return scenarioFrom({
    ...rest,
    name,
    inputs: {
      'validation-window': '2s',
      'validation-interval': '500ms',
      'rollback-window': '2s',
      'smoke-samples': '2',
      'checks-timeout': '2s',
      // The sandbox's latency is the real proxy's: six sandboxes on two busy cores can push its p95
      // past the scenario's 800 ms and roll back a deploy no fault touched (the set-up deploy of a
      // rollback case, or a case whose fault comes after validation). Latency breaches have tests of
      // their own; the matrix is about faults.
      'performance-threshold-ms': '5000',
      ...inputs,
    },
    timings: { buildMs: 200, aliasMs: 100, healthCheckIntervalMs: 100, ...timings },
    traffic: { rate: 10 },
    faults: [...faults, ...((extraFaults as FaultRule[] | undefined) ?? [])],
  });
}

// ------------------------------------------------------------------ operations and call sites

/** A path segment that names one resource rather than a kind of resource. */
function isIdSegment(service: ServiceName, seg: string): boolean {
  return (
    /^\d+$/.test(seg) ||
    /^[0-9a-f]{32}$/.test(seg) ||
    /^[0-9a-f]{40}$/.test(seg) ||
    /^(dpl|prj|team)_/.test(seg) ||
    seg.includes('...') ||
    // A hostname (Vercel aliases); Slack's method names (`chat.postMessage`) have dots too but are operations.
    (service !== 'slack' && /^[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(seg))
  );
}

/** The glob that matches every request of this request's operation. */
export function operationGlob(r: Pick<LoggedRequest, 'service' | 'path'>): string {
  const segs = r.path.split('/');
  if (r.service === 's3') return `/${segs[1]}/**`;
  return segs
    .map((s, i) => {
      if (i === 0) return s;
      if (r.service === 'github' && segs[1] === 'repos' && (i === 2 || i === 3)) return '*';
      return isIdSegment(r.service, s) ? '*' : s;
    })
    .join('/');
}

/**
 * `github GET /repos/{o}/{r}/deployments`; S3 operations are named by the SDK's `x-id` (PutObject…);
 * a GitHub GraphQL call by its operation: `github POST /graphql PreflightFacts`.
 */
export function operationKey(r: Pick<LoggedRequest, 'service' | 'method' | 'path' | 'query' | 'operation'>): string {
  if (r.service === 's3') {
    const xid = typeof r.query['x-id'] === 'string' ? r.query['x-id'] : r.method === 'HEAD' ? 'HeadObject' : r.method;
    return `s3 ${r.method} ${xid}`;
  }
  return `${r.service} ${r.method} ${operationGlob(r)}${r.operation !== undefined ? ` ${r.operation}` : ''}`;
}

/**
 * What the run under test is: a deploy, or `mode: rollback` right after a successful deploy (the
 * emergency path back). Each path has its own clean run and call sites.
 */
export type MatrixPath = 'deploy' | 'rollback' | 'rolling';
/** The paths the whole matrix runs by default (`.ci/run`). */
export const PATHS: readonly MatrixPath[] = ['deploy', 'rollback'];
/**
 * Every path `--paths` accepts. `rolling` is asked for by name (`--paths rolling`): its Rolling
 * Releases call sites alone are ~12 × 9 fault kinds, minutes that `.ci/run`'s hour has no room for.
 */
export const ALL_PATHS: readonly MatrixPath[] = [...PATHS, 'rolling'];

/**
 * The `rolling` path: a canary through Vercel Rolling Releases (`traffic-manager: vercel`, issue 17),
 * Cloudflare only proxying the production domain, the project with a rolling-release config of its own.
 */
const ROLLING: { inputs: Record<string, string>; [key: string]: unknown } = {
  inputs: { 'traffic-manager': 'vercel', strategy: 'canary', 'traffic-steps': '50,100', 'step-duration': '2s' },
  vercel: {
    project: {
      rollingRelease: {
        target: 'production',
        advancementType: 'automatic',
        stages: [{ targetPercentage: 5, duration: 10 }, { targetPercentage: 100 }],
      },
    },
  },
  cloudflare: {
    pools: [
      {
        name: 'blue',
        origins: [{ name: 'blue-vercel', address: 'cname.vercel-dns.com', header: { Host: ['www.example.com'] } }],
      },
      {
        name: 'green',
        origins: [{ name: 'green-vercel', address: 'cname.vercel-dns.com', header: { Host: ['www.example.com'] } }],
      },
    ],
  },
};

/** Vercel operations only the rolling path makes (its release, its config, the promote that starts it). */
const ROLLING_ONLY = /rolling-release|\/promote\/|\/rollback\/|^\/v9\/projects\/[^/]+$/;

/** The scenario of a path's runs (`faults` from the start). */
export function pathScenario(path: MatrixPath, faults: FaultRule[] = [], name = 'hardening') {
  return matrixScenario(faults, name, path === 'rolling' ? ROLLING : {});
}

export interface CallSite {
  path: MatrixPath;
  /** The operation, prefixed `[rollback]` on the rollback path so the table keeps the paths apart. */
  op: string;
  service: ServiceName;
  method: string;
  glob: string;
  /** The operation inside the path (GitHub GraphQL's operation name), when the request named one. */
  operation?: string;
  /** The step the clean run made these requests in (`runner` between steps). */
  step: string;
  /** Requests matching (service, method, glob) that the clean run made before this site. */
  after: number;
  /** Requests of this operation at this site in the clean run. */
  count: number;
}

interface StepSpan {
  name: string;
  startedAt: string;
  durationMs: number;
}

/** The step whose time span holds `time` (ISO), else `runner`. */
export function stepAt(time: string, steps: readonly StepSpan[]): string {
  const t = Date.parse(time);
  const s = steps.find((x) => t >= Date.parse(x.startedAt) - 5 && t <= Date.parse(x.startedAt) + x.durationMs + 5);
  return s?.name ?? 'runner';
}

/** The call sites of a clean run's provider requests, in the order the run first made them. */
export function callSites(
  requests: readonly LoggedRequest[],
  steps: readonly StepSpan[],
  path: MatrixPath = 'deploy',
): CallSite[] {
  const api = requests.filter((r) => PROVIDERS.includes(r.service)).sort((a, b) => a.seq - b.seq);
  const sites = new Map<string, CallSite>();
  for (const r of api) {
    const op = `${path === 'deploy' ? '' : `[${path}] `}${operationKey(r)}`;
    const step = stepAt(r.time, steps);
    const key = `${op} @${step}`;
    const site = sites.get(key);
    if (site) {
      site.count++;
      continue;
    }
    const glob = operationGlob(r);
    const before = api.filter(
      (x) =>
        x.seq < r.seq &&
        x.service === r.service &&
        x.method === r.method &&
        globMatch(glob, x.path) &&
        (r.operation === undefined || x.operation === r.operation),
    );
    sites.set(key, {
      path,
      op,
      service: r.service,
      method: r.method,
      glob,
      ...(r.operation !== undefined ? { operation: r.operation } : {}),
      step,
      after: before.length,
      count: 1,
    });
  }
  return [...sites.values()];
}

// ------------------------------------------------------------------ fault kinds

export const FAULT_KINDS = [
  '500',
  '502',
  '503',
  '429-seconds',
  '429-date',
  'hang',
  'reset',
  'malformed-json',
  'error-envelope',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The error body each service sends with a status, in its own envelope. */
function errorBody(service: ServiceName, status: number): { body: unknown; headers?: Record<string, string> } {
  const message = status === 429 ? 'Rate limit exceeded' : `Injected HTTP ${status}`;
  switch (service) {
    case 'github':
      return { body: { message, documentation_url: 'https://docs.github.com/rest', status: String(status) } };
    case 'vercel':
      return { body: { error: { code: status === 429 ? 'rate_limited' : 'internal_server_error', message } } };
    case 'cloudflare':
      return {
        body: {
          success: false,
          errors: [{ code: status === 429 ? 10013 : 10000, message }],
          messages: [],
          result: null,
        },
      };
    case 'datadog':
      return { body: { errors: [message] } };
    case 'slack':
      return { body: { ok: false, error: status === 429 ? 'ratelimited' : 'internal_error' } };
    default: {
      const code = status === 503 ? 'SlowDown' : status === 429 ? 'TooManyRequests' : 'InternalError';
      return {
        body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`,
        headers: { 'content-type': 'application/xml' },
      };
    }
  }
}

/** Whether a fault kind means something for a service (an error envelope is Cloudflare's and Slack's). */
export function appliesTo(kind: FaultKind, service: ServiceName): boolean {
  return kind !== 'error-envelope' || service === 'cloudflare' || service === 'slack';
}

/**
 * The rule for one fault at one call site. Every kind is persistent (the operation keeps failing from
 * that call on, through every retry and the post step) except `hang`: one attempt hangs past the
 * provider's timeout and the next is answered — a persistent hang would cost four timeouts per case.
 */
export function faultRule(site: CallSite, kind: FaultKind, now = Date.now()): FaultRule {
  const at: FaultRule = {
    service: site.service,
    method: site.method,
    path: site.glob,
    ...(site.operation !== undefined ? { operation: site.operation } : {}),
    after: site.after,
  };
  switch (kind) {
    case '500':
    case '502':
    case '503': {
      const e = errorBody(site.service, Number(kind));
      return { ...at, status: Number(kind), ...e };
    }
    case '429-seconds':
    case '429-date': {
      // Two rate limits a provider really sends: a short one, in seconds, that the run waits out until
      // the step's rate-limit budget is spent (the fault persists); and a block as an HTTP date further
      // off than any budget (Cloudflare blocks for 5 minutes once over its limit), which fails at once
      // naming the budget. Both must leave production whole.
      const e = errorBody(site.service, 429);
      const retryAfter = kind === '429-seconds' ? '1' : new Date(now + 15 * 60_000).toUTCString();
      return { ...at, status: 429, body: e.body, headers: { ...e.headers, 'retry-after': retryAfter } };
    }
    case 'hang':
      return { ...at, hang: true, times: 1 };
    case 'reset':
      return { ...at, reset: true };
    case 'malformed-json':
      return site.service === 's3'
        ? {
            ...at,
            status: 200,
            body: '<?xml version="1.0" encoding="UTF-8"?><Broken',
            headers: { 'content-type': 'application/xml' },
          }
        : { ...at, status: 200, body: '{"truncated": ', headers: { 'content-type': 'application/json' } };
    case 'error-envelope':
      return site.service === 'slack'
        ? { ...at, status: 200, body: { ok: false, error: 'fatal_error' } }
        : {
            ...at,
            status: 200,
            body: {
              success: false,
              errors: [{ code: 1000, message: 'Injected error envelope' }],
              messages: [],
              result: null,
            },
          };
  }
}

export interface FaultCase {
  id: string;
  site: CallSite;
  kind: FaultKind;
}

/**
 * Every (call site × applicable fault kind), interleaved: round r gives each call site its r-th kind
 * (rotated by the site's position), so a run stopped part-way has still hit every call site, with
 * every kind spread over them, rather than exhausting the first steps' calls.
 */
export function allCases(sites: readonly CallSite[], kinds: readonly FaultKind[] = FAULT_KINDS): FaultCase[] {
  const out: FaultCase[] = [];
  for (let round = 0; round < kinds.length; round++) {
    for (const [i, site] of sites.entries()) {
      const kind = kinds[(i + round) % kinds.length]!;
      if (appliesTo(kind, site.service)) out.push({ id: `${site.op} @${site.step} × ${kind}`, site, kind });
    }
  }
  return out;
}

/**
 * The representative slice for the default test run (it must stay within a few minutes): one case
 * per (service × step) — every provider in every step it is called in — with the operation and the
 * fault kind rotating along their lists, so every kind is used and the choice is the same on every run.
 * A hang on S3 is left to the full matrix: the SDK's request timeout is a minute.
 */
export function sliceCases(sites: readonly CallSite[]): FaultCase[] {
  const groups = new Map<string, CallSite[]>();
  for (const s of sites) {
    const key = `${s.service} @${s.step}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  const out: FaultCase[] = [];
  let i = 0;
  for (const group of groups.values()) {
    const site = group[i % group.length]!;
    const kinds = FAULT_KINDS.filter((k) => appliesTo(k, site.service) && !(k === 'hang' && site.service === 's3'));
    const kind = kinds[i % kinds.length]!;
    i++;
    out.push({ id: `${site.op} @${site.step} × ${kind}`, site, kind });
  }
  return out;
}

// ------------------------------------------------------------------ running

export interface CleanRun {
  run: ActionRun;
  requests: LoggedRequest[];
  sites: CallSite[];
  durationMs: number;
}

/** The reason the rollback path gives `mode: rollback`. */
export const ROLLBACK_REASON = 'fault matrix: taking production back';

/** The environment of the rollback path's run: a new workflow run, `mode: rollback` to the previous release. */
export function rollbackEnv(sb: Sandbox, attempt = 1): Record<string, string> {
  return {
    ...sb.env,
    GITHUB_RUN_ID: String(Number(sb.env.GITHUB_RUN_ID) + 1),
    GITHUB_RUN_ATTEMPT: String(attempt),
    [inputEnvName('mode')]: 'rollback',
    [inputEnvName('rollback-to')]: 'previous',
    [inputEnvName('reason')]: ROLLBACK_REASON,
  };
}

/**
 * Puts a fresh sandbox where the path's run starts, without faults: nothing to do for a deploy; for
 * a rollback, a successful deploy first. Returns the run's environment and the baseline to judge it by.
 */
export async function setUp(sb: Sandbox, path: MatrixPath): Promise<{ env: Record<string, string>; base: Baseline }> {
  const before = await takeBaseline(sb);
  if (path !== 'rollback') return { env: sb.env, base: before };
  const deploy = await runAction({ entry: join(DIST, 'index.js'), env: sb.env, timeoutMs: 180_000 });
  if (deploy.code !== 0) {
    throw new Error(
      `the deploy the rollback starts from failed (exit ${deploy.code}):\n${deploy.stdout.slice(-2000)}\n${deploy.stderr}`,
    );
  }
  return { env: rollbackEnv(sb), base: await takeRollbackBaseline(sb, before) };
}

/** Runs the path without faults and derives the call sites from the request log of its run. */
export async function cleanRun(path: MatrixPath = 'deploy'): Promise<CleanRun> {
  const sb = await startSandbox({ scenario: pathScenario(path) });
  try {
    const { env } = await setUp(sb, path);
    const seq = sb.world.traffic.requests.at(-1)?.seq ?? 0;
    const t0 = Date.now();
    const run = await runAction({ entry: join(DIST, 'index.js'), env, timeoutMs: 180_000 });
    const durationMs = Date.now() - t0;
    if (run.code !== 0)
      throw new Error(`the clean ${path} run failed (exit ${run.code}):\n${run.stdout.slice(-3000)}\n${run.stderr}`);
    const requests = sb.world.traffic.requests.filter((r) => r.seq > seq);
    let sites = callSites(requests, run.report?.steps ?? [], path);
    // The rolling path's own calls only: everything else it makes is the deploy path's.
    if (path === 'rolling') sites = sites.filter((s) => s.service === 'vercel' && ROLLING_ONLY.test(s.glob));
    return { run, requests, sites, durationMs };
  } finally {
    await sb.stop();
  }
}

/** Sandboxes of cases in flight, so a stopped matrix run can stop them (and their PostgreSQL) too. */
export const liveSandboxes = new Set<Sandbox>();

export interface CaseResult {
  case: FaultCase;
  invariant: InvariantResult;
  /** Requests the fault rule answered (0: the case never reached the faulted call). */
  faulted: number;
  /** The step in which the first faulted request was made. */
  faultedIn?: string;
  durationMs: number;
  mainMs: number;
  /** The second attempt (GITHUB_RUN_ATTEMPT=2, faults gone) of a run that did not succeed, when asked for. */
  rerun?: { status?: string; violations: Violation[] };
  /** Record clauses attempt 1 could not meet because the fault refused every status write (a stated limit). */
  limit?: string[];
  error?: string;
}

/** Runs the main step, then the post step twice (the runner's, and a repeat that must change nothing). */
async function mainAndPosts(sb: Sandbox, env: Record<string, string>) {
  const main = await runAction({ entry: join(DIST, 'index.js'), env, timeoutMs: 240_000 });
  if (process.env.MATRIX_DEBUG) appendFileSync(process.env.MATRIX_DEBUG, '\n===== MAIN\n' + main.stdout + main.stderr);
  return { main, ...(await postTwice(sb, env, main, DIST)) };
}

/**
 * One case: a fresh sandbox with the fault, the main step, the post step twice, the invariant. With
 * `rerun`, a run that did not succeed is attempted again (GITHUB_RUN_ATTEMPT=2) once the fault is
 * gone, as a user re-running the failed job would: it must complete or refuse cleanly, without
 * duplicate deployments, comments or notifications.
 */
export async function runCase(c: FaultCase, opts: { rerun?: boolean } = {}): Promise<CaseResult> {
  const t0 = Date.now();
  const rule = faultRule(c.site, c.kind);
  let sb: Sandbox | undefined;
  try {
    const path = c.site.path;
    // A deploy meets its fault from the start; a rollback only once the deploy before it is done.
    sb = await startSandbox({ scenario: pathScenario(path, path !== 'rollback' ? [rule] : [], `fault ${c.id}`) });
    liveSandboxes.add(sb);
    const { env, base } = await setUp(sb, path);
    if (path === 'rollback') sb.world.traffic.faults = [{ ...rule, seen: 0 }];
    const m0 = Date.now();
    const first = await mainAndPosts(sb, env);
    const mainMs = Date.now() - m0;
    const hits = sb.world.traffic.requests.filter((r) => r.fault);
    const invariant = await checkInvariant(sb, base, first);
    const faultedIn =
      hits[0] && first.main.report ? stepAt(hits[0].time, first.main.report.steps) : hits[0] ? 'post' : undefined;
    const result: CaseResult = { case: c, invariant, faulted: hits.length, faultedIn, durationMs: 0, mainMs };
    // A persistent fault on the record's own writes leaves GitHub unable to hold the outcome: the
    // limit docs/safety.md states. That is the status write, and on the rollback path also creating
    // the record (an emergency rollback goes ahead without it; a deploy stops before traffic moves).
    // It is accepted for attempt 1 only when the job said so (an error or warning about GitHub);
    // when it failed, the re-run, once the fault is gone, must then close the record like every
    // other clause of the invariant.
    const recordWrite =
      c.site.method === 'POST' &&
      (c.site.glob.endsWith('/deployments/*/statuses') ||
        (path === 'rollback' && c.site.glob === '/repos/*/*/deployments'));
    const recordViolations = invariant.violations.filter((v) => v.clause === 'record');
    const saidSo = /^::(error|warning)::.*GitHub/m.test(first.main.stdout);
    if (recordWrite && recordViolations.length > 0 && saidSo) {
      invariant.violations = invariant.violations.filter((v) => v.clause !== 'record');
      invariant.holds = invariant.violations.length === 0;
      result.limit = recordViolations.map((v) => v.detail);
    }
    // A run that succeeded is not re-run: a second attempt of a finished deploy would announce it again.
    if ((opts.rerun || result.limit) && first.main.outputs.status !== 'success') {
      // A re-run happens once the fault is gone (a provider recovered, a token was fixed).
      sb.world.traffic.faults = [];
      const second = await mainAndPosts(
        sb,
        path !== 'rollback' ? { ...env, GITHUB_RUN_ATTEMPT: '2' } : rollbackEnv(sb, 2),
      );
      const again = await checkInvariant(sb, base, second);
      const violations = [...again.violations, ...checkRerun(second.main, await countDuplicates(sb, base), base.mode)];
      result.rerun = { status: second.main.outputs.status, violations };
      if (violations.length > 0) {
        invariant.holds = false;
        invariant.violations.push(...violations.map((x) => ({ ...x, detail: `attempt 2: ${x.detail}` })));
      }
    }
    result.durationMs = Date.now() - t0;
    return result;
  } catch (err) {
    return {
      case: c,
      invariant: {
        holds: false,
        violations: [{ clause: 'result', detail: `the case could not run: ${(err as Error).message}` }],
        live: 'unknown',
      },
      faulted: 0,
      durationMs: Date.now() - t0,
      mainMs: 0,
      error: (err as Error).message,
    };
  } finally {
    if (sb) liveSandboxes.delete(sb);
    await sb?.stop();
  }
}

/** Runs cases `concurrency` at a time (each with its own sandbox), reporting each as it finishes. */
export async function runCases(
  cases: readonly FaultCase[],
  concurrency: number,
  onResult?: (r: CaseResult, done: number) => void,
  rerun: (c: FaultCase) => boolean = () => false,
): Promise<CaseResult[]> {
  const results: CaseResult[] = new Array(cases.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < cases.length) {
      const i = next++;
      results[i] = await runCase(cases[i]!, { rerun: rerun(cases[i]!) });
      onResult?.(results[i]!, ++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, cases.length) }, worker));
  return results;
}

// ------------------------------------------------------------------ the table

/** Operations × fault kinds; each cell `held/run` (`·` where the kind does not apply). */
export function formatTable(results: readonly CaseResult[]): string {
  const ops = [...new Set(results.map((r) => r.case.site.op))];
  const kinds = FAULT_KINDS.filter((k) => results.some((r) => r.case.kind === k));
  const cell = (op: string, kind: FaultKind): string => {
    const rs = results.filter((r) => r.case.site.op === op && r.case.kind === kind);
    if (rs.length === 0) return '·';
    return `${rs.filter((r) => r.invariant.holds).length}/${rs.length}`;
  };
  const header = ['operation', ...kinds, 'held'];
  const rows = ops.map((op) => {
    const rs = results.filter((r) => r.case.site.op === op);
    return [op, ...kinds.map((k) => cell(op, k)), `${rs.filter((r) => r.invariant.holds).length}/${rs.length}`];
  });
  const totals = [
    'all',
    ...kinds.map((k) => {
      const rs = results.filter((r) => r.case.kind === k);
      return `${rs.filter((r) => r.invariant.holds).length}/${rs.length}`;
    }),
    `${results.filter((r) => r.invariant.holds).length}/${results.length}`,
  ];
  const table = [header, ...rows, totals];
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    `| ${row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [
    line(header),
    `|${widths.map((w, i) => (i === 0 ? ':' : '') + '-'.repeat(w + 1) + (i === 0 ? '' : ':')).join('|')}|`,
    ...rows.map(line),
    line(totals),
  ].join('\n');
}

/** The cases that did not hold, one paragraph each. */
export function formatFailures(results: readonly CaseResult[]): string {
  return results
    .filter((r) => !r.invariant.holds)
    .map((r) => {
      const v = r.invariant.violations.map((x) => `    [${x.clause}] ${x.detail}`).join('\n');
      return `✗ ${r.case.id} (status ${r.invariant.status ?? '—'}, production on ${r.invariant.live}, faulted ${r.faulted}× in ${r.faultedIn ?? '—'})\n${v}`;
    })
    .join('\n');
}
