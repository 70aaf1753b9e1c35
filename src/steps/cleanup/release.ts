/**
 * Cleanup decisions, pure: which old production deployments `keep-deployments` deletes (never green,
 * never the rollback target, never one a GitHub record still points to as current, never one newer
 * than green), what shipped between blue's commit and green's, and the words of the final records.
 */

/** A Vercel production deployment as the deletion plan sees it. */
export interface DeploymentItem {
  id: string;
  createdAt: number;
  state: string;
}

export interface DeletionPlan {
  /** Kept: the newest `keep` earlier deployments, and every protected one. */
  keep: { id: string; why: string }[];
  /** To delete, oldest last. */
  remove: DeploymentItem[];
}

/** States after which a deployment will not change (others may belong to a build in flight). */
const SETTLED = new Set(['READY', 'ERROR', 'CANCELED']);

/**
 * Plan `keep-deployments: keep`. `keep <= 0` deletes nothing. `protectedIds` maps ids that must stay
 * to the reason (green, the rollback target, current GitHub records); deployments newer than green,
 * or not settled, are never touched. At most `maxDeletes` per run, so one run's API budget is bounded
 * (the rest goes at the next deploy).
 */
export function planDeletions(
  deployments: readonly DeploymentItem[],
  opts: {
    keep: number;
    greenId: string;
    greenCreatedAt?: number;
    protectedIds: ReadonlyMap<string, string>;
    maxDeletes?: number;
  },
): DeletionPlan {
  const plan: DeletionPlan = { keep: [], remove: [] };
  if (opts.keep <= 0) return plan;
  const max = opts.maxDeletes ?? 20;
  const earlier = [...deployments]
    .filter((d) => d.id !== opts.greenId)
    .filter((d) => opts.greenCreatedAt === undefined || d.createdAt < opts.greenCreatedAt)
    .filter((d) => SETTLED.has(d.state.toUpperCase()))
    .sort((a, b) => b.createdAt - a.createdAt);
  let kept = 0;
  for (const d of earlier) {
    const why = opts.protectedIds.get(d.id);
    if (why) {
      plan.keep.push({ id: d.id, why });
      continue;
    }
    if (kept < opts.keep) {
      kept += 1;
      plan.keep.push({ id: d.id, why: `one of the ${opts.keep} kept (keep-deployments)` });
      continue;
    }
    if (plan.remove.length < max) plan.remove.push(d);
  }
  return plan;
}

/** What shipped: commits (oldest first) and the PRs they came from. */
export interface Shipped {
  commits: { sha: string; message: string }[];
  pulls: { number: number }[];
  /** Commits between the two (GitHub's `ahead_by`). */
  total: number;
  compareUrl: string;
  base: string;
  head: string;
}

/**
 * PR numbers named by commit subjects: GitHub's squash (`Title (#12)`) and merge
 * (`Merge pull request #12 from …`) conventions. `extra` (the PR pre-flight found) comes first.
 */
export function pullNumbers(messages: readonly string[], extra?: number): number[] {
  const out: number[] = extra !== undefined ? [extra] : [];
  for (const m of messages) {
    const subject = m.split('\n', 1)[0] ?? '';
    const merge = /^Merge pull request #(\d+)\b/.exec(subject);
    const squash = /\(#(\d+)\)\s*$/.exec(subject);
    const n = Number((merge ?? squash)?.[1]);
    if (Number.isInteger(n) && n > 0 && !out.includes(n)) out.push(n);
  }
  return out;
}

/** One line for the GitHub deployment status (≤ 140 characters): what is live and what shipped. */
export function successDescription(sha: string, shipped: Shipped | undefined): string {
  let text = `Live: ${sha.slice(0, 7)}`;
  if (shipped) {
    text += `, ${shipped.total} new commit${shipped.total === 1 ? '' : 's'}`;
    const prs = shipped.pulls.map((p) => `#${p.number}`);
    for (const pr of prs) {
      const next = `${text}${text.includes(' PRs ') ? ' ' : '; PRs '}${pr}`;
      if (next.length > 136) {
        text += ' …';
        break;
      }
      text = next;
    }
  }
  return text.slice(0, 140);
}

/** A DORA deployment id (16–128 chars of [A-Za-z0-9-_.:]) that is the same for a re-sent record of one run attempt. */
export function doraId(parts: {
  owner: string;
  repo: string;
  environment: string;
  runId: string;
  runAttempt: number;
}): string {
  const raw = `production-deploy:${parts.owner}.${parts.repo}:${parts.environment}:${parts.runId}.${parts.runAttempt}`;
  const clean = raw.replace(/[^A-Za-z0-9\-_.:]/g, '-');
  return clean.padEnd(16, '0').slice(0, 128);
}
