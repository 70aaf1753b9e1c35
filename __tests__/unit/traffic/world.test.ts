/** The world check's judgement (src/traffic/world.ts) and the fresh-health verdict (src/traffic/cloudflare.ts). */
import { describe, expect, it } from 'vitest';
import { freshVerdict } from '../../../src/traffic/cloudflare.ts';
import { judgeWorld, type WorldFacts } from '../../../src/traffic/world.ts';
import { parsePoolHealth } from '../../../src/providers/cloudflare.ts';

function facts(change: (f: WorldFacts) => void = () => {}): WorldFacts {
  const pool = (id: string, host: string) => ({
    id,
    name: id,
    monitor: 'm1',
    check_regions: null,
    origins: [{ name: `${id}-vercel`, address: 'cname.vercel-dns.com', header: { Host: [host] } }],
  });
  const f: WorldFacts = {
    lb: {
      id: 'lb',
      name: 'www.example.com',
      proxied: true,
      default_pools: ['blue', 'green'],
      fallback_pool: 'blue',
      session_affinity: 'none',
      rules: [],
      adaptive_routing: { failover_across_pools: false },
    },
    pools: [pool('blue', 'blue.example.com'), pool('green', 'green.example.com')],
    monitorIntervals: { m1: 60 },
    productionDomains: ['www.example.com'],
    project: { id: 'prj', name: 'shop', protection: { sso: null, password: null } },
  };
  change(f);
  return f;
}

const status = (rows: ReturnType<typeof judgeWorld>) => Object.fromEntries(rows.map((r) => [r.name, r.status]));
const reason = (rows: ReturnType<typeof judgeWorld>, name: string) => rows.find((r) => r.name === name)!.reason;

describe('judgeWorld', () => {
  it('passes every row in a set-up that works', () => {
    expect(status(judgeWorld(facts(), false))).toEqual({
      'Load balancer proxied': 'pass',
      'Origin Host overrides': 'pass',
      'Session affinity': 'pass',
      'Load balancer rules': 'pass',
      'Adaptive routing': 'pass',
      'Pool monitors': 'pass',
      'Slot domains': 'pass',
    });
  });

  it('a DNS-only load balancer and an origin without Host override each fail with the setting named', () => {
    const rows = judgeWorld(
      facts((f) => {
        f.lb.proxied = false;
        delete f.pools[1]!.origins[0]!.header;
      }),
      false,
    );
    expect(reason(rows, 'Load balancer proxied')).toMatch(/DNS-only.*turn Proxied on/);
    expect(reason(rows, 'Origin Host overrides')).toMatch(
      /pool green: origin green-vercel has no header.Host.*set each origin's HTTP Host header/,
    );
  });

  it('session affinity fails unless allowed; allowed with a drain duration it warns', () => {
    const on = facts((f) => (f.lb.session_affinity = 'ip_cookie'));
    expect(status(judgeWorld(on, false))['Session affinity']).toBe('fail');
    expect(status(judgeWorld(on, true))['Session affinity']).toBe('pass');
    on.lb.session_affinity_attributes = { drain_duration: 300 };
    expect(status(judgeWorld(on, true))['Session affinity']).toBe('warn');
    expect(reason(judgeWorld(on, true), 'Session affinity')).toMatch(/drain_duration is 300 s/);
  });

  it('enabled rules and failover across pools fail; disabled rules do not', () => {
    const rows = judgeWorld(
      facts((f) => {
        f.lb.rules = [
          { name: 'a', overrides: { default_pools: ['green'] } },
          { name: 'off', disabled: true },
        ];
        f.lb.adaptive_routing = { failover_across_pools: true };
      }),
      false,
    );
    expect(reason(rows, 'Load balancer rules')).toMatch(/^1 enabled rule \(a\)/);
    expect(status(rows)['Adaptive routing']).toBe('fail');
  });

  it('a pool without monitor, a slot that is a production domain, protection over preview domains: each fails', () => {
    const rows = judgeWorld(
      facts((f) => {
        f.pools[1]!.monitor = null;
        f.productionDomains.push('green.example.com');
        f.project.protection = { sso: 'prod_deployment_urls_and_all_previews', password: null };
      }),
      false,
    );
    expect(reason(rows, 'Pool monitors')).toMatch(/pool green has no monitor/);
    expect(reason(rows, 'Slot domains')).toMatch(/green.example.com is a production domain of Vercel project shop/);
    expect(reason(rows, 'Slot domains')).toMatch(/Deployment Protection \(prod_deployment_urls_and_all_previews\)/);
    const custom = judgeWorld(
      facts((f) => (f.project.protection = { sso: 'all_except_custom_domains', password: null })),
      false,
    );
    expect(status(custom)['Slot domains']).toBe('pass');
  });
});

describe('freshVerdict', () => {
  const dc = (healthy: boolean, rtt: string) => ({ healthy, origins: [{ 'green.example.com': { healthy, rtt } }] });
  const h = parsePoolHealth({
    pop_health: { A: dc(true, '1ms'), B: dc(true, '2ms'), C: dc(false, '3ms') },
  });

  it('counts only data centers with a result newer than the change', () => {
    expect(freshVerdict(h, new Set()).healthy).toBe(false);
    expect(freshVerdict(h, new Set(['A'])).healthy).toBe(false);
    expect(freshVerdict(h, new Set(['A', 'B'])).healthy).toBe(true);
    expect(freshVerdict(h, new Set(['A'])).why).toMatch(
      /healthy on a new result in 1 of 3 data centers; 2 data centers have no result newer/,
    );
  });

  it('no data center reporting is no verdict', () => {
    expect(freshVerdict(parsePoolHealth({ pop_health: {} }), new Set()).healthy).toBe(false);
  });
});
