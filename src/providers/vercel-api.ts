/**
 * The Vercel adapter: get/list/find/delete deployments, aliases, the project, promote, instant rollback,
 * project env, build events over REST, and staging a deployment (upload and create), which
 * `@vercel/client` does in vercel-deploy.ts. Plain `requestJson` rather than `@vercel/sdk`: the SDK is
 * heavy, rejects unknown enum values (a new `readyState` would break a deploy) and has no retry-after cap.
 *
 * Shapes follow Vercel's OpenAPI (vercel/sdk `vercel-spec.json`) and the Vercel CLI; `teamId` goes on every call.
 */
import type { Logger } from '../pipeline/types.js';
import { ProviderError, formatWait, providerMessage, query, requestJson, type RetryPolicy } from './http.js';
import {
  createStagedDeployment,
  preloadDeployClient,
  type CreateOptions,
  type CreatedDeployment,
  type StagedDeploymentRequest,
} from './vercel-deploy.js';
import {
  mapDeployment,
  type AliasRequest,
  type BuildEvent,
  type RawDeployment,
  type RawEnv,
  type RawEvent,
  type RawProject,
  type RawSummary,
  type RollingRelease,
  type RollingReleaseBilling,
  type RollingReleaseConfig,
  type RollingStageConfig,
  type VercelAlias,
  type VercelDeployment,
  type VercelDeploymentSummary,
  type VercelEnvVar,
  type VercelProject,
} from './vercel-types.js';
import { sleep } from '../text.js';

export type * from './vercel-types.js';
export type { CreatedDeployment, StagedDeploymentRequest, UploadProgress } from './vercel-deploy.js';

export interface VercelApiOptions {
  token: string;
  teamId?: string;
  /** `VERCEL_API_URL`, default https://api.vercel.com */
  apiUrl: string;
  timeoutMs: number;
  retry: RetryPolicy;
  /** Staging: how many times a create whose outcome was lost, and that Vercel does not have, is repeated (default 0). */
  create?: { retries: number };
  signal?: AbortSignal;
  secrets?: string[];
  log?: Pick<Logger, 'debug'>;
}

type Q = Record<string, string | number | boolean | undefined>;

/** The Vercel REST client of one run (one token, one team). */
export class VercelApi {
  private readonly o: VercelApiOptions;

  constructor(o: VercelApiOptions) {
    this.o = o;
  }

  private async req<R>(
    operation: string,
    method: string,
    path: string,
    opts: {
      query?: Q;
      body?: unknown;
      idempotent?: boolean;
      lookup?: () => Promise<R | undefined>;
      okStatuses?: number[];
    } = {},
  ) {
    return requestJson<R>({
      provider: 'vercel',
      operation,
      method,
      url: `${this.o.apiUrl}${path}${query({ ...opts.query, teamId: this.o.teamId })}`,
      headers: { authorization: `Bearer ${this.o.token}` },
      body: opts.body,
      timeoutMs: this.o.timeoutMs,
      retry: this.o.retry,
      idempotent: opts.idempotent ?? method === 'GET',
      lookup: opts.lookup,
      okStatuses: opts.okStatuses,
      signal: this.o.signal,
      secrets: [this.o.token, ...(this.o.secrets ?? [])],
      onRetry: (i) => this.o.log?.debug(`Vercel ${operation}: retry ${i.attempt} in ${i.delayMs} ms (${i.reason})`),
    });
  }

  /** A deployment by id (`dpl_…`) or hostname. */
  async getDeployment(idOrUrl: string): Promise<VercelDeployment> {
    const { body } = await this.req<RawDeployment>('getDeployment', 'GET', `/v13/deployments/${enc(idOrUrl)}`);
    return mapDeployment(body);
  }

