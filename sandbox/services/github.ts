/**
 * GitHub REST miniature: the operations the action calls (sandbox/README.md, "What each miniature covers"),
 * with GitHub's response shapes, pagination (`per_page`, `page`, `Link`), token auth (401 otherwise),
 * rate-limit headers, 404/409/422 bodies as GitHub sends them, and deployments that keep their
 * payload and check commit contexts unless `required_contexts: []`.
 */
import type { Scenario } from '../core/scenario.ts';
import { type RunningService, type SandboxRequest, type SandboxResponse, startService } from '../core/service.ts';
import type { World } from '../core/world.ts';
import {
  type Ctx,
  checkRun,
  combinedStatus,
  commit,
  errorBody,
  pullRequest,
  repository,
  review,
} from './github-shapes.ts';
import {
  branchProtection,
  branchRules,
  codeScanningAlert,
  dependabotAlert,
  deployment,
  environmentShape,
} from './github-records.ts';
import { type GithubState, branchSha, initGithubState, settle } from './github-state.ts';
import { createDeployment, createDeploymentStatus, listDeploymentStatuses } from './github-deployments.ts';
import { compare, cursorList, list, listComments, paginate, writeComment } from './github-lists.ts';
import { GRAPHQL_POINTS_PER_HOUR, type GraphqlBudget, createGraphql, graphqlOperationName } from './github-graphql.ts';

type Reply = SandboxResponse;
type Route = [method: string, pattern: RegExp, fn: (req: SandboxRequest, m: Record<string, string>) => Reply];

const DOCS = 'https://docs.github.com/rest';

const notFound = (doc = DOCS): Reply => ({ status: 404, body: errorBody('Not Found', doc, 404) });

