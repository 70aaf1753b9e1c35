/** docs/benchmarks.md, section 4: API calls per deploy. */
import { type ApiCallsResult, INTERFACE_DEFAULTS, LIMITS, limitedCalls } from '../api-calls.ts';
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

/**
 * Which reads a deploy keeps making and why (src/traffic/cloudflare.ts, src/records/github.ts), and
 * what the sandbox's figures leave out on a real account.
 */
const READS_THAT_STAY = [
  '**Cloudflare: what is read once and what is read anew.** The run’s one traffic manager keeps the pools (their origins’ ' +
    'slot hostnames, their monitor) and the monitors (their interval): set-up, read once by the world check in pre-flight, ' +
    'changed by this run only through its own writes, whose answers replace what was kept. The load balancer — weights, ' +
    'fallback, default pools: what moves production — is never reused: it is read when blue is named (beside the lock), ' +
    'for the record (the state a rollback is made from; while green builds), right before the switch (the read that arms the restore: nothing older may ' +
    'arm it), before retiring blue (a second cleanup changes nothing), and by every restore. A pool is read anew before its ' +
    'origins are rewritten (a PATCH replaces the whole list) and for Cloudflare’s own health verdict. The wait for a health ' +
    'result newer than the alias change costs a baseline read and at least two more (a data center’s result counts as new ' +
    'once it has changed twice), 250 ms, 250 ms, 500 ms, 1 s … apart up to 2 s. The floor of these rules for a blue-green ' +
    'deploy: four set-up reads, four of the load balancer, the weight change, three health reads and the verdict — 13; ' +
    'the goal of 8 would take dropping reads that safety depends on.',
  '**On a real Cloudflare account the health wait dominates**: monitors probe every 60 s by default (15 s Business, 10 s ' +
    'Enterprise), and a result counts as new after two changes or two monitor intervals, so the wait lasts up to two ' +
    'minutes, read every 2 s: up to about 60 more calls per deploy — still about 190 deploys an hour per token at ' +
    '1,200 requests per 5 minutes, so GitHub binds first.',
  '**GitHub: two budgets, and what the sandbox does not show.** Pre-flight’s gates that depend on each other are one ' +
    'GraphQL query (`PreflightFacts`: the branch’s protection and rulesets, the environment, the commit’s PRs with their ' +
    'reviews, its check runs and statuses); a poll of pending checks is one more (`CommitChecks`). The lock (before the ' +
    'build), the race check (right after the record is created) and the closing of the record each read the environment’s ' +
    'newest deployments with their latest status in one query (`EnvironmentDeployments`): over REST that was a list and ' +
    'one status read per record, so an environment with a long history of this action added up to 19 reads to each check ' +
    'and 29 to the closing; now it adds none. What stays REST: the code-scanning and Dependabot alerts (code scanning has ' +
    'no GraphQL field), the go/no-go comment (find, post, update with the smoke report), the record’s writes (the create, ' +
    'in progress, the switch, the final status, the earlier record’s inactive one) and the compare of what shipped. ' +
    'GraphQL has its own budget (1,000 points an hour per repository for `GITHUB_TOKEN`; each of these queries costs 1 ' +
    'point), so the table counts both and divides each by its own. A part of an answer that failed, did not fit in a page, ' +
    'or would fail a gate on its own (a branch it shows unprotected) is read over REST as before: GraphQL saves calls, it ' +
    'never decides a gate alone, and an outage of it costs the REST calls it replaced. Writes go one at a time with no ' +
    'fixed pause (GitHub’s best practices ask for a second between writes only for “a large number” of them; its ' +
    'secondary limit is 80 content-generating requests a minute); GraphQL queries are reads and do not wait behind them.',
  '**Vercel and Datadog publish no per-token figure to divide by**: Vercel’s limits are per endpoint (429 with ' +
    '`Retry-After`); Datadog’s are per endpoint in `X-RateLimit-*` headers, the only published one the deploy touches being ' +
    'event submission, 250,000 events a minute per organisation (a deploy sends one event and one DORA record).',
];

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
      ...services.map((s) =>
        s === 'github'
          ? [
              PROVIDER[s] ?? s,
              // GitHub's two budgets: REST requests and GraphQL points, each 1,000 an hour for GITHUB_TOKEN.
              ...r.deploys.map(
                (d) => `${d.byService[s] ?? 0} (REST ${limitedCalls(d, 'github')}, GraphQL ${d.githubGraphql})`,
              ),
              ...r.deploys.map(
                (d) => `${perHour('github', d.strategy)} (REST), ${perHour('github-graphql', d.strategy)} (GraphQL)`,
              ),
              `${limitText('github')}; ${limitText('github-graphql')}`,
            ]
          : [
              PROVIDER[s] ?? s,
              ...r.deploys.map((d) => d.byService[s] ?? 0),
              ...r.deploys.map((d) => perHour(s, d.strategy)),
              limitText(s),
            ],
      ),
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
        `Reads made three times or more in one deploy: ${repeated.map(([op, n]) => `${code(op)} ×${n}`).join(', ')}.`,
      );
    }
    findings.push(...READS_THAT_STAY);
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
