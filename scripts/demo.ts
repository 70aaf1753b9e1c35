/**
 * `npm run demo [-- --scenario NAME]`: the first thing a newcomer runs. Starts the sandbox (a local
 * miniature of GitHub, Vercel, Cloudflare, Datadog, Slack and S3), runs the bundled action
 * (`dist/index.js`) exactly as the runner would — a child process with an env object holding
 * `INPUT_*`, `GITHUB_*` and the runner's files — and streams its log rendered as the Actions log
 * viewer shows it. Then it runs the post step (`dist/post.js`) with the saved state, prints the job
 * summary, the outputs and which version production serves, and stops everything (on Ctrl-C too).
 *
 * Exit status: 0 when the demo ran to a verdict (a rolled-back deploy is a successful demo of a
 * rollback); 1 when it could not (no bundle, the sandbox did not start, the action crashed).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAction, type ActionRun, type RunningAction } from '../__tests__/e2e/harness.ts';
import { startSandbox, type Sandbox } from '../sandbox/index.ts';

const ROOT = resolve(import.meta.dirname, '..');

const USAGE = `usage: npm run demo [-- options]

  --scenario NAME|PATH  a scenario of sandbox/scenarios (default: default; try bad-release, no-go,
                        smoke-fail, canary, flaky-providers) or a YAML/JSON scenario file
  --mode MODE           deploy (default), plan or rollback
  --input NAME=VALUE    set an action input (repeatable), e.g. --input strategy=canary
  --dist DIR            the bundle to run (default: dist)
  --keep                leave the sandbox running after the run, until Ctrl-C
  --debug               show the action's debug lines`;

export interface DemoArgs {
  scenario: string;
  mode?: string;
  inputs: Record<string, string>;
  dist: string;
  keep: boolean;
  debug: boolean;
  help: boolean;
}

/** Parses the demo's command line; throws with a message naming the bad argument. */
export function parseArgs(argv: readonly string[]): DemoArgs {
  const args: DemoArgs = { scenario: 'default', inputs: {}, dist: 'dist', keep: false, debug: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] =
      arg.startsWith('--') && arg.includes('=')
        ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
        : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === '--scenario') args.scenario = value();
    else if (flag === '--mode') args.mode = value();
    else if (flag === '--dist') args.dist = value();
    else if (flag === '--input') {
      const pair = value();
      const at = pair.indexOf('=');
      if (at <= 0) throw new Error(`--input needs NAME=VALUE, got "${pair}"`);
      args.inputs[pair.slice(0, at)] = pair.slice(at + 1);
    } else if (flag === '--keep') args.keep = true;
    else if (flag === '--debug') args.debug = true;
    else if (flag === '-h' || flag === '--help') args.help = true;
    else throw new Error(`unknown argument ${arg}`);
  }
  if (args.mode) args.inputs.mode = args.mode;
  return args;
}

