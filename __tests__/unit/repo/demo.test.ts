/**
 * The demo's pure parts: its command line, the log rendering (as the Actions log viewer shows a
 * log, never showing a masked secret), and the one-line verdict. The demo as a whole runs the
 * bundle against the sandbox (`npm run demo`); the e2e suite covers that path with the same harness.
 */
import { describe, expect, it } from 'vitest';
import { createLogRenderer, parseArgs, styles, verdictLine } from '../../../scripts/demo.ts';

const plain = styles(false);

function render(lines: string[], debug = false): string[] {
  const r = createLogRenderer(plain, debug);
  return lines.map(r).filter((l): l is string => l !== undefined);
}

describe('demo arguments', () => {
  it('defaults to the default scenario and a deploy', () => {
    expect(parseArgs([])).toEqual({
      scenario: 'default',
      inputs: {},
      dist: 'dist',
      keep: false,
      debug: false,
      help: false,
    });
  });

  it('reads scenario, mode, inputs and flags, with = or a separate value', () => {
    const a = parseArgs([
      '--scenario',
      'bad-release',
      '--mode=plan',
      '--input',
      'strategy=canary',
      '--input=traffic-steps=10,100',
      '--keep',
    ]);
    expect(a.scenario).toBe('bad-release');
    expect(a.inputs).toEqual({ mode: 'plan', strategy: 'canary', 'traffic-steps': '10,100' });
    expect(a.keep).toBe(true);
  });

  it('refuses what it does not know, naming it', () => {
    expect(() => parseArgs(['--scenaro', 'x'])).toThrow(/unknown argument --scenaro/);
    expect(() => parseArgs(['--scenario'])).toThrow(/--scenario needs a value/);
    expect(() => parseArgs(['--input', 'novalue'])).toThrow(/NAME=VALUE/);
  });
});

describe('the log renderer', () => {
  it('turns groups into headings and labels annotations', () => {
    expect(
      render([
        '::group::Pre-flight validation',
        'checking',
        '::endgroup::',
        '::warning::slow%0Asecond line',
        '::error title=Smoke::failed 50%25',
      ]),
    ).toEqual(['\n▼ Pre-flight validation', 'checking', 'Warning: slow\nsecond line', 'Error (Smoke): failed 50%']);
  });

  it('never shows a masked value, saved state or an output command', () => {
    expect(render(['::add-mask::s3cr3t-token', '::save-state name=x::y', '::set-output name=a::b', 'visible'])).toEqual(
      ['visible'],
    );
  });

  it('shows debug lines only when asked', () => {
    expect(render(['::debug::detail'])).toEqual([]);
    expect(render(['::debug::detail'], true)).toEqual(['[debug] detail']);
  });

  it('honours stop-commands: text between the tokens is shown verbatim', () => {
    expect(render(['::stop-commands::tok123', '::error::not a command', '::tok123::', '::error::a command'])).toEqual([
      '::error::not a command',
      'Error: a command',
    ]);
  });

  it('passes ordinary lines and unknown commands through', () => {
    expect(render(['plain', ':: not a command', '::notice::fyi'])).toEqual([
      'plain',
      ':: not a command',
      'Notice: fyi',
    ]);
  });

  it('colours only when asked', () => {
    expect(styles(true).red('x')).toBe('\x1b[31mx\x1b[39m');
    expect(plain.red('x')).toBe('x');
  });
});

describe('the verdict line', () => {
  it('says what the status means and whether a runner would fail the job', () => {
    expect(verdictLine('success', 0)).toMatch(/^success — .*this job passes \(exit 0\)/);
    expect(verdictLine('rolled-back', 1)).toMatch(/traffic went back to blue.*fails \(exit 1\)/);
    expect(verdictLine(undefined, null)).toMatch(/no status.*exit signal/);
  });
});
