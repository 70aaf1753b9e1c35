/**
 * What machine the figures were measured on: they mean little without it. Read from the OS and the
 * tools themselves, never assumed.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { ROOT } from './paths.ts';
import { loadAverage } from './proc.ts';

export interface Machine {
  date: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  awsCli?: string;
  commit?: string;
  /** One-minute load average when the run started (> cores means other work competed for the CPU). */
  loadAtStart: number;
}

function tryRun(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout: 15_000, stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT })
      .trim()
      .split('\n')[0];
  } catch {
    return undefined;
  }
}

/** Describe this machine and checkout. `awsCli` is the resolved AWS CLI binary, when there is one. */
export function describeMachine(awsCli?: string): Machine {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    os: `${os.type()} ${os.release()} (${os.arch()})`,
    node: process.version,
    awsCli: awsCli ? tryRun(awsCli, ['--version']) : undefined,
    commit: tryRun('git', ['rev-parse', '--short', 'HEAD']),
    loadAtStart: loadAverage(),
  };
}