/** Terminal styles, or none when stdout is not a terminal or NO_COLOR is set. */
export interface Styles {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

export function styles(enabled: boolean): Styles {
  const wrap = (open: number, close: number) => (s: string) => (enabled ? `\x1b[${open}m${s}\x1b[${close}m` : s);
  return { bold: wrap(1, 22), dim: wrap(2, 22), red: wrap(31, 39), yellow: wrap(33, 39), cyan: wrap(36, 39) };
}

/** Undoes the runner's escaping of a command's message (`%25`, `%0D`, `%0A`). */
function unescapeData(s: string): string {
  return s.replace(/%0D/gi, '\r').replace(/%0A/gi, '\n').replace(/%25/g, '%');
}

/**
 * Renders the action's stdout as the Actions log viewer does: groups become headings, errors and
 * warnings are labelled, and `::add-mask::` (a secret), state and debug lines are never shown.
 * `::stop-commands::TOKEN` is honoured, so text the action printed verbatim stays verbatim.
 * One instance per log: it remembers the stop token between lines.
 */
export function createLogRenderer(style: Styles, debug = false): (line: string) => string | undefined {
  let stopToken: string | undefined;
  return (line) => {
    if (stopToken !== undefined) {
      if (line === `::${stopToken}::`) {
        stopToken = undefined;
        return undefined;
      }
      return line;
    }
    const m = /^::([a-z-]+)(?: ([^:]*))?::(.*)$/.exec(line);
    if (!m) return line;
    const [, command, props = '', data = ''] = m;
    const message = unescapeData(data);
    const title = /(?:^|,)title=([^,]*)/.exec(props)?.[1];
    const label = (name: string) => (title ? `${name} (${unescapeData(title)})` : name);
    switch (command) {
      case 'group':
        return `\n${style.bold(style.cyan(`▼ ${message}`))}`;
      case 'endgroup':
        return undefined;
      case 'error':
        return style.red(`${label('Error')}: ${message}`);
      case 'warning':
        return style.yellow(`${label('Warning')}: ${message}`);
      case 'notice':
        return style.cyan(`${label('Notice')}: ${message}`);
      case 'debug':
        return debug ? style.dim(`[debug] ${message}`) : undefined;
      case 'stop-commands':
        stopToken = data;
        return undefined;
      case 'add-mask':
      case 'save-state':
      case 'set-output':
      case 'set-env':
      case 'add-path':
      case 'echo':
        return undefined;
      default:
        return line;
    }
  };
}

/** Prints each complete line of a child's stdout through the renderer as it arrives. */
function stream(running: RunningAction, render: (line: string) => string | undefined): void {
  let partial = '';
  running.child.stdout?.on('data', (chunk: string) => {
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const out = render(line);
      if (out !== undefined) console.log(out);
    }
  });
  running.child.stdout?.on('end', () => {
    const out = partial ? render(partial) : undefined;
    if (out !== undefined) console.log(out);
  });
  running.child.stderr?.on('data', (chunk: string) => process.stderr.write(chunk));
}

/** Which app version (`x-app-version`) answers a few requests to production; each with a timeout. */
async function productionVersions(url: string, n = 10): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    let v: string;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000), headers: { 'cache-control': 'no-cache' } });
      await res.arrayBuffer();
      v = res.headers.get('x-app-version') ?? `HTTP ${res.status}`;
    } catch (err) {
      v = `no answer (${(err as Error).name})`;
    }
    out[v] = (out[v] ?? 0) + 1;
  }
  return out;
}

/** What the verdict means on a real runner, in one line. */
export function verdictLine(status: string | undefined, code: number | null): string {
  const job = code === 0 ? 'passes' : 'fails';
  const why: Record<string, string> = {
    success: 'production serves the new deployment',
    planned: 'nothing was changed; the summary says what deploy would do',
    'no-go': 'pre-flight blocked the deploy; nothing was deployed',
    failed: 'the run stopped; production was not moved to the new deployment',
    'rolled-back': 'validation failed after the switch and traffic went back to blue',
  };
  return `${status ?? 'no status'} — ${why[status ?? ''] ?? 'see the log above'}; on a runner this job ${job} (exit ${code ?? 'signal'}).`;
}

function heading(style: Styles, text: string): void {
  console.log(`\n${style.bold(`━━ ${text} ${'━'.repeat(Math.max(3, 72 - text.length))}`)}`);
}

