/**
 * Runs the bundled action the way the runner does: `node dist/index.js` (or `dist/post.js`) as a
 * child process, spawned with an env object (never through a shell, which drops variables with a
 * hyphen such as `INPUT_PRODUCTION-URL`), with fresh temp files for GITHUB_OUTPUT,
 * GITHUB_STEP_SUMMARY, GITHUB_STATE, GITHUB_ENV and a RUNNER_TEMP dir. Returns what a workflow
 * would see: exit code, logs, outputs, summary, saved state, and the JSON report.
 *
 * The child's environment is built from scratch: an outer job's GITHUB_OUTPUT (when the tests run
 * in GitHub Actions) must never be written by the action under test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Report } from '../../src/pipeline/types.ts';

export const ROOT = resolve(import.meta.dirname, '..', '..');
/** Node 24, as `runs.using: node24` (the machine's own node may be older). */
export const NODE = join(ROOT, 'node_modules', '.bin', 'node');

/**
 * The runner's variable for an input (as `core.getInput` reads it). Not imported from src/config so
 * that this file also runs under plain `node` (type stripping cannot follow src's `.js` imports).
 */
export function inputEnvName(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

export interface RunActionOptions {
  /** Relative to the repository root, or absolute. */
  entry: 'dist/index.js' | 'dist/post.js' | (string & {});
  /** Extra environment (GITHUB_*, *_API_URL…); `undefined` removes a variable the harness sets. */
  env?: Record<string, string | undefined>;
  /** Action inputs by name (`production-url`), passed as `INPUT_PRODUCTION-URL` as the runner does. */
  inputs?: Record<string, string>;
  /** Working directory (the workspace); default the repository root. */
  cwd?: string;
  /** Saved state to hand to a post step, as `STATE_<name>`: an earlier run, or name → value. */
  stateFrom?: ActionRun | Record<string, string>;
  /** Send `signal` after `afterMs`, or when a stdout line matches `whenLine` (cancellation tests). */
  kill?: { signal: NodeJS.Signals; afterMs?: number; whenLine?: RegExp };
  /** Hard limit; the child is SIGKILLed after it (default 120 s). */
  timeoutMs?: number;
  /** Keep the temp dir (its path is in the result) instead of removing it. */
  keepTemp?: boolean;
}

export interface ActionRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** GITHUB_OUTPUT, parsed. */
  outputs: Record<string, string>;
  /** GITHUB_STEP_SUMMARY as written. */
  summary: string;
  /** GITHUB_STATE, parsed (the last value of each name wins, as on the runner). */
  state: Record<string, string>;
  /** GITHUB_ENV, parsed. */
  exported: Record<string, string>;
  /** Raw contents of every runner file, for leak checks. */
  files: { output: string; summary: string; state: string; env: string };
  /** The JSON report named by the `report` output, when it exists. */
  report?: Report;
  reportText?: string;
  /** The run's temp dir (removed unless `keepTemp`). */
  temp: string;
  /** When each signal was sent (ms after spawn). */
  killedAt?: number;
}

export interface RunningAction {
  child: ChildProcess;
  /** Sends a signal now. */
  kill(signal: NodeJS.Signals): void;
  /** Resolves with the first stdout line matching `pattern` (rejects on exit or timeout). */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  result: Promise<ActionRun>;
}

/** Parses the runner's file-command format: `name<<delimiter` … `delimiter`, or `name=value`. */
export function parseFileCommands(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const end = lines.indexOf(heredoc[2]!, i + 1);
      if (end < 0) throw new Error(`unterminated value for ${heredoc[1]} in a runner file`);
      out[heredoc[1]!] = lines.slice(i + 1, end).join('\n');
      i = end;
    } else if (line.includes('=')) {
      const at = line.indexOf('=');
      out[line.slice(0, at)] = line.slice(at + 1);
    }
  }
  return out;
}

