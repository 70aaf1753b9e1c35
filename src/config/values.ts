/**
 * Parsers for the action's domain values: severities, the Datadog site, the backup prefix, the
 * rollback target, branch names and the identifiers of the outside systems.
 */
import type { Severity } from './types.js';
import { fail } from './errors.js';
import { parseList } from './list.js';
import { parseUrl } from './scalars.js';

export const SEVERITIES: readonly Severity[] = ['critical', 'high', 'medium', 'low'];

/** A subset of `critical,high,medium,low` in canonical order, or `none` → `[]`. */
export function parseSeverities(raw: string, input = 'security-block-severity'): Severity[] {
  const accepts = "a list of critical, high, medium, low, or 'none' to disable the security gate";
  const items = parseList(raw.toLowerCase());
  if (items.length === 1 && items[0] === 'none') return [];
  if (items.length === 0 || !items.every((i) => (SEVERITIES as readonly string[]).includes(i))) {
    fail(input, raw, accepts);
  }
  return SEVERITIES.filter((s) => items.includes(s));
}

const HOSTNAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/**
 * `datadog-site`: a site name (`datadoghq.eu`, `us5.datadoghq.com`) → `https://api.<site>`, or a full
 * URL used as is. `app.<site>` (the address in a browser) and `api.<site>` are understood too.
 */
export function parseDatadogSite(raw: string, input = 'datadog-site'): string {
  const text = raw.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return parseUrl(text, input);
  const host = text.toLowerCase().replace(/\/+$/, '');
  if (!HOSTNAME.test(host)) {
    fail(input, raw, 'a Datadog site such as datadoghq.com, datadoghq.eu, us5.datadoghq.com, or a full https:// URL');
  }
  return `https://api.${host.replace(/^(?:app|api)\./, '')}`;
}

const PLACEHOLDER = /\{([^{}]*)\}/g;

/**
 * `backup-prefix` with `{repo}` (owner/name, so two organisations' repositories of the same name
 * never share keys), `{owner}`, `{name}` and `{environment}` substituted; always ends with `/`.
 */
export function parseBackupPrefix(
  raw: string,
  vars: { owner: string; repo: string; environment: string },
  input = 'backup-prefix',
): string {
  const accepts = 'an S3 key prefix, not starting with /, using only {repo}, {owner}, {name} and {environment}';
  const text = raw.trim();
  const values: Record<string, string> = {
    repo: `${vars.owner}/${vars.repo}`,
    owner: vars.owner,
    name: vars.repo,
    environment: vars.environment,
  };
  let unknown = false;
  const out = text.replace(PLACEHOLDER, (whole, key: string) => {
    if (Object.hasOwn(values, key)) return values[key]!;
    unknown = true;
    return whole;
  });
  // Control characters would corrupt S3 keys in listings; 900 leaves room under S3's 1024-byte key limit.
  // eslint-disable-next-line no-control-regex
  const bad = /[\u0000-\u001f\u007f{}]/.test(out) || out.startsWith('/') || Buffer.byteLength(out) > 900;
  if (unknown || bad || text === '') fail(input, raw, accepts);
  return out.endsWith('/') ? out : `${out}/`;
}

/** `rollback-to`: `previous`, a Vercel deployment id (`dpl_…`), a commit SHA, or a GitHub deployment id. */
export function parseRollbackTo(raw: string, input = 'rollback-to'): string {
  const text = raw.trim();
  if (text.toLowerCase() === 'previous') return 'previous';
  if (/^dpl_[A-Za-z0-9]{1,64}$/.test(text) || /^[0-9a-f]{7,64}$/i.test(text) || /^\d{1,20}$/.test(text)) {
    return text;
  }
  return fail(
    input,
    raw,
    "'previous', a Vercel deployment id (dpl_…), a commit SHA (7 to 40 hex digits) or a GitHub deployment id",
  );
}

/**
 * A branch name git would accept (the rules of `git check-ref-format --branch`, simplified), so a
 * value can never be mistaken for an option, a revision expression or a path outside refs/heads.
 */
export function parseBranchName(raw: string, input = 'branch'): string {
  const accepts = 'a git branch name (no spaces, control characters, ~ ^ : ? * [ \\, "..", "@{", or leading "-")';
  const name = raw.startsWith('refs/heads/') ? raw.slice('refs/heads/'.length) : raw;
  const bad =
    name === '' ||
    name === '@' ||
    name.length > 255 ||
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u0020\u007f~^:?*[\\]/.test(name) ||
    name.includes('..') ||
    name.includes('@{') ||
    name.includes('//') ||
    name.startsWith('-') ||
    name.startsWith('/') ||
    name.endsWith('/') ||
    name.endsWith('.') ||
    name.endsWith('.lock') ||
    name.split('/').some((part) => part.startsWith('.') || part.endsWith('.lock'));
  if (bad) fail(input, raw, accepts);
  return name;
}

/** A GitHub environment name: what records, reports and locks are keyed by. */
export function parseEnvironmentName(raw: string, input = 'environment'): string {
  const text = raw.trim();
  // eslint-disable-next-line no-control-regex
  if (text === '' || text.length > 255 || /[\u0000-\u001f\u007f]/.test(text)) {
    fail(input, raw, 'a GitHub environment name (1 to 255 characters, no control characters)');
  }
  return text;
}

/** An identifier of an outside system (project id, team id, account id, channel): no spaces, no controls. */
export function parseIdentifier(raw: string, input: string, what: string): string {
  const text = raw.trim();
  if (!/^[A-Za-z0-9#][A-Za-z0-9_.:#/-]{0,254}$/.test(text)) fail(input, raw, `${what} (letters, digits, _ . : - /)`);
  return text;
}

/** Names of environment variables (`required-env`). */
export function parseEnvNames(raw: string, input = 'required-env'): string[] {
  return parseList(raw).map((name) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) fail(input, name, 'environment variable names (letters, digits, _)');
    return name;
  });
}

/** A URL path starting with `/` (`health-check-path`, smoke check paths). */
export function parsePath(raw: string, input: string): string {
  const text = raw.trim();
  // eslint-disable-next-line no-control-regex
  if (!text.startsWith('/') || text.startsWith('//') || /[\u0000-\u0020\u007f]/.test(text)) {
    fail(input, raw, 'a URL path starting with / (query allowed, no spaces)');
  }
  return text;
}

/** A region name (`us-east-1`, `auto` for R2). */
export function parseRegion(raw: string, input = 'aws-region'): string {
  const text = raw.trim();
  if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(text)) fail(input, raw, 'an AWS region such as us-east-1 (or auto for R2)');
  return text;
}
