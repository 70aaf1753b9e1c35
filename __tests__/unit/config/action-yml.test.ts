import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { INPUT_NAMES, SEED_ENV, SECRET_INPUTS, parseConfig } from '../../../src/config/index.ts';
import { INPUTS, source } from './fixtures.ts';

interface ActionInput {
  description: string;
  required?: boolean;
  default?: string;
}
interface ActionYml {
  name: string;
  description: string;
  author: string;
  branding: { icon: string; color: string };
  inputs: Record<string, ActionInput>;
  outputs: Record<string, { description: string }>;
  runs: Record<string, string>;
}

const action = YAML.parse(fs.readFileSync(path.join(import.meta.dirname, '../../../action.yml'), 'utf8')) as ActionYml;

/** The literal defaults of the action's inputs (README.md, "Inputs"). */
const LITERAL_DEFAULTS: Record<string, string> = {
  mode: 'deploy',
  strategy: 'blue-green',
  environment: 'production',
  'github-token': '${{ github.token }}',
  'allowed-branches': 'main',
  'require-branch-protection': 'true',
  'required-approvals': '1',
  'required-checks': 'all',
  'checks-timeout': '10m',
  'security-block-severity': 'critical,high',
  'backup-prefix': 'production-deploy/{repo}/{environment}/',
  'working-directory': '.',
  prebuilt: 'false',
  'allow-session-affinity': 'false',
  'health-check-path': '/',
  'version-header': 'x-app-version',
  'smoke-samples': '5',
  'step-duration': '2m',
  'datadog-site': 'datadoghq.com',
  'validation-window': '5m',
  'validation-interval': '30s',
  'failure-limit': '0',
  'no-data': 'inconclusive',
  'version-identity': 'sha',
  'comparison-margin': '0.02',
  'relative-margin': '0.25',
  'min-requests': '200',
  'insufficient-data': 'rollback',
  'evaluation-delay': '60s',
  'deployment-gate-on-error': 'fail',
  'deployment-gate-timeout': '30m',
  'keep-deployments': '0',
  'pr-comment': 'true',
  'rollback-to': 'previous',
};

describe('action.yml', () => {
  it('declares exactly the inputs the parser reads, in the same order', () => {
    expect(Object.keys(action.inputs)).toEqual([...INPUT_NAMES]);
  });

  it('has metadata, branding and the node24 main and post entry points', () => {
    expect(action.name).toBe('production-deploy');
    expect(action.description.length).toBeGreaterThan(20);
    expect(action.author).toBeTruthy();
    expect(action.branding).toEqual({ icon: expect.any(String), color: expect.any(String) });
    expect(action.runs).toEqual({
      using: 'node24',
      main: 'dist/index.js',
      post: 'dist/post.js',
      'post-if': 'always()',
    });
  });

  it('gives literal defaults to exactly the inputs that have one', () => {
    const defaults = Object.fromEntries(
      Object.entries(action.inputs)
        .filter(([, i]) => i.default !== undefined)
        .map(([name, i]) => [name, String(i.default)]),
    );
    expect(defaults).toEqual(LITERAL_DEFAULTS);
  });

  it('leaves seed-variable inputs without a default and names the variable', () => {
    for (const [name, variable] of Object.entries(SEED_ENV)) {
      expect(action.inputs[name]!.default, name).toBeUndefined();
      expect(action.inputs[name]!.description, name).toContain(variable);
    }
  });

  it('describes every input with its default (or none) and never requires one', () => {
    for (const [name, input] of Object.entries(action.inputs)) {
      expect(input.required, name).toBe(false);
      expect(input.description, name).toMatch(/Default|No default/);
    }
  });

  it('has no default for any secret other than the job token', () => {
    for (const name of SECRET_INPUTS) {
      if (name !== 'github-token') expect(action.inputs[name]!.default, name).toBeUndefined();
    }
  });

  it('declares every output with a description', () => {
    expect(Object.keys(action.outputs)).toEqual([
      'status',
      'go',
      'deployment-id',
      'deployment-url',
      'previous-deployment-id',
      'production-url',
      'github-deployment-id',
      'backup-key',
      'backup-sha256',
      'rolled-back',
      'report',
    ]);
    for (const [name, output] of Object.entries(action.outputs)) expect(output.description, name).toBeTruthy();
  });

  it('defaults in action.yml and in the parser agree', () => {
    // What the runner passes when only the required inputs are set: every action.yml default.
    const fromYml: Record<string, string> = {};
    for (const [name, input] of Object.entries(action.inputs)) {
      if (input.default !== undefined) fromYml[name] = String(input.default);
    }
    fromYml['github-token'] = INPUTS['github-token']!;
    const withYmlDefaults = parseConfig(source(fromYml));
    const withCodeDefaults = parseConfig(source({}));
    expect(withYmlDefaults).toEqual(withCodeDefaults);
  });
});
