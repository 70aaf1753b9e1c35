/**
 * The GitHub miniature's data: built once from the scenario, mutated by the API (deployments,
 * statuses, comments), JSON-serialisable so `/_sandbox/state` can show it. Also the small commit
 * graph (default-branch history plus PR heads) used to resolve refs and compare commits.
 */
import crypto from 'node:crypto';
import type { Scenario } from '../core/scenario.ts';
import type { CheckRunInfo, CommitInfo, PullInfo, ReviewInfo, StatusInfo } from './github-shapes.ts';
import type {
  CodeScanningInfo,
  CommentRecord,
  DependabotInfo,
  DeploymentRecord,
  DeploymentStatusRecord,
} from './github-records.ts';

export interface TimedCheckRun extends CheckRunInfo {
  /** ms since epoch when a pending run completes with `finalConclusion`. */
  completeAt?: number;
  finalConclusion?: string;
}

export interface TimedStatus extends StatusInfo {
  sha: string;
  completeAt?: number;
  finalState?: string;
}

export interface GithubState {
  owner: string;
  repo: string;
  token: string;
  startedAt: number;
  commits: Record<string, CommitInfo>;
  /** Default-branch history, oldest first. */
  history: string[];
  branches: Scenario['repo']['branches'];
  pulls: Array<PullInfo & { shas: string[]; reviews: ReviewInfo[] }>;
  checkRuns: TimedCheckRun[];
  statuses: TimedStatus[];
  codeScanning: CodeScanningInfo[] | 403 | 404;
  dependabot: DependabotInfo[] | 403 | 404;
  deployments: DeploymentRecord[];
  comments: CommentRecord[];
  /** Deployment environments by name, or 403 (the token may not read them). */
  environments: Map<string, EnvironmentRecord> | 403;
  nextId: number;
  rateLimitRemaining: number;
  rateLimitReset: number;
}

export interface EnvironmentRecord {
  id: number;
  name: string;
  createdAt: string;
  rules: ('required_reviewers' | 'wait_timer' | 'branch_policy')[];
  branchPolicy: { protected_branches: boolean; custom_branch_policies: boolean } | null;
}

const iso = (msAgo: number) => new Date(Date.now() - msAgo).toISOString().replace(/\.\d{3}Z$/, 'Z');

function fakeSha(seed: string): string {
  return crypto.createHash('sha1').update(seed).digest('hex');
}

