import { afterEach, describe, expect, it, vi } from 'vitest';
import { fromActions, parseConfig, secretForms } from '../../../src/config/index.ts';
import { INPUTS, SECRETS, envWith } from './fixtures.ts';

const saved = { ...process.env };

afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
  vi.restoreAllMocks();
});

/** Runs `fn` with stdout captured (workflow commands are written there). */
function captureStdout(fn: () => void): string {
  const chunks: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  try {
    fn();
  } finally {
    vi.mocked(process.stdout.write).mockRestore();
  }
  return chunks.join('');
}

describe('fromActions', () => {
  it('reads inputs as the runner passes them, trimming branch by ASCII whitespace only', () => {
    Object.assign(process.env, {
      INPUT_MODE: '  plan\n',
      INPUT_BRANCH: ' \t\u00a0feature\n',
      'INPUT_PRODUCTION-URL': 'https://x.example',
    });
    const src = fromActions();
    expect(src.getInput('mode')).toBe('plan');
    expect(src.getInput('branch')).toBe('\u00a0feature');
    expect(src.getInput('production-url')).toBe('https://x.example');
    expect(src.getInput('reason')).toBe('');
    expect(src.env).toBe(process.env);
    expect(src.cwd).toBe(process.cwd());
  });

  it('masks every secret with ::add-mask:: before the config exists', () => {
    Object.assign(process.env, envWith({ ...INPUTS, ...SECRETS, 'slack-channel': 'C1' }));
    let secrets: string[] = [];
    const out = captureStdout(() => {
      secrets = parseConfig(fromActions()).secrets;
    });
    const masked = out
      .split(/\r?\n/)
      .filter((line) => line.startsWith('::add-mask::'))
      .map((line) => line.slice('::add-mask::'.length));
    for (const value of Object.values(SECRETS)) {
      for (const form of secretForms(value)) expect(masked).toContain(form);
    }
    expect(masked).toEqual(secrets);
    // Nothing but masks was written: no line of stdout carries a secret in the clear.
    expect(out.split(/\r?\n/).filter((l) => l !== '' && !l.startsWith('::add-mask::'))).toEqual([]);
  });
});