  /** Deployments of a project, newest first. Page with `until` = the last item's `createdAt`. */
  async listDeployments(q: {
    projectId: string;
    target?: 'production' | 'preview';
    /** One state or a comma-separated list (`READY`, `READY,ERROR`). */
    state?: string;
    limit?: number;
    until?: number;
    since?: number;
    sha?: string;
  }): Promise<{ deployments: VercelDeploymentSummary[]; next: number | null }> {
    const { body } = await this.req<{ deployments?: RawSummary[]; pagination?: { next?: number | null } }>(
      'listDeployments',
      'GET',
      '/v6/deployments',
      {
        query: {
          projectId: q.projectId,
          target: q.target,
          state: q.state,
          limit: q.limit ?? 20,
          until: q.until,
          since: q.since,
          sha: q.sha,
        },
      },
    );
    return {
      deployments: (body?.deployments ?? []).map((d) => ({
        id: d.uid,
        url: d.url ?? null,
        state: d.readyState ?? d.state ?? 'UNKNOWN',
        readySubstate: d.readySubstate,
        target: d.target,
        meta: d.meta ?? {},
        createdAt: d.createdAt ?? d.created ?? 0,
        isRollbackCandidate: d.isRollbackCandidate ?? undefined,
      })),
      next: body?.pagination?.next ?? null,
    };
  }

  /**
   * The newest deployment of the project for `target` (default production) whose meta has every value in
   * `meta`, among the newest 100: how a re-run finds what an earlier attempt built, and how a create whose
   * outcome was lost is looked up.
   */
  async findDeploymentByMeta(q: {
    projectId: string;
    meta: Record<string, string>;
    target?: 'production' | 'preview';
  }): Promise<VercelDeploymentSummary | undefined> {
    const { deployments } = await this.listDeployments({
      projectId: q.projectId,
      target: q.target ?? 'production',
      limit: 100,
    });
    const want = Object.entries(q.meta);
    return deployments
      .filter((d) => want.every(([k, v]) => d.meta[k] === v))
      .sort((a, b) => b.createdAt - a.createdAt)[0];
  }

  /**
   * Uploads `req.directory` (or its `.vercel/output`, prebuilt) and creates a production deployment that
   * takes no production domain. No step waits past `o.deadline`. A create whose outcome was lost is
   * looked up with `o.lookup` before it is repeated (`create.retries` times at most). Throws
   * ProviderError (`outcomeUnknown` when Vercel may have created it anyway) or the run's abort reason.
   */
  /** Starts loading the client `createStagedDeployment` uses, without waiting. */
  preloadStaging(): void {
    preloadDeployClient();
  }

  createStagedDeployment(req: StagedDeploymentRequest, o: CreateOptions): Promise<CreatedDeployment> {
    return createStagedDeployment(
      {
        token: this.o.token,
        apiUrl: this.o.apiUrl,
        teamId: this.o.teamId,
        secrets: this.o.secrets ?? [],
        retries: this.o.create?.retries ?? 0,
      },
      req,
      { ...o, signal: o.signal ?? this.o.signal },
    );
  }

  /** Deletes a deployment; `deleted: false` when it was already gone (a repeated delete answers 404). */
  async deleteDeployment(id: string): Promise<{ deleted: boolean }> {
    const { status } = await this.req('deleteDeployment', 'DELETE', `/v13/deployments/${enc(id)}`, {
      idempotent: true,
      okStatuses: [404],
    });
    return { deleted: status !== 404 };
  }

  /**
   * Points `alias` (a hostname such as a slot `green.example.com`) at the deployment, moving it off whatever
   * it pointed at. An attempt with an unknown outcome, or a 409, is checked against the deployment's aliases.
   */
  async assignAlias(deploymentId: string, alias: string): Promise<{ alias: string; oldDeploymentId?: string | null }> {
    const has = async () =>
      (await this.listDeploymentAliases(deploymentId)).some((a) => a.alias === alias) ? { alias } : undefined;
    try {
      const { body } = await this.req<{ alias: string; oldDeploymentId?: string | null }>(
        'assignAlias',
        'POST',
        `/v2/deployments/${enc(deploymentId)}/aliases`,
        { body: { alias }, idempotent: false, lookup: has },
      );
      return { alias: body?.alias ?? alias, oldDeploymentId: body?.oldDeploymentId };
    } catch (err) {
      // 409 "already assigned to the given deployment" is the state we wanted (e.g. a re-run).
      if (err instanceof ProviderError && err.status === 409 && (await has())) return { alias };
      throw err;
    }
  }

  async listDeploymentAliases(deploymentId: string): Promise<VercelAlias[]> {
    const { body } = await this.req<{ aliases?: VercelAlias[] }>(
      'listDeploymentAliases',
      'GET',
      `/v2/deployments/${enc(deploymentId)}/aliases`,
    );
    return (body?.aliases ?? []).map((a) => ({ uid: a.uid, alias: a.alias }));
  }

