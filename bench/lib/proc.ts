/**
 * Process figures from /proc (Linux): peak resident memory (VmHWM, the kernel's high-water mark of
 * the resident set) and the current resident set (VmRSS) of one process.
 */
import { readFileSync } from 'node:fs';

export interface ProcMemory {
  /** Peak resident set since the process started, bytes. */
  peakRss: number;
  /** Resident set now, bytes. */
  rss: number;
}

/** VmHWM and VmRSS of `pid`, or undefined once the process is gone. */
export function readMemory(pid: number): ProcMemory | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
  const peakRss = kb('VmHWM');
  const rss = kb('VmRSS');
  // A zombie (exited, not yet reaped) has no memory lines: treat it as gone.
  if (!Number.isFinite(peakRss)) return undefined;
  return { peakRss, rss };
}

/** CPU time (user + system) the process has used so far, ms; undefined once it is gone. */
export function readCpuMs(pid: number): number | undefined {
  try {
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat, in clock ticks (100 per second on Linux).
    return ((Number(f[11]) + Number(f[12])) / 100) * 1000;
  } catch {
    return undefined;
  }
}

/**
 * Watches a process's peak RSS and CPU time: VmHWM only grows, so the last value read before the
 * process exits is its peak up to then. Polls every `everyMs`; `stop()` reads once more and returns
 * the highest value seen; `cpuMs()` is the CPU time at the last reading.
 */
export function watchPeak(pid: number, everyMs = 100): { peak(): number; stop(): number; cpuMs(): number } {
  let peak = 0;
  let cpu = 0;
  const read = () => {
    const m = readMemory(pid);
    if (m && m.peakRss > peak) peak = m.peakRss;
    const c = readCpuMs(pid);
    if (c !== undefined && c > cpu) cpu = c;
  };
  read();
  const timer = setInterval(read, everyMs);
  timer.unref();
  return {
    peak: () => (read(), peak),
    stop: () => {
      clearInterval(timer);
      read();
      return peak;
    },
    cpuMs: () => cpu,
  };
}

/** Load average over one minute (a busy machine makes every timing figure noisy; the doc says how busy). */
export function loadAverage(): number {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return NaN;
  }
}
