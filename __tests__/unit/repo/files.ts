/**
 * The repository files the repo tests read: action.yml, the README, the workflows of
 * `.github/workflows/` and the examples of `docs/examples/`. An example is either a workflow (it has
 * `jobs`) or a smoke-tests file (a list of checks); anything else there is a mistake the tests report.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import YAML from 'yaml';

export const ROOT = resolve(import.meta.dirname, '..', '..', '..');

export function read(path: string): string {
  return readFileSync(join(ROOT, path), 'utf8');
}

export interface YamlFile {
  /** Relative to the repository root, with `/`. */
  path: string;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  doc: any;
}

function yamlFiles(dir: string): YamlFile[] {
  return readdirSync(join(ROOT, dir))
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => {
      const path = relative(ROOT, join(ROOT, dir, f))
        .split('\\')
        .join('/');
      const text = read(path);
      return { path, text, doc: YAML.parse(text) };
    });
}

/** `.github/workflows/*.yml`: the repository's own workflows. */
export function ownWorkflows(): YamlFile[] {
  return yamlFiles('.github/workflows');
}

/** Every YAML file of `docs/examples/`. */
export function exampleFiles(): YamlFile[] {
  return yamlFiles('docs/examples');
}

export function isWorkflow(file: YamlFile): boolean {
  return typeof file.doc === 'object' && file.doc !== null && !Array.isArray(file.doc) && 'jobs' in file.doc;
}

/** The example workflows. */
export function exampleWorkflows(): YamlFile[] {
  return exampleFiles().filter(isWorkflow);
}

export interface ActionYml {
  name: string;
  description: string;
  inputs: Record<string, { description?: string; required?: boolean; default?: unknown }>;
  outputs: Record<string, { description?: string }>;
  runs: Record<string, string>;
}

export function actionYml(): ActionYml {
  return YAML.parse(read('action.yml')) as ActionYml;
}

/** One `uses:` line of a workflow: the reference and its trailing comment. */
export interface UsesLine {
  line: number;
  ref: string;
  comment: string;
}

/** Every `uses:` line of a workflow's text (steps and reusable-workflow jobs alike). */
export function usesLines(text: string): UsesLine[] {
  const out: UsesLine[] = [];
  text.split('\n').forEach((raw, i) => {
    const m = /^\s*(?:-\s+)?uses:\s*(['"]?)([^'"\s#]+)\1\s*(?:#\s*(.*))?$/.exec(raw);
    if (m) out.push({ line: i + 1, ref: m[2]!, comment: (m[3] ?? '').trim() });
  });
  return out;
}

/** Every `uses:` value of a parsed workflow (to check that the line scan missed none). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function parsedUses(doc: any): string[] {
  const out: string[] = [];
  for (const job of Object.values(doc?.jobs ?? {}) as { uses?: string; steps?: { uses?: string }[] }[]) {
    if (job.uses) out.push(job.uses);
    for (const step of job.steps ?? []) if (step.uses) out.push(step.uses);
  }
  return out;
}
