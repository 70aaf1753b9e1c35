/**
 * GitHub REST response objects in the shapes `@octokit/openapi` (api.github.com.json) defines:
 * every required field present, URLs built the way GitHub builds them, against the miniature's own
 * base URLs. The GitHub miniature (github.ts) owns the data; this file only renders it.
 */
import crypto from 'node:crypto';

/** Base URLs and the repository every object belongs to. */
export interface Ctx {
  /** API base (GITHUB_API_URL), no trailing slash. */
  api: string;
  /** Web base (GITHUB_SERVER_URL). */
  web: string;
  owner: string;
  repo: string;
  repoId: number;
  private: boolean;
  defaultBranch: string;
  /** ISO creation time of the repository. */
  createdAt: string;
}

/** A stable positive integer id derived from a string (logins, names). */
export function stableId(s: string, mod = 90_000_000): number {
  return (crypto.createHash('sha1').update(s).digest().readUInt32BE(0) % mod) + 1_000_000;
}

function nodeId(kind: string, id: number): string {
  return Buffer.from(`0${kind.length}:${kind}${id}`).toString('base64');
}

export function iso(msAgo = 0): string {
  return new Date(Date.now() - msAgo).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** simple-user (a bot when the login ends with `[bot]`). */
export function user(c: Ctx, login: string) {
  const id = stableId(login);
  const u = `${c.api}/users/${encodeURIComponent(login)}`;
  return {
    login,
    id,
    node_id: nodeId('User', id),
    avatar_url: `${c.web}/avatars/u/${id}?v=4`,
    gravatar_id: '',
    url: u,
    html_url: `${c.web}/${login.replace(/\[bot\]$/, '')}`,
    followers_url: `${u}/followers`,
    following_url: `${u}/following{/other_user}`,
    gists_url: `${u}/gists{/gist_id}`,
    starred_url: `${u}/starred{/owner}{/repo}`,
    subscriptions_url: `${u}/subscriptions`,
    organizations_url: `${u}/orgs`,
    repos_url: `${u}/repos`,
    events_url: `${u}/events{/privacy}`,
    received_events_url: `${u}/received_events`,
    type: login.endsWith('[bot]') ? 'Bot' : 'User',
    user_view_type: 'public',
    site_admin: false,
  };
}

/** full-repository (a superset of repository and minimal-repository). */
export function repository(c: Ctx) {
  const r = `${c.api}/repos/${c.owner}/${c.repo}`;
  const full = `${c.owner}/${c.repo}`;
  const host = new URL(c.web).host;
  return {
    id: c.repoId,
    node_id: nodeId('Repository', c.repoId),
    name: c.repo,
    full_name: full,
    private: c.private,
    owner: { ...user(c, c.owner), type: 'Organization' },
    html_url: `${c.web}/${full}`,
    description: `${c.repo} (sandbox repository)`,
    fork: false,
    url: r,
    archive_url: `${r}/{archive_format}{/ref}`,
    assignees_url: `${r}/assignees{/user}`,
    blobs_url: `${r}/git/blobs{/sha}`,
    branches_url: `${r}/branches{/branch}`,
    collaborators_url: `${r}/collaborators{/collaborator}`,
    comments_url: `${r}/comments{/number}`,
    commits_url: `${r}/commits{/sha}`,
    compare_url: `${r}/compare/{base}...{head}`,
    contents_url: `${r}/contents/{+path}`,
    contributors_url: `${r}/contributors`,
    deployments_url: `${r}/deployments`,
    downloads_url: `${r}/downloads`,
    events_url: `${r}/events`,
    forks_url: `${r}/forks`,
    git_commits_url: `${r}/git/commits{/sha}`,
    git_refs_url: `${r}/git/refs{/sha}`,
    git_tags_url: `${r}/git/tags{/sha}`,
    git_url: `git://${host}/${full}.git`,
    issue_comment_url: `${r}/issues/comments{/number}`,
    issue_events_url: `${r}/issues/events{/number}`,
    issues_url: `${r}/issues{/number}`,
    keys_url: `${r}/keys{/key_id}`,
    labels_url: `${r}/labels{/name}`,
    languages_url: `${r}/languages`,
    merges_url: `${r}/merges`,
    milestones_url: `${r}/milestones{/number}`,
    notifications_url: `${r}/notifications{?since,all,participating}`,
    pulls_url: `${r}/pulls{/number}`,
    releases_url: `${r}/releases{/id}`,
    ssh_url: `git@${host}:${full}.git`,
    stargazers_url: `${r}/stargazers`,
    statuses_url: `${r}/statuses/{sha}`,
    subscribers_url: `${r}/subscribers`,
    subscription_url: `${r}/subscription`,
    tags_url: `${r}/tags`,
    teams_url: `${r}/teams`,
    trees_url: `${r}/git/trees{/sha}`,
    clone_url: `${c.web}/${full}.git`,
    mirror_url: null,
    hooks_url: `${r}/hooks`,
    svn_url: `${c.web}/${full}`,
    homepage: null,
    language: 'TypeScript',
    forks_count: 0,
    forks: 0,
    stargazers_count: 0,
    watchers_count: 0,
    watchers: 0,
    size: 1024,
    default_branch: c.defaultBranch,
    open_issues_count: 0,
    open_issues: 0,
    is_template: false,
    topics: [],
    has_issues: true,
    has_projects: false,
    has_wiki: false,
    has_pages: false,
    has_downloads: true,
    has_discussions: false,
    archived: false,
    disabled: false,
    visibility: c.private ? 'private' : 'public',
    pushed_at: iso(600_000),
    created_at: c.createdAt,
    updated_at: iso(600_000),
    permissions: { admin: false, maintain: false, push: true, triage: true, pull: true },
    allow_rebase_merge: true,
    allow_squash_merge: true,
    allow_merge_commit: true,
    allow_auto_merge: false,
    delete_branch_on_merge: true,
    allow_forking: false,
    web_commit_signoff_required: false,
    license: null,
    network_count: 0,
    subscribers_count: 1,
  };
}

export interface CommitInfo {
  sha: string;
  message: string;
  author: string;
  parents: string[];
  /** ISO time. */
  date: string;
}

/** commit (as in branch-with-protection and commit-comparison). */
export function commit(c: Ctx, ci: CommitInfo) {
  const r = `${c.api}/repos/${c.owner}/${c.repo}`;
  const person = { name: ci.author, email: `${ci.author}@users.noreply.sandbox`, date: ci.date };
  return {
    url: `${r}/commits/${ci.sha}`,
    sha: ci.sha,
    node_id: nodeId('Commit', stableId(ci.sha)),
    html_url: `${c.web}/${c.owner}/${c.repo}/commit/${ci.sha}`,
    comments_url: `${r}/commits/${ci.sha}/comments`,
    commit: {
      url: `${r}/git/commits/${ci.sha}`,
      author: person,
      committer: person,
      message: ci.message,
      comment_count: 0,
      tree: { sha: crypto.createHash('sha1').update(`tree:${ci.sha}`).digest('hex'), url: `${r}/git/trees/${ci.sha}` },
      verification: { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null },
    },
    author: user(c, ci.author),
    committer: user(c, 'web-flow'),
    parents: ci.parents.map((p) => ({
      sha: p,
      url: `${r}/commits/${p}`,
      html_url: `${c.web}/${c.owner}/${c.repo}/commit/${p}`,
    })),
  };
}

export interface PullInfo {
  number: number;
  title: string;
  author: string;
  state: 'open' | 'closed';
  merged: boolean;
  draft: boolean;
  base: string;
  baseSha: string;
  head: string;
  headSha: string;
  mergeCommitSha: string | null;
  body: string | null;
  labels: string[];
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  mergedAt: string | null;
  mergedBy: string | null;
  commits: number;
  comments: number;
  reviewComments: number;
}

function label(c: Ctx, name: string) {
  const id = stableId(`label:${name}`);
  return {
    id,
    node_id: nodeId('Label', id),
    url: `${c.api}/repos/${c.owner}/${c.repo}/labels/${encodeURIComponent(name)}`,
    name,
    description: '',
    color: crypto.createHash('md5').update(name).digest('hex').slice(0, 6),
    default: false,
  };
}

/** pull-request-simple, or the full pull-request when `full`. */
export function pullRequest(c: Ctx, p: PullInfo, full: boolean) {
  const r = `${c.api}/repos/${c.owner}/${c.repo}`;
  const id = stableId(`pr:${c.repoId}:${p.number}`);
  const html = `${c.web}/${c.owner}/${c.repo}/pull/${p.number}`;
  const side = (ref: string, sha: string) => ({
    label: `${c.owner}:${ref}`,
    ref,
    sha,
    user: user(c, c.owner),
    repo: repository(c),
  });
  const simple = {
    url: `${r}/pulls/${p.number}`,
    id,
    node_id: nodeId('PullRequest', id),
    html_url: html,
    diff_url: `${html}.diff`,
    patch_url: `${html}.patch`,
    issue_url: `${r}/issues/${p.number}`,
    commits_url: `${r}/pulls/${p.number}/commits`,
    review_comments_url: `${r}/pulls/${p.number}/comments`,
    review_comment_url: `${r}/pulls/comments{/number}`,
    comments_url: `${r}/issues/${p.number}/comments`,
    statuses_url: `${r}/statuses/${p.headSha}`,
    number: p.number,
    state: p.state,
    locked: false,
    title: p.title,
    user: user(c, p.author),
    body: p.body,
    labels: p.labels.map((l) => label(c, l)),
    milestone: null,
    active_lock_reason: null,
    created_at: p.createdAt,
    updated_at: p.updatedAt,
    closed_at: p.closedAt,
    merged_at: p.mergedAt,
    merge_commit_sha: p.mergeCommitSha,
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    requested_teams: [],
    head: side(p.head, p.headSha),
    base: side(p.base, p.baseSha),
    _links: {
      self: { href: `${r}/pulls/${p.number}` },
      html: { href: html },
      issue: { href: `${r}/issues/${p.number}` },
      comments: { href: `${r}/issues/${p.number}/comments` },
      review_comments: { href: `${r}/pulls/${p.number}/comments` },
      review_comment: { href: `${r}/pulls/comments{/number}` },
      commits: { href: `${r}/pulls/${p.number}/commits` },
      statuses: { href: `${r}/statuses/${p.headSha}` },
    },
    author_association: authorAssociation(c, p.author),
    auto_merge: null,
    draft: p.draft,
  };
  if (!full) return simple;
  return {
    ...simple,
    merged: p.merged,
    mergeable: p.state === 'open' ? true : null,
    rebaseable: p.state === 'open' ? true : null,
    mergeable_state: p.state === 'open' ? 'clean' : 'unknown',
    merged_by: p.mergedBy ? user(c, p.mergedBy) : null,
    comments: p.comments,
    review_comments: p.reviewComments,
    maintainer_can_modify: false,
    commits: p.commits,
    additions: 10 * p.commits,
    deletions: 2 * p.commits,
    changed_files: p.commits,
  };
}

export function authorAssociation(c: Ctx, login: string): string {
  if (login === c.owner) return 'OWNER';
  if (login.endsWith('[bot]')) return 'NONE';
  return 'MEMBER';
}

export interface ReviewInfo {
  id: number;
  user: string;
  state: string;
  body: string;
  commitId: string | null;
  submittedAt: string;
}

/** pull-request-review */
export function review(c: Ctx, prNumber: number, rv: ReviewInfo) {
  const html = `${c.web}/${c.owner}/${c.repo}/pull/${prNumber}#pullrequestreview-${rv.id}`;
  return {
    id: rv.id,
    node_id: nodeId('PullRequestReview', rv.id),
    user: user(c, rv.user),
    body: rv.body,
    state: rv.state,
    html_url: html,
    pull_request_url: `${c.api}/repos/${c.owner}/${c.repo}/pulls/${prNumber}`,
    _links: { html: { href: html }, pull_request: { href: `${c.api}/repos/${c.owner}/${c.repo}/pulls/${prNumber}` } },
    submitted_at: rv.state === 'PENDING' ? undefined : rv.submittedAt,
    commit_id: rv.commitId,
    author_association: authorAssociation(c, rv.user),
  };
}

/** integration (the GitHub App behind a check run). */
export function app(c: Ctx, slug: string) {
  const id = stableId(`app:${slug}`, 900_000);
  return {
    id,
    slug,
    client_id: `Iv1.${crypto.createHash('md5').update(slug).digest('hex').slice(0, 16)}`,
    node_id: nodeId('App', id),
    owner: user(c, slug === 'github-actions' ? 'github' : c.owner),
    name: slug === 'github-actions' ? 'GitHub Actions' : slug,
    description: slug === 'github-actions' ? 'Automate your workflow from idea to production' : null,
    external_url: `${c.web}/features/actions`,
    html_url: `${c.web}/apps/${slug}`,
    created_at: '2018-07-30T09:30:17Z',
    updated_at: '2024-04-10T20:33:16Z',
    permissions: { actions: 'write', checks: 'write', contents: 'write', deployments: 'write', statuses: 'write' },
    events: ['check_run', 'check_suite', 'deployment', 'push', 'pull_request', 'workflow_run'],
  };
}

export interface CheckRunInfo {
  id: number;
  name: string;
  sha: string;
  status: string;
  conclusion: string | null;
  startedAt: string | null;
  completedAt: string | null;
  app: string;
  summary: string | null;
  suiteId: number;
}

/** check-run */
export function checkRun(c: Ctx, cr: CheckRunInfo) {
  const r = `${c.api}/repos/${c.owner}/${c.repo}`;
  const html = `${c.web}/${c.owner}/${c.repo}/runs/${cr.id}`;
  return {
    id: cr.id,
    head_sha: cr.sha,
    node_id: nodeId('CheckRun', cr.id),
    external_id: String(cr.id),
    url: `${r}/check-runs/${cr.id}`,
    html_url: html,
    details_url: html,
    status: cr.status,
    conclusion: cr.conclusion,
    started_at: cr.startedAt,
    completed_at: cr.completedAt,
    output: {
      title: cr.conclusion ? `${cr.name}: ${cr.conclusion}` : null,
      summary: cr.summary,
      text: null,
      annotations_count: 0,
      annotations_url: `${r}/check-runs/${cr.id}/annotations`,
    },
    name: cr.name,
    check_suite: { id: cr.suiteId },
    app: app(c, cr.app),
    pull_requests: [],
  };
}

export interface StatusInfo {
  id: number;
  context: string;
  state: string;
  description: string | null;
  targetUrl: string | null;
  createdAt: string;
  updatedAt: string;
}

/** simple-commit-status */
export function commitStatus(c: Ctx, sha: string, s: StatusInfo) {
  return {
    url: `${c.api}/repos/${c.owner}/${c.repo}/statuses/${sha}`,
    avatar_url: `${c.web}/avatars/u/${stableId(s.context)}?v=4`,
    id: s.id,
    node_id: nodeId('StatusContext', s.id),
    state: s.state,
    description: s.description,
    target_url: s.targetUrl,
    context: s.context,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
    required: false,
  };
}

/** combined-commit-status */
export function combinedStatus(c: Ctx, sha: string, state: string, statuses: StatusInfo[], total: number) {
  const r = `${c.api}/repos/${c.owner}/${c.repo}`;
  return {
    state,
    statuses: statuses.map((s) => commitStatus(c, sha, s)),
    sha,
    total_count: total,
    repository: repository(c),
    commit_url: `${r}/commits/${sha}`,
    url: `${r}/commits/${sha}/status`,
  };
}

/** A GitHub error body: `{message, documentation_url, status}` as the REST API sends it. */
export function errorBody(message: string, doc = 'https://docs.github.com/rest', status?: number) {
  return { message, documentation_url: doc, ...(status ? { status: String(status) } : {}) };
}
