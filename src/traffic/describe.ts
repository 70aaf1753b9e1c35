/**
 * Reading production for `mode: plan`, with GET requests only: Vercel's production deployment and,
 * with Cloudflare, the two slots on the load balancer. Each part is read on its own and reports why
 * it is unknown instead of throwing, so a plan still says everything else it could read.
 */
import type { TrafficManagerKind } from '../config/types.js';
import type { CloudflareLb } from '../providers/cloudflare.js';
import type { VercelApi } from '../providers/vercel-api.js';
import { readSlots } from './cloudflare-model.js';
import type { ProductionView, ReadPart, SlotsView, VercelProduction } from './types.js';

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A part whose provider is not configured. */
export function notConfigured(reason: string): ReadPart<never> {
  return { state: 'not-configured', reason };
}

/** The project's production deployment, as Vercel names it. */
export async function readVercelProduction(
  vercel: Pick<VercelApi, 'getProject'>,
  projectId: string,
): Promise<ReadPart<VercelProduction>> {
  try {
    const p = await vercel.getProject(projectId);
    const prod = p.productionDeployment;
    return {
      state: 'read',
      value: {
        project: p.name,
        ...(prod ? { deployment: { id: prod.id, ...(prod.url ? { url: prod.url } : {}) } } : {}),
      },
    };
  } catch (err) {
    return { state: 'failed', reason: reasonOf(err) };
  }
}

/**
 * The live and idle slots from the load balancer and its two pools, then (with `vercel`) which
 * deployment each slot hostname points at; an alias that cannot be read is left unknown.
 */
export async function readSlotsView(
  lb: Pick<CloudflareLb, 'getLoadBalancer' | 'getPool'>,
  pools: [string, string],
  vercel: Pick<VercelApi, 'getAlias'> | undefined,
): Promise<ReadPart<SlotsView>> {
  let reading;
  try {
    const [balancer, views] = await Promise.all([lb.getLoadBalancer(), Promise.all(pools.map((id) => lb.getPool(id)))]);
    reading = readSlots(balancer, views, pools);
  } catch (err) {
    return { state: 'failed', reason: reasonOf(err) };
  }
  const deployments: Record<string, string | undefined> = {};
  if (vercel) {
    await Promise.all(
      Object.entries(reading.hostnames).map(async ([pool, host]) => {
        deployments[pool] = await vercel.getAlias(host).then(
          (a) => a?.deploymentId ?? undefined,
          () => undefined,
        );
      }),
    );
  }
  return { state: 'read', value: { ...reading, deployments } };
}

/**
 * Both parts together: blue is the deployment the live slot serves when that is known (that is what
 * a rollback returns to), else Vercel's production deployment; a disagreement between the two is
 * named in `slotMismatch`.
 */
export function productionView(
  kind: TrafficManagerKind,
  vercel: ReadPart<VercelProduction>,
  slots?: ReadPart<SlotsView>,
): ProductionView {
  const prod = vercel.state === 'read' ? vercel.value.deployment : undefined;
  const view: ProductionView = { kind, vercel, ...(slots ? { slots } : {}), ...(prod ? { blue: prod } : {}) };
  if (slots?.state !== 'read') return view;
  const s = slots.value;
  const live = s.deployments[s.livePool];
  if (!live) return view;
  if (prod && live !== prod.id) {
    view.slotMismatch = `the live slot ${s.hostnames[s.livePool]} serves ${live}, but Vercel's production deployment is ${prod.id}`;
  }
  view.blue = { id: live, ...(prod?.id === live && prod.url ? { url: prod.url } : {}) };
  return view;
}
