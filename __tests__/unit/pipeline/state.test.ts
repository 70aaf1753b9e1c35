import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunStateStore } from '../../../src/pipeline/state-store.ts';
import type { RunState } from '../../../src/pipeline/types.ts';
import { loadRunState, parseRunState, saveRunState } from '../../../src/pipeline/state-store.ts';
import { SECRET, SHA, SNAPSHOT } from './fixtures.ts';

const STATE: RunState = {
  phase: 'switching',
  mode: 'deploy',
  environment: 'production',
  sha: SHA,
  trafficBefore: SNAPSHOT,
};

/** The runner's format: `name<<delimiter` NL value NL delimiter. */
function readStateFile(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = readFileSync(path, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<]+)<<(.+)$/.exec(lines[i]!);
    if (!m) continue;
    const end = lines.indexOf(m[2]!, i + 1);
    out[m[1]!] = lines.slice(i + 1, end).join('\n');
    i = end;
  }
  return out;
}

describe('saveRunState / loadRunState', () => {
  const env = { ...process.env };
  let file: string;
  beforeEach(() => {
    file = join(mkdtempSync(join(tmpdir(), 'pd-state-')), 'state');
    writeFileSync(file, '');
    process.env.GITHUB_STATE = file;
  });
  afterEach(() => {
    process.env = { ...env };
  });

  it('round-trips through GITHUB_STATE and STATE_run as the runner hands it to the post step', () => {
    saveRunState(STATE);
    saveRunState({ ...STATE, phase: 'switched' });
    const saved = readStateFile(file);
    process.env.STATE_run = saved.run;
    expect(loadRunState()).toEqual({ ...STATE, phase: 'switched' });
  });

  it('never writes a secret, even one that slipped into the state', () => {
    saveRunState({ ...STATE, green: { id: 'dpl_1', url: `https://x/?t=${SECRET}` } }, [SECRET]);
    expect(readFileSync(file, 'utf8')).not.toContain(SECRET);
  });

  it('is undefined when nothing was saved, and an error when what was saved is unreadable', () => {
    delete process.env.STATE_run;
    expect(loadRunState()).toBeUndefined();
    expect(() => parseRunState('{oops')).toThrow('not valid JSON');
    expect(() => parseRunState('[]')).toThrow('not an object');
    expect(() => parseRunState('{"phase":"dancing","mode":"deploy","environment":"p"}')).toThrow('unknown phase');
    expect(() => parseRunState('{"phase":"switching"}')).toThrow('lacks its mode');
  });

  it('the store persists every change before it takes effect, and refuses illegal phases', () => {
    const persisted: RunState[] = [];
    const store = new RunStateStore({ ...STATE, phase: 'started' }, (s) => persisted.push(s));
    store.update({ phase: 'preflight-passed', pullNumber: 7 });
    expect(persisted.map((s) => s.phase)).toEqual(['started', 'preflight-passed']);
    expect(() => store.update({ phase: 'switched' })).toThrow('illegal phase transition preflight-passed → switched');
    expect(store.state.phase).toBe('preflight-passed');
    const failing = new RunStateStore({ ...STATE, phase: 'started' }, (s) => {
      if (s.phase !== 'started') throw new Error('disk full');
    });
    expect(() => failing.update({ phase: 'preflight-passed' })).toThrow('disk full');
    expect(failing.state.phase).toBe('started');
  });
});
