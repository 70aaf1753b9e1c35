/**
 * The world check: is the Cloudflare + Vercel set-up one where moving weights moves production?
 * Read with GET requests only, before anything moves — pre-flight (deploy) and `mode: plan` each show
 * its rows. Each failing row names the setting to change and the failure it would cause
 * (README, "Affinity, rules, monitors and slot domains").
 *
 * Rows: the load balancer is proxied; every origin of both pools has a `Host` override naming its
 * slot hostname; session affinity off (or allowed by `allow-session-affinity`); no load balancing
 * rules; adaptive failover across pools off; each pool has a monitor; the slot hostnames are not
 * production domains of the Vercel project and are not behind Deployment Protection.
 */
import { checkRollingReleases } from './vercel-rolling.js';
import type { Config } from '../config/types.js';
import type { CheckResult } from '../pipeline/types.js';
import type { CloudflareLb, LoadBalancer, Pool } from '../providers/cloudflare.js';
import type { VercelApi } from '../providers/vercel-api.js';
import type { VercelProject } from '../providers/vercel-types.js';
import { errorMessage } from '../text.js';
import type { TrafficProviders } from './index.js';

/** What the world check reads: the load balancer, the two pools (with monitors), the Vercel project. */
export interface WorldFacts {
  lb: LoadBalancer;
  pools: Pool[];
  /** monitor id → interval in seconds (absent: could not be read). */
  monitorIntervals: Record<string, number | undefined>;
  productionDomains: string[];
  project: VercelProject;
}

/** Deployment Protection types that cover a non-production (preview/branch) custom domain. */
const COVERS_SLOTS = new Set(['all', 'prod_deployment_urls_and_all_previews']);

function slotHost(pool: Pool): string | undefined {
  const hosts = pool.origins.map((o) => o.header?.Host?.[0]?.toLowerCase()).filter((h): h is string => !!h);
  return hosts.length === pool.origins.length && new Set(hosts).size === 1 ? hosts[0] : undefined;
}

/** Judge what was read. Pure. */
export function judgeWorld(facts: WorldFacts, allowSessionAffinity: boolean): CheckResult[] {
  const { lb, pools, project } = facts;
  const rows: CheckResult[] = [];

  rows.push(
    lb.proxied === true
      ? { name: 'Load balancer proxied', status: 'pass', reason: `${lb.name} is proxied (layer 7)` }
      : {
          name: 'Load balancer proxied',
          status: 'fail',
          reason:
            `${lb.name} is DNS-only (proxied: ${String(lb.proxied)}): Cloudflare answers DNS with an origin and sends no Host ` +
            'override, so Vercel sees the public hostname and weights move nothing; turn Proxied on for the load balancer',
        },
  );

  const hostProblems: string[] = [];
  const hosts: string[] = [];
  for (const p of pools) {
    const missing = p.origins.filter((o) => !o.header?.Host?.[0]).map((o) => o.name || o.address);
    if (missing.length > 0) hostProblems.push(`pool ${p.id}: origin ${missing.join(', ')} has no header.Host`);
    else if (!slotHost(p)) hostProblems.push(`pool ${p.id}: its origins name different Host headers`);
    else hosts.push(slotHost(p)!);
  }
  if (hosts.length === 2 && hosts[0] === hosts[1]) hostProblems.push(`both pools send Host ${hosts[0]}`);
  if (hosts.includes(lb.name.toLowerCase()))
    hostProblems.push(`a pool sends the load balancer's own hostname ${lb.name}`);
  rows.push(
    hostProblems.length === 0
      ? { name: 'Origin Host overrides', status: 'pass', reason: `slot hostnames ${hosts.join(', ')}` }
      : {
          name: 'Origin Host overrides',
          status: 'fail',
          reason:
            `${hostProblems.join('; ')}: without its own Host override an origin receives the visitor's Host, so both slots ` +
            "serve whatever that hostname points at; set each origin's HTTP Host header (header.Host) to its slot hostname",
        },
  );

  const affinity = lb.session_affinity && lb.session_affinity !== 'none' ? lb.session_affinity : undefined;
  const drain = lb.session_affinity_attributes?.drain_duration ?? 0;
  if (!affinity) rows.push({ name: 'Session affinity', status: 'pass', reason: 'off (session_affinity: none)' });
  else if (!allowSessionAffinity)
    rows.push({
      name: 'Session affinity',
      status: 'fail',
      reason:
        `session_affinity is ${affinity}: visitors stay pinned to an endpoint for the session's life (${lb.session_affinity_ttl ?? (affinity === 'header' ? 1800 : 82800)} s) ` +
        'whatever the weights, so a canary share is wrong and a rollback leaves them on green; set session affinity to none, ' +
        'or set allow-session-affinity: true (a restore then disables green’s origins)',
    });
  else
    rows.push({
      name: 'Session affinity',
      status: drain > 0 ? 'warn' : 'pass',
      reason:
        `session_affinity is ${affinity}, allowed by allow-session-affinity: a restore disables the origins of the slot being left` +
        (drain > 0
          ? `; drain_duration is ${drain} s, so pinned visitors stay on it that long after a rollback (set it to 0)`
          : ''),
    });

  const rules = (lb.rules ?? []).filter((r) => r.disabled !== true);
  rows.push(
    rules.length === 0
      ? { name: 'Load balancer rules', status: 'pass', reason: 'no enabled rules' }
      : {
          name: 'Load balancer rules',
          status: 'fail',
          reason:
            `${rules.length} enabled ${rules.length === 1 ? 'rule' : 'rules'} (${rules.map((r) => r.name || r.condition || '(unnamed)').join(', ')}): ` +
            "a matching rule's overrides or fixed response route around the weights; disable or delete the load balancer's rules",
        },
  );

  rows.push(
    lb.adaptive_routing?.failover_across_pools === true
      ? {
          name: 'Adaptive routing',
          status: 'fail',
          reason:
            'adaptive_routing.failover_across_pools is on: requests green fails are retried on blue (and the reverse), so ' +
            'a broken slot looks healthy and shares are not what the weights say; turn failover across pools off',
        }
      : { name: 'Adaptive routing', status: 'pass', reason: 'failover across pools is off' },
  );

  const unmonitored = pools.filter((p) => !p.monitor).map((p) => p.id);
  rows.push(
    unmonitored.length === 0
      ? {
          name: 'Pool monitors',
          status: 'pass',
          reason: pools
            .map(
              (p) =>
                `pool ${p.id}: monitor every ${facts.monitorIntervals[p.monitor!] ?? '?'} s from ${p.check_regions?.length ? p.check_regions.join(', ') : 'every data center'}`,
            )
            .join('; '),
        }
      : {
          name: 'Pool monitors',
          status: 'fail',
          reason:
            `pool ${unmonitored.join(', ')} has no monitor: its health is unknown, so nothing says green's slot answers before ` +
            'it takes traffic; attach a health monitor to each pool',
        },
  );

  const slotProblems: string[] = [];
  const prod = hosts.filter((h) => facts.productionDomains.includes(h));
  if (prod.length > 0)
    slotProblems.push(
      `${prod.join(', ')} ${prod.length === 1 ? 'is a production domain' : 'are production domains'} of Vercel project ${project.name}: ` +
        'every promote, Instant Rollback or auto-assigned production deploy moves it, so both slots end on one deployment; ' +
        'make the slot hostnames preview (git branch) domains of the project, or domains outside it',
    );
  const sso = project.protection?.sso;
  const password = project.protection?.password;
  const covering = [sso, password].filter((t): t is string => !!t && COVERS_SLOTS.has(t));
  if (covering.length > 0 && hosts.some((h) => !facts.productionDomains.includes(h)))
    slotProblems.push(
      `Deployment Protection (${covering.join(', ')}) covers domains that are not production domains: visitors reach the ` +
        'slots through Cloudflare without the bypass (an origin can only override Host) and get 401; protect only ' +
        "preview deployments or use 'all except custom domains'",
    );
  rows.push(
    slotProblems.length === 0
      ? {
          name: 'Slot domains',
          status: 'pass',
          reason: `${hosts.join(', ')} ${hosts.length === 1 ? 'is' : 'are'} not production domains of ${project.name} and not behind Deployment Protection`,
        }
      : { name: 'Slot domains', status: 'fail', reason: slotProblems.join('; ') },
  );
  return rows;
}