/** Start the GitHub miniature; its state is `world.state.github`. */
export async function startGithub(world: World, scenario: Scenario): Promise<RunningService> {
  const st: GithubState = initGithubState(scenario);
  world.state.github = st;
  // Known once the server listens (the URLs in every object carry its port); set right after.
  // eslint-disable-next-line prefer-const
  let ctx: Ctx | undefined;
  const refs = { defaultBranch: scenario.repo.defaultBranch, runBranch: scenario.run.branch, runSha: scenario.run.sha };

  /** A ref (sha, branch, refs/heads/…, tag-less) → commit sha, or undefined. */
  const resolveRef = (ref: string): string | undefined => {
    const name = ref.replace(/^refs\/heads\//, '').replace(/^heads\//, '');
    const b = branchSha(st, refs, name);
    if (b) return b;
    if (/^[0-9a-f]{40}$/.test(ref)) return st.commits[ref] ? ref : undefined;
    if (/^[0-9a-f]{7,39}$/.test(ref)) return Object.keys(st.commits).find((s) => s.startsWith(ref));
    return undefined;
  };
  const noCommit = (ref: string): Reply => ({
    status: 422,
    body: errorBody(`No commit found for SHA: ${ref}`, `${DOCS}/commits/commits`, 422),
  });

  const routes: Route[] = [
    ['GET', /^\/repos\/([^/]+)\/([^/]+)$/, () => ({ status: 200, body: repository(ctx!) })],
    [
      'GET',
      /^\/repos\/[^/]+\/[^/]+\/environments\/(?<name>[^/]+)$/,
      (_req, m) => {
        const doc = `${DOCS}/deployments/environments#get-an-environment`;
        if (st.environments === 403)
          return { status: 403, body: errorBody('Resource not accessible by integration', doc, 403) };
        const env = st.environments.get(decodeURIComponent(m.name!));
        return env ? { status: 200, body: environmentShape(ctx!, env) } : notFound(doc);
      },
    ],
    [
      'GET',
      /^\/repos\/[^/]+\/[^/]+\/branches\/(?<branch>.+)\/protection$/,
      (_r, m) => {
        const b = st.branches.find((x) => x.name === m.branch);
        if (!b)
          return {
            status: 404,
            body: errorBody('Branch not found', `${DOCS}/branches/branch-protection#get-branch-protection`, 404),
          };
        if (!b.protection)
          return {
            status: 404,
            body: errorBody('Branch not protected', `${DOCS}/branches/branch-protection#get-branch-protection`, 404),
          };
        return { status: 200, body: branchProtection(ctx!, b.name, b.protection) };
      },
    ],
    [
      'GET',
      /^\/repos\/[^/]+\/[^/]+\/branches\/(?<branch>.+)$/,
      (_r, m) => {
        const b = st.branches.find((x) => x.name === m.branch);
        const sha = b && branchSha(st, refs, b.name);
        if (!b || !sha)
          return { status: 404, body: errorBody('Branch not found', `${DOCS}/branches/branches#get-a-branch`, 404) };
        const base = `${ctx!.api}/repos/${st.owner}/${st.repo}/branches/${encodeURIComponent(b.name)}`;
        const isProtected = Boolean(b.protection) || (b.rules ?? []).length > 0;
        const protection = b.protection
          ? { enabled: true, ...branchProtection(ctx!, b.name, b.protection) }
          : { enabled: false, required_status_checks: { enforcement_level: 'off', contexts: [], checks: [] } };
        return {
          status: 200,
          body: {
            name: b.name,
            commit: commit(ctx!, st.commits[sha]!),
            _links: { self: base, html: `${ctx!.web}/${st.owner}/${st.repo}/tree/${encodeURIComponent(b.name)}` },
            protected: isProtected,
            protection,
            protection_url: `${base}/protection`,
          },
        };
      },
    ],
    [
      'GET',
      /^\/repos\/[^/]+\/[^/]+\/rules\/branches\/(?<branch>.+)$/,
      (req, m) => list(ctx!, req, branchRules(ctx!, st.branches.find((x) => x.name === m.branch)?.rules ?? [])),
    ],
    [
      'GET',
      /^\/repos\/[^/]+\/[^/]+\/commits\/(?<sha>[^/]+)\/pulls$/,
      (req, m) => {
        const sha = resolveRef(m.sha!);
        if (!sha) return noCommit(m.sha!);
        const onDefault = st.history.includes(sha);
        const prs = st.pulls.filter((p) => p.shas.includes(sha) && (!onDefault || p.merged));
        return list(
          ctx!,
          req,
          prs.map((p) => pullRequest(ctx!, p, false)),
        );
      },
    ],
    [
      'GET',
      /^\/repos\/[^/]+\/[^/]+\/pulls\/(?<n>\d+)$/,
      (_r, m) => {
        const p = st.pulls.find((x) => x.number === Number(m.n));
        if (!p) return notFound(`${DOCS}/pulls/pulls#get-a-pull-request`);
        return {
          status: 200,
          body: pullRequest(ctx!, { ...p, comments: st.comments.filter((c) => c.issue === p.number).length }, true),
        };
      },
    ],
    [
      'GET',
      /^\/repos\/[^/]+\/[^/]+\/pulls\/(?<n>\d+)\/reviews$/,
      (req, m) => {
        const p = st.pulls.find((x) => x.number === Number(m.n));
        if (!p) return notFound(`${DOCS}/pulls/reviews#list-reviews-for-a-pull-request`);
        return list(
          ctx!,
          req,
          p.reviews.map((r) => review(ctx!, p.number, r)),
        );
      },
    ],
    [
      'GET',
      /^\/repos\/[^/]+\/[^/]+\/commits\/(?<ref>.+)\/check-runs$/,
      (req, m) => {
        const sha = resolveRef(m.ref!);
        if (!sha) return noCommit(m.ref!);
        const q = req.url.searchParams;
        let runs = st.checkRuns.filter((c) => c.sha === sha);
        if (q.get('filter') !== 'all') runs = runs.filter((c, i) => !runs.slice(i + 1).some((o) => o.name === c.name));
        if (q.get('check_name')) runs = runs.filter((c) => c.name === q.get('check_name'));
        if (q.get('status')) runs = runs.filter((c) => c.status === q.get('status'));
        const p = paginate(ctx!, req, runs.reverse());
        return {
          status: 200,
          headers: p.headers,
          body: { total_count: runs.length, check_runs: p.items.map((c) => checkRun(ctx!, c)) },
        };
      },
    ],
    [
      'GET',
      /^\/repos\/[^/]+\/[^/]+\/commits\/(?<ref>.+)\/status$/,
      (req, m) => {
        const sha = resolveRef(m.ref!);
        if (!sha) return noCommit(m.ref!);
        const latest = new Map<string, (typeof st.statuses)[number]>();
        for (const s of st.statuses.filter((x) => x.sha === sha)) latest.set(s.context, s);
        const all = [...latest.values()];
        const states = all.map((s) => s.state);
        const state = states.some((s) => s === 'error' || s === 'failure')
          ? 'failure'
          : states.length === 0 || states.includes('pending')
            ? 'pending'
            : 'success';
        const p = paginate(ctx!, req, all);
        return { status: 200, headers: p.headers, body: combinedStatus(ctx!, sha, state, p.items, all.length) };
      },
    ],
    [
      'GET',
      /^\/repos\/[^/]+\/[^/]+\/code-scanning\/alerts$/,
      (req) => {
        if (st.codeScanning === 403)
          return {
            status: 403,
            body: errorBody(
              'Code scanning is not enabled for this repository. Please enable code scanning in the repository settings.',
              `${DOCS}/code-scanning/code-scanning#list-code-scanning-alerts-for-a-repository`,
              403,
            ),
          };
        if (st.codeScanning === 404)
          return {
            status: 404,
            body: errorBody(
              'no analysis found',
              `${DOCS}/code-scanning/code-scanning#list-code-scanning-alerts-for-a-repository`,
              404,
            ),
          };
        const q = req.url.searchParams;
        let alerts = st.codeScanning;
        if (q.get('state')) alerts = alerts.filter((a) => a.state === q.get('state'));
        if (q.get('severity')) alerts = alerts.filter((a) => a.severity === q.get('severity'));
        if (q.get('tool_name')) alerts = alerts.filter((a) => a.tool === q.get('tool_name'));
        return list(
          ctx!,
          req,
          alerts.map((a) => codeScanningAlert(ctx!, a)),
        );
      },
    ],
    [
      'GET',
      /^\/repos\/[^/]+\/[^/]+\/dependabot\/alerts$/,
      (req) => {
        const doc = `${DOCS}/dependabot/alerts#list-dependabot-alerts-for-a-repository`;
        if (st.dependabot === 403)
          return { status: 403, body: errorBody('Dependabot alerts are disabled for this repository.', doc, 403) };
        if (st.dependabot === 404) return notFound(doc);
        const q = req.url.searchParams;
        const csv = (k: string) =>
          q
            .get(k)
            ?.split(',')
            .map((s) => s.trim())
            .filter(Boolean);
        let alerts = st.dependabot;
        for (const [k, f] of [
          ['state', 'state'],
          ['severity', 'severity'],
          ['ecosystem', 'ecosystem'],
          ['package', 'package'],
        ] as const) {
          const wanted = csv(k);
          if (wanted) alerts = alerts.filter((a) => wanted.includes(a[f]));
        }
        return cursorList(
          ctx!,
          req,
          alerts.map((a) => dependabotAlert(ctx!, a)),
        );
      },
    ],
    ['POST', /^\/repos\/[^/]+\/[^/]+\/deployments$/, (req) => createDeployment(ctx!, st, req, resolveRef)],
    [
      'GET',
      /^\/repos\/[^/]+\/[^/]+\/deployments$/,
      (req) => {
        const q = req.url.searchParams;
        let ds = [...st.deployments].reverse();
        for (const k of ['sha', 'ref', 'task', 'environment'] as const) {
          const v = q.get(k);
          if (v && v !== 'none') ds = ds.filter((d) => d[k] === v);
        }
        return list(
          ctx!,
          req,
          ds.map((d) => deployment(ctx!, d)),
        );
      },
    ],
    [
      'GET',
      /^\/repos\/[^/]+\/[^/]+\/deployments\/(?<id>\d+)$/,
      (_r, m) => {
        const d = st.deployments.find((x) => x.id === Number(m.id));
        return d
          ? { status: 200, body: deployment(ctx!, d) }
          : notFound(`${DOCS}/deployments/deployments#get-a-deployment`);
      },
    ],
    [
      'POST',
      /^\/repos\/[^/]+\/[^/]+\/deployments\/(?<id>\d+)\/statuses$/,
      (req, m) => createDeploymentStatus(ctx!, st, req, Number(m.id)),
    ],
    [
      'GET',
      /^\/repos\/[^/]+\/[^/]+\/deployments\/(?<id>\d+)\/statuses$/,
      (req, m) => {
        const out = listDeploymentStatuses(ctx!, st, Number(m.id));
        return out ? list(ctx!, req, out) : notFound(`${DOCS}/deployments/statuses#list-deployment-statuses`);
      },
    ],
    [
      'GET',
      /^\/repos\/[^/]+\/[^/]+\/issues\/(?<n>\d+)\/comments$/,
      (req, m) => listComments(ctx!, st, req, Number(m.n)),
    ],
    [
      'POST',
      /^\/repos\/[^/]+\/[^/]+\/issues\/(?<n>\d+)\/comments$/,
      (req, m) => writeComment(ctx!, st, req, Number(m.n), undefined),
    ],
    [
      'PATCH',
      /^\/repos\/[^/]+\/[^/]+\/issues\/comments\/(?<id>\d+)$/,
      (req, m) => writeComment(ctx!, st, req, undefined, Number(m.id)),
    ],
    [
      'GET',
      /^\/repos\/[^/]+\/[^/]+\/compare\/(?<base>.+?)(?<dots>\.\.\.?)(?<head>[^.].*)$/,
      (req, m) => compare(ctx!, st, req, resolveRef, m.base!, m.head!),
    ],
  ];

  // GraphQL's own points budget (1,000 an hour per repository for GITHUB_TOKEN), apart from REST's.
  const budget: GraphqlBudget = {
    limit: GRAPHQL_POINTS_PER_HOUR,
    remaining: GRAPHQL_POINTS_PER_HOUR,
    reset: st.rateLimitReset,
  };
  world.state.githubGraphql = budget;
  const graphql = createGraphql({ st, ctx: () => ctx!, refs, resolveRef, budget });

  const service = await startService({
    name: 'github',
    traffic: world.traffic,
    operationOf: (r) => (r.method === 'POST' && r.path === '/graphql' ? graphqlOperationName(r.body) : undefined),
    handler: async (req) => {
      settle(st);
      if (req.path === '/graphql') {
        const common = { 'x-github-media-type': 'github.v4; format=json', 'x-github-request-id': `SBX:${req.log.seq}` };
        const denied = authError(req, 'https://docs.github.com/graphql');
        if (denied) return { ...denied, headers: { ...common, ...denied.headers } };
        if (req.method !== 'POST')
          return { status: 404, headers: common, body: errorBody('Not Found', 'https://docs.github.com/graphql', 404) };
        const out = await graphql.answer(req);
        return { ...out, headers: { ...common, ...out.headers } };
      }
      st.rateLimitRemaining = Math.max(0, st.rateLimitRemaining - 1);
      const common = {
        'x-github-api-version-selected': '2022-11-28',
        'x-github-media-type': 'github.v3; format=json',
        'x-ratelimit-limit': '5000',
        'x-ratelimit-remaining': String(st.rateLimitRemaining),
        'x-ratelimit-reset': String(st.rateLimitReset),
        'x-ratelimit-used': String(5000 - st.rateLimitRemaining),
        'x-ratelimit-resource': 'core',
        'x-github-request-id': `SBX:${req.log.seq}`,
      };
      const out = route(req);
      if (req.method !== 'GET' && out.status < 300) world.events.emit('change', 'github');
      return { ...out, headers: { ...common, ...out.headers } };
    },
  });
  ctx = {
    api: service.url,
    web: service.url,
    owner: st.owner,
    repo: st.repo,
    repoId: scenario.repo.id,
    private: scenario.repo.private,
    defaultBranch: scenario.repo.defaultBranch,
    createdAt: '2024-01-15T10:00:00Z',
  };

  /** The token check REST and GraphQL share: 401 without the scenario's token. */
  function authError(req: SandboxRequest, doc = DOCS): Reply | undefined {
    const auth = String(req.headers.authorization ?? '');
    const m = /^(?:bearer|token)\s+(.+)$/i.exec(auth);
    if (!m) return { status: 401, body: errorBody('Requires authentication', doc, 401) };
    if (m[1] !== st.token) {
      const echo = world.traffic.echoCredentials ? ` (received ${m[1]})` : '';
      return { status: 401, body: errorBody(`Bad credentials${echo}`, doc, 401) };
    }
    return undefined;
  }

  function route(req: SandboxRequest): Reply {
    const denied = authError(req);
    if (denied) return denied;
    const repoMatch = /^\/repos\/([^/]+)\/([^/]+)(?:\/|$)/.exec(req.path);
    if (
      repoMatch &&
      (repoMatch[1]!.toLowerCase() !== st.owner.toLowerCase() || repoMatch[2]!.toLowerCase() !== st.repo.toLowerCase())
    )
      return notFound(`${DOCS}/repos/repos#get-a-repository`);
    for (const [method, pattern, fn] of routes) {
      if (method !== req.method) continue;
      const mm = pattern.exec(req.path);
      if (!mm) continue;
      const groups: Record<string, string> = {};
      for (const [k, v] of Object.entries(mm.groups ?? {})) groups[k] = decodeURIComponent(v);
      return fn(req, groups);
    }
    return notFound();
  }
  return service;
}
