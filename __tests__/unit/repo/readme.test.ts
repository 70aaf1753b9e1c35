/**
 * The README's inputs and outputs tables are generated from action.yml (scripts/inputs-table.ts)
 * and must match it; and the generator itself splits descriptions and escapes cells correctly.
 */
import { describe, expect, it } from 'vitest';
import {
  END,
  START,
  cell,
  code,
  driftMessage,
  readAction,
  renderTables,
  replaceBetweenMarkers,
  splitDefault,
} from '../../../scripts/inputs-table.ts';
import { actionYml, read } from './files.ts';

describe('README.md', () => {
  const readme = read('README.md');
  const yml = read('action.yml');

  it('has the generated tables, identical to what action.yml gives (run `npm run inputs-table`)', () => {
    expect(driftMessage(readme, yml)).toBe('');
  });

  it('names every input and output of action.yml', () => {
    const block = readme.slice(readme.indexOf(START), readme.indexOf(END));
    for (const name of [...Object.keys(actionYml().inputs), ...Object.keys(actionYml().outputs)]) {
      expect(block).toContain(`| \`${name}\` |`);
    }
  });

  it('keeps the two set-up commands at the top', () => {
    const top = readme.slice(0, readme.indexOf('\n## ', readme.indexOf('\n## ') + 1));
    expect(top).toContain('npm ci && npm run demo');
    expect(top).toMatch(/^npm test\b/m);
  });

  it('fails the check when action.yml changes and the README does not', () => {
    const changed = yml.replace('Vercel access token.', 'Vercel access token (a new sentence).');
    expect(changed).not.toBe(yml);
    expect(driftMessage(readme, changed)).toMatch(
      /differ from action\.yml[\s\S]*vercel-token[\s\S]*npm run inputs-table/,
    );
  });
});

describe('the table generator', () => {
  it('moves the closing default sentence to its own column', () => {
    expect(splitDefault('What to do. Accepted: a, b. Default: a.', 'a')).toEqual({
      description: 'What to do. Accepted: a, b.',
      default: '`a`',
    });
    expect(splitDefault('A token. No default; required in every mode.', undefined)).toEqual({
      description: 'A token.',
      default: 'none; required in every mode',
    });
    expect(
      splitDefault('A region. Default: the AWS_REGION environment variable, else us-east-1.', undefined).default,
    ).toBe('the AWS_REGION environment variable, else us-east-1');
    expect(splitDefault('Says nothing of a default.', undefined)).toEqual({
      description: 'Says nothing of a default.',
      default: '—',
    });
  });

  it('uses the last default sentence, not an earlier mention', () => {
    const s = splitDefault('Default: is a word here. More text. Default: x.', 'x');
    expect(s.description).toBe('Default: is a word here. More text.');
  });

  it('escapes table cells and fences code that holds backticks', () => {
    expect(cell('a | b\n  c')).toBe('a \\| b c');
    expect(code('${{ github.token }}')).toBe('`${{ github.token }}`');
    expect(code('a`b')).toBe('``a`b``');
    expect(code('`x`')).toBe('`` `x` ``');
  });

  it('groups inputs by the section comments of action.yml', () => {
    const yml = [
      'inputs:',
      '  # General',
      '  a:',
      "    description: 'A. Default: 1.'",
      "    default: '1'",
      '  # 1. Checks',
      '  b:',
      '    description: B. No default.',
      'outputs:',
      '  out:',
      '    description: The out.',
    ].join('\n');
    expect(readAction(yml)).toEqual({
      groups: [
        { title: 'General', inputs: [{ name: 'a', description: 'A.', default: '`1`' }] },
        { title: '1. Checks', inputs: [{ name: 'b', description: 'B.', default: 'none' }] },
      ],
      outputs: [{ name: 'out', description: 'The out.' }],
    });
    const md = renderTables(yml);
    expect(md).toContain('### 1. Checks\n\n| Name | Description | Default |\n| --- | --- | --- |\n| `b` | B. | none |');
    expect(md).toContain('## Outputs\n\n| Name | Description |\n| --- | --- |\n| `out` | The out. |');
  });

  it('replaces only what is between the markers, and refuses a README without them', () => {
    const doc = `# T\n\n${START}\nold\n${END}\n\nafter\n`;
    expect(replaceBetweenMarkers(doc, 'new')).toBe(`# T\n\n${START}\nnew\n${END}\n\nafter\n`);
    expect(() => replaceBetweenMarkers('# no markers', 'x')).toThrow(/needs the markers/);
    expect(() => replaceBetweenMarkers(`${END}\n${START}`, 'x')).toThrow(/in that order/);
  });
});
