/**
 * Start-up timing: from spawning a process to the first line it writes on stdout. The process is
 * killed (SIGKILL, by its own pid) once the line has arrived when `killAfter` is set — an action run
 * would otherwise go on to deploy.
 */
import { spawn } from 'node:child_process';
import { readMemory } from './proc.ts';

export interface FirstLine {
  /** ms from spawn to the first complete stdout line. */
  ms: number;
  line: string;
  /** Peak RSS (VmHWM) of the process when the line arrived, bytes. */
  peakRss?: number;
}

/** Time to the first stdout line of `cmd args`, spawned with exactly `env` (no shell). */
export function timeToFirstLine(
  cmd: string,
  args: string[],
  o: { env: Record<string, string>; cwd?: string; killAfter?: boolean; timeoutMs?: number },
): Promise<FirstLine> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env: o.env, cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let done = false;
    const timer = setTimeout(
      () => finish(new Error(`no stdout line within ${o.timeoutMs ?? 30_000} ms`)),
      o.timeoutMs ?? 30_000,
    );
    const finish = (e?: Error, result?: FirstLine) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (o.killAfter || e) child.kill('SIGKILL');
      // Resolve only once the child is gone, so runs never overlap.
      const settle = () => (e ? reject(e) : resolve(result!));
      if (child.exitCode !== null || child.signalCode !== null) settle();
      else child.once('close', settle);
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      const nl = out.indexOf('\n');
      if (nl >= 0 && !done) {
        const ms = performance.now() - t0;
        const mem = child.pid === undefined ? undefined : readMemory(child.pid);
        finish(undefined, { ms, line: out.slice(0, nl), peakRss: mem?.peakRss });
      }
    });
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', (e) => finish(e));
    child.on('close', (code) => {
      if (!done) finish(new Error(`${cmd} exited ${code} before writing a line: ${err.slice(-500)}`));
    });
  });
}
