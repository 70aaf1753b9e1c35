/**
 * `npm run sandbox -- up --scenario NAME|PATH [--write-env FILE]`: start the sandbox, print one line
 * per service, optionally write the run's environment as `KEY=value` lines, and run until SIGINT or
 * SIGTERM, then stop everything it started.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSandbox } from './index.ts';

const USAGE = `usage: npm run sandbox -- up [--scenario NAME|PATH] [--write-env FILE] [--no-traffic]
       npm run sandbox -- with-env FILE -- COMMAND [ARGS…]

  up            start the sandbox and run until SIGINT/SIGTERM
    --scenario  a scenario under sandbox/scenarios (default: default) or a YAML/JSON file
    --write-env write the run's environment (GITHUB_*, provider URLs, INPUT_*) as KEY=value lines
    --no-traffic do not start the steady traffic stream to the production URL
  with-env      run COMMAND with the variables of a --write-env file added to the environment
                (names like INPUT_PRODUCTION-URL cannot be exported by a shell)`;

/** POSIX shell quoting: bare when safe, else single quotes (`'` written as `'\\''`). */
export function shellQuote(v: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(v)) return v;
  return `'${v.replace(/'/g, `'\\''`)}'`;
}

/** The env file: one `KEY=value` line per variable, sorted. */
export function formatEnvFile(env: Record<string, string>): string {
  return (
    Object.keys(env)
      .sort()
      .map((k) => `${k}=${shellQuote(env[k]!)}`)
      .join('\n') + '\n'
  );
}

/** Read a file written by `--write-env` back (for Node tools: keys with hyphens are not shell variables). */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /^([A-Za-z_][A-Za-z0-9_-]*)=((?:'(?:[^']|'\\'')*'|[^\n'])*)$/gm;
  for (const m of text.matchAll(re)) {
    const raw = m[2]!;
    out[m[1]!] = raw.startsWith("'") ? raw.slice(1, -1).replace(/'\\''/g, "'") : raw;
  }
  return out;
}

function parseArgs(argv: string[]): { cmd?: string; scenario: string; writeEnv?: string; traffic: boolean } {
  const out = {
    cmd: undefined as string | undefined,
    scenario: 'default',
    writeEnv: undefined as string | undefined,
    traffic: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (!v) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--scenario' || a.startsWith('--scenario=')) out.scenario = value();
    else if (a === '--write-env' || a.startsWith('--write-env=')) out.writeEnv = value();
    else if (a === '--no-traffic') out.traffic = false;
    else if (a === '-h' || a === '--help') out.cmd = 'help';
    else if (!a.startsWith('-') && !out.cmd) out.cmd = a;
    else throw new Error(`unknown argument ${a}`);
  }
  return out;
}

/** `with-env FILE -- COMMAND…`: spawn COMMAND with the file's variables, pass its exit code on. */
function withEnv(argv: string[]): Promise<number> {
  const sep = argv.indexOf('--');
  const file = argv[0];
  const cmd = sep >= 0 ? argv.slice(sep + 1) : argv.slice(1);
  if (!file || file === '--' || cmd.length === 0) {
    console.error(USAGE);
    return Promise.resolve(2);
  }
  const env = { ...process.env, ...parseEnvFile(fs.readFileSync(file, 'utf8')) };
  return new Promise((resolve) => {
    const child = spawn(cmd[0]!, cmd.slice(1), { env, stdio: 'inherit' });
    child.on('error', (err) => {
      console.error(`cannot run ${cmd[0]}: ${err.message}`);
      resolve(127);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

async function main(): Promise<number> {
  if (process.argv[2] === 'with-env') return withEnv(process.argv.slice(3));
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.cmd !== 'up') {
    console.log(USAGE);
    return args.cmd === 'help' ? 0 : 2;
  }
  const sb = await startSandbox({ scenario: args.scenario, traffic: args.traffic });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) process.exit(1); // a second signal: give up waiting
    stopping = true;
    console.log(`\n${signal}: stopping the sandbox…`);
    sb.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`stop failed: ${String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  const pad = (s: string) => s.padEnd(12);
  console.log(`sandbox "${sb.scenario.name}" is up in ${sb.startupMs} ms — ${sb.scenario.description}`);
  for (const [name, url] of Object.entries(sb.urls).sort()) console.log(`  ${pad(name)} ${url}`);
  console.log(`  ${pad('app')} ${sb.env['INPUT_WORKING-DIRECTORY']} (deployed by the run)`);
  for (const n of sb.notes) console.log(`  note: ${n}`);
  if (args.writeEnv) {
    fs.writeFileSync(args.writeEnv, formatEnvFile(sb.env), { mode: 0o600 });
    console.log(`environment written to ${args.writeEnv} (${Object.keys(sb.env).length} variables)`);
  }
  console.log(`state: ${sb.urls.sandbox}/_sandbox/state — Ctrl-C to stop`);
  return -1; // keep running until a signal
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().then(
    (code) => {
      if (code >= 0) process.exit(code);
    },
    (err: unknown) => {
      console.error(`sandbox failed to start: ${(err as Error).stack ?? String(err)}`);
      process.exit(1);
    },
  );
}
