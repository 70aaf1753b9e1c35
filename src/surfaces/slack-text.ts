/**
 * The text pieces of the run's Slack message: escaping and bounding remote or user text, "what
 * shipped", and the thread replies. Pure; slack-message.ts re-exports them.
 */
import type { RunStatus } from '../pipeline/types.js';

/** What shipped: commits and PRs between blue's commit and green's (cleanup's `details.shipped`). */
export interface ShippedView {
  commits: { sha: string; message: string }[];
  pulls: { number: number; title?: string }[];
  /** Commits in the comparison (may exceed the listed ones). */
  total: number;
  compareUrl?: string;
}

/** Escape text for Slack mrkdwn: `&`, `<`, `>` (which also stops `<!channel>`-style mentions). */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Shorten to `max` characters on one line. */
export function clip(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Bound a multi-line text to `max` characters, keeping its line breaks. */
export function bound(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** "What shipped" as mrkdwn: PR links, then up to 10 commits (first line of each message). */
export function shippedText(s: ShippedView, repoUrl: string): string {
  const parts: string[] = [`*What shipped* (${s.total} commit${s.total === 1 ? '' : 's'})`];
  if (s.pulls.length > 0) {
    parts.push(
      s.pulls
        .slice(0, 20)
        .map((p) => `<${repoUrl}/pull/${p.number}|#${p.number}>${p.title ? ` ${escapeMrkdwn(clip(p.title, 80))}` : ''}`)
        .join('\n'),
    );
  }
  for (const c of s.commits.slice(0, 10)) {
    const first = c.message.split('\n', 1)[0] ?? '';
    parts.push(`• <${repoUrl}/commit/${c.sha}|${c.sha.slice(0, 7)}> ${escapeMrkdwn(clip(first, 100))}`);
  }
  if (s.commits.length > 10 || s.total > s.commits.length) {
    parts.push(s.compareUrl ? `<${s.compareUrl}|all changes>` : `and ${s.total - Math.min(10, s.commits.length)} more`);
  }
  return bound(parts.join('\n'), 3000);
}

/** The thread reply for a run that did not succeed (no-go, failed, rolled back); undefined otherwise. */
export function threadReply(status: RunStatus | 'running', reason: string): string | undefined {
  if (status === 'no-go') return `:no_entry: *No-go*: ${escapeMrkdwn(clip(reason, 2500))}`;
  if (status === 'failed') return `:x: *Failed*: ${escapeMrkdwn(clip(reason, 2500))}`;
  if (status === 'rolled-back') return `:rewind: *Rolled back*: ${escapeMrkdwn(clip(reason, 2500))}`;
  return undefined;
}