/** Build the GitHub state from a scenario. */
export function initGithubState(s: Scenario): GithubState {
  let nextId = 1_000_001;
  const id = () => nextId++;
  const now = Date.now();
  const commits: Record<string, CommitInfo> = {};
  const history = s.repo.commits.map((c) => c.sha);
  s.repo.commits.forEach((c, i) => {
    commits[c.sha] = {
      sha: c.sha,
      message: c.message,
      author: c.author ?? s.run.actor,
      parents: i > 0 ? [s.repo.commits[i - 1]!.sha] : [],
      date: iso((c.agoSeconds ?? (s.repo.commits.length - i) * 3600) * 1000),
    };
  });
  const defaultHead = history[history.length - 1] ?? s.run.sha;
  const ensure = (sha: string, parent: string | undefined, message: string, author: string) => {
    if (!commits[sha]) commits[sha] = { sha, message, author, parents: parent ? [parent] : [], date: iso(1800_000) };
  };
  ensure(
    s.run.sha,
    defaultHead === s.run.sha ? undefined : defaultHead,
    `Run commit ${s.run.sha.slice(0, 7)}`,
    s.run.actor,
  );
  const pulls = s.github.pulls.map((p) => {
    const mergeIdx = p.mergeCommitSha ? history.indexOf(p.mergeCommitSha) : -1;
    const baseSha = mergeIdx > 0 ? history[mergeIdx - 1]! : defaultHead;
    ensure(p.headSha, baseSha, p.title, p.author);
    if (mergeIdx >= 0 && p.mergeCommitSha) {
      const mc = commits[p.mergeCommitSha]!;
      if (!mc.parents.includes(p.headSha)) mc.parents = [...mc.parents, p.headSha];
    } else if (p.mergeCommitSha) ensure(p.mergeCommitSha, baseSha, `Merge pull request #${p.number}`, p.author);
    const shas = [p.headSha, ...(p.mergeCommitSha ? [p.mergeCommitSha] : []), ...(p.commits ?? [])];
    const reviews: ReviewInfo[] = p.reviews.map((r, i) => ({
      id: id(),
      user: r.user,
      state: r.state,
      body: r.body ?? (r.state === 'CHANGES_REQUESTED' ? 'Please fix the failing test first.' : ''),
      commitId: r.commitId ?? p.headSha,
      submittedAt: iso((r.agoSeconds ?? 3600 - i * 60) * 1000),
    }));
    const created = iso(86_400_000);
    const closedAt = p.state === 'closed' ? iso(1800_000) : null;
    return {
      number: p.number,
      title: p.title,
      author: p.author,
      state: p.state,
      merged: p.merged,
      draft: Boolean(p.draft),
      base: p.base,
      baseSha,
      head: p.head,
      headSha: p.headSha,
      mergeCommitSha: p.mergeCommitSha ?? null,
      body: p.body ?? null,
      labels: p.labels ?? [],
      createdAt: created,
      updatedAt: closedAt ?? iso(3600_000),
      closedAt,
      mergedAt: p.merged ? closedAt : null,
      mergedBy: p.merged ? s.run.actor : null,
      commits: Math.max(1, (p.commits ?? []).length),
      comments: 0,
      reviewComments: 0,
      shas,
      reviews,
    };
  });
  for (const b of s.repo.branches) if (b.sha) ensure(b.sha, defaultHead, `Head of ${b.name}`, s.run.actor);
  const suiteId = id();
  const checkRuns: TimedCheckRun[] = s.github.checkRuns.map((c) => {
    const pending = c.completeAfterMs !== undefined;
    const status = pending ? (c.status ?? 'in_progress') : (c.status ?? 'completed');
    return {
      id: id(),
      name: c.name,
      sha: c.sha ?? s.run.sha,
      status,
      conclusion: status === 'completed' ? (c.conclusion ?? 'success') : null,
      startedAt: iso(600_000),
      completedAt: status === 'completed' ? iso(300_000) : null,
      app: c.app ?? 'github-actions',
      summary: c.summary ?? null,
      suiteId,
      ...(pending ? { completeAt: now + c.completeAfterMs!, finalConclusion: c.conclusion ?? 'success' } : {}),
    };
  });
  const statuses: TimedStatus[] = s.github.statuses.map((st) => ({
    id: id(),
    sha: st.sha ?? s.run.sha,
    context: st.context,
    state: st.state,
    description: st.description ?? null,
    targetUrl: st.targetUrl ?? null,
    createdAt: iso(600_000),
    updatedAt: iso(600_000),
    ...(st.completeAfterMs !== undefined
      ? { completeAt: now + st.completeAfterMs, finalState: st.finalState ?? 'success' }
      : {}),
  }));
  const codeScanning = Array.isArray(s.github.codeScanning)
    ? s.github.codeScanning.map((a, i) => ({
        number: a.number ?? i + 1,
        ruleId: a.ruleId,
        description: a.description ?? a.ruleId,
        severity: a.severity,
        state: a.state ?? 'open',
        tool: a.tool ?? 'CodeQL',
        path: a.path ?? 'src/index.ts',
        sha: s.run.sha,
        ref: `refs/heads/${s.repo.defaultBranch}`,
        createdAt: iso((i + 2) * 86_400_000),
      }))
    : s.github.codeScanning;
  const dependabot = Array.isArray(s.github.dependabot)
    ? s.github.dependabot.map((a, i) => ({
        number: a.number ?? i + 1,
        package: a.package,
        ecosystem: a.ecosystem ?? 'npm',
        severity: a.severity,
        state: a.state ?? 'open',
        summary: a.summary ?? `Vulnerability in ${a.package}`,
        ghsaId: a.ghsaId ?? `GHSA-${fakeSha(a.package).slice(0, 4)}-${fakeSha(a.package).slice(4, 8)}-sbx${i}`,
        cveId: a.cveId ?? null,
        manifest: a.manifest ?? 'package-lock.json',
        createdAt: iso((i + 3) * 86_400_000),
      }))
    : s.github.dependabot;
  const deployments: DeploymentRecord[] = s.github.deployments.map((d) => {
    const created = iso((d.agoSeconds ?? 86_400) * 1000);
    const depId = d.id ?? id();
    const statusesOf: DeploymentStatusRecord[] = (d.statuses ?? []).map((st, i) => ({
      id: id(),
      state: st.state,
      description: st.description ?? '',
      environment: d.environment,
      targetUrl: st.logUrl ?? '',
      logUrl: st.logUrl ?? '',
      environmentUrl: st.environmentUrl ?? '',
      creator: d.creator ?? 'github-actions[bot]',
      createdAt: iso(Math.max(0, st.agoSeconds ?? (d.agoSeconds ?? 86_400) - (i + 1) * 60) * 1000),
    }));
    return {
      id: depId,
      sha: d.sha,
      ref: d.ref,
      task: d.task ?? 'deploy',
      environment: d.environment,
      originalEnvironment: d.environment,
      description: d.description ?? null,
      creator: d.creator ?? 'github-actions[bot]',
      payload: d.payload ?? {},
      transient: false,
      production: d.environment === 'production',
      createdAt: created,
      updatedAt: statusesOf.length ? statusesOf[statusesOf.length - 1]!.createdAt : created,
      statuses: statusesOf,
    };
  });
  for (const d of deployments) nextId = Math.max(nextId, d.id + 1);
  const comments: CommentRecord[] = s.github.comments.map((c) => ({
    id: id(),
    issue: c.issue,
    body: c.body,
    user: c.user,
    createdAt: iso(7200_000),
    updatedAt: iso(7200_000),
  }));
  const envs = s.github.environments ?? [{ name: 'production', protection_rules: ['required_reviewers'] }];
  const environments =
    envs === 403
      ? 403
      : new Map(
          envs.map((e): [string, EnvironmentRecord] => [
            e.name,
            {
              id: id(),
              name: e.name,
              createdAt: iso(30 * 86_400_000),
              rules: e.protection_rules ?? [],
              branchPolicy: e.deployment_branch_policy ?? null,
            },
          ]),
        );
  return {
    owner: s.repo.owner,
    repo: s.repo.name,
    token: s.github.token,
    startedAt: now,
    commits,
    history,
    branches: s.repo.branches,
    pulls,
    checkRuns,
    statuses,
    codeScanning,
    dependabot,
    deployments,
    comments,
    environments,
    nextId,
    rateLimitRemaining: 5000,
    rateLimitReset: Math.floor(now / 1000) + 3600,
  };
}

