import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkConfigFiles,
  configFileProblems,
  vercelJsonProblems,
} from '../../../../src/steps/prepare/config-files.ts';

describe('vercelJsonProblems', () => {
  it('accepts a valid modern config', () => {
    expect(
      vercelJsonProblems({ $schema: 'x', cleanUrls: true, rewrites: [{ source: '/a', destination: '/b' }], crons: [] }),
    ).toEqual([]);
  });

  it("names unknown top-level keys with a suggestion, wrong types and Vercel's mixing rules", () => {
    expect(
      vercelJsonProblems({
        rewrite: [],
        cleanUrls: 'yes',
        routes: [],
        headers: [{ source: '/x' }],
        functions: {},
        builds: [],
      }),
    ).toEqual([
      "unknown top-level key 'rewrite' (did you mean 'rewrites'?)",
      "'cleanUrls' must be true or false, not a string",
      "'routes' cannot be used together with 'headers', 'cleanUrls'",
      "'functions' cannot be used together with 'builds'",
      "headers[0] lacks 'headers'",
    ]);
  });

  it('refuses a top level that is not an object', () => {
    expect(vercelJsonProblems([])).toEqual(['is not a JSON object']);
  });
});

describe('configFileProblems', () => {
  it('parses JSON and YAML (every document)', () => {
    expect(configFileProblems('a.json', '{"a":1}')).toEqual([]);
    expect(configFileProblems('a.json', '{"a":1,}')[0]).toMatch(/^invalid JSON/);
    expect(configFileProblems('a.yaml', 'a: 1\n---\nb: [1, 2]\n')).toEqual([]);
    expect(configFileProblems('a.yml', 'a: 1\n---\nb: [1, 2\n')[0]).toMatch(/^invalid YAML/);
    expect(configFileProblems('vercel.json', '{"cleanUrls": true, "foo": 1}')).toEqual(["unknown top-level key 'foo'"]);
  });
});

describe('checkConfigFiles', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pd-config-'));
    await mkdir(path.join(dir, 'config'));
    await mkdir(path.join(dir, 'node_modules', 'x'), { recursive: true });
    await writeFile(path.join(dir, 'vercel.json'), '{"cleanUrls": true}');
    await writeFile(path.join(dir, 'config', 'app.yaml'), 'port: 3000\n');
    await writeFile(path.join(dir, 'config', 'broken.json'), '{');
    await writeFile(path.join(dir, 'node_modules', 'x', 'bad.json'), '{');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('passes when every matched file parses (node_modules is not searched)', async () => {
    const r = await checkConfigFiles(['vercel.json', 'config/*.yaml', '**/bad.json'], dir);
    expect(r.status).toBe('fail');
    expect(r.reason).toBe("'**/bad.json' matches no file");
    const ok = await checkConfigFiles(['vercel.json', 'config/*.yaml'], dir);
    expect(ok.status).toBe('pass');
    expect(ok.reason).toBe('2 files parse (config/app.yaml, vercel.json)');
  });

  it('fails with every broken file and its error', async () => {
    const r = await checkConfigFiles(['config/*'], dir);
    expect(r.status).toBe('fail');
    expect(r.reason).toMatch(/^config\/broken\.json: invalid JSON/);
  });

  it('is not-checked when the files cannot be searched', async () => {
    const file = path.join(dir, 'vercel.json');
    const r = await checkConfigFiles(['*.json'], file);
    expect(r.status).toBe('not-checked');
  });

  it('is skipped without config-files', async () => {
    expect((await checkConfigFiles([], dir)).status).toBe('skipped');
  });
});
