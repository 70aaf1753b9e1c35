/**
 * The Vercel API miniature (REST, as `@vercel/client`, `@vercel/sdk` and the Vercel CLI call it).
 *
 * `startVercel(world, scenario)` builds the state (`world.state.vercel`), deploys the scenario's
 * starting deployments (each with its own loopback port) and returns a `RunningService` named
 * `vercel`; its `close()` also stops the per-deployment ports and pending timers. It sets
 * `world.urls.vercel`. The shared Host-routed edge is `startEdge` in `vercel-edge.ts`.
 *
 * Routes: `vercel-routes.ts`; JSON shapes: `vercel-json.ts`; build/promote/rollback timing:
 * `vercel-lifecycle.ts`; state and scenario types: `vercel-state.ts`.
 */
import { startService, type RunningService, type SandboxRequest, type SandboxResponse } from '../core/service.ts';
import { vercelError } from './vercel-json.ts';
import type { World } from '../core/world.ts';
import { deployScenario } from './vercel-lifecycle.ts';
import { ROUTES } from './vercel-routes.ts';
import {
  aliasesOf,
  createVercelState,
  servingProduction,
  VERCEL_DEFAULTS,
  vercelState,
  type VercelScenario,
} from './vercel-state.ts';

export type { VercelScenario, VercelDeploymentScenario, VercelEnvScenario, ProtectionType } from './vercel-state.ts';
export { VERCEL_DEFAULTS } from './vercel-state.ts';
export { startEdge } from './vercel-edge.ts';

function authorize(world: World, req: SandboxRequest): SandboxResponse | undefined {
  const state = vercelState(world);
  const auth = String(req.headers.authorization ?? '');
  if (!auth)
    return vercelError(world, req, 403, 'forbidden', 'The request is missing an authentication token', {
      missingToken: true,
    });
  if (auth !== `Bearer ${state.token}`)
    return vercelError(world, req, 403, 'forbidden', 'Not authorized', { invalidToken: true });
  const teamId = req.url.searchParams.get('teamId');
  if (teamId && teamId !== state.teamId) return vercelError(world, req, 403, 'forbidden', 'Not authorized');
  return undefined;
}

/** Start the Vercel API miniature (see the file comment). */
export async function startVercel(world: World, scenario: VercelScenario = {}): Promise<RunningService> {
  const state = createVercelState(world, scenario);
  world.state.vercel = state;
  await deployScenario(world, scenario.deployments ?? VERCEL_DEFAULTS.deployments);
  const svc = await startService({
    name: 'vercel',
    traffic: world.traffic,
    handler: async (req, res) => {
      let pathMatched = false;
      for (const route of ROUTES) {
        const m = route.pattern.exec(req.path);
        if (!m) continue;
        pathMatched = true;
        if (route.method !== req.method) continue;
        const denied = authorize(world, req);
        if (denied) return denied;
        const out = await route.handle(world, req, m.slice(1).map(decodeURIComponent), res);
        // A snapshot, not live state: the request log must keep what was sent at the time.
        return out === 'handled' || out.body === undefined
          ? out
          : { ...out, body: JSON.parse(JSON.stringify(out.body)) };
      }
      return pathMatched
        ? vercelError(world, req, 405, 'method_unknown', `Method ${req.method} is not allowed on ${req.path}`)
        : vercelError(world, req, 404, 'not_found', 'The requested path was not found');
    },
  });
  world.urls.vercel = svc.url;
  return {
    ...svc,
    close: async () => {
      for (const t of state.timers) clearTimeout(t);
      state.timers.clear();
      await Promise.all([...state.servers.values()].map((s) => s.close()));
      state.servers.clear();
      await svc.close();
    },
  };
}

/** What the action's inputs need to reach this miniature (for `--write-env`). */
export function vercelInputs(world: World): {
  token: string;
  teamId: string;
  projectId: string;
  bypassSecret?: string;
} {
  const state = vercelState(world);
  const project = [...state.projects.values()][0];
  return {
    token: state.token,
    teamId: state.teamId,
    projectId: project.id,
    bypassSecret: Object.keys(project.protectionBypass)[0],
  };
}

/** The Vercel part of `/_sandbox/state`: deployments, aliases, who serves production, traffic per deployment. */
export function vercelSnapshot(world: World): Record<string, unknown> {
  const state = vercelState(world);
  const traffic: Record<string, { requests: number; errors: number; version?: string }> = {};
  for (const h of world.hits) {
    if (!h.deploymentId) continue;
    const t = (traffic[h.deploymentId] ??= { requests: 0, errors: 0, version: h.version });
    t.requests++;
    if (h.status >= 500) t.errors++;
  }
  return {
    projects: [...state.projects.values()].map((p) => ({
      id: p.id,
      name: p.name,
      productionDomains: p.productionDomains,
      domains: p.domains,
      autoAssignCustomDomains: p.autoAssignCustomDomains,
      protection: p.protection,
      targetsProduction: p.productionDeploymentId ?? null,
      servingProduction: servingProduction(state, p)?.id ?? null,
      lastAliasRequest: p.lastAliasRequest,
      plan: p.plan,
      rollingReleaseConfig: p.rollingReleaseConfig,
      rollingRelease: p.rollingRelease
        ? {
            state: p.rollingRelease.state,
            currentDeploymentId: p.rollingRelease.currentDeploymentId,
            canaryDeploymentId: p.rollingRelease.canaryDeploymentId,
            activeStage: p.rollingRelease.stages[p.rollingRelease.activeIndex].targetPercentage,
            queuedDeploymentId: p.rollingRelease.queuedDeploymentId,
          }
        : null,
      skewProtectionBoundaryAt: p.skewProtectionBoundaryAt ?? null,
    })),
    deployments: [...state.deployments.values()].map((d) => ({
      id: d.id,
      url: d.url,
      projectId: d.projectId,
      version: d.knobs.version,
      target: d.target,
      readyState: d.deletedAt ? 'DELETED' : d.readyState,
      readySubstate: d.readySubstate ?? null,
      aliases: aliasesOf(state, d.id),
      createdAt: new Date(d.createdAt).toISOString(),
      readyAt: d.readyAt ? new Date(d.readyAt).toISOString() : null,
      errorMessage: d.errorMessage ?? null,
      meta: d.meta,
    })),
    aliases: Object.fromEntries([...state.aliases.values()].map((a) => [a.alias, a.deploymentId])),
    traffic,
  };
}
