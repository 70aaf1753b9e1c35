/**
 * Where inputs come from (`InputSource`), and the `Reader` that reads them while collecting every
 * problem instead of stopping at the first.
 */
import fs from 'node:fs';
import * as core from '@actions/core';
import { HIDDEN, InputError, type InputProblem } from './errors.js';

/** The action's inputs and environment, injectable so parsing is testable without `@actions/core`. */
export interface InputSource {
  /** The input's value, '' when not given (as `core.getInput`). */
  getInput(name: string): string;
  env: Record<string, string | undefined>;
  /** Reads a UTF-8 file (event payload, smoke-tests file); default `fs.readFileSync`. */
  readFile?(path: string): string;
  /** The workspace: relative paths resolve against it; default `process.cwd()`. */
  cwd?: string;
  /** Registers a secret with the runner (`core.setSecret`); called before anything is validated. */
  setSecret?(value: string): void;
}

/** Inputs that hold secrets: registered first, never echoed. */
export const SECRET_INPUTS = [
  'github-token',
  'vercel-token',
  'vercel-protection-bypass',
  'cloudflare-api-token',
  'datadog-api-key',
  'datadog-app-key',
  'slack-token',
] as const;

/** Environment variables that hold secrets the action may come across (AWS's default credential chain). */
export const SECRET_ENV = ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'] as const;

/**
 * Trims ASCII whitespace only. A ref or branch name is never passed through `String.prototype.trim`,
 * which also strips Unicode spaces that are legal in git names (actions/checkout does the same).
 */
export function trimAscii(value: string): string {
  return value.replace(/^[\t\n\v\f\r ]+|[\t\n\v\f\r ]+$/g, '');
}

/** The runner's name for an input's environment variable (as `core.getInput` computes it). */
export function inputEnvName(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

/** An `InputSource` on the real runner: `@actions/core` inputs and secrets, `process.env`, the file system. */
export function fromActions(): InputSource {
  return {
    getInput: (name) =>
      name === 'branch' ? trimAscii(core.getInput(name, { trimWhitespace: false })) : core.getInput(name),
    env: process.env,
    readFile: (file) => fs.readFileSync(file, 'utf8'),
    cwd: process.cwd(),
    setSecret: (value) => core.setSecret(value),
  };
}

/** An `InputSource` over an environment object with `INPUT_*` variables, as the runner passes them. */
export function fromEnv(env: Record<string, string | undefined>, extra: Partial<InputSource> = {}): InputSource {
  return { getInput: (name) => env[inputEnvName(name)] ?? '', env, ...extra };
}

/** Reads inputs and environment variables, collecting problems; parse failures yield `undefined`. */
export class Reader {
  readonly problems: InputProblem[] = [];
  readonly warnings: string[] = [];
  private readonly bad = new Set<string>();
  private readonly source: InputSource;

  constructor(source: InputSource) {
    this.source = source;
  }

  /** The input, trimmed (ASCII whitespace only for `branch`). */
  input(name: string): string {
    const raw = this.source.getInput(name) ?? '';
    return name === 'branch' ? trimAscii(raw) : raw.trim();
  }

  /** An environment variable, trimmed; '' when unset. */
  env(name: string): string {
    return (this.source.env[name] ?? '').trim();
  }

  /** True when the input was given (non-empty). */
  has(name: string): boolean {
    return this.input(name) !== '';
  }

  /** Records a problem for `input` (with `got` already described or hidden). */
  problem(input: string, got: string, accepts: string): void {
    this.problems.push({ input, got, accepts });
    this.bad.add(input);
  }

  /** True when any of the inputs already has a problem; cross-field checks skip them to avoid noise. */
  failed(...inputs: string[]): boolean {
    return inputs.some((i) => this.bad.has(i));
  }

  /** Runs `fn`, collecting an `InputError`'s problems; anything else is a bug and propagates. */
  attempt<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      for (const p of err.problems) this.problem(p.input, p.got, p.accepts);
      return undefined;
    }
  }

  /**
   * Parses the input, else the environment variable `envName` that stands in for it, else returns `fallback`.
   * A bad value from the environment is reported under the input's name, saying where it came from.
   */
  value<T>(name: string, parse: (raw: string, input: string) => T, fallback: T, envName?: string): T {
    const fromInput = this.input(name);
    const raw = fromInput !== '' || envName === undefined ? fromInput : this.env(envName);
    if (raw === '') return fallback;
    try {
      return parse(raw, name);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      for (const p of err.problems) {
        const via = fromInput === '' && envName !== undefined ? ` (from the environment variable ${envName})` : '';
        this.problem(p.input, `${p.got}${via}`, p.accepts);
      }
      return fallback;
    }
  }

  /** Like `value`, `undefined` when not given. */
  optional<T>(name: string, parse: (raw: string, input: string) => T, envName?: string): T | undefined {
    return this.value<T | undefined>(name, parse, undefined, envName);
  }

  /** A secret input: one line of printable text, never echoed. '' when not given. */
  secret(name: string): string {
    const value = this.input(name);
    // A line break or control character would make an invalid HTTP header at the first call.
    // eslint-disable-next-line no-control-regex
    if (/[\s\u0000-\u001f\u007f]/.test(value)) {
      this.problem(
        name,
        `${HIDDEN} that contains spaces, line breaks or control characters`,
        'the token as issued, on one line',
      );
    }
    return value;
  }

  /** Records that `name` must be given, with the reason. */
  require(name: string, accepts: string): void {
    if (!this.has(name) && !this.failed(name)) this.problem(name, 'nothing', accepts);
  }

  /** The workspace directory and file reader of the source. */
  get cwd(): string {
    return this.source.cwd ?? process.cwd();
  }

  readFile(file: string): string {
    return this.source.readFile ? this.source.readFile(file) : fs.readFileSync(file, 'utf8');
  }
}