  /** An alias by id or hostname, or null when it does not exist. */
  async getAlias(idOrAlias: string): Promise<VercelAlias | null> {
    const { status, body } = await this.req<VercelAlias | VercelAlias[]>(
      'getAlias',
      'GET',
      `/v4/aliases/${enc(idOrAlias)}`,
      {
        okStatuses: [404],
      },
    );
    if (status === 404) return null;
    // The spec describes an array, the API answers an object: accept both.
    const a = Array.isArray(body) ? body[0] : body;
    return a
      ? { uid: a.uid, alias: a.alias, deploymentId: a.deploymentId ?? null, projectId: a.projectId ?? null }
      : null;
  }

  async getProject(idOrName: string): Promise<VercelProject> {
    const { body } = await this.req<RawProject>('getProject', 'GET', `/v9/projects/${enc(idOrName)}`);
    const prod = body.targets?.production;
    return {
      id: body.id,
      name: body.name,
      productionDeployment: prod ? { id: prod.id, url: prod.url, alias: prod.alias } : undefined,
      lastAliasRequest: body.lastAliasRequest ?? null,
      autoAssignCustomDomains: body.autoAssignCustomDomains,
      rollingRelease: body.rollingRelease ?? undefined,
      ...(typeof body.skewProtectionBoundaryAt === 'number'
        ? { skewProtectionBoundaryAt: body.skewProtectionBoundaryAt }
        : {}),
      protection: {
        sso: body.ssoProtection?.deploymentType ?? null,
        password: body.passwordProtection?.deploymentType ?? null,
      },
    };
  }

  /** The project's production domains (`production=true`: no git branch, no custom environment), names only. */
  async listProductionDomains(projectId: string): Promise<string[]> {
    const { body } = await this.req<{ domains?: { name: string }[] }>(
      'listProductionDomains',
      'GET',
      `/v9/projects/${enc(projectId)}/domains`,
      { query: { production: 'true', limit: '100' } },
    );
    return (body?.domains ?? []).map((d) => d.name.toLowerCase());
  }

  /**
   * Points all production domains at the deployment (no rebuild). `queued` when Vercel answered 202 (behind
   * an active rolling release). Completion is asynchronous: follow with `waitForAliasRequest`.
   */
  promote(projectId: string, deploymentId: string): Promise<{ queued: boolean }> {
    return this.aliasRequest(
      'promote',
      projectId,
      deploymentId,
      `/v10/projects/${enc(projectId)}/promote/${enc(deploymentId)}`,
      {},
    );
  }

  /** Instant rollback to an earlier production deployment, with the reason recorded by Vercel. */
  rollback(projectId: string, deploymentId: string, description?: string): Promise<{ queued: boolean }> {
    const path = `/v1/projects/${enc(projectId)}/rollback/${enc(deploymentId)}`;
    return this.aliasRequest('rollback', projectId, deploymentId, path, undefined, {
      description: description?.slice(0, 500),
    });
  }

  private async aliasRequest(
    type: 'promote' | 'rollback',
    projectId: string,
    deploymentId: string,
    path: string,
    body: unknown,
    q: Q = {},
  ): Promise<{ queued: boolean }> {
    // Clock skew between us and Vercel: a request "at" up to a minute before we sent ours is still ours.
    const since = Date.now() - 60_000;
    const { status } = await this.req<{ queued: boolean }>(type, 'POST', path, {
      query: q,
      // The CLI sends `{}` on promote ("required"); the spec documents no body.
      body,
      idempotent: false,
      lookup: async () => {
        const r = (await this.getProject(projectId)).lastAliasRequest;
        const ours = r && r.type === type && r.toDeploymentId === deploymentId && r.requestedAt >= since;
        return ours ? { queued: false } : undefined;
      },
    });
    return { queued: status === 202 };
  }

