/**
 * GitHub miniature helpers: pagination (`page`/`per_page` with a `Link` header, and Dependabot's
 * cursors), issue comments, and compare over the commit graph.
 */
import type { SandboxRequest, SandboxResponse } from '../core/service.ts';
import { type Ctx, commit, errorBody } from './github-shapes.ts';
import { issueComment } from './github-records.ts';
import { type GithubState, ancestors } from './github-state.ts';

type Reply = SandboxResponse;
const DOCS = 'https://docs.github.com/rest';
const notFound = (doc = DOCS): Reply => ({ status: 404, body: errorBody('Not Found', doc, 404) });

/** Page a list: `per_page` (default 30, max 100), `page` (1-based), and a `Link` header like GitHub's. */
export function paginate<T>(c: Ctx, req: SandboxRequest, items: T[]): { items: T[]; headers: Record<string, string> } {
  const perPage = Math.min(100, Math.max(1, Number(req.url.searchParams.get('per_page') ?? 30) || 30));
  const page = Math.max(1, Number(req.url.searchParams.get('page') ?? 1) || 1);
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const link = (p: number, rel: string) => {
    const u = new URL(c.api + req.path);
    for (const [k, v] of req.url.searchParams) u.searchParams.set(k, v);
    u.searchParams.set('page', String(p));
    return `<${u.toString()}>; rel="${rel}"`;
  };
  const rels: string[] = [];
  if (page > 1) rels.push(link(page - 1, 'prev'));
  if (page < last) rels.push(link(page + 1, 'next'), link(last, 'last'));
  if (page > 1) rels.push(link(1, 'first'));
  return {
    items: items.slice((page - 1) * perPage, page * perPage),
    headers: rels.length ? { link: rels.join(', ') } : {},
  };
}

/** A paginated 200 list. */
export function list<T>(c: Ctx, req: SandboxRequest, items: T[]): Reply {
  const p = paginate(c, req, items);
  return { status: 200, headers: p.headers, body: p.items };
}

const issueExists = (st: GithubState, n: number) =>
  st.pulls.some((p) => p.number === n) || st.comments.some((c) => c.issue === n);

/** GET …/issues/{n}/comments (`since` filter, paginated). */
export function listComments(c0: Ctx, st: GithubState, req: SandboxRequest, n: number): Reply {
  if (!issueExists(st, n)) return notFound(`${DOCS}/issues/comments#list-issue-comments`);
  const since = req.url.searchParams.get('since');
  const items = st.comments.filter((c) => c.issue === n && (!since || c.updatedAt >= since));
  return list(
    c0,
    req,
    items.map((c) => issueComment(c0, c)),
  );
}

/** POST …/issues/{n}/comments (issue set) or PATCH …/issues/comments/{id} (id set). */
export function writeComment(
  c0: Ctx,
  st: GithubState,
  req: SandboxRequest,
  issue: number | undefined,
  id: number | undefined,
): Reply {
  const doc = `${DOCS}/issues/comments#${id ? 'update-an-issue-comment' : 'create-an-issue-comment'}`;
  const body = (req.json as { body?: unknown } | undefined)?.body;
  if (typeof body !== 'string')
    return {
      status: 422,
      body: { message: 'Invalid request.\n\n"body" wasn\'t supplied.', documentation_url: doc, status: '422' },
    };
  if (body.length > 65_536)
    return {
      status: 422,
      body: {
        message: 'Validation Failed',
        errors: [
          {
            resource: 'IssueComment',
            code: 'custom',
            field: 'body',
            message: 'body is too long (maximum is 65536 characters)',
          },
        ],
        documentation_url: doc,
        status: '422',
      },
    };
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (id !== undefined) {
    const c = st.comments.find((x) => x.id === id);
    if (!c) return notFound(doc);
    c.body = body;
    c.updatedAt = now;
    return { status: 200, body: issueComment(c0, c) };
  }
  if (!issueExists(st, issue!)) return notFound(doc);
  const c = { id: st.nextId++, issue: issue!, body, user: 'github-actions[bot]', createdAt: now, updatedAt: now };
  st.comments.push(c);
  return {
    status: 201,
    headers: { location: `${c0.api}/repos/${st.owner}/${st.repo}/issues/comments/${c.id}` },
    body: issueComment(c0, c),
  };
}

