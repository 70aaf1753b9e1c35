/**
 * Service dependencies for `dependency-urls`: one small HTTP server that answers `/<name>/health`
 * for each scenario dependency with its status, delay and body. Fault rules with `service: deps`
 * apply too (e.g. a dependency that hangs or resets).
 */
import type { DependencyScenario } from '../core/scenario.ts';
import { type RunningService, sleep, startService } from '../core/service.ts';
import type { World } from '../core/world.ts';

/** Start the dependency server; `urlOf(name)` is the URL to list in `dependency-urls`. */
export async function startDeps(world: World, deps: DependencyScenario[]): Promise<RunningService> {
  world.state.deps = { dependencies: deps.map((d) => ({ ...d })), hits: {} as Record<string, number> };
  const hits = (world.state.deps as { hits: Record<string, number> }).hits;
  return startService({
    name: 'deps',
    traffic: world.traffic,
    handler: async (req) => {
      const name = decodeURIComponent(req.path.split('/')[1] ?? '');
      const d = deps.find((x) => x.name === name);
      if (!d) return { status: 404, body: { error: `no dependency named "${name}"` } };
      hits[name] = (hits[name] ?? 0) + 1;
      if (d.delayMs) await sleep(d.delayMs);
      return {
        status: d.status,
        headers: { 'content-type': 'application/json' },
        body: d.body ?? JSON.stringify({ name, status: d.status < 400 ? 'ok' : 'unavailable' }),
      };
    },
  });
}

/** The health URL of a dependency. */
export function dependencyUrl(service: RunningService, name: string): string {
  return `${service.url}/${encodeURIComponent(name)}/health`;
}
