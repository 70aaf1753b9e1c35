/**
 * Reads a run's timeline from the sandbox's request log and the action's report: for each step, how
 * long some API call was in flight, how many ran at once, and the idle gaps (no API call in flight) —
 * the waits that are not round trips: builds, windows, probes of the data plane, and the action's own
 * pauses. The gaps are how a figure that misses its goal is explained, with evidence.
 */
import type { LoggedRequest } from '../../sandbox/core/service.ts';
import type { StepResult } from '../../src/pipeline/types.ts';

/** One API call on the run's clock (ms after the action's spawn). */
export interface Call {
  service: string;
  method: string;
  /** Path with ids replaced by `{id}`, so equal operations group together. */
  op: string;
  path?: string;
  start: number;
  end: number;
  status?: number;
}

export interface Gap {
  from: number;
  to: number;
  ms: number;
  /** The call that ended just before the gap and the one that started after it (or `step start/end`). */
  after: string;
  before: string;
}

export interface StepTimeline {
  name: string;
  start: number;
  durationMs: number;
  calls: number;
  /** Time during which at least one API call was in flight. */
  apiBusyMs: number;
  /** Most API calls in flight at once. */
  maxConcurrency: number;
  gaps: Gap[];
}

const ID_SEGMENT =
  /^(dpl_\w+|prj_\w+|team_\w+|[0-9a-f]{24,}|\d{3,}|[0-9a-f]{7,40}\.\.\.[0-9a-f]{7,40}|[\w.-]+\.(dump|bin))$/;

/**
 * `GET /repos/acme/shop/deployments/1000014/statuses` → `GET /repos/acme/shop/deployments/{id}/statuses`;
 * a GitHub GraphQL call by its operation name: `POST /graphql PreflightFacts`.
 */
export function operation(method: string, path: string, name?: string): string {
  const parts = path.split('/').map((seg) => (ID_SEGMENT.test(seg) ? '{id}' : seg));
  return `${method} ${parts.join('/')}${name !== undefined ? ` ${name}` : ''}`;
}

/** A GraphQL query: a read, though sent as a POST. */
export const isGraphqlCall = (c: Pick<Call, 'op'>): boolean =>
  / \/graphql /.test(`${c.op} `) && !/ mutation$/i.test(c.op);

/** The sandbox's log as calls on the run's clock (`t0`: epoch ms of the spawn). */
export function toCalls(log: readonly LoggedRequest[], t0: number): Call[] {
  return log
    .map((r) => {
      const start = Date.parse(r.time) - t0;
      return {
        service: r.service,
        method: r.method,
        op: operation(r.method, r.path, r.operation),
        path: r.path,
        start,
        end: start + (r.durationMs ?? 0),
        status: r.status,
      };
    })
    .sort((a, b) => a.start - b.start);
}

/** Intervals where at least one call is in flight, merged, clipped to [from, to]. */
export function busyIntervals(calls: readonly Call[], from: number, to: number): [number, number][] {
  const ivs = calls
    .map((c) => [Math.max(c.start, from), Math.min(c.end, to)] as [number, number])
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const iv of ivs) {
    const last = out.at(-1);
    if (last && iv[0] <= last[1]) last[1] = Math.max(last[1], iv[1]);
    else out.push([...iv]);
  }
  return out;
}

function maxConcurrency(calls: readonly Call[], from: number, to: number): number {
  const edges: [number, number][] = [];
  for (const c of calls) {
    if (c.end <= from || c.start >= to) continue;
    edges.push([c.start, 1], [c.end, -1]);
  }
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let max = 0;
  for (const [, d] of edges) max = Math.max(max, (cur += d));
  return max;
}

const label = (c: Call | undefined, fallback: string) => (c ? `${c.service} ${c.op}` : fallback);

