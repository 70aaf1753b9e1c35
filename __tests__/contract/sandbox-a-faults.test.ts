/**
 * Fault rules reach the clients, field by field (status + headers, body, delayMs, hang, reset,
 * after/times, method and path globs), set at run time through the control endpoints.
 */
import { getOctokit } from '@actions/github';
import { ErrorCode, WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarioFrom } from '../../sandbox/core/scenario.ts';
import type { FaultRule, RunningService } from '../../sandbox/core/service.ts';
import { makeWorld } from '../../sandbox/contract/testing.ts';
import { startControl } from '../../sandbox/services/control.ts';
import { startDeps } from '../../sandbox/services/deps.ts';
import { startGithub } from '../../sandbox/services/github.ts';
import { startSlack } from '../../sandbox/services/slack.ts';

const scenario = scenarioFrom({});
const world = makeWorld();
let deps: RunningService;
let github: RunningService;
let slack: RunningService;
let control: RunningService;

async function setFaults(rules: FaultRule[], mode: 'replace' | 'add' = 'replace') {
  const res = await fetch(`${control.url}/_sandbox/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ mode, rules }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as FaultRule[];
}

beforeAll(async () => {
  deps = await startDeps(world, [{ name: 'api', status: 200 }]);
  github = await startGithub(world, scenario);
  slack = await startSlack(world, scenario.slack);
  world.urls = { deps: deps.url, github: github.url, slack: slack.url };
  control = await startControl(world, { snapshots: {}, info: () => ({ scenario: scenario.name }) });
});
afterAll(async () => {
  for (const s of [deps, github, slack, control]) await s.close();
  world.cleanup();
});

describe('fault rules', () => {
  it('status, headers and a JSON body reach Octokit (429 with retry-after)', async () => {
    await setFaults([
      {
        service: 'github',
        path: '/repos/*/*',
        status: 429,
        headers: { 'retry-after': '7' },
        body: { message: 'slow down' },
      },
    ]);
    const gh = getOctokit(scenario.github.token, { baseUrl: github.url, request: { retries: 0 } });
    const err = (await gh.rest.repos.get({ owner: 'acme', repo: 'shop' }).catch((e: unknown) => e)) as {
      status: number;
      response: { headers: Record<string, string>; data: unknown };
    };
    expect(err.status).toBe(429);
    expect(err.response.headers['retry-after']).toBe('7');
    expect(err.response.data).toEqual({ message: 'slow down' });
    // The glob is per segment: a deeper path does not match `/repos/*/*`.
    const deeper = await gh.rest.repos.getBranch({ owner: 'acme', repo: 'shop', branch: 'main' });
    expect(deeper.status).toBe(200);
  });

  it('a 429 with retry-after reaches the Slack client as a rate-limit error', async () => {
    await setFaults([
      { service: 'slack', path: '/api/chat.postMessage', status: 429, headers: { 'retry-after': '3' } },
    ]);
    const web = new WebClient(scenario.slack.token, {
      slackApiUrl: `${slack.url}/api/`,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
    });
    const err = await web.chat.postMessage({ channel: scenario.slack.channel, text: 'x' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.RateLimitedError, retryAfter: 3 });
  });

  it('a string body is sent as is', async () => {
    await setFaults([
      { service: 'deps', status: 502, body: '<html>bad gateway</html>', headers: { 'content-type': 'text/html' } },
    ]);
    const res = await fetch(`${deps.url}/api/health`);
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toBe('text/html');
    expect(await res.text()).toBe('<html>bad gateway</html>');
  });

  it('after/times: skip n requests, then answer for m, then stop matching', async () => {
    await setFaults([{ service: 'deps', method: 'GET', path: '/api/**', after: 1, times: 2, status: 503 }]);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await fetch(`${deps.url}/api/health`)).status);
    expect(statuses).toEqual([200, 503, 503, 200, 200]);
    // A method that does not match is never faulted.
    await setFaults([{ service: 'deps', method: 'POST', status: 500 }]);
    expect((await fetch(`${deps.url}/api/health`)).status).toBe(200);
  });

  it('delayMs delays the normal answer', async () => {
    await setFaults([{ service: 'deps', delayMs: 400 }]);
    const t = Date.now();
    const res = await fetch(`${deps.url}/api/health`);
    expect(res.status).toBe(200);
    expect(Date.now() - t).toBeGreaterThanOrEqual(380);
  });

  it('hang: the client times out', async () => {
    await setFaults([{ service: 'deps', hang: true, times: 1 }]);
    const err = await fetch(`${deps.url}/api/health`, { signal: AbortSignal.timeout(300) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'TimeoutError' });
    expect((await fetch(`${deps.url}/api/health`)).status).toBe(200);
  });

  it('reset: the connection is reset', async () => {
    await setFaults([{ service: 'deps', reset: true, times: 1 }]);
    const err = (await fetch(`${deps.url}/api/health`).catch((e: unknown) => e)) as { cause?: { code?: string } };
    expect(err).toBeInstanceOf(TypeError);
    expect(err.cause?.code).toMatch(/ECONNRESET|UND_ERR_SOCKET/);
    const logged = world.traffic.requests.filter((r) => r.service === 'deps').at(-1)!;
    expect(logged.status).toBe(0);
    expect(logged.fault).toContain('"reset":true');
  });

  it('faults can be added, listed and cleared at run time', async () => {
    await setFaults([{ service: 'deps', status: 500 }]);
    const both = await setFaults([{ service: 'github', status: 503 }], 'add');
    expect(both.map((r) => r.service)).toEqual(['deps', 'github']);
    expect(await (await fetch(`${control.url}/_sandbox/faults`)).json()).toHaveLength(2);
    const bad = await fetch(`${control.url}/_sandbox/faults`, {
      method: 'POST',
      body: JSON.stringify([{ service: 'nope' }]),
    });
    expect(bad.status).toBe(400);
    await fetch(`${control.url}/_sandbox/faults`, { method: 'DELETE' });
    expect((await fetch(`${deps.url}/api/health`)).status).toBe(200);
  });

  it('latency and echo-credentials are switched by the control endpoints', async () => {
    await fetch(`${control.url}/_sandbox/latency`, { method: 'POST', body: JSON.stringify({ ms: 300 }) });
    const t = Date.now();
    await fetch(`${deps.url}/api/health`);
    expect(Date.now() - t).toBeGreaterThanOrEqual(280);
    await fetch(`${control.url}/_sandbox/latency`, { method: 'POST', body: JSON.stringify({ ms: 0 }) });

    await fetch(`${control.url}/_sandbox/echo-credentials`, {
      method: 'POST',
      body: JSON.stringify({ enabled: true }),
    });
    const res = await fetch(`${github.url}/repos/acme/shop`, { headers: { authorization: 'Bearer ghs_leakme' } });
    expect(((await res.json()) as { message: string }).message).toContain('ghs_leakme');
    await fetch(`${control.url}/_sandbox/echo-credentials`, {
      method: 'POST',
      body: JSON.stringify({ enabled: false }),
    });
    const quiet = await fetch(`${github.url}/repos/acme/shop`, { headers: { authorization: 'Bearer ghs_leakme' } });
    expect(await quiet.text()).not.toContain('ghs_leakme');
  });

  it('the request log redacts credentials and can be filtered', async () => {
    const log = (await (await fetch(`${control.url}/_sandbox/requests?service=github`)).json()) as Array<{
      headers: Record<string, string>;
    }>;
    expect(log.length).toBeGreaterThan(0);
    expect(log.every((r) => r.headers.authorization === '[redacted]' || r.headers.authorization === undefined)).toBe(
      true,
    );
    expect(JSON.stringify(log)).not.toContain(scenario.github.token);
  });
});
