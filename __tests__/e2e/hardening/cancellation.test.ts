/**
 * Cancellation at every phase (docs/safety.md): the runner's SIGINT (SIGTERM 7.5 s later) at each step
 * boundary and in the middle of each wait — pending checks, the backup upload, green's build, the
 * smoke samples, the pool's health, a canary hold, the validation window — followed by the post step.
 * After each: the invariant holds, the main step exited within the runner's grace period (before
 * SIGKILL, 10 s after SIGINT), and a second post run made no mutating request.
 */
import { describe, expect, it } from 'vitest';
import type { LoggedRequest } from '../../../sandbox/core/service.ts';
import { startSandbox } from '../../../sandbox/index.ts';
import { cancelAt, SIGKILL_AFTER_MS, SIGTERM_AFTER_MS, type Trigger } from './cancel.ts';
import { checkInvariant, describeViolations, takeBaseline } from './invariant.ts';
import { matrixScenario } from './matrix.ts';

const req =
  (service: string, method: string, path: RegExp) =>
  (r: LoggedRequest): boolean =>
    r.service === service && r.method === method && path.test(r.path);

interface Point {
  name: string;
  trigger: Trigger;
  /** Scenario changes that make the wait long enough to land in. */
  scenario?: Record<string, unknown>;
}

const BOUNDARIES: Point[] = [
  ['pre-flight', 'Pre-flight validation'],
  ['prepare', 'Environment preparation'],
  ['deploy', 'Blue-green deployment'],
  ['smoke', 'Smoke testing'],
  ['traffic', 'Traffic switch'],
  ['validate', 'Post-deployment validation'],
].map(([name, title]) => ({ name: `after ${name}`, trigger: { line: new RegExp(`^${title}: passed in`) } }));

const WAITS: Point[] = [
  {
    name: 'waiting for pending checks',
    // The first poll after pre-flight's query: one GraphQL `CommitChecks` read of the checks.
    trigger: { request: (r) => r.service === 'github' && r.operation === 'CommitChecks', nth: 1 },
    scenario: {
      github: {
        checkRuns: [
          { name: 'build', conclusion: 'success' },
          { name: 'test', conclusion: 'success', completeAfterMs: 6000 },
          { name: 'deploy', status: 'in_progress' },
        ],
      },
      inputs: { 'checks-timeout': '10s' },
    },
  },
  {
    name: 'uploading the backup',
    trigger: { request: req('s3', 'PUT', /\.dump$/), delayMs: 300 },
    scenario: { faults: [{ service: 's3', method: 'PUT', times: 1, delayMs: 3000 }] },
  },
  {
    name: "waiting for green's build",
    trigger: { request: req('vercel', 'GET', /^\/v13\/deployments\/dpl_/), nth: 3 },
    scenario: { timings: { buildMs: 3000 } },
  },
  {
    name: 'running smoke samples',
    trigger: { line: /^Running \d+ smoke check/ },
    scenario: { inputs: { 'smoke-samples': '20' } },
  },
  {
    name: "waiting for green's pool to be healthy",
    trigger: { request: req('cloudflare', 'GET', /\/health$/) },
    scenario: { timings: { healthCheckIntervalMs: 1500 } },
  },
  {
    name: 'holding a canary step',
    trigger: { request: req('cloudflare', 'PATCH', /load_balancers/), delayMs: 500 },
    scenario: { inputs: { strategy: 'canary', 'traffic-steps': '10,100', 'step-duration': '3s' } },
  },
  { name: 'in the validation window', trigger: { request: req('datadog', 'GET', /^\/api\/v1\/query$/), nth: 3 } },
];

function scenarioFor(p: Point) {
  return matrixScenario([], `cancel ${p.name}`, p.scenario as Parameters<typeof matrixScenario>[2]);
}

// Two sandboxes at a time (see fault-matrix.test.ts).
let running = 0;
const waiting: (() => void)[] = [];
async function slot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= 2) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

describe.concurrent('SIGINT, then SIGTERM after 7.5 s, then the post step', () => {
  it.each([...BOUNDARIES, ...WAITS].map((p) => [p.name, p] as const))('%s', async (_name, p) => {
    await slot(async () => {
      const sb = await startSandbox({ scenario: scenarioFor(p) });
      try {
        const base = await takeBaseline(sb);
        const run = await cancelAt(sb, p.trigger);
        const log = `${run.main.stdout.slice(-3000)}\n${run.main.stderr.slice(-1000)}`;
        expect(run.exitMs, `the cancellation point was never reached:\n${log}`).toBeDefined();
        expect(run.exitMs!, `exited ${run.exitMs} ms after SIGINT (signals: ${run.signals.join(', ')})`).toBeLessThan(
          SIGTERM_AFTER_MS + SIGKILL_AFTER_MS,
        );
        expect(run.signals).not.toContain('SIGKILL');
        const inv = await checkInvariant(sb, base, { ...run, cancelled: true });
        expect(
          inv.holds,
          `${p.name}: ${inv.status}, production on ${inv.live}\n${describeViolations(inv)}\n${log}`,
        ).toBe(true);
        expect(run.main.outputs.status).not.toBe('success');
      } finally {
        await sb.stop();
      }
    });
  });
});
