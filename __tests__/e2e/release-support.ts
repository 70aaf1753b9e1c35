/**
 * What the end-to-end tests (release*, cancel*, validate-*, rollback-mode) share: reading the sandbox's
 * state, asking production which version answers, and checking every API request the action sent
 * against the official specs — minus the spec excerpts' own known flaws, the same ones the
 * sandbox's contract test lists (__tests__/contract/sandbox-b-spec.test.ts), and nothing else.
 */
import { validator } from '../../sandbox/contract/testing.ts';
import { formatProblems, type Validation } from '../../sandbox/contract/validate.ts';
import type { LoggedRequest } from '../../sandbox/core/service.ts';
import type { Sandbox } from '../../sandbox/index.ts';

/** `/_sandbox/state`, untyped: each test reads the few fields it checks. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type SandboxState = Record<string, any>;

/** `/_sandbox/state`, as `T`: untyped by default, or a typed view such as RecordsState. */
export async function sandboxState<T = SandboxState>(sb: Sandbox): Promise<T> {
  return (await (await fetch(`${sb.urls.sandbox}/_sandbox/state`)).json()) as T;
}

/** The records the validation and rollback tests read: GitHub deployments, Slack, Datadog, Cloudflare. */
export interface RecordsState {
  github: {
    deployments: {
      id: number;
      sha: string;
      payload: Record<string, unknown>;
      statuses: { state: string; description: string; environmentUrl: string }[];
    }[];
  };
  slack: { messages: { ts: string; threadTs?: string; text: string; blocks?: unknown }[] };
  datadog: {
    events: { title: string; text: string; tags: string[]; alert_type: string }[];
    doraDeployments: Record<string, unknown>[];
  };
  cloudflare: {
    loadBalancers: { fallback_pool: string; pool_weights: Record<string, number> }[];
    pools: { id: string; origins: { host: string }[] }[];
    history: { kind: string; random_steering?: { pool_weights?: Record<string, number> } }[];
  };
}

/** Which app version (`x-app-version`) answers `n` requests to production, through the load balancer. */
export async function productionVersions(sb: Sandbox, n = 20, path = '/api/health'): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${sb.urls.production}${path}`, { headers: { 'cache-control': 'no-cache' } });
    await res.arrayBuffer();
    const v = res.headers.get('x-app-version') ?? `HTTP ${res.status}`;
    out[v] = (out[v] ?? 0) + 1;
  }
  return out;
}

/** The pool whose origin reaches `host` (the slot hostname). */
export function poolOf(state: SandboxState, host: string): string {
  const pool = (state.cloudflare.pools as { id: string; origins: { host: string }[] }[]).find((p) =>
    p.origins.some((o) => o.host === host),
  );
  if (!pool) throw new Error(`no pool reaches ${host}`);
  return pool.id;
}

/** Green's weight in each load balancer change, oldest first (`via`: scenario, PATCH, PUT). */
export function weightHistory(
  state: SandboxState,
  pool: string,
): { via: string; at: number; weight: number; fallback: string }[] {
  return (
    state.cloudflare.history as {
      kind: string;
      via: string;
      at: number;
      fallback_pool: string;
      random_steering?: { pool_weights?: Record<string, number> };
    }[]
  )
    .filter((h) => h.kind === 'load_balancer')
    .map((h) => ({
      via: h.via,
      at: h.at,
      weight: h.random_steering?.pool_weights?.[pool] ?? 0,
      fallback: h.fallback_pool,
    }));
}

/** The GitHub deployments this action recorded. */
export function ourRecords(state: SandboxState): {
  id: number;
  sha: string;
  environment: string;
  payload: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  statuses: { state: string; description: string; logUrl?: string }[];
}[] {
  return (state.github.deployments as { payload: { tool?: string } }[]).filter(
    (d) => d.payload?.tool === 'production-deploy',
  ) as never;
}

// The excerpts' known flaws (see the module comment):
// - Vercel response `oneOf`s whose alternatives overlap (public vs full deployment): a correct answer
//   matches several, and JSON Schema's oneOf then fails.
const AMBIGUOUS =
  /^response \d+: (\S+ must match exactly one schema in oneOf \{"passingSchemas":\[\d+(,\d+)+\]\}(; )?)+$/;
// - `POST /v13/deployments` as @vercel/client sends it: `version: 2` and `autoAssignCustomDomains`
//   (the staged production deploy of `vercel --prod --skip-domain`), files by `sha`/`size`/`mode`
//   (the upload protocol), which the excerpt's body schema (inline files only) forbids.
const CLIENT_CREATE_PARTS = [
  /^\/ must NOT have additional properties \{"additionalProperty":"(autoAssignCustomDomains|version)"\}$/,
  /^\/files\/\d+ must NOT have additional properties \{"additionalProperty":"(sha|size|mode)"\}$/,
  /^\/files\/\d+ must have required property 'data' \{"missingProperty":"data"\}$/,
  /^\/files\/\d+ must match (exactly one schema in oneOf \{"passingSchemas":null\}|a schema in anyOf \{\})$/,
];

function knownFlaw(r: Validation, error: string): boolean {
  if (AMBIGUOUS.test(error)) return true;
  if (r.operation === 'POST /v13/deployments' && error.startsWith('request body: ')) {
    return error
      .slice('request body: '.length)
      .split('; ')
      .every((part) => CLIENT_CREATE_PARTS.some((re) => re.test(part)));
  }
  return false;
}

/** Every API request of the sandbox's log checked against the specs; '' when all match. */
export async function specProblems(requests: readonly LoggedRequest[]): Promise<string> {
  const v = await validator();
  const results = requests
    .filter((r) => r.service !== 'sandbox')
    .map((r) => v.validate(r))
    .map((r) => ({ ...r, errors: r.errors.filter((e) => !knownFlaw(r, e)) }));
  return formatProblems(results);
}