/** Settle pending checks and statuses whose time has come. */
export function settle(st: GithubState, now = Date.now()): void {
  for (const c of st.checkRuns) {
    if (c.completeAt !== undefined && now >= c.completeAt) {
      c.status = 'completed';
      c.conclusion = c.finalConclusion ?? 'success';
      c.completedAt = new Date(c.completeAt).toISOString().replace(/\.\d{3}Z$/, 'Z');
      delete c.completeAt;
    }
  }
  for (const s of st.statuses) {
    if (s.completeAt !== undefined && now >= s.completeAt) {
      s.state = s.finalState ?? 'success';
      s.updatedAt = new Date(s.completeAt).toISOString().replace(/\.\d{3}Z$/, 'Z');
      delete s.completeAt;
    }
  }
}

/** A branch's head: its scenario sha, else the default head (default branch) or the run's sha. */
export function branchSha(
  st: GithubState,
  s: { defaultBranch: string; runBranch: string; runSha: string },
  name: string,
) {
  const b = st.branches.find((x) => x.name === name);
  if (!b) return undefined;
  if (b.sha) return b.sha;
  if (name === s.runBranch) return s.runSha;
  return st.history[st.history.length - 1] ?? s.runSha;
}

/** All ancestors of a commit (itself included), breadth first. */
export function ancestors(st: GithubState, sha: string): string[] {
  const out: string[] = [];
  const queue = [sha];
  const seen = new Set<string>();
  while (queue.length) {
    const cur = queue.shift()!;
    if (seen.has(cur) || !st.commits[cur]) continue;
    seen.add(cur);
    out.push(cur);
    queue.push(...st.commits[cur]!.parents);
  }
  return out;
}
