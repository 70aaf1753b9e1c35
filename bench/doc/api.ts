/** docs/benchmarks.md, section 4: API calls per deploy. */
import { type ApiCallsResult, INTERFACE_DEFAULTS, LIMITS } from '../api-calls.ts';
import { blocks, bullets, code, table } from '../lib/md.ts';

const PROVIDER: Record<string, string> = {
  github: 'GitHub',
  vercel: 'Vercel',
  cloudflare: 'Cloudflare',
  datadog: 'Datadog',
  slack: 'Slack',
  s3: 'S3',
  deps: 'dependency URLs',
};

/** Published limits of the providers without a per-token figure the deploys are compared with. */
const OTHER_LIMITS: Record<string, string> = {
  vercel: 'per endpoint, not published as one figure (429 with `Retry-After`)',
  datadog: 'per endpoint, in `X-RateLimit-*` headers; event submission 250,000/min per organisation',
  slack: '`chat.postMessage` about 1/s per channel, `chat.update` Tier 3 (50+/min)',
  s3: '3,500 writes/s per prefix',
  deps: 'your own services',
};

export function apiSection(r: ApiCallsResult): string {
  const services = [...new Set(r.deploys.flatMap((d) => Object.keys(d.byService)))].sort(
    (a, b) => (r.deploys[0]!.byService[b] ?? 0) - (r.deploys[0]!.byService[a] ?? 0),
  );
  const limitText = (s: string) => (s in LIMITS ? LIMITS[s as keyof typeof LIMITS].text : (OTHER_LIMITS[s] ?? '—'));
  const perHour = (s: string, strategy: string) => {
    const row = r.perHour.find((p) => p.provider === s && p.strategy === strategy);
    return row ? (Number.isFinite(row.deploys) ? String(row.deploys) : '∞') : '—';
  };
  const byProvider = table(
    [
      'provider',
      ...r.deploys.map((d) => `${d.strategy}: calls`),
      ...r.deploys.map((d) => `${d.strategy}: deploys/hour`),
      'limit',
    ],
    [
      ...services.map((s) => [
        PROVIDER[s] ?? s,
        ...r.deploys.map((d) => d.byService[s] ?? 0),
        ...r.deploys.map((d) => perHour(s, d.strategy)),
        limitText(s),
      ]),
      ['**all**', ...r.deploys.map((d) => `**${d.total}**`), ...r.deploys.map(() => ''), ''],
    ],
  );
  const bg = r.deploys.find((d) => d.strategy === 'blue-green');
  const repeated = (bg?.byOp ?? []).filter(([op, n]) => n >= 3 && op.split(' ')[1] === 'GET');
  const findings: string[] = [];
  for (const b of r.binding) {
    findings.push(
      `**${b.strategy}**: ${PROVIDER[b.provider] ?? b.provider} runs out first — ${b.deploys} deploys an hour share one token ` +
        `(${limitText(b.provider)}), before counting the organisation’s other workflows on the same token.`,
    );
  }
  if (bg) {
    const watched = Object.entries(bg.watch.byService)
      .map(([s, n]) => `${PROVIDER[s] ?? s} ${n}`)
      .join(', ');
    findings.push(
      `While production is watched, each sample costs ${bg.watch.perSample.toFixed(1)} calls (${watched} over ` +
        `${bg.watch.samples} samples): ${((bg.watch.perSample * 60_000) / INTERFACE_DEFAULTS.validationIntervalMs).toFixed(1)} calls a minute ` +
        `at the default ${code('validation-interval')} of 30 s (${Math.round(bg.watch.perMinute)} a minute at this run’s ` +
        'interval). A canary adds the analysis of each weight step.',
    );
    if (repeated.length > 0) {
      findings.push(
        `Reads made three times or more in one deploy: ${repeated.map(([op, n]) => `${code(op)} ×${n}`).join(', ')}. ` +
          'They are the traffic state (load balancer, pools, aliases, blue’s deployment) read again by each step — see benchmark 1 — ' +
          'and the environment’s deployments and their statuses read again around the record and in cleanup; reusing the first ' +
          'reading would cut GitHub’s share, the one that binds.',
      );
    }
    if (!bg.byService.slack) {
      findings.push(
        'No Slack call was made in these runs (the sandbox’s scenario configures Slack): notifications were not part of this build.',
      );
    }
  }
  return blocks(
    '## 4. API calls per deploy',
    `Every request the sandbox received during a deploy, per provider: ${code('blue-green')} from benchmark 1’s runs ` +
      `(${bg?.runs ?? 0} run(s), median), and one ${code('canary')} deploy (10 %, 50 %, 100 %, each step held 2 s and analysed). ` +
      `“Deploys/hour” is the provider’s published limit divided by one deploy’s calls to it.`,
    byProvider,
    bg &&
      `Calls of the blue-green deploy by operation, most first: ${bg.byOp
        .slice(0, 12)
        .map(([op, n]) => `${code(op)} ×${n}`)
        .join(', ')}.`,
    '### What limits it',
    bullets(findings),
  );
}
