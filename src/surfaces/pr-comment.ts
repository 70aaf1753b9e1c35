/**
 * The PR comment: one comment per PR and environment, found again by a hidden marker
 * (`<!-- production-deploy:<environment> -->`), created once and edited in place by every later run.
 *
 * Several writers share it — pre-flight writes the go/no-go report, the smoke step its report — so
 * each writes only its own section, kept between hidden section markers; a write keeps the sections
 * it was not given. A comment failure is the caller's warning, never a no-go.
 */
import type { GitHub } from '../providers/github.js';
import { truncate } from './markdown.js';

/** The sections, in the order the comment shows them. */
export const SECTION_ORDER = ['preflight', 'smoke'] as const;
export type SectionName = (typeof SECTION_ORDER)[number];

/** What the comment needs of the GitHub adapter (the real `GitHub` in production). */
export type CommentApi = Pick<GitHub, 'findComment' | 'createComment' | 'updateComment'>;

export interface UpsertInput {
  pull: number;
  environment: string;
  /** Rendered Markdown of each section to write; remote text in it must already be escaped. */
  sections: Partial<Record<SectionName, string>>;
  /** The environment's comment on the PR, already being looked up (else it is looked up here). */
  found?: Promise<IssueCommentView | null>;
}

/** What the upsert needs of a found comment. */
type IssueCommentView = Awaited<ReturnType<CommentApi['findComment']>>;

export interface UpsertResult {
  id: number;
  url: string;
  created: boolean;
}

/** GitHub rejects comment bodies over 65536 characters; keep a margin for the markers. */
const MAX_BODY = 65_000;

/**
 * The environment as it may appear inside an HTML comment: `--` and `>` would end the comment
 * early, so anything outside a conservative set is percent-encoded.
 */
function markerName(environment: string): string {
  return environment.replace(/[^A-Za-z0-9._/ +=:@-]|-(?=-)/g, (c) => encodeURIComponent(c).replace(/-/g, '%2D'));
}

/** The hidden marker that identifies the comment of one environment. */
export function prCommentMarker(environment: string): string {
  return `<!-- production-deploy:${markerName(environment)} -->`;
}

function sectionStart(name: string): string {
  return `<!-- production-deploy:section:${name}:start -->`;
}
function sectionEnd(name: string): string {
  return `<!-- production-deploy:section:${name}:end -->`;
}

/** The sections found in an existing comment body (text between each section's markers). */
export function parseSections(body: string): Partial<Record<SectionName, string>> {
  const out: Partial<Record<SectionName, string>> = {};
  for (const name of SECTION_ORDER) {
    const start = body.indexOf(sectionStart(name));
    if (start < 0) continue;
    const from = start + sectionStart(name).length;
    const end = body.indexOf(sectionEnd(name), from);
    if (end < 0) continue;
    out[name] = body.slice(from, end).trim();
  }
  return out;
}

/**
 * Neutralises what in a writer's section could break the comment's structure: our own markers
 * (a section holding another's end marker would swallow it) and `@` mentions, which would notify
 * whoever a check name or branch name happens to mention.
 */
function sanitizeSection(text: string): string {
  return text.replace(/<!--\s*production-deploy:/g, '&lt;!-- production-deploy:').replace(/@(?=[A-Za-z0-9])/g, '&#64;');
}

/** The whole comment body for an environment's sections. */
export function renderComment(environment: string, sections: Partial<Record<SectionName, string>>): string {
  const present = SECTION_ORDER.filter((n) => sections[n] !== undefined && sections[n] !== '');
  // Each section gets an equal share of the size limit, so one long report cannot evict the other.
  const budget = Math.floor(MAX_BODY / Math.max(1, present.length)) - 200;
  const parts = [prCommentMarker(environment)];
  for (const name of present) {
    const text = sanitizeSection(sections[name]!.trim());
    const bounded = text.length > budget ? `${truncate(text, budget - 60)}\n\n_(cut: see the job summary)_` : text;
    parts.push(`${sectionStart(name)}\n${bounded}\n${sectionEnd(name)}`);
  }
  return `${parts.join('\n\n')}\n`;
}

/** Per client, per PR and environment: the last write of the comment, so the next starts after it. */
const chains = new WeakMap<CommentApi, Map<string, Promise<unknown>>>();

/**
 * Creates the environment's comment on the PR, or edits it in place, writing only the given
 * sections and keeping the others. Throws ProviderError on failure (the caller warns).
 *
 * Writes of one comment through one client go one after another: a write still on its way when the
 * next starts (a step that did not wait for its report) is finished first, so the next one finds the
 * comment it made and edits it instead of posting a second.
 */
export function upsertPrComment(github: CommentApi, input: UpsertInput): Promise<UpsertResult> {
  let byKey = chains.get(github);
  if (!byKey) chains.set(github, (byKey = new Map()));
  const key = `${input.pull}\n${input.environment}`;
  const next = (byKey.get(key) ?? Promise.resolve()).then(() => upsertNow(github, input));
  byKey.set(
    key,
    next.catch(() => undefined),
  );
  return next;
}

/** Settles once every comment write started through `github` so far has finished (or failed). */
export async function commentsSettled(github: CommentApi): Promise<void> {
  const byKey = chains.get(github);
  if (byKey) await Promise.all(byKey.values());
}

async function upsertNow(github: CommentApi, input: UpsertInput): Promise<UpsertResult> {
  const marker = prCommentMarker(input.environment);
  const existing = await (input.found ?? github.findComment(input.pull, marker));
  const kept = existing ? parseSections(existing.body) : {};
  const merged = { ...kept };
  for (const name of SECTION_ORDER) {
    const text = input.sections[name];
    if (text !== undefined) merged[name] = text;
  }
  const body = renderComment(input.environment, merged);
  if (existing) {
    if (existing.body === body) return { id: existing.id, url: existing.htmlUrl, created: false };
    const updated = await github.updateComment(existing.id, body);
    return { id: updated.id, url: updated.htmlUrl, created: false };
  }
  const created = await github.createComment(input.pull, body, marker);
  return { id: created.id, url: created.htmlUrl, created: true };
}