/** Starts the action; see `runAction` for the common case. */
export function startAction(options: RunActionOptions): RunningAction {
  const temp = mkdtempSync(join(tmpdir(), 'pd-e2e-'));
  const files = {
    output: join(temp, 'output'),
    summary: join(temp, 'summary.md'),
    state: join(temp, 'state'),
    env: join(temp, 'env'),
  };
  for (const f of Object.values(files)) writeFileSync(f, '');
  const runnerTemp = join(temp, 'runner-temp');
  const home = join(temp, 'home');
  mkdirSync(runnerTemp);
  mkdirSync(home);

  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: home,
    LANG: 'C.UTF-8',
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_OUTPUT: files.output,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_STATE: files.state,
    GITHUB_ENV: files.env,
    RUNNER_TEMP: runnerTemp,
    ...options.env,
  };
  for (const [name, value] of Object.entries(options.inputs ?? {})) env[inputEnvName(name)] = value;
  const from = options.stateFrom;
  const saved = from && 'stdout' in from && typeof from.stdout === 'string' ? (from as ActionRun).state : from;
  for (const [name, value] of Object.entries(saved ?? {})) env[`STATE_${name}`] = value as string;
  const cleanEnv = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<string, string>;

  const entry = resolve(ROOT, options.entry);
  const started = Date.now();
  const child = spawn(NODE, [entry], { cwd: options.cwd ?? ROOT, env: cleanEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let partial = '';
  let killedAt: number | undefined;
  const lineWaiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const kill = (signal: NodeJS.Signals): void => {
    killedAt ??= Date.now() - started;
    child.kill(signal);
  };

  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk;
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      for (const w of [...lineWaiters]) {
        if (w.pattern.test(line)) {
          lineWaiters.splice(lineWaiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  child.stderr.on('data', (chunk: string) => (stderr += chunk));

  const waitForLine = (pattern: RegExp, timeoutMs = 60_000): Promise<string> =>
    new Promise((resolveLine, reject) => {
      const already = stdout.split('\n').find((l) => pattern.test(l));
      if (already !== undefined) return resolveLine(already);
      const timer = setTimeout(
        () => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const waiter = {
        pattern,
        resolve: (line: string) => {
          clearTimeout(timer);
          resolveLine(line);
        },
      };
      lineWaiters.push(waiter);
      child.once('exit', () => {
        clearTimeout(timer);
        if (lineWaiters.includes(waiter)) reject(new Error(`the action exited before a line matched ${pattern}`));
      });
    });

  if (options.kill) {
    const { signal, afterMs, whenLine } = options.kill;
    if (afterMs !== undefined) setTimeout(() => kill(signal), afterMs).unref();
    if (whenLine)
      waitForLine(whenLine, options.timeoutMs ?? 120_000).then(
        () => kill(signal),
        () => {},
      );
  }
  const hardLimit = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);

  const result = new Promise<ActionRun>((resolveRun, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(hardLimit);
      const read = (f: string): string => (existsSync(f) ? readFileSync(f, 'utf8') : '');
      const raw = {
        output: read(files.output),
        summary: read(files.summary),
        state: read(files.state),
        env: read(files.env),
      };
      const outputs = parseFileCommands(raw.output);
      const run: ActionRun = {
        code,
        signal,
        stdout,
        stderr,
        outputs,
        summary: raw.summary,
        state: parseFileCommands(raw.state),
        exported: parseFileCommands(raw.env),
        files: raw,
        temp,
        ...(killedAt === undefined ? {} : { killedAt }),
      };
      if (outputs.report && existsSync(outputs.report)) {
        run.reportText = readFileSync(outputs.report, 'utf8');
        run.report = JSON.parse(run.reportText) as Report;
      }
      if (!options.keepTemp) rmSync(temp, { recursive: true, force: true });
      resolveRun(run);
    });
  });
  return { child, kill, waitForLine, result };
}

/** Runs the action to completion and returns what the runner would have seen. */
export function runAction(options: RunActionOptions): Promise<ActionRun> {
  return startAction(options).result;
}
