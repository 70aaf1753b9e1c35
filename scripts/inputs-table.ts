/**
 * `npm run inputs-table [-- --check]`: writes the README's inputs and outputs tables from
 * `action.yml`, between `<!-- inputs:start -->` and `<!-- inputs:end -->`, so the two never drift.
 * With `--check` it writes nothing and exits 1 when the README differs from what it would write
 * (the unit test `__tests__/unit/repo/readme.test.ts` runs the same check in `npm test`).
 *
 * Inputs are grouped by the `# …` comments that head each section of `action.yml` (General,
 * 1. Pre-flight validation, …). Each description's closing "Default: …" / "No default …" sentence
 * moves to the Default column; an input's `default:` value, when it has one, is shown as code.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

export const START = '<!-- inputs:start -->';
export const END = '<!-- inputs:end -->';
const ROOT = resolve(import.meta.dirname, '..');

export interface InputRow {
  name: string;
  description: string;
  default: string;
}

export interface InputGroup {
  /** The section comment of action.yml (`1. Pre-flight validation`), or '' when there is none. */
  title: string;
  inputs: InputRow[];
}

export interface ActionTables {
  groups: InputGroup[];
  outputs: { name: string; description: string }[];
}

/** One line, safe inside a Markdown table cell. */
export function cell(text: string): string {
  return text
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\|/g, '\\|')
    .trim();
}

/** A value as inline code, with a fence long enough for any backticks it holds. */
export function code(value: string): string {
  const longest = Math.max(0, ...(value.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = value.startsWith('`') || value.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${value}${pad}${fence}`;
}

/**
 * Splits a description into what the input is and its default: the last sentence that starts
 * with "Default:" or "No default" is the default. `explicit` is the `default:` of action.yml.
 */
export function splitDefault(
  description: string,
  explicit: string | undefined,
): { description: string; default: string } {
  const text = description.replace(/\s+/g, ' ').trim();
  const matches = [...text.matchAll(/(?:^|\s)(Default: |No default)/g)];
  const last = matches.at(-1);
  let rest = text;
  let said = '';
  if (last) {
    const at = last.index + last[0].length - last[1]!.length;
    rest = text.slice(0, at).trim();
    said = text.slice(at).replace(/\.$/, '');
    said = said.startsWith('Default: ') ? said.slice('Default: '.length) : `none${said.slice('No default'.length)}`;
  }
  return { description: rest, default: explicit !== undefined ? code(explicit) : said || '—' };
}

/** Reads action.yml's inputs (grouped by their section comments) and outputs. */
export function readAction(actionYml: string): ActionTables {
  const doc = YAML.parseDocument(actionYml);
  if (doc.errors.length > 0) throw new Error(`action.yml does not parse: ${doc.errors[0]!.message}`);
  const inputs = doc.get('inputs');
  const outputs = doc.get('outputs');
  if (!YAML.isMap(inputs)) throw new Error('action.yml has no inputs map');
  const groups: InputGroup[] = [];
  inputs.items.forEach((pair, i) => {
    const key = pair.key as YAML.Scalar;
    const comment = (key.commentBefore ?? (i === 0 ? inputs.commentBefore : undefined))?.trim();
    if (comment || groups.length === 0) groups.push({ title: comment ?? '', inputs: [] });
    const value = (YAML.isMap(pair.value) ? pair.value.toJSON() : {}) as { description?: unknown; default?: unknown };
    const explicit = value.default === undefined || value.default === null ? undefined : String(value.default);
    const split = splitDefault(String(value.description ?? ''), explicit);
    groups.at(-1)!.inputs.push({ name: String(key.value), ...split });
  });
  const outs = YAML.isMap(outputs) ? (outputs.toJSON() as Record<string, { description?: unknown }>) : {};
  return {
    groups,
    outputs: Object.entries(outs).map(([name, o]) => ({ name, description: String(o?.description ?? '') })),
  };
}

/** The Markdown that goes between the markers. */
export function renderTables(actionYml: string): string {
  const { groups, outputs } = readAction(actionYml);
  const count = groups.reduce((n, g) => n + g.inputs.length, 0);
  const lines = [
    '<!-- Generated from action.yml by `npm run inputs-table`; `npm test` fails when it is out of date. -->',
    '',
    '## Inputs',
    '',
    `${count} inputs, none marked \`required\` (the runner would not enforce it): the action checks what each`,
    '`mode` needs when it reads the inputs, before any network call, and a part left without its inputs',
    '(a backup, Datadog, Slack) is skipped with the reason in the summary. Durations accept `300`, `300s`,',
    '`5m`, `1h30m`, `500ms` (a bare number is seconds); lists accept commas or new lines.',
  ];
  for (const group of groups) {
    lines.push('');
    if (group.title) lines.push(`### ${group.title}`, '');
    lines.push('| Name | Description | Default |', '| --- | --- | --- |');
    for (const input of group.inputs) {
      lines.push(`| \`${input.name}\` | ${cell(input.description)} | ${cell(input.default)} |`);
    }
  }
  lines.push('', '## Outputs', '', '| Name | Description |', '| --- | --- |');
  for (const output of outputs) lines.push(`| \`${output.name}\` | ${cell(output.description)} |`);
  return lines.join('\n');
}

/** The README with the block between the markers replaced; throws when the markers are missing. */
export function replaceBetweenMarkers(readme: string, block: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < 0 || end < start) {
    throw new Error(`README.md needs the markers ${START} and ${END} (in that order) around the inputs table`);
  }
  return `${readme.slice(0, start + START.length)}\n${block}\n${readme.slice(end)}`;
}

/** '' when the README's tables are what action.yml gives, else what differs first. */
export function driftMessage(readme: string, actionYml: string): string {
  const wanted = replaceBetweenMarkers(readme, renderTables(actionYml));
  if (wanted === readme) return '';
  const have = readme.split('\n');
  const want = wanted.split('\n');
  const line = want.findIndex((l, i) => l !== have[i]);
  return (
    `README.md's inputs/outputs tables differ from action.yml (first at line ${line + 1}):\n` +
    `  README:     ${have[line] ?? '(end of file)'}\n  action.yml: ${want[line] ?? '(end of file)'}\n` +
    'Run `npm run inputs-table` and commit README.md.'
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  const readmePath = resolve(ROOT, 'README.md');
  try {
    const readme = readFileSync(readmePath, 'utf8');
    const actionYml = readFileSync(resolve(ROOT, 'action.yml'), 'utf8');
    if (check) {
      const drift = driftMessage(readme, actionYml);
      if (drift) {
        console.error(drift);
        process.exit(1);
      }
      console.log('README.md inputs/outputs tables match action.yml');
    } else {
      const updated = replaceBetweenMarkers(readme, renderTables(actionYml));
      if (updated !== readme) writeFileSync(readmePath, updated);
      console.log(updated === readme ? 'README.md already up to date' : 'README.md inputs/outputs tables updated');
    }
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
}
