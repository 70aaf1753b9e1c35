import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError, defaultSmokeChecks, isJsonPointer, parseSmokeTests } from '../../../src/config/index.ts';

const noFiles = {
  dirs: ['/nowhere'],
  readFile: (): string => {
    throw new Error('ENOENT');
  },
};

function problem(raw: string, src: Parameters<typeof parseSmokeTests>[1] = noFiles): InputError {
  try {
    parseSmokeTests(raw, src);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).input).toBe('smoke-tests');
    return err as InputError;
  }
  throw new Error('expected an InputError');
}

describe('smoke-tests inline YAML', () => {
  it('applies defaults to a minimal check', () => {
    expect(parseSmokeTests('- path: /health', noFiles)).toEqual([
      { name: 'GET /health', path: '/health', method: 'GET', headers: {}, status: 200, contains: [], json: {} },
    ]);
  });

  it('reads every field', () => {
    const yaml = [
      '- name: checkout',
      '  path: /api/cart?x=1',
      '  method: post',
      '  headers: {X-Test: yes, Retry: 3}',
      '  body: {sku: abc, qty: 2}',
      '  status: 201',
      '  contains: created',
      '  json: {"/status": ok, "/items/0/qty": 2, "/a~1b": null}',
      '  max-ms: 250',
    ].join('\n');
    expect(parseSmokeTests(yaml, noFiles)).toEqual([
      {
        name: 'checkout',
        path: '/api/cart?x=1',
        method: 'POST',
        headers: { 'X-Test': 'yes', Retry: '3', 'content-type': 'application/json' },
        body: '{"sku":"abc","qty":2}',
        status: 201,
        contains: ['created'],
        json: { '/status': 'ok', '/items/0/qty': 2, '/a~1b': null },
        maxMs: 250,
      },
    ]);
  });

  it('keeps a string body as is and an explicit content-type', () => {
    const [check] = parseSmokeTests(
      "- {path: /x, method: PUT, body: 'a=1', headers: {Content-Type: text/plain}}",
      noFiles,
    );
    expect(check!.body).toBe('a=1');
    expect(check!.headers).toEqual({ 'Content-Type': 'text/plain' });
  });

  it('accepts a JSON document and a {checks: [...]} mapping', () => {
    expect(parseSmokeTests('[{"path": "/a"}, {"path": "/b", "status": "204"}]', noFiles).map((c) => c.status)).toEqual([
      200, 204,
    ]);
    expect(parseSmokeTests('checks:\n  - path: /a', noFiles)).toHaveLength(1);
  });

  it('numbers repeated default names and refuses repeated explicit ones', () => {
    expect(parseSmokeTests('- path: /\n- path: /\n  contains: hi', noFiles).map((c) => c.name)).toEqual([
      'GET /',
      'GET / #2',
    ]);
    expect(problem('- {name: a, path: /}\n- {name: a, path: /x}').message).toContain('check 2 › name');
  });

  it.each([
    ['- path: /\n  staus: 200', 'staus'],
    ['- path: health', 'check 1 › path'],
    ['- method: GET', 'check 1 › path'],
    ['- {path: /, method: FETCH}', 'check 1 › method'],
    ['- {path: /, body: x}', 'check 1 › body'],
    ['- {path: /, status: 700}', 'check 1 › status'],
    ['- {path: /, status: ok}', 'check 1 › status'],
    ['- {path: /, json: {status: ok}}', 'check 1 › json'],
    ['- {path: /, json: {"/a~2": 1}}', 'check 1 › json'],
    ['- {path: /, max-ms: -5}', 'check 1 › max-ms'],
    ['- {path: /, max-ms: fast}', 'check 1 › max-ms'],
    ['- {path: /, headers: [a]}', 'check 1 › headers'],
    ['- {path: /, headers: {"bad name": x}}', 'check 1 › headers'],
    ['- {path: /, headers: {X-A: [1]}}', 'check 1 › headers › X-A'],
    ['- {path: /, contains: [""]}', 'check 1 › contains'],
    ['- {path: /, name: ""}', 'check 1 › name'],
    ['- /health', 'check 1'],
    ['- {path: /}\n- 5', 'check 2'],
  ])('rejects %j, saying where (%s)', (raw, where) => {
    const err = problem(raw);
    expect(err.message).toContain(where);
    expect(err.message).toContain('`smoke-tests`');
  });

  it.each(['[]', '{}', 'checks: 5', '- [unclosed', 'a: 1\na: 2', '# only a comment\n'])(
    'rejects the document %j',
    (raw) => {
      expect(problem(raw).message).toMatch(/list of 1 to 100 checks/);
    },
  );

  it('refuses more than 100 checks', () => {
    const raw = Array.from({ length: 101 }, (_, i) => `- path: /p${i}`).join('\n');
    expect(problem(raw).message).toContain('a list of 101 items');
  });

  it('treats a __proto__ header as data', () => {
    const [check] = parseSmokeTests('- {path: /, headers: {__proto__: x}}', noFiles);
    expect(Object.getPrototypeOf(check!.headers)).toBe(Object.prototype);
    expect(Object.keys(check!.headers)).toEqual(['__proto__']);
  });
});

describe('smoke-tests files', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'smoke-'));
  const app = path.join(root, 'app');
  fs.mkdirSync(path.join(app, 'ci'), { recursive: true });
  fs.writeFileSync(path.join(app, 'ci', 'smoke.yml'), '- name: home\n  path: /\n  contains: Welcome\n');
  fs.writeFileSync(path.join(root, 'smoke.json'), '[{"path": "/api/health", "json": {"/ok": true}}]');
  fs.writeFileSync(path.join(root, 'broken.yml'), '- path: /\n  bogus: 1\n');
  const src = { dirs: [app, root], readFile: (f: string) => fs.readFileSync(f, 'utf8') };
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('finds a file relative to working-directory first', () => {
    expect(parseSmokeTests('ci/smoke.yml', src)[0]).toMatchObject({ name: 'home', contains: ['Welcome'] });
  });
  it('then relative to the workspace, and reads JSON', () => {
    expect(parseSmokeTests('smoke.json', src)[0]).toMatchObject({ path: '/api/health', json: { '/ok': true } });
  });
  it('accepts an absolute path', () => {
    expect(parseSmokeTests(path.join(root, 'smoke.json'), src)).toHaveLength(1);
  });
  it('says every place it looked for a missing file', () => {
    const err = problem('missing.yml', src);
    expect(err.message).toContain(path.join(app, 'missing.yml'));
    expect(err.message).toContain(path.join(root, 'missing.yml'));
  });
  it('names the file when its content is wrong', () => {
    expect(problem('broken.yml', src).message).toContain(path.join(root, 'broken.yml'));
  });
});

describe('defaults and pointers', () => {
  it('defaults to GET health-check-path → 200', () => {
    expect(defaultSmokeChecks('/healthz')).toEqual([
      { name: 'GET /healthz', path: '/healthz', method: 'GET', headers: {}, status: 200, contains: [], json: {} },
    ]);
  });
  it('validates RFC 6901 pointers', () => {
    expect(['', '/a', '/a/0', '/a~0b/c~1d', '/'].every(isJsonPointer)).toBe(true);
    expect(['a', '/a~', '/a~2'].some(isJsonPointer)).toBe(false);
  });
});