/** Idle gaps of at least `minMs` inside [from, to], longest first. */
export function idleGaps(calls: readonly Call[], from: number, to: number, minMs = 50): Gap[] {
  const busy = busyIntervals(calls, from, to);
  const gaps: Gap[] = [];
  let cursor = from;
  for (const [a, b] of [...busy, [to, to] as [number, number]]) {
    if (a - cursor >= minMs) {
      // The call whose end opened the gap (latest end at its start) and the first call that closed it.
      let prev: Call | undefined;
      for (const c of calls) if (c.end <= cursor + 1 && c.end >= from && (!prev || c.end > prev.end)) prev = c;
      const next = calls.find((c) => c.start >= a - 1 && c.start < to + 1);
      gaps.push({
        from: cursor,
        to: a,
        ms: a - cursor,
        after: cursor === from ? 'step start' : label(prev, 'step start'),
        before: a === to ? 'step end' : label(next, 'step end'),
      });
    }
    cursor = Math.max(cursor, b);
  }
  return gaps.sort((x, y) => y.ms - x.ms);
}

/** One row per step of the report (and `startup`: spawn → first step), on the run's clock. */
export function stepTimelines(calls: readonly Call[], steps: readonly StepResult[], t0: number): StepTimeline[] {
  const rows: StepTimeline[] = [];
  const windows = steps.map((s) => ({ name: s.name, start: Date.parse(s.startedAt) - t0, durationMs: s.durationMs }));
  const first = windows[0]?.start ?? 0;
  for (const w of [{ name: 'startup', start: 0, durationMs: first }, ...windows]) {
    const end = w.start + w.durationMs;
    const busy = busyIntervals(calls, w.start, end).reduce((a, [x, y]) => a + (y - x), 0);
    rows.push({
      name: w.name,
      start: w.start,
      durationMs: w.durationMs,
      calls: calls.filter((c) => c.start >= w.start && c.start < end).length,
      apiBusyMs: busy,
      maxConcurrency: maxConcurrency(calls, w.start, end),
      gaps: idleGaps(calls, w.start, end),
    });
  }
  return rows;
}

/** A GitHub write that waited with nothing in flight, about a second after the previous write started. */
export interface HeldWrite {
  op: string;
  /** ms since the previous GitHub write started. */
  sincePrevious: number;
  /** ms with no API call in flight right before it. */
  idleBefore: number;
}

/**
 * A GitHub write (REST POST/PATCH/PUT/DELETE). A GraphQL query is a POST but a read: not a write, although
 * plugin-throttling queues it behind the same 1 s `write` limiter (dist-src/wrap-request.js), so
 * `heldGithubWrites` still counts it as held.
 */
export function isGithubWrite(c: Pick<Call, 'service' | 'method' | 'op'>): boolean {
  return c.service === 'github' && c.method !== 'GET' && c.method !== 'HEAD' && !c.op.startsWith('POST /graphql');
}

/**
 * GitHub writes held back by a minimum spacing: Bottleneck's `minTime` counts from one job's start to
 * the next, so a held write starts 1.0–1.15 s after the previous write started, after a pause with
 * nothing in flight. Writes that simply came later (after a build or a window) do not match.
 */
export function heldGithubWrites(calls: readonly Call[], minTimeMs = 1000): HeldWrite[] {
  const writes = calls.filter(
    (c) => c.service === 'github' && c.method !== 'GET' && c.method !== 'HEAD' && !isGraphqlCall(c),
  );
  const out: HeldWrite[] = [];
  for (let i = 1; i < writes.length; i++) {
    const w = writes[i]!;
    const sincePrevious = w.start - writes[i - 1]!.start;
    let lastEnd = -Infinity;
    for (const c of calls) if (c !== w && c.start < w.start && c.end <= w.start && c.end > lastEnd) lastEnd = c.end;
    const idleBefore = w.start - lastEnd;
    if (sincePrevious >= minTimeMs - 10 && sincePrevious <= minTimeMs + 150 && idleBefore >= 150) {
      out.push({ op: w.op, sincePrevious, idleBefore });
    }
  }
  return out;
}

/** Calls per provider, and per provider and operation. */
export function countCalls(calls: readonly Call[]): {
  byService: Record<string, number>;
  byOp: Record<string, number>;
} {
  const byService: Record<string, number> = {};
  const byOp: Record<string, number> = {};
  for (const c of calls) {
    byService[c.service] = (byService[c.service] ?? 0) + 1;
    const k = `${c.service} ${c.op}`;
    byOp[k] = (byOp[k] ?? 0) + 1;
  }
  return { byService, byOp };
}
