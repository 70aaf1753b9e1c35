/**
 * GitHub GraphQL miniature (`POST /graphql`, api.github.com/graphql): documents are parsed, validated
 * and executed by graphql-js against GitHub's public schema (`@octokit/graphql-schema`), with field
 * resolvers by type that read the same state the REST routes read (github-state.ts), so a REST write
 * is visible to the next GraphQL read. Sources of every behaviour: sandbox/README.md, "GitHub GraphQL".
 *
 * - Field errors: HTTP 200, `{data, errors}`; the failing field null, the error with `type`
 *   (NOT_FOUND, FORBIDDEN), `path`, `locations`, `message`.
 * - Validation errors: HTTP 200, `{errors}` and no `data`, in GitHub's wording for the common kinds
 *   (`Field 'x' doesn't exist on type 'Y'`, `extensions.code` undefinedField …).
 * - Pagination: every connection needs `first` or `last` (MISSING_PAGINATION_BOUNDARIES), at most 100.
 * - Rate limit: a points budget of its own (GITHUB_TOKEN: 1,000 points an hour per repository), cost per
 *   GitHub's formula (requests needed to fill every connection / 100, rounded, at least 1), headers
 *   with `x-ratelimit-resource: graphql`; an exhausted budget answers HTTP 200 with a RATE_LIMIT error.
 *
 * A field the sandbox does not model answers a GraphQL error naming it (never a made-up value); a
 * nullable field is null only where the state really has nothing (no latest status, no description…).
 * The schema is built once per process, lazily, when /graphql is first asked (~200 ms).
 */
import type {
  DocumentNode,
  FragmentDefinitionNode,
  GraphQLError,
  GraphQLFieldResolver,
  GraphQLNamedType,
  GraphQLSchema,
  GraphQLTypeResolver,
  OperationDefinitionNode,
  SelectionSetNode,
} from 'graphql';
import type { SandboxRequest, SandboxResponse } from '../core/service.ts';
import { type Ctx, errorBody, stableId } from './github-shapes.ts';
import { branchRules, environmentShape, type DeploymentRecord } from './github-records.ts';
import { type GithubState, branchSha } from './github-state.ts';

type Gql = typeof import('graphql');
type Reply = SandboxResponse;

const DOCS = 'https://docs.github.com/graphql';
/** GITHUB_TOKEN's GraphQL budget (docs: "Rate limits and node limits for the GraphQL API"). */
export const GRAPHQL_POINTS_PER_HOUR = 1000;
/** Largest `first`/`last` on any connection, and the node limit of one call (same page). */
const MAX_PAGE = 100;
const MAX_NODES = 500_000;

let loaded: Promise<{ gql: Gql; schema: GraphQLSchema }> | undefined;

/** graphql-js and GitHub's schema, built once per process on first use. */
export function githubSchema(): Promise<{ gql: Gql; schema: GraphQLSchema }> {
  loaded ??= (async () => {
    const gql = await import('graphql');
    const { schema } = await import('@octokit/graphql-schema');
    // This version's SDL repeats one field; GitHub serves it, so skip SDL validation rather than edit it.
    return { gql, schema: gql.buildSchema(schema.idl, { assumeValidSDL: true }) };
  })();
  return loaded;
}

/**
 * The operation a GraphQL body names (its `operationName`, else the first operation's name), for the
 * call log and fault rules (`POST /graphql PreflightFacts`); `(anonymous)` for an unnamed one.
 */
export function graphqlOperationName(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as { query?: unknown; operationName?: unknown };
  if (typeof b.operationName === 'string' && b.operationName) return b.operationName;
  if (typeof b.query !== 'string') return undefined;
  const text = b.query.replace(/#[^\n]*/g, '');
  const m = /(?:^|[\s}])(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)/.exec(text);
  return m ? m[1] : '(anonymous)';
}

/** The GraphQL budget of one sandbox (`world.state.githubGraphql`; tests may lower `remaining`). */
export interface GraphqlBudget {
  limit: number;
  remaining: number;
  reset: number;
}

/** An error GitHub reports on a field: its `type` and message (data stays, the field is null). */
class FieldError extends Error {
  readonly type: string;
  readonly extensions?: Record<string, unknown>;
  constructor(type: string, message: string, extensions?: Record<string, unknown>) {
    super(message);
    this.type = type;
    this.extensions = extensions;
  }
}

