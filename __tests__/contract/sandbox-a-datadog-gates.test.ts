/**
 * The Datadog miniature's Deployment Gate evaluations against Datadog's own answers. The spec excerpts
 * (contract/specs) do not hold these preview operations, and the official spec's copy in the clients'
 * repositories is not available here; so each sandbox answer is compared with the answer Datadog gave
 * in the same situation, as recorded by DataDog/datadog-api-client-typescript's tests
 * (sandbox/contract/recorded/datadog-gates.json): same status, same keys with the same JSON types,
 * recursively (`reason` of a rule is optional in the client's model, DeploymentGatesRuleResponse),
 * and `gate_status`/rule `status` in the model's enum (in_progress, pass, fail).
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarioFrom } from '../../sandbox/core/scenario.ts';
import type { RunningService } from '../../sandbox/core/service.ts';
import { makeWorld } from '../../sandbox/contract/testing.ts';
import { type DatadogState, startDatadog } from '../../sandbox/services/datadog.ts';

interface Recorded {
  recording: string;
  method: string;
  path: string;
  status: number;
  responseBody: unknown;
}
const recorded = (
  JSON.parse(
    fs.readFileSync(new URL('../../sandbox/contract/recorded/datadog-gates.json', import.meta.url), 'utf8'),
  ) as { entries: Recorded[] }
).entries;
const real = (recording: RegExp, method: string) =>
  recorded.find((r) => recording.test(r.recording) && r.method === method)!;

/** The JSON type tree of a value: keys and types, arrays by their first element. */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.length ? [shape(v[0])] : [];
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, x]) => [k, shape(x)]),
    );
  }
  return v === null ? 'null' : typeof v;
}

const scenario = scenarioFrom({});
const dd = {
  ...scenario.datadog,
  gates: [
    {
      service: 'my-service',
      env: 'production',
      notFoundPolls: 1,
      inProgressPolls: 1,
      rules: [
        {
          name: 'My deployment rule',
          type: 'faulty_deployment_detection' as const,
          status: 'fail' as const,
          reason: 'new error type',
        },
      ],
    },
  ],
};
const world = makeWorld();
let svc: RunningService;
const keys = { 'DD-API-KEY': dd.apiKey, 'DD-APPLICATION-KEY': dd.appKey };

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = keys) {
  const res = await fetch(svc.url + path, {
    method,
    headers: { ...headers, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
const start = (attributes: Record<string, unknown>) =>
  call('POST', '/api/v2/deployments/gates/evaluation', {
    data: { type: 'deployment_gates_evaluation_request', attributes },
  });

beforeAll(async () => {
  svc = await startDatadog(world, dd);
});
afterAll(async () => {
  await svc.close();
  world.cleanup();
});

describe('Deployment Gate evaluations, against Datadog’s recorded answers', () => {
  it('a start answers 202 with the evaluation id, shaped as Datadog’s', async () => {
    const r = await start({ service: 'my-service', env: 'production', version: 'v1.2.3' });
    const rec = real(/Trigger-.*Accepted/, 'POST');
    expect(r.status).toBe(rec.status);
    expect(shape(r.body)).toEqual(shape(rec.responseBody));
    const data = r.body.data as { id: string; type: string; attributes: { evaluation_id: string } };
    expect(data.type).toBe('deployment_gates_evaluation_response');
    expect(data.attributes.evaluation_id).toBe(data.id);
  });

  it('reads: 404 while too early, then in_progress, then the verdict, each shaped as Datadog’s', async () => {
    const r = await start({ service: 'my-service', env: 'production', version: 'v1.2.3' });
    const id = (r.body.data as { id: string }).id;
    const path = `/api/v2/deployments/gates/evaluation/${id}`;
    const early = await call('GET', path);
    const notFound = real(/Get-.*not-found/, 'GET');
    expect(early.status).toBe(404);
    expect(shape(early.body)).toEqual(shape(notFound.responseBody));
    const running = await call('GET', path);
    const rec = real(/Get-.*OK-response/, 'GET');
    expect(running.status).toBe(rec.status);
    expect(shape(running.body)).toEqual(shape(rec.responseBody));
    const done = await call('GET', path);
    const attrs = (done.body.data as { attributes: Record<string, unknown> }).attributes;
    expect(attrs.gate_status).toBe('fail');
    // A decided rule may carry `reason` (optional in the client's DeploymentGatesRuleResponse).
    const rules = attrs.rules as Record<string, unknown>[];
    expect(rules).toEqual([{ name: 'My deployment rule', status: 'fail', reason: 'new error type', dry_run: false }]);
    const { reason: _reason, ...withoutReason } = rules[0]!;
    expect(
      shape({
        ...done.body,
        data: { ...(done.body.data as object), attributes: { ...attrs, rules: [withoutReason] } },
      }),
    ).toEqual(shape(rec.responseBody));
    for (const s of [attrs.gate_status, ...rules.map((x) => x.status)])
      expect(['in_progress', 'pass', 'fail']).toContain(s);
    expect((world.state.datadog as DatadogState).gateEvaluations).toHaveLength(2);
  });

  it('a missing gate, a missing env and a bad id answer as Datadog does', async () => {
    const missing = await start({ service: 'non-existent-service-xyz', env: 'staging' });
    expect(missing).toEqual({
      status: 404,
      body: real(/Trigger-.*not-found/, 'POST').responseBody,
    });
    const noEnv = await start({ env: '', service: 'my-service' });
    expect(noEnv).toEqual({ status: 400, body: real(/Trigger-.*Bad-request/, 'POST').responseBody });
    const unknown = await call('GET', '/api/v2/deployments/gates/evaluation/00000000-0000-0000-0000-000000000000');
    expect(unknown).toEqual({ status: 404, body: real(/Get-.*not-found/, 'GET').responseBody });
    const bad = await call('GET', '/api/v2/deployments/gates/evaluation/not-a-valid-id');
    expect(bad).toEqual({ status: 400, body: real(/Get-.*Bad-request/, 'GET').responseBody });
  });

  it('needs both keys', async () => {
    const r = await call(
      'POST',
      '/api/v2/deployments/gates/evaluation',
      {
        data: { type: 'deployment_gates_evaluation_request', attributes: { service: 'my-service', env: 'production' } },
      },
      { 'DD-API-KEY': dd.apiKey },
    );
    expect(r.status).toBe(403);
  });
});
