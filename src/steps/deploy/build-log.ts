/**
 * Green's build log, streamed into the step's log group while Vercel builds: the events endpoint
 * is read again at each readiness poll and only the lines not printed yet are printed. Build output
 * is remote text (the app's own scripts write it), so it is printed only through `log.untrusted`,
 * which fences it between stop-commands markers: a line such as `::add-mask::` or `::set-output`
 * in a build log can never act as a workflow command.
 */
import type { Logger } from '../../pipeline/types.js';
import type { BuildEvent, VercelApi } from '../../providers/vercel-api.js';

/** At most this many lines are printed per deployment; a runaway build cannot flood the job log. */
const MAX_LINES = 5000;

export class BuildLogStream {
  /** Events already seen (the endpoint returns the whole log each time). */
  private seen = 0;
  private lines = 0;
  private cut = false;
  private failures = 0;
  private readonly vercel: Pick<VercelApi, 'getBuildEvents'>;
  private readonly deploymentId: string;
  private readonly log: Logger;

  constructor(vercel: Pick<VercelApi, 'getBuildEvents'>, deploymentId: string, log: Logger) {
    this.vercel = vercel;
    this.deploymentId = deploymentId;
    this.log = log;
  }

  /** Print the events not printed yet. A failure to read the log is logged once, never fatal. */
  async pump(): Promise<void> {
    let events: BuildEvent[];
    try {
      events = await this.vercel.getBuildEvents(this.deploymentId);
    } catch (err) {
      // The build matters, its log is a courtesy: the readiness poll decides, not this.
      if (this.failures++ === 0)
        this.log.debug(
          `Build log of ${this.deploymentId} not available: ${err instanceof Error ? err.message : String(err)}`,
        );
      return;
    }
    const fresh = events.slice(this.seen);
    this.seen = events.length;
    const lines = buildLines(fresh);
    if (lines.length === 0 || this.cut) return;
    const room = MAX_LINES - this.lines;
    if (lines.length > room) {
      this.cut = true;
      if (room > 0) this.log.untrusted(lines.slice(0, room).join('\n'));
      this.log.info(`(build log cut after ${MAX_LINES} lines; the full log is on Vercel)`);
      return;
    }
    this.lines += lines.length;
    this.log.untrusted(lines.join('\n'));
  }
}

/** The printable lines of build events: stdout/stderr/command text, one line per event line. */
export function buildLines(events: readonly BuildEvent[]): string[] {
  const out: string[] = [];
  for (const e of events) {
    if (!e.text) continue;
    const prefix = e.type === 'stderr' ? '! ' : e.type === 'command' ? '$ ' : '';
    for (const line of e.text.replace(/\r\n?/g, '\n').split('\n')) {
      if (line.trim() === '') continue;
      out.push(`${prefix}${line}`);
    }
  }
  return out;
}
