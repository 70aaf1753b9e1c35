/**
 * Builds the run's TrafficManager from the config (`traffic-manager`) and its providers, and what
 * `mode: plan` reads of production (`describeProduction`). The one way back to blue over it is
 * `restoreBlue` (./restore.ts).
 */
import type { Config } from '../config/types.js';
import type { Logger } from '../pipeline/types.js';
import { deploymentBaseUrl } from '../providers/health.js';
import type { Providers } from '../providers/index.js';
import { CloudflareTrafficManager } from './cloudflare.js';
import { notConfigured, productionView, readSlotsView, readVercelProduction } from './describe.js';
import type { ProductionView, TrafficManager } from './types.js';
import { VercelTrafficManager } from './vercel.js';
import { VercelRollingTrafficManager } from './vercel-rolling.js';
import type { VerifyOptions } from './verify.js';

export type {
  LiveReading,
  ProductionView,
  ReadPart,
  RetireOutcome,
  RoutingCheck,
  RoutingExpectation,
  SlotsView,
  TrafficManager,
  VercelProduction,
} from './types.js';
export { restoreBlue, type Restored } from './restore.js';

/** The providers a traffic manager uses. */
export type TrafficProviders = Pick<Providers, 'vercel' | 'cloudflare'>;

/**
 * Routing verification settings of a run: production URL + the path sampled (`version-path`, else
 * `health-check-path`), how answers are attributed, the bypass for direct probes.
 */
export function verifyOptions(config: Config, log: Logger, signal?: AbortSignal): VerifyOptions {
  if (!config.productionUrl) throw new Error('production-url is required to verify routing');
  const { versionPath, versionHeader, healthCheckPath } = config.vercel;
  const path = versionPath ?? healthCheckPath;
  return {
    url: `${config.productionUrl}${path.startsWith('/') ? '' : '/'}${path}`,
    attribution: versionPath ? { source: 'body', name: versionPath } : { source: 'header', name: versionHeader },
    baseUrlOf: deploymentBaseUrl,
    ...(config.vercel.protectionBypass ? { bypass: config.vercel.protectionBypass } : {}),
    ...(signal ? { signal } : {}),
    log,
  };
}

/**
 * The traffic manager of `traffic-manager`. Throws with the missing input named when its provider
 * is not configured (config validation normally catches that first). Without `production-url`
 * (allowed in `mode: plan` only) it is built, and only `verify` fails.
 */
export function createTrafficManager(
  config: Config,
  providers: TrafficProviders,
  log: Logger,
  signal?: AbortSignal,
): TrafficManager {
  const vercel = providers.vercel;
  if (!vercel) throw new Error('traffic switch needs Vercel: vercel-token is not set');
  const verify = config.productionUrl ? verifyOptions(config, log, signal) : undefined;
  // Rollback mode too: a rolling release an earlier run left active must be aborted, not skipped
  // because production still names the target.
  if (config.traffic.manager === 'vercel' && (config.strategy === 'canary' || config.mode === 'rollback')) {
    return new VercelRollingTrafficManager({
      vercel,
      projectId: config.vercel.projectId,
      aliasTimeoutMs: Math.max(60_000, config.vercel.healthCheckTimeoutMs),
      steps: config.traffic.steps,
      ...(config.mode === 'rollback' ? { emergency: true } : {}),
      verify,
      log,
      ...(signal ? { signal } : {}),
    });
  }
  if (config.traffic.manager === 'vercel') {
    return new VercelTrafficManager({
      vercel,
      projectId: config.vercel.projectId,
      // Promote/rollback usually take seconds; bounded by the larger of a minute and the health timeout.
      aliasTimeoutMs: Math.max(60_000, config.vercel.healthCheckTimeoutMs),
      verify,
      log,
      ...(signal ? { signal } : {}),
    });
  }
  const cf = config.traffic.cloudflare;
  if (!providers.cloudflare || !cf) {
    throw new Error(
      'traffic-manager: cloudflare needs cloudflare-api-token, cloudflare-account-id, cloudflare-zone-id, ' +
        'cloudflare-load-balancer-id and cloudflare-pools',
    );
  }
  return new CloudflareTrafficManager({
    lb: providers.cloudflare,
    vercel,
    projectId: config.vercel.projectId,
    pools: cf.pools,
    healthTimeoutMs: config.vercel.healthCheckTimeoutMs,
    verify,
    log,
    ...(signal ? { signal } : {}),
  });
}

/**
 * What `mode: plan` shows of production (GET requests only), through the run's traffic manager.
 * When that cannot be built for a missing provider, the configured ones are still read and each
 * missing one is reported as not configured, so a plan says everything it can.
 */
export async function describeProduction(
  config: Config,
  providers: TrafficProviders,
  /** The run's traffic manager (built once, by the run context); throws when it cannot be built. */
  traffic: () => TrafficManager,
): Promise<ProductionView> {
  let manager: TrafficManager | undefined;
  try {
    manager = traffic();
  } catch {
    // A provider is missing: read what the others can tell below.
  }
  if (manager) return manager.describeProduction();
  const { vercel, cloudflare } = providers;
  const cf = config.traffic.cloudflare;
  const [production, slots] = await Promise.all([
    vercel ? readVercelProduction(vercel, config.vercel.projectId) : notConfigured('vercel-token is not set'),
    config.traffic.manager !== 'cloudflare'
      ? undefined
      : cloudflare && cf
        ? readSlotsView(cloudflare, cf.pools, vercel)
        : notConfigured('Cloudflare is not configured'),
  ]);
  return productionView(config.traffic.manager, production, slots);
}
