/**
 * A steady, bounded stream of requests to the production URL (the load balancer proxy) while the
 * sandbox runs, so the Datadog miniature has real traffic to compute metrics from. Each request is
 * marked synthetic (`x-sandbox-synthetic: 1`, user agent `production-deploy-sandbox-traffic/1`); at
 * most `maxInFlight` are open at once (a tick with no room is skipped and counted), each with a timeout.
 */
import type { TrafficScenario } from '../core/scenario.ts';
import type { World } from '../core/world.ts';

export const SYNTHETIC_HEADER = 'x-sandbox-synthetic';

export interface TrafficStats {
  rate: number;
  sent: number;
  ok: number;
  /** 5xx answers. */
  errors: number;
  /** No answer (timeout, reset, refused). */
  failed: number;
  /** Ticks skipped because `maxInFlight` requests were open. */
  skipped: number;
  byVersion: Record<string, number>;
  byStatus: Record<string, number>;
}

export interface TrafficStream {
  stats: TrafficStats;
  /** Change the rate at run time (0 pauses). */
  setRate(rate: number): void;
  stop(): Promise<void>;
}

/** Start the stream against `target` (the production URL). */
export function startTrafficStream(world: World, sc: TrafficScenario, target: string): TrafficStream {
  const stats: TrafficStats = {
    rate: sc.rate,
    sent: 0,
    ok: 0,
    errors: 0,
    failed: 0,
    skipped: 0,
    byVersion: {},
    byStatus: {},
  };
  world.state.trafficStream = stats;
  const controller = new AbortController();
  const inFlight = new Set<Promise<void>>();
  let timer: ReturnType<typeof setInterval> | undefined;
  let i = 0;

  const one = async (path: string) => {
    stats.sent++;
    try {
      const res = await fetch(target + path, {
        headers: { [SYNTHETIC_HEADER]: '1', 'user-agent': 'production-deploy-sandbox-traffic/1' },
        signal: AbortSignal.any([controller.signal, AbortSignal.timeout(sc.timeoutMs)]),
      });
      await res.arrayBuffer();
      const version = res.headers.get('x-app-version') ?? 'unknown';
      stats.byVersion[version] = (stats.byVersion[version] ?? 0) + 1;
      stats.byStatus[res.status] = (stats.byStatus[res.status] ?? 0) + 1;
      if (res.status >= 500) stats.errors++;
      else stats.ok++;
    } catch {
      if (!controller.signal.aborted) stats.failed++;
    }
  };

  const tick = () => {
    if (inFlight.size >= sc.maxInFlight) {
      stats.skipped++;
      return;
    }
    const path = sc.paths[i++ % sc.paths.length] ?? '/';
    const p = one(path).finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  const setRate = (rate: number) => {
    if (timer) clearInterval(timer);
    timer = undefined;
    stats.rate = Math.max(0, Math.min(200, rate));
    if (stats.rate > 0 && !controller.signal.aborted)
      timer = setInterval(tick, Math.max(5, Math.round(1000 / stats.rate)));
  };
  setRate(sc.rate);

  return {
    stats,
    setRate,
    stop: async () => {
      if (timer) clearInterval(timer);
      timer = undefined;
      controller.abort();
      await Promise.allSettled([...inFlight]);
    },
  };
}
