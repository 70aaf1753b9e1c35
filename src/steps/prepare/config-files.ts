/**
 * Prepare check: configuration files. Every `config-files` glob must match a file, every file must
 * parse (JSON, YAML), and a `vercel.json` must not carry the mistakes Vercel rejects at deploy time.
 * The file checks are pure (`configFileProblems`); `checkConfigFiles` expands the globs.
 */
import { glob, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { CheckResult } from '../../pipeline/types.js';

export const CONFIG_CHECK = 'Configuration files';

/**
 * Top-level keys Vercel accepts in vercel.json: the `VercelConfig` type of `@vercel/client` 18.4
 * (including legacy v2 keys still accepted) and the properties documented on
 * vercel.com/docs/project-configuration. Vercel refuses a deployment whose vercel.json has others.
 */
export const VERCEL_JSON_KEYS: ReadonlySet<string> = new Set([
  '$schema',
  'alias',
  'build',
  'buildCommand',
  'builds',
  'bulkRedirectsPath',
  'bunVersion',
  'cleanUrls',
  'crons',
  'devCommand',
  'env',
  'experimentalServiceGroups',
  'experimentalServices',
  'experimentalServicesV2',
  'files',
  'fluid',
  'framework',
  'functionFailoverRegions',
  'functions',
  'git',
  'github',
  'headers',
  'ignoreCommand',
  'images',
  'installCommand',
  'meta',
  'name',
  'outputDirectory',
  'projectSettings',
  'proxy',
  'public',
  'redirects',
  'regions',
  'relatedProjects',
  'rewrites',
  'routes',
  'schedules',
  'scope',
  'services',
  'trailingSlash',
  'version',
]);

const ARRAY_KEYS = [
  'rewrites',
  'redirects',
  'headers',
  'routes',
  'builds',
  'crons',
  'regions',
  'functionFailoverRegions',
];
const BOOLEAN_KEYS = ['cleanUrls', 'trailingSlash', 'public', 'fluid'];
const STRING_OR_NULL_KEYS = [
  'buildCommand',
  'devCommand',
  'installCommand',
  'ignoreCommand',
  'framework',
  'outputDirectory',
];
const OBJECT_KEYS = ['functions', 'images', 'git', 'github', 'env', 'build'];

/** Edit distance, for "did you mean" on a misspelt key. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(
        row[j]! + 1,
        row[j - 1]! + 1,
        prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1),
      );
      prev = cur;
    }
  }
  return row[b.length]!;
}

function suggest(key: string): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of VERCEL_JSON_KEYS) {
    const d = distance(key, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best && bestD <= Math.max(2, Math.floor(key.length / 4)) ? ` (did you mean '${best}'?)` : '';
}

/** The deploy-breaking mistakes in a parsed vercel.json. */
export function vercelJsonProblems(config: unknown): string[] {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) return ['is not a JSON object'];
  const c = config as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(c)) {
    if (!VERCEL_JSON_KEYS.has(key)) problems.push(`unknown top-level key '${key}'${suggest(key)}`);
  }
  const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`);
  for (const k of ARRAY_KEYS)
    if (k in c && !Array.isArray(c[k])) problems.push(`'${k}' must be an array, not ${kind(c[k])}`);
  for (const k of BOOLEAN_KEYS)
    if (k in c && typeof c[k] !== 'boolean') problems.push(`'${k}' must be true or false, not ${kind(c[k])}`);
  for (const k of STRING_OR_NULL_KEYS) {
    if (k in c && c[k] !== null && typeof c[k] !== 'string')
      problems.push(`'${k}' must be a string, not ${kind(c[k])}`);
  }
  for (const k of OBJECT_KEYS) {
    if (k in c && (typeof c[k] !== 'object' || c[k] === null || Array.isArray(c[k])))
      problems.push(`'${k}' must be an object, not ${kind(c[k])}`);
  }
  // Vercel's own rules (@vercel/routing-utils, the CLI's validate-config): legacy `routes` cannot be
  // mixed with the newer routing keys, and `functions` cannot be mixed with `builds`.
  const modern = ['rewrites', 'redirects', 'headers', 'cleanUrls', 'trailingSlash'].filter((k) => k in c);
  if ('routes' in c && modern.length > 0) {
    problems.push(`'routes' cannot be used together with ${modern.map((k) => `'${k}'`).join(', ')}`);
  }
  if ('functions' in c && 'builds' in c) problems.push("'functions' cannot be used together with 'builds'");
  const needs = (key: string, fields: string[]) => {
    if (!Array.isArray(c[key])) return;
    (c[key] as unknown[]).forEach((item, i) => {
      const o = item as Record<string, unknown> | null;
      const missing = fields.filter((f) => typeof o !== 'object' || o === null || !(f in o));
      if (missing.length) problems.push(`${key}[${i}] lacks ${missing.map((f) => `'${f}'`).join(', ')}`);
    });
  };
  needs('rewrites', ['source', 'destination']);
  needs('redirects', ['source', 'destination']);
  needs('headers', ['source', 'headers']);
  needs('crons', ['path', 'schedule']);
  return problems;
}

/** What is wrong with one config file (empty: it is fine). Pure. */
export function configFileProblems(file: string, text: string): string[] {
  const ext = path.extname(file).toLowerCase();
  const base = path.basename(file).toLowerCase();
  if (ext === '.json' || base === 'vercel.json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      return [`invalid JSON: ${(err as Error).message}`];
    }
    return base === 'vercel.json' ? vercelJsonProblems(parsed) : [];
  }
  // YAML for .yaml/.yml and anything else (YAML is a superset of JSON); every document must parse.
  const docs = parseAllDocuments(text, { prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    const first = doc.errors[0];
    if (first) return [`invalid YAML: ${first.message.split('\n')[0]}`];
  }
  return [];
}

/** Directories never searched unless a pattern names them itself. */
const SKIPPED_DIRS = ['node_modules', '.git'];

/** Files matching the globs, relative to `cwd`, sorted; and the globs that matched nothing. */
export async function expandGlobs(
  globs: readonly string[],
  cwd: string,
): Promise<{ files: string[]; unmatched: string[] }> {
  const files = new Set<string>();
  const unmatched: string[] = [];
  for (const pattern of globs) {
    const named = SKIPPED_DIRS.filter((d) => pattern.includes(d));
    const exclude = (e: { name: string }) => SKIPPED_DIRS.some((d) => !named.includes(d) && e.name === d);
    let n = 0;
    for await (const entry of glob(pattern, { cwd, exclude, withFileTypes: true })) {
      // Directories that a pattern happens to match are not configuration files.
      if (entry.isDirectory()) continue;
      const rel = path.relative(cwd, path.join(entry.parentPath, entry.name));
      files.add(rel.split(path.sep).join('/'));
      n++;
    }
    if (n === 0) unmatched.push(pattern);
  }
  return { files: [...files].sort(), unmatched };
}

/** Files larger than this are not configuration: refuse rather than read them whole. */
const MAX_CONFIG_BYTES = 5 * 1024 * 1024;

/** The configuration-files check over the workspace. */
export async function checkConfigFiles(globs: readonly string[], cwd: string): Promise<CheckResult> {
  const name = CONFIG_CHECK;
  if (globs.length === 0) return { name, status: 'skipped', reason: 'no config-files' };
  let expanded: { files: string[]; unmatched: string[] };
  try {
    const where = await stat(cwd);
    if (!where.isDirectory()) throw Object.assign(new Error(`${cwd} is not a directory`), { code: 'ENOTDIR' });
    expanded = await expandGlobs(globs, cwd);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      name,
      status: 'not-checked',
      reason: `could not search the workspace for config-files (${code ?? (err as Error).message})`,
    };
  }
  const problems: string[] = expanded.unmatched.map((g) => `'${g}' matches no file`);
  const unreadable: string[] = [];
  for (const file of expanded.files) {
    let text: string;
    try {
      const buf = await readFile(path.join(cwd, file));
      if (buf.length > MAX_CONFIG_BYTES) {
        problems.push(`${file}: larger than 5 MiB, not a configuration file`);
        continue;
      }
      text = buf.toString('utf8');
    } catch (err) {
      unreadable.push(`${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      continue;
    }
    for (const p of configFileProblems(file, text)) problems.push(`${file}: ${p}`);
  }
  const details = { files: expanded.files, unmatched: expanded.unmatched, unreadable };
  const cannot = unreadable.length > 0 ? `could not read ${unreadable.join(', ')}` : '';
  if (problems.length > 0)
    return { name, status: 'fail', reason: [...problems, cannot].filter(Boolean).join('; '), details };
  if (cannot) return { name, status: 'not-checked', reason: cannot, details };
  return {
    name,
    status: 'pass',
    reason: `${expanded.files.length} ${expanded.files.length === 1 ? 'file parses' : 'files parse'} (${expanded.files.join(', ')})`,
    details,
  };
}