/** GET …/compare/{base}...{head} over the miniature's commit graph. */
export function compare(
  c0: Ctx,
  st: GithubState,
  req: SandboxRequest,
  resolveRef: (ref: string) => string | undefined,
  baseRef: string,
  headRef: string,
): Reply {
  const base = resolveRef(decodeURIComponent(baseRef));
  const head = resolveRef(decodeURIComponent(headRef));
  if (!base || !head) return notFound(`${DOCS}/commits/commits#compare-two-commits`);
  const ha = ancestors(st, head);
  const ba = ancestors(st, base);
  const mergeBase = ha.find((s) => ba.includes(s)) ?? base;
  const ahead = ha.filter((s) => !ba.includes(s)).reverse();
  const behind = ba.filter((s) => !ha.includes(s));
  const status =
    base === head ? 'identical' : behind.length === 0 ? 'ahead' : ahead.length === 0 ? 'behind' : 'diverged';
  const r = `${c0.api}/repos/${st.owner}/${st.repo}`;
  const w = `${c0.web}/${st.owner}/${st.repo}`;
  const spec = `${baseRef}...${headRef}`;
  const p = paginate(c0, req, ahead);
  return {
    status: 200,
    headers: p.headers,
    body: {
      url: `${r}/compare/${spec}`,
      html_url: `${w}/compare/${spec}`,
      permalink_url: `${w}/compare/${st.owner}:${base.slice(0, 7)}...${st.owner}:${head.slice(0, 7)}`,
      diff_url: `${w}/compare/${spec}.diff`,
      patch_url: `${w}/compare/${spec}.patch`,
      base_commit: commit(c0, st.commits[base]!),
      merge_base_commit: commit(c0, st.commits[mergeBase]!),
      status,
      ahead_by: ahead.length,
      behind_by: behind.length,
      total_commits: ahead.length,
      commits: p.items.map((s) => commit(c0, st.commits[s]!)),
      files: [],
    },
  };
}

/** Cursor pagination (Dependabot): `per_page`, `after`/`before` cursors, `Link` with rel next/prev. */
export function cursorList<T>(c: Ctx, req: SandboxRequest, items: T[]): Reply {
  const q = req.url.searchParams;
  const perPage = Math.min(100, Math.max(1, Number(q.get('per_page') ?? 30) || 30));
  const decode = (s: string | null) =>
    s ? Number(Buffer.from(s, 'base64url').toString('utf8').replace(/^i:/, '')) : NaN;
  const encode = (i: number) => Buffer.from(`i:${i}`).toString('base64url');
  let start = 0;
  if (q.get('after')) start = decode(q.get('after')) + 1;
  else if (q.get('before')) start = Math.max(0, decode(q.get('before')) - perPage);
  if (!Number.isFinite(start)) return { status: 400, body: errorBody('Invalid cursor', DOCS, 400) };
  const page = items.slice(start, start + perPage);
  const rels: string[] = [];
  const link = (k: string, v: string, rel: string) => {
    const u = new URL(c.api + req.path);
    for (const [kk, vv] of q) if (kk !== 'after' && kk !== 'before') u.searchParams.set(kk, vv);
    u.searchParams.set(k, v);
    return `<${u.toString()}>; rel="${rel}"`;
  };
  if (start + perPage < items.length) rels.push(link('after', encode(start + perPage - 1), 'next'));
  if (start > 0) rels.push(link('before', encode(start), 'prev'));
  return { status: 200, headers: rels.length ? { link: rels.join(', ') } : {}, body: page };
}