interface Source {
  __typename: string;
  [field: string]: unknown;
}

type Args = Record<string, unknown>;
type Resolver = (src: Source, args: Args) => unknown;

const upper = (s: string) => s.toUpperCase();
const nodeId = (kind: string, id: number | string) => Buffer.from(`0${kind.length}:${kind}${id}`).toString('base64');
const cursorOf = (i: number) => Buffer.from(`cursor:v2:${i}`).toString('base64');
function indexOf(cursor: unknown): number | undefined {
  if (typeof cursor !== 'string') return undefined;
  const m = /^cursor:v2:(\d+)$/.exec(Buffer.from(cursor, 'base64').toString('utf8'));
  if (!m) throw new FieldError('INVALID_CURSOR_ARGUMENTS', `\`${cursor}\` does not appear to be a valid cursor.`);
  return Number(m[1]);
}

/** A connection over `items` honouring first/after/last/before (the bounds were checked before execution). */
function connection(items: unknown[], args: Args): Source {
  let from = 0;
  let to = items.length;
  const after = indexOf(args.after);
  const before = indexOf(args.before);
  if (after !== undefined) from = Math.min(items.length, after + 1);
  if (before !== undefined) to = Math.max(from, Math.min(to, before));
  if (typeof args.first === 'number') to = Math.min(to, from + args.first);
  if (typeof args.last === 'number') from = Math.max(from, to - args.last);
  const idx = Array.from({ length: Math.max(0, to - from) }, (_, k) => from + k);
  return {
    __typename: 'Connection',
    nodes: idx.map((i) => items[i]),
    edges: idx.map((i) => ({ __typename: 'Edge', node: items[i], cursor: cursorOf(i) })),
    totalCount: items.length,
    pageInfo: {
      __typename: 'PageInfo',
      hasNextPage: to < items.length,
      hasPreviousPage: from > 0,
      startCursor: idx.length ? cursorOf(idx[0]!) : null,
      endCursor: idx.length ? cursorOf(idx[idx.length - 1]!) : null,
    },
  };
}

/**
 * An Actor: REST's `name[bot]` is a Bot whose GraphQL login has no `[bot]` suffix (e.g.
 * `github-actions[bot]` → Bot `github-actions`); anything else a User.
 */
function actor(c: Ctx, login: string): Source {
  const bot = login.endsWith('[bot]');
  const name = login.replace(/\[bot\]$/, '');
  const id = stableId(login);
  return {
    __typename: bot ? 'Bot' : 'User',
    login: name,
    databaseId: id,
    id: nodeId(bot ? 'Bot' : 'User', id),
    url: bot ? `${c.web}/apps/${name}` : `${c.web}/${name}`,
  };
}