  /**
   * Polls the project until its `lastAliasRequest` to `toDeploymentId` has succeeded (returns it), failed or
   * was skipped (throws), or `timeoutMs` passes (throws). A project already serving the deployment counts
   * as done.
   */
  async waitForAliasRequest(
    projectId: string,
    toDeploymentId: string,
    o: { timeoutMs: number; signal?: AbortSignal; intervalMs?: number },
  ): Promise<AliasRequest | undefined> {
    const deadline = Date.now() + o.timeoutMs;
    const fail = (code: string, detail: string) =>
      new ProviderError({
        provider: 'vercel',
        operation: 'waitForAliasRequest',
        code,
        message: providerMessage('vercel', 'waitForAliasRequest', detail),
      });
    for (;;) {
      const p = await this.getProject(projectId);
      const r = p.lastAliasRequest;
      if (r && r.toDeploymentId === toDeploymentId) {
        if (r.jobStatus === 'succeeded') return r;
        if (r.jobStatus === 'failed' || r.jobStatus === 'skipped') {
          throw fail(`alias_request_${r.jobStatus}`, `the ${r.type} to ${toDeploymentId} ${r.jobStatus}`);
        }
      } else if (p.productionDeployment?.id === toDeploymentId) {
        return r ?? undefined;
      }
      if (Date.now() >= deadline) {
        throw fail(
          'timeout',
          `production did not move to ${toDeploymentId} within ${formatWait(o.timeoutMs)} (last: ${r ? `${r.type} ${r.jobStatus}` : 'none'})`,
        );
      }
      await sleep(Math.min(o.intervalMs ?? 1000, Math.max(0, deadline - Date.now())), o.signal ?? this.o.signal);
    }
  }

  /** Whether the team's plan lets this project use Rolling Releases (`plan_not_supported` on Hobby). */
  async getRollingReleaseBilling(projectId: string): Promise<RollingReleaseBilling> {
    const path = `/v1/projects/${enc(projectId)}/rolling-release/billing`;
    return (await this.req<RollingReleaseBilling>('getRollingReleaseBilling', 'GET', path)).body;
  }

  /** The project's rolling-release config, `null` when Rolling Releases are disabled. */
  async getRollingReleaseConfig(projectId: string): Promise<RollingReleaseConfig | null> {
    const path = `/v1/projects/${enc(projectId)}/rolling-release/config`;
    const { body } = await this.req<{ rollingRelease?: RollingReleaseConfig | null }>(
      'getRollingReleaseConfig',
      'GET',
      path,
    );
    return body?.rollingRelease ?? null;
  }

  /**
   * Sets (or, with `enabled: false`, disables) the project's rolling-release config. The body is the
   * Vercel CLI's (`{enabled, advancementType, stages}`): the spec documents none. Repeating it is harmless.
   */
  async updateRollingReleaseConfig(
    projectId: string,
    body:
      | { enabled: false }
      | {
          enabled: true;
          advancementType: 'automatic' | 'manual-approval';
          stages: RollingStageConfig[];
          canaryResponseHeader?: boolean;
        },
  ): Promise<void> {
    const path = `/v1/projects/${enc(projectId)}/rolling-release/config`;
    await this.req('updateRollingReleaseConfig', 'PATCH', path, { body, idempotent: true });
  }

  /** Disables Rolling Releases for future deployments (an active release goes on). */
  async deleteRollingReleaseConfig(projectId: string): Promise<void> {
    const path = `/v1/projects/${enc(projectId)}/rolling-release/config`;
    await this.req('deleteRollingReleaseConfig', 'DELETE', path, { idempotent: true });
  }

  /** The project's last rolling release (of `state`, when given), or null. */
  async getRollingRelease(projectId: string, state?: RollingRelease['state']): Promise<RollingRelease | null> {
    const path = `/v1/projects/${enc(projectId)}/rolling-release`;
    const { body } = await this.req<{ rollingRelease?: RollingRelease | null }>('getRollingRelease', 'GET', path, {
      query: { state },
    });
    return body?.rollingRelease ?? null;
  }

  /** Moves the active release of `canaryDeploymentId` to stage `nextStageIndex` (manual approval). */
  async approveRollingReleaseStage(
    projectId: string,
    canaryDeploymentId: string,
    nextStageIndex: number,
  ): Promise<RollingRelease | null> {
    const path = `/v1/projects/${enc(projectId)}/rolling-release/approve-stage`;
    const { body } = await this.req<{ rollingRelease?: RollingRelease | null }>(
      'approveRollingReleaseStage',
      'POST',
      path,
      {
        body: { nextStageIndex, canaryDeploymentId },
        idempotent: false,
        // An approval whose answer was lost: done when the release is at (or past) that stage.
        lookup: async () => {
          const rr = await this.getRollingRelease(projectId);
          const ours = rr?.canaryDeployment?.id === canaryDeploymentId;
          const there = rr?.state === 'COMPLETE' || (rr?.activeStage?.index ?? -1) >= nextStageIndex;
          return ours && there ? { rollingRelease: rr } : undefined;
        },
      },
    );
    return body?.rollingRelease ?? null;
  }