/** Read the facts (GET only). */
export async function readWorld(
  lb: Pick<CloudflareLb, 'getLoadBalancer' | 'getPool' | 'getMonitor'>,
  vercel: Pick<VercelApi, 'getProject' | 'listProductionDomains'>,
  projectId: string,
  poolIds: readonly [string, string],
): Promise<WorldFacts> {
  const [balancer, pools, project, productionDomains] = await Promise.all([
    lb.getLoadBalancer(),
    Promise.all(poolIds.map((id) => lb.getPool(id))),
    vercel.getProject(projectId),
    vercel.listProductionDomains(projectId),
  ]);
  const monitorIntervals: Record<string, number | undefined> = {};
  const monitorIds = [...new Set(pools.map((p) => p.monitor).filter((m): m is string => !!m))];
  const monitors = await Promise.all(monitorIds.map((id) => lb.getMonitor(id)));
  monitorIds.forEach((id, i) => (monitorIntervals[id] = monitors[i]!.interval));
  return { lb: balancer, pools, monitorIntervals, productionDomains, project };
}

/**
 * The world check of a run: its rows, or one failing row saying what could not be read (a check that
 * cannot see is not a pass). With `traffic-manager: vercel`: a canary's Rolling Releases set-up
 * (plan, free slot, no release active); nothing for blue-green (promote moves production domains by
 * design; there are no slots).
 */
export async function checkWorld(
  config: Config,
  providers: TrafficProviders,
  /** The run's traffic manager's reads (`CloudflareTrafficManager.worldReads`), so later steps reuse the pools and monitors. */
  reads?: Pick<CloudflareLb, 'getLoadBalancer' | 'getPool' | 'getMonitor'>,
): Promise<CheckResult[]> {
  if (config.traffic.manager === 'vercel')
    return config.strategy === 'canary' ? checkRollingReleases(providers.vercel, config.vercel.projectId) : [];
  const cf = config.traffic.cloudflare;
  if (!providers.cloudflare || !providers.vercel || !cf)
    return [
      {
        name: 'Traffic set-up',
        status: 'fail',
        reason: 'Cloudflare or Vercel is not configured: the load balancer and slot domains cannot be checked',
      },
    ];
  try {
    const facts = await readWorld(reads ?? providers.cloudflare, providers.vercel, config.vercel.projectId, cf.pools);
    return judgeWorld(facts, cf.allowSessionAffinity);
  } catch (err) {
    return [
      {
        name: 'Traffic set-up',
        status: 'fail',
        reason: `cannot read the load balancer, its pools or the Vercel project's domains: ${errorMessage(err)}`,
      },
    ];
  }
}