/** The per-sandbox GraphQL endpoint over the GitHub state. */
export function createGraphql(o: {
  st: GithubState;
  ctx: () => Ctx;
  refs: { defaultBranch: string; runBranch: string; runSha: string };
  resolveRef: (ref: string) => string | undefined;
  budget: GraphqlBudget;
}) {
  const { st, refs, budget } = o;

  const repoSrc = (): Source => ({ __typename: 'Repository' });

  function refSrc(qualified: string): Source | null {
    if (qualified.startsWith('refs/') && !qualified.startsWith('refs/heads/')) return null;
    const name = qualified.replace(/^refs\/heads\//, '');
    const b = st.branches.find((x) => x.name === name);
    const sha = b && branchSha(st, refs, name);
    if (!b || !sha) return null;
    return { __typename: 'Ref', name, prefix: 'refs/heads/', sha, branch: b };
  }

  function commitSrc(sha: string): Source {
    const ci = st.commits[sha];
    return {
      __typename: 'Commit',
      oid: sha,
      abbreviatedOid: sha.slice(0, 7),
      id: nodeId('Commit', sha),
      url: `${o.ctx().web}/${st.owner}/${st.repo}/commit/${sha}`,
      ...(ci ? { message: ci.message, committedDate: ci.date, authoredDate: ci.date } : {}),
    };
  }

  function pullSrc(p: GithubState['pulls'][number]): Source {
    const c = o.ctx();
    return {
      __typename: 'PullRequest',
      pull: p,
      number: p.number,
      id: nodeId('PullRequest', p.number),
      databaseId: stableId(`pr:${c.repoId}:${p.number}`),
      title: p.title,
      body: p.body ?? '',
      state: p.merged ? 'MERGED' : upper(p.state),
      merged: p.merged,
      mergedAt: p.mergedAt,
      closed: p.state === 'closed',
      closedAt: p.closedAt,
      createdAt: p.createdAt,
      updatedAt: p.updatedAt,
      isDraft: p.draft,
      baseRefName: p.base,
      baseRefOid: p.baseSha,
      headRefName: p.head,
      headRefOid: p.headSha,
      url: `${c.web}/${st.owner}/${st.repo}/pull/${p.number}`,
      author: actor(c, p.author),
      mergeCommit: p.mergeCommitSha ? commitSrc(p.mergeCommitSha) : null,
    };
  }

  /** Check runs as REST's default `filter=latest` lists them, then each context's latest status. */
  function contextsOf(sha: string): { runs: Source[]; statuses: Source[] } {
    const all = st.checkRuns.filter((c) => c.sha === sha);
    const runs = all.filter((c, i) => !all.slice(i + 1).some((x) => x.name === c.name)).reverse();
    const latest = new Map<string, (typeof st.statuses)[number]>();
    for (const s of st.statuses.filter((x) => x.sha === sha)) latest.set(s.context, s);
    const web = o.ctx().web;
    return {
      runs: runs.map((cr) => ({
        __typename: 'CheckRun',
        id: nodeId('CheckRun', cr.id),
        databaseId: cr.id,
        name: cr.name,
        status: upper(cr.status),
        conclusion: cr.conclusion ? upper(cr.conclusion) : null,
        startedAt: cr.startedAt,
        completedAt: cr.completedAt,
        detailsUrl: `${web}/${st.owner}/${st.repo}/runs/${cr.id}`,
        url: `${web}/${st.owner}/${st.repo}/runs/${cr.id}`,
        summary: cr.summary,
      })),
      statuses: [...latest.values()].map((s) => ({
        __typename: 'StatusContext',
        id: nodeId('StatusContext', s.id),
        context: s.context,
        state: upper(s.state),
        description: s.description,
        targetUrl: s.targetUrl,
        createdAt: s.createdAt,
      })),
    };
  }

  const FAILING = new Set(['FAILURE', 'ERROR', 'CANCELLED', 'TIMED_OUT', 'ACTION_REQUIRED', 'STARTUP_FAILURE']);
  function rollupState(items: Source[]): string {
    const outcome = (x: Source) =>
      x.__typename === 'CheckRun' ? (x.conclusion as string | null) : (x.state as string);
    if (items.some((x) => FAILING.has(outcome(x) ?? ''))) return 'FAILURE';
    if (items.some((x) => outcome(x) === null || outcome(x) === 'PENDING' || outcome(x) === 'EXPECTED'))
      return 'PENDING';
    return 'SUCCESS';
  }

  function deploymentSrc(d: DeploymentRecord): Source {
    const c = o.ctx();
    const last = d.statuses[d.statuses.length - 1];
    const src: Source = {
      __typename: 'Deployment',
      id: nodeId('Deployment', d.id),
      databaseId: d.id,
      commitOid: d.sha,
      commit: st.commits[d.sha] ? commitSrc(d.sha) : null,
      ref: refSrc(d.ref),
      task: d.task,
      environment: d.environment,
      originalEnvironment: d.originalEnvironment,
      // GitHub's schema types `payload` as a String: the JSON text.
      payload: typeof d.payload === 'string' ? d.payload : JSON.stringify(d.payload),
      description: d.description,
      createdAt: d.createdAt,
      updatedAt: d.updatedAt,
      creator: actor(c, d.creator),
      latestStatus: null,
    };
    const statusSrc = (s: DeploymentRecord['statuses'][number]): Source => ({
      __typename: 'DeploymentStatus',
      id: nodeId('DeploymentStatus', s.id),
      state: upper(s.state),
      description: s.description,
      environment: s.environment,
      logUrl: s.logUrl || null,
      environmentUrl: s.environmentUrl || null,
      createdAt: s.createdAt,
      updatedAt: s.createdAt,
      creator: actor(c, s.creator),
      deployment: src,
    });
    src.latestStatus = last ? statusSrc(last) : null;
    src.statusList = [...d.statuses].reverse().map(statusSrc);
    return src;
  }

  /** Field resolvers by type; a field missing here is read from the source object (if it has it). */
  const resolvers: Record<string, Record<string, Resolver>> = {
    Query: {
      repository: (_s, a) => {
        if (
          String(a.owner).toLowerCase() !== st.owner.toLowerCase() ||
          String(a.name).toLowerCase() !== st.repo.toLowerCase()
        )
          throw new FieldError('NOT_FOUND', `Could not resolve to a Repository with the name '${a.owner}/${a.name}'.`);
        return repoSrc();
      },
    },
    Repository: {
      name: () => st.repo,
      nameWithOwner: () => `${st.owner}/${st.repo}`,
      databaseId: () => o.ctx().repoId,
      id: () => nodeId('Repository', o.ctx().repoId),
      isPrivate: () => o.ctx().private,
      url: () => `${o.ctx().web}/${st.owner}/${st.repo}`,
      defaultBranchRef: () => refSrc(refs.defaultBranch),
      ref: (_s, a) => refSrc(String(a.qualifiedName)),
      object: (_s, a) => {
        const sha =
          typeof a.oid === 'string' ? a.oid : typeof a.expression === 'string' ? o.resolveRef(a.expression) : undefined;
        return sha && st.commits[sha] ? commitSrc(sha) : null;
      },
      environment: (_s, a) => {
        if (st.environments === 403)
          throw new FieldError('FORBIDDEN', 'Resource not accessible by integration', { saml_failure: false });
        const env = st.environments.get(String(a.name));
        if (!env) return null;
        const shape = environmentShape(o.ctx(), env);
        return {
          __typename: 'Environment',
          id: shape.node_id,
          databaseId: env.id,
          name: env.name,
          rules: shape.protection_rules.map((r) => ({
            __typename: 'DeploymentProtectionRule',
            databaseId: r.id,
            type: upper(r.type),
            ...(r.type === 'wait_timer' && 'wait_timer' in r ? { timeout: r.wait_timer } : {}),
            ...(r.type === 'required_reviewers' ? { preventSelfReview: false } : {}),
          })),
        };
      },
      deployments: (_s, a) => {
        const envs = Array.isArray(a.environments) ? (a.environments as string[]) : undefined;
        let ds = st.deployments.map((d, i) => ({ d, i })).filter(({ d }) => !envs || envs.includes(d.environment));
        const order = (a.orderBy as { direction?: string } | undefined)?.direction ?? 'ASC';
        ds = ds.sort((x, y) => x.d.createdAt.localeCompare(y.d.createdAt) || x.i - y.i);
        if (order === 'DESC') ds.reverse();
        return connection(
          ds.map(({ d }) => deploymentSrc(d)),
          a,
        );
      },
      pullRequest: (_s, a) => {
        const p = st.pulls.find((x) => x.number === a.number);
        if (!p) throw new FieldError('NOT_FOUND', `Could not resolve to a PullRequest with the number of ${a.number}.`);
        return pullSrc(p);
      },
    },
    Ref: {
      id: (s) => nodeId('Ref', `${s.prefix}${s.name}`),
      repository: () => repoSrc(),
      target: (s) => commitSrc(s.sha as string),
      refUpdateRule: (s) => {
        const p = (s.branch as GithubState['branches'][number]).protection;
        if (!p) return null;
        return {
          __typename: 'RefUpdateRule',
          pattern: s.name,
          allowsDeletions: Boolean(p.allowDeletions),
          allowsForcePushes: Boolean(p.allowForcePushes),
          requiredApprovingReviewCount: p.requiredApprovingReviewCount ?? null,
          requiredStatusCheckContexts: p.requiredStatusChecks ?? null,
          requiresCodeOwnerReviews: Boolean(p.requireCodeOwnerReviews),
          requiresLinearHistory: Boolean(p.requiredLinearHistory),
        };
      },
      rules: (s, a) => {
        const b = s.branch as GithubState['branches'][number];
        // The same rules, types and ruleset ids as GET …/rules/branches/{branch}.
        const items = branchRules(o.ctx(), b.rules ?? []).map((r) => ({
          __typename: 'RepositoryRule',
          id: nodeId('RepositoryRule', `${r.ruleset_id}:${r.type}`),
          type: upper(r.type),
          repositoryRuleset: {
            __typename: 'RepositoryRuleset',
            databaseId: r.ruleset_id,
            id: nodeId('RepositoryRuleset', r.ruleset_id),
          },
        }));
        return connection(items, a);
      },
    },
    Environment: {
      protectionRules: (s, a) => connection(s.rules as Source[], a),
    },
    Commit: {
      repository: () => repoSrc(),
      associatedPullRequests: (s, a) => {
        const sha = s.oid as string;
        // As GET …/commits/{sha}/pulls: on the default branch only merged PRs, else open ones too.
        const onDefault = st.history.includes(sha);
        const prs = st.pulls.filter((p) => p.shas.includes(sha) && (!onDefault || p.merged));
        return connection(prs.map(pullSrc), a);
      },
      statusCheckRollup: (s) => {
        const { runs, statuses } = contextsOf(s.oid as string);
        const all = [...runs, ...statuses];
        if (all.length === 0) return null;
        return {
          __typename: 'StatusCheckRollup',
          id: nodeId('StatusCheckRollup', s.oid as string),
          state: rollupState(all),
          items: all,
          commit: s,
        };
      },
      status: (s) => {
        const { statuses } = contextsOf(s.oid as string);
        if (statuses.length === 0) return null;
        return {
          __typename: 'Status',
          id: nodeId('Status', s.oid as string),
          state: rollupState(statuses),
          contexts: statuses,
          commit: s,
        };
      },
    },
    StatusCheckRollup: {
      contexts: (s, a) => connection(s.items as Source[], a),
    },
    PullRequest: {
      repository: () => repoSrc(),
      reviews: (s, a) => {
        const p = s.pull as GithubState['pulls'][number];
        const c = o.ctx();
        return connection(
          p.reviews.map((r) => ({
            __typename: 'PullRequestReview',
            id: nodeId('PullRequestReview', r.id),
            databaseId: r.id,
            author: actor(c, r.user),
            state: upper(r.state),
            body: r.body,
            submittedAt: r.submittedAt,
            createdAt: r.submittedAt,
            commit: r.commitId ? commitSrc(r.commitId) : null,
            url: `${c.web}/${st.owner}/${st.repo}/pull/${p.number}#pullrequestreview-${r.id}`,
          })),
          a,
        );
      },
    },
    Deployment: {
      repository: () => repoSrc(),
      statuses: (s, a) => connection(s.statusList as Source[], a),
    },
  };

  return { resolvers, answer };

  /** Answer one POST /graphql (auth already checked by the caller). */
  async function answer(req: SandboxRequest): Promise<Reply> {
    const now = Math.floor(Date.now() / 1000);
    if (now >= budget.reset) {
      budget.remaining = budget.limit;
      budget.reset = now + 3600;
    }
    const headers = (): Record<string, string> => ({
      'x-ratelimit-limit': String(budget.limit),
      'x-ratelimit-remaining': String(budget.remaining),
      'x-ratelimit-reset': String(budget.reset),
      'x-ratelimit-used': String(budget.limit - budget.remaining),
      'x-ratelimit-resource': 'graphql',
    });
    if (req.json === undefined)
      return { status: 400, headers: headers(), body: errorBody('Problems parsing JSON', DOCS, 400) };
    const body = req.json as { query?: unknown; variables?: unknown; operationName?: unknown };
    if (typeof body.query !== 'string' || !body.query)
      return {
        status: 200,
        headers: headers(),
        body: { errors: [{ message: 'A query attribute must be specified and must be a string.' }] },
      };

    const { gql, schema } = await githubSchema();
    let document: DocumentNode;
    try {
      document = gql.parse(body.query);
    } catch (e) {
      const err = e as GraphQLError;
      return {
        status: 200,
        headers: headers(),
        body: { errors: [{ message: err.message, locations: err.locations }] },
      };
    }
    const invalid = gql.validate(schema, document);
    if (invalid.length > 0)
      return { status: 200, headers: headers(), body: { errors: invalid.map((e) => githubValidationError(e)) } };

    const operationName = typeof body.operationName === 'string' ? body.operationName : undefined;
    const variables = (body.variables && typeof body.variables === 'object' ? body.variables : {}) as Args;
    const op = document.definitions.find(
      (d): d is OperationDefinitionNode =>
        d.kind === gql.Kind.OPERATION_DEFINITION && (!operationName || d.name?.value === operationName),
    );
    if (!op)
      return {
        status: 200,
        headers: headers(),
        body: { errors: [{ message: `No operation named "${operationName}"` }] },
      };
    const coerced = gql.getVariableValues(schema, op.variableDefinitions ?? [], variables);
    if (coerced.errors)
      return {
        status: 200,
        headers: headers(),
        body: {
          errors: coerced.errors.map((e) => ({
            message: e.message,
            locations: e.locations,
          })),
        },
      };

    // Cost and node limits, and the pagination bounds, before anything runs (GitHub's order).
    const analysis = analyse(gql, schema, document, op, coerced.coerced);
    if (analysis.errors.length > 0) return { status: 200, headers: headers(), body: { errors: analysis.errors } };
    if (analysis.nodes > MAX_NODES)
      return {
        status: 200,
        headers: headers(),
        body: {
          errors: [
            {
              message: `This query requests up to ${analysis.nodes.toLocaleString('en-US')} possible nodes which exceeds the maximum limit of 500,000.`,
              type: 'MAX_NODE_LIMIT_EXCEEDED',
            },
          ],
        },
      };
    const cost = Math.max(1, Math.round(analysis.requests / 100));
    if (budget.remaining < cost || budget.remaining === 0) {
      return {
        status: 200,
        headers: { ...headers(), 'x-ratelimit-remaining': '0' },
        body: {
          errors: [
            {
              type: 'RATE_LIMIT',
              code: 'graphql_rate_limit',
              message: `API rate limit already exceeded for installation ID ${stableId(`installation:${st.owner}`)}.`,
            },
          ],
        },
      };
    }
    budget.remaining -= cost;

    const fieldResolver: GraphQLFieldResolver<Source, unknown> = (src, args, context, info) => {
      const own = resolvers[info.parentType.name]?.[info.fieldName];
      if (own) return own(src, args);
      if (info.parentType.name === 'Query' && info.fieldName === 'rateLimit')
        return {
          __typename: 'RateLimit',
          cost,
          limit: budget.limit,
          nodeCount: analysis.nodes,
          remaining: budget.remaining,
          used: budget.limit - budget.remaining,
          resetAt: new Date(budget.reset * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        };
      if (src && typeof src === 'object' && info.fieldName in src) return src[info.fieldName];
      // Not modelled: an error naming the field, never a made-up value (nor a null GitHub would not send).
      throw new FieldError(
        'SANDBOX_NOT_MODELLED',
        `The sandbox does not model ${info.parentType.name}.${info.fieldName}`,
      );
    };
    const typeResolver: GraphQLTypeResolver<Source, unknown> = (src) => src.__typename;
    const result = await gql.execute({
      schema,
      document,
      operationName,
      variableValues: variables,
      rootValue: { __typename: 'Query' },
      fieldResolver,
      typeResolver,
    });
    const out: Record<string, unknown> = {};
    if (result.errors?.length)
      out.errors = result.errors.map((e) => {
        const orig = e.originalError;
        return orig instanceof FieldError
          ? {
              type: orig.type,
              path: e.path,
              ...(orig.extensions ? { extensions: orig.extensions } : {}),
              locations: e.locations,
              message: orig.message,
            }
          : { path: e.path, locations: e.locations, message: e.message };
      });
    out.data = result.data ?? null;
    return { status: 200, headers: headers(), body: out };
  }
}

/** graphql-js's validation message in GitHub's wording (graphql-ruby's), for the kinds a client meets. */
function githubValidationError(e: GraphQLError): Record<string, unknown> {
  const base = { locations: e.locations };
  let m = /^Cannot query field "(\w+)" on type "(\w+)"\./.exec(e.message);
  if (m)
    return {
      ...base,
      message: `Field '${m[1]}' doesn't exist on type '${m[2]}'`,
      extensions: { code: 'undefinedField', typeName: m[2], fieldName: m[1] },
    };
  m = /^Unknown argument "(\w+)" on field "(\w+)\.(\w+)"\./.exec(e.message);
  if (m)
    return {
      ...base,
      message: `Field '${m[3]}' doesn't accept argument '${m[1]}'`,
      extensions: { code: 'argumentNotAccepted', name: m[3], typeName: 'Field', argumentName: m[1] },
    };
  m = /^Field "(\w+)" argument "(\w+)" of type "[^"]+" is required, but it was not provided\./.exec(e.message);
  if (m)
    return {
      ...base,
      message: `Field '${m[1]}' is missing required arguments: ${m[2]}`,
      extensions: { code: 'missingRequiredArguments', className: 'Field', name: m[1], arguments: m[2] },
    };
  m = /^Variable "\$(\w+)" is never used/.exec(e.message);
  if (m)
    return {
      ...base,
      message: `Variable $${m[1]} is declared by anonymous query but not used`,
      extensions: { code: 'variableNotUsed', variableName: m[1] },
    };
  return { ...base, message: e.message };
}

interface Analysis {
  /** Requests needed to fill every connection (GitHub's cost formula, before dividing by 100). */
  requests: number;
  /** Nodes the call could return (the node limit). */
  nodes: number;
  errors: Record<string, unknown>[];
}

/**
 * GitHub's pre-execution analysis: each connection needs `first` or `last` (≤ 100); a connection
 * inside another is requested once per parent node (docs: "Calculating a rate limit score").
 */
function analyse(
  gql: Gql,
  schema: GraphQLSchema,
  document: DocumentNode,
  op: OperationDefinitionNode,
  variables: Record<string, unknown>,
): Analysis {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === gql.Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const out: Analysis = { requests: 0, nodes: 0, errors: [] };
  const included = (node: { directives?: readonly import('graphql').DirectiveNode[] }) => {
    for (const d of node.directives ?? []) {
      const arg = d.arguments?.find((a) => a.name.value === 'if');
      if (!arg) continue;
      const v = gql.valueFromAST(arg.value, gql.GraphQLBoolean, variables);
      if (d.name.value === 'include' && v === false) return false;
      if (d.name.value === 'skip' && v === true) return false;
    }
    return true;
  };
  const walk = (set: SelectionSetNode, type: GraphQLNamedType, mult: number, path: string[]) => {
    for (const sel of set.selections) {
      if (!included(sel)) continue;
      if (sel.kind === gql.Kind.INLINE_FRAGMENT) {
        const t = sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : type;
        if (t) walk(sel.selectionSet, t, mult, path);
        continue;
      }
      if (sel.kind === gql.Kind.FRAGMENT_SPREAD) {
        const f = fragments.get(sel.name.value);
        const t = f && schema.getType(f.typeCondition.name.value);
        if (f && t) walk(f.selectionSet, t, mult, path);
        continue;
      }
      if (!gql.isObjectType(type) && !gql.isInterfaceType(type)) continue;
      const def = type.getFields()[sel.name.value];
      if (!def) continue;
      const named = gql.getNamedType(def.type);
      const here = [...path, sel.alias?.value ?? sel.name.value];
      let childMult = mult;
      if (named.name.endsWith('Connection') && def.args.some((a) => a.name === 'first')) {
        const argOf = (name: string) => {
          const node = sel.arguments?.find((a) => a.name.value === name);
          return node
            ? (gql.valueFromAST(node.value, gql.GraphQLInt, variables) as number | null | undefined)
            : undefined;
        };
        const first = argOf('first');
        const last = argOf('last');
        const loc = sel.loc ? [gql.getLocation(sel.loc.source, sel.loc.start)] : undefined;
        if (first == null && last == null) {
          out.errors.push({
            type: 'MISSING_PAGINATION_BOUNDARIES',
            path: here,
            locations: loc,
            message: `You must provide a \`first\` or \`last\` value to properly paginate the \`${sel.name.value}\` connection.`,
          });
          continue;
        }
        for (const [k, v] of [
          ['first', first],
          ['last', last],
        ] as const)
          if (typeof v === 'number' && (v > MAX_PAGE || v < 0))
            out.errors.push({
              path: here,
              locations: loc,
              message:
                v < 0
                  ? `\`${k}\` on the \`${sel.name.value}\` connection cannot be less than zero.`
                  : `Requesting ${v} records on the \`${sel.name.value}\` connection exceeds the \`${k}\` limit of ${MAX_PAGE} records.`,
            });
        const page = Math.min(MAX_PAGE, Math.max(first ?? 0, last ?? 0));
        out.requests += mult;
        out.nodes += mult * page;
        childMult = mult * page;
      }
      if (sel.selectionSet) walk(sel.selectionSet, named, childMult, here);
    }
  };
  const root = op.operation === 'mutation' ? schema.getMutationType() : schema.getQueryType();
  if (root) walk(op.selectionSet, root, 1, []);
  return out;
}