  /** Completes the active release: the canary serves 100 %. */
  async completeRollingRelease(projectId: string, canaryDeploymentId: string): Promise<RollingRelease | null> {
    const path = `/v1/projects/${enc(projectId)}/rolling-release/complete`;
    const { body } = await this.req<{ rollingRelease?: RollingRelease | null }>(
      'completeRollingRelease',
      'POST',
      path,
      {
        body: { canaryDeploymentId },
        idempotent: false,
        lookup: async () => {
          const rr = await this.getRollingRelease(projectId);
          return rr?.canaryDeployment?.id === canaryDeploymentId && rr.state === 'COMPLETE'
            ? { rollingRelease: rr }
            : undefined;
        },
      },
    );
    return body?.rollingRelease ?? null;
  }

  /**
   * Skew Protection's boundary (`PATCH /v9/projects`): deployments created before `at` (ms) no longer
   * answer clients pinned to them.
   */
  async setSkewProtectionBoundary(projectId: string, at: number): Promise<void> {
    await this.req('setSkewProtectionBoundary', 'PATCH', `/v9/projects/${enc(projectId)}`, {
      body: { skewProtectionBoundaryAt: at },
      idempotent: true,
    });
  }

  /** Names and targets of the project's env variables that apply to `target` (values are dropped). */
  async listProjectEnv(projectId: string, target: 'production' | 'preview' | 'development'): Promise<VercelEnvVar[]> {
    const { body } = await this.req<{ envs?: RawEnv[] } | RawEnv>(
      'listProjectEnv',
      'GET',
      `/v10/projects/${enc(projectId)}/env`,
    );
    const envs: RawEnv[] = body && 'envs' in body ? (body.envs ?? []) : body && 'key' in body ? [body] : [];
    return envs
      .map((e) => ({
        key: e.key,
        type: e.type ?? 'unknown',
        target: e.target === undefined ? [] : ([] as string[]).concat(e.target),
      }))
      .filter((e) => e.target.includes(target));
  }

  /** Build log events of a deployment (`GET /v3/deployments/{id}/events`), oldest first. */
  /**
   * Resolves when Vercel's live build-event stream (`GET /v3/deployments/{id}/events?follow=1`: "live
   * events as they happen", vercel.com/docs/rest-api/deployments/get-deployment-events) ends, fails or
   * is aborted — a hint that the build may have ended, never a verdict: the readiness poll reads the
   * deployment and decides. Its body is read and dropped (the log comes from `getBuildEvents`). No
   * retry (the poll goes on regardless); bounded by `timeoutMs` and the run's signal.
   */
  async buildStreamEnd(id: string, o: { timeoutMs: number; signal: AbortSignal }): Promise<void> {
    const url = `${this.o.apiUrl}/v3/deployments/${enc(id)}/events${query({ follow: 1, teamId: this.o.teamId })}`;
    const signals = [o.signal, AbortSignal.timeout(Math.max(1, o.timeoutMs))];
    if (this.o.signal) signals.push(this.o.signal);
    try {
      const res = await fetch(url, {
        headers: { authorization: `Bearer ${this.o.token}` },
        signal: AbortSignal.any(signals),
      });
      if (!res.ok || !res.body) {
        await res.body?.cancel();
        return;
      }
      for await (const chunk of res.body) void chunk;
    } catch {
      // Ended by an error, a timeout or the abort: a hint is all it ever was.
    }
  }

  async getBuildEvents(id: string): Promise<BuildEvent[]> {
    const { body } = await this.req<RawEvent[]>('getBuildEvents', 'GET', `/v3/deployments/${enc(id)}/events`);
    return (Array.isArray(body) ? body : []).map((e) => ({
      type: e.type ?? 'stdout',
      created: e.created ?? e.date,
      text: String(e.payload?.text ?? e.text ?? ''),
    }));
  }
}

function enc(s: string): string {
  return encodeURIComponent(s);
}