/** The sandbox, the main step and the post step; everything started is stopped before it returns. */
async function demo(args: DemoArgs, style: Styles): Promise<number> {
  const dist = resolve(ROOT, args.dist);
  for (const entry of ['index.js', 'post.js']) {
    if (!existsSync(join(dist, entry))) {
      console.error(`${join(dist, entry)} is missing: run \`npm run bundle\` first.`);
      return 1;
    }
  }

  let sandbox: Sandbox | undefined;
  let current: RunningAction | undefined;
  let interrupted = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted++;
    if (interrupted === 1) {
      console.log(style.yellow(`\n${signal}: cancelling the run, as the runner does; the post step still runs.`));
      current?.kill(signal);
    } else {
      console.log(style.yellow(`\n${signal} again: stopping now.`));
      current?.kill('SIGKILL');
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const temps: string[] = [];
  try {
    heading(style, `Sandbox: scenario "${args.scenario}"`);
    sandbox = await startSandbox({ scenario: args.scenario });
    console.log(`${sandbox.scenario.description}`);
    console.log(
      style.dim(
        `up in ${sandbox.startupMs} ms; production ${sandbox.urls.production}, control ${sandbox.urls.sandbox}`,
      ),
    );
    for (const note of sandbox.notes) console.log(style.yellow(`note: ${note}`));
    if (interrupted) return 130;

    const inputs = Object.entries(args.inputs)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
    heading(style, `Main step: node ${join(args.dist, 'index.js')}${inputs ? ` (${inputs})` : ''}`);
    current = startAction({
      entry: join(dist, 'index.js'),
      env: sandbox.env,
      inputs: args.inputs,
      timeoutMs: 15 * 60_000,
      keepTemp: true,
    });
    stream(current, createLogRenderer(style, args.debug));
    const main: ActionRun = await current.result;
    temps.push(main.temp);

    heading(style, `Post step: node ${join(args.dist, 'post.js')}`);
    current = startAction({
      entry: join(dist, 'post.js'),
      env: sandbox.env,
      inputs: args.inputs,
      stateFrom: main,
      timeoutMs: 15 * 60_000,
      keepTemp: true,
    });
    stream(current, createLogRenderer(style, args.debug));
    const post = await current.result;
    temps.push(post.temp);
    current = undefined;

    heading(style, 'Job summary (GITHUB_STEP_SUMMARY)');
    const summary = `${main.summary}${post.summary}`.replace(/<!--[\s\S]*?-->\n?/g, '').trim();
    console.log(summary || style.dim('(empty)'));

    heading(style, 'Outputs (GITHUB_OUTPUT)');
    const names = Object.keys(main.outputs);
    const width = Math.max(0, ...names.map((n) => n.length));
    for (const name of names) console.log(`${name.padEnd(width)}  ${main.outputs[name]}`);
    if (names.length === 0) console.log(style.dim('(none)'));

    heading(style, 'Result');
    const versions = await productionVersions(sandbox.urls.production!);
    const served = Object.entries(versions)
      .map(([v, n]) => `${v} ×${n}`)
      .join(', ');
    console.log(`Production (${sandbox.urls.production}) answers: ${served}`);
    console.log(style.bold(`Verdict: ${verdictLine(main.outputs.status, main.code)}`));
    if (post.code !== 0) console.log(style.red(`The post step exited ${post.code ?? post.signal}: see its log above.`));
    if (main.outputs.report && existsSync(main.outputs.report)) {
      const report = JSON.parse(readFileSync(main.outputs.report, 'utf8')) as {
        steps?: unknown[];
        decisions?: unknown[];
      };
      console.log(
        style.dim(
          `The JSON report (${report.steps?.length ?? 0} steps, ${report.decisions?.length ?? 0} decisions) is the \`report\` output.`,
        ),
      );
    }

    if (args.keep && !interrupted) {
      process.off('SIGINT', onSignal);
      console.log(
        `\nThe sandbox stays up: ${sandbox.urls.sandbox}/_sandbox/state shows every service's state. Ctrl-C to stop.`,
      );
      await new Promise<void>((resolveWait) => process.once('SIGINT', () => resolveWait()));
    }
    // A run that produced no status crashed before it could report: the demo itself failed.
    return main.outputs.status ? 0 : 1;
  } catch (err) {
    console.error(style.red(`The demo failed: ${(err as Error).message}`));
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (sandbox) {
      console.log(style.dim('\nstopping the sandbox…'));
      await sandbox.stop();
    }
    for (const dir of temps) rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let args: DemoArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (args.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const style = styles(Boolean(process.stdout.isTTY) && !process.env.NO_COLOR);
  demo(args, style).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`The demo failed: ${(err as Error).stack ?? String(err)}`);
      process.exit(1);
    },
  );
}
