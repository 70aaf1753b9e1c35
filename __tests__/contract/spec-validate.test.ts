/**
 * The spec-validation helper itself (sandbox/contract/validate.ts): it finds operations in every
 * provider spec, flags what is wrong, honours the allow-list, and its schema conversion is sound.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LoggedRequest } from '../../sandbox/core/service.ts';
import { ALLOW_LIST } from '../../sandbox/contract/allow-list.ts';
import { toJsonSchema } from '../../sandbox/contract/schema.ts';
import { validator } from '../../sandbox/contract/testing.ts';
import { specDir, specFor } from '../../sandbox/contract/validate.ts';

let seq = 0;
function entry(e: Partial<LoggedRequest> & Pick<LoggedRequest, 'service' | 'method' | 'path'>): LoggedRequest {
  return { seq: ++seq, time: new Date().toISOString(), query: {}, headers: {}, body: undefined, ...e };
}

describe('spec locations and path mapping', () => {
  it('finds the excerpts (../shared/specs beside the repo, else the vendored copy in sandbox/contract/specs)', () => {
    const dir = specDir();
    for (const f of ['vercel', 'cloudflare', 'datadog-v1', 'datadog-v2', 'slack'])
      expect(fs.existsSync(path.join(dir, `${f}.openapi.json`))).toBe(true);
  });

  it('maps each service to its spec and the spec’s own path form', () => {
    expect(specFor('cloudflare', '/client/v4/zones/z/load_balancers/l')).toEqual({
      spec: 'cloudflare',
      path: '/zones/z/load_balancers/l',
    });
    expect(specFor('slack', '/api/chat.update')).toEqual({ spec: 'slack', path: '/chat.update' });
    expect(specFor('datadog', '/api/v2/dora/deployment')?.spec).toBe('datadog-v2');
    expect(specFor('datadog', '/api/v1/query')?.spec).toBe('datadog-v1');
    expect(specFor('lb', '/')).toBeUndefined();
  });
});

describe('validation of logged requests', () => {
  it('accepts a correct GitHub call and names its operation', async () => {
    const v = await validator();
    const r = v.validate(
      entry({
        service: 'github',
        method: 'POST',
        path: '/repos/a/b/issues/3/comments',
        body: { body: 'hi' },
        status: 404,
        response: { message: 'Not Found', documentation_url: 'x' },
      }),
    );
    expect(r).toMatchObject({ operationId: 'issues/create-comment', errors: [] });
  });

  it('flags unknown operations, missing parameters, bad bodies and bad responses', async () => {
    const v = await validator();
    expect(v.validate(entry({ service: 'github', method: 'GET', path: '/repos/a/b/nonsense/1' })).errors[0]).toContain(
      'not in the official github spec',
    );
    const q = v.validate(
      entry({
        service: 'datadog',
        method: 'GET',
        path: '/api/v1/query',
        query: { from: '1', query: 'x' },
        status: 400,
        response: { errors: ['x'] },
      }),
    );
    expect(q.errors).toEqual(['missing required query parameter "to"']);
    const badType = v.validate(
      entry({ service: 'datadog', method: 'GET', path: '/api/v1/query', query: { from: 'soon', to: '2', query: 'x' } }),
    );
    expect(badType.errors.join()).toContain('"from"');
    const body = v.validate(
      entry({
        service: 'github',
        method: 'POST',
        path: '/repos/a/b/deployments',
        body: { environment: 'x' },
        status: 422,
        response: { message: 'm', documentation_url: 'd' },
      }),
    );
    expect(body.errors.join()).toContain("must have required property 'ref'");
    const resp = v.validate(
      entry({ service: 'github', method: 'GET', path: '/repos/a/b/deployments', status: 200, response: [{ id: 'x' }] }),
    );
    expect(resp.errors.join()).toContain('response 200');
    const undocumented = v.validate(
      entry({
        service: 'datadog',
        method: 'POST',
        path: '/api/v1/events',
        body: { title: 't', text: 'x' },
        status: 201,
        response: {},
      }),
    );
    expect(undocumented.errors.join()).toContain('status 201 is not documented');
    const form = v.validate(
      entry({
        service: 'slack',
        method: 'POST',
        path: '/api/chat.postMessage',
        headers: { authorization: '[redacted]' },
        body: { text: 'x' },
        status: 200,
        response: { ok: false, error: 'channel_not_found' },
      }),
    );
    expect(form.errors.join()).toContain("must have required property 'channel'");
  });

  it('validates Slack ok:false answers against the documented error response', async () => {
    const v = await validator();
    const ok = v.validate(
      entry({
        service: 'slack',
        method: 'POST',
        path: '/api/chat.update',
        headers: { authorization: '[redacted]' },
        body: { channel: 'C1', ts: '1.1', text: 'x' },
        status: 200,
        response: { ok: false, error: 'message_not_found' },
      }),
    );
    expect(ok.errors).toEqual([]);
    const wrong = v.validate(
      entry({
        service: 'slack',
        method: 'POST',
        path: '/api/chat.update',
        headers: { authorization: '[redacted]' },
        body: { channel: 'C1', ts: '1.1', text: 'x' },
        status: 200,
        response: { ok: false, error: 'made_up_error' },
      }),
    );
    expect(wrong.errors.join()).toContain('allowed values');
  });

  it('finds Cloudflare operations under /client/v4 and compiles Vercel’s self-referencing schemas', async () => {
    const v = await validator();
    const cf = v.validate(
      entry({
        service: 'cloudflare',
        method: 'PATCH',
        path: '/client/v4/zones/z/load_balancers/l',
        body: { random_steering: { pool_weights: { a: 0.5 } } },
      }),
    );
    expect(cf.operationId).toBe('load-balancers-patch-load-balancer');
    const vercel = v.validate(
      entry({
        service: 'vercel',
        method: 'GET',
        path: '/v13/deployments/dpl_1',
        status: 200,
        response: { id: 'dpl_1' },
      }),
    );
    expect(vercel.operationId).toBe('getDeployment');
    expect(vercel.errors.join()).toContain('response 200');
  });

  it('honours the allow-list, with a source for every entry, and nothing else', async () => {
    const v = await validator();
    for (const a of ALLOW_LIST) expect(a.source.length).toBeGreaterThan(30);
    const rb = v.validate(
      entry({ service: 'vercel', method: 'POST', path: '/v1/projects/prj_1/rollback/dpl_1', status: 201 }),
    );
    expect(rb.errors).toEqual([]);
    expect(rb.allowListed?.source).toContain('requestRollback');
    const v7 = v.validate(
      entry({
        service: 'vercel',
        method: 'GET',
        path: '/v7/deployments',
        status: 200,
        response: { deployments: 'nope' },
      }),
    );
    expect(v7.operation).toBe('GET /v6/deployments');
    expect(v7.errors.join()).toContain('response 200');
    const v9 = v.validate(
      entry({ service: 'vercel', method: 'POST', path: '/v9/projects/prj_1/rollback/dpl_1', status: 201 }),
    );
    expect(v9.errors[0]).toContain('not in the official vercel spec');
  });

  it('ignores only the documented extra fields @vercel/client sends when creating a deployment', async () => {
    const v = await validator();
    const body = {
      name: 'shop',
      project: 'prj_1',
      target: 'production',
      version: 2,
      autoAssignCustomDomains: false,
      files: [{ file: 'index.html', sha: 'a'.repeat(40), size: 10, mode: 33188 }],
    };
    const ok = v.validate(entry({ service: 'vercel', method: 'POST', path: '/v13/deployments', body }));
    expect(ok.errors).toEqual([]);
    expect(ok.warnings.join()).toContain('version, autoAssignCustomDomains, files[].mode');
    const extra = v.validate(
      entry({ service: 'vercel', method: 'POST', path: '/v13/deployments', body: { ...body, madeUp: 1 } }),
    );
    expect(extra.errors.join()).toContain('madeUp');
  });

  it('skips data-plane requests and does not judge fault answers', async () => {
    const v = await validator();
    expect(v.validate(entry({ service: 'lb', method: 'GET', path: '/' })).skipped).toContain('data plane');
    expect(v.validate(entry({ service: 's3', method: 'PUT', path: '/b/k' })).skipped).toContain('AWS');
    const f = v.validate(
      entry({
        service: 'github',
        method: 'GET',
        path: '/repos/a/b',
        status: 429,
        fault: '{}',
        response: { message: 'x' },
      }),
    );
    expect(f.errors).toEqual([]);
    expect(f.warnings.join()).toContain('fault rule');
  });
});

describe('OpenAPI → JSON Schema conversion', () => {
  it('turns nullable into a null type, keeping enums and refs', () => {
    expect(toJsonSchema({ type: 'string', nullable: true, enum: ['a', 'a', 'b'] })).toEqual({
      type: ['string', 'null'],
      enum: ['a', 'b', null],
    });
    expect(toJsonSchema({ allOf: [{ $ref: '#/components/schemas/x' }], nullable: true }, 'id')).toEqual({
      anyOf: [{ allOf: [{ $ref: 'id#/components/schemas/x' }] }, { type: 'null' }],
    });
  });

  it('converts draft-04 exclusive bounds, drops empty oneOf and hints, keeps property names', () => {
    expect(
      toJsonSchema({
        type: 'number',
        minimum: 0,
        exclusiveMinimum: true,
        oneOf: [],
        discriminator: { propertyName: 'x' },
      }),
    ).toEqual({ type: 'number', exclusiveMinimum: 0 });
    expect(toJsonSchema({ properties: { nullable: { type: 'string' }, example: { type: 'integer' } } })).toEqual({
      properties: { nullable: { type: 'string' }, example: { type: 'integer' } },
    });
  });

  it('reads oneOf as anyOf (overlapping unions), keeping a real anyOf beside it', () => {
    expect(toJsonSchema({ oneOf: [{ type: 'string' }, { type: 'number' }] })).toEqual({
      anyOf: [{ type: 'string' }, { type: 'number' }],
    });
    expect(toJsonSchema({ anyOf: [{ minLength: 1 }], oneOf: [{ type: 'string' }] })).toEqual({
      anyOf: [{ minLength: 1 }],
      allOf: [{ anyOf: [{ type: 'string' }] }],
    });
  });

  it('lets a formatted string whose default is "" be empty', () => {
    expect(toJsonSchema({ type: 'string', format: 'uri', default: '' })).toEqual({
      anyOf: [
        { type: 'string', format: 'uri', default: '' },
        { type: 'string', maxLength: 0 },
      ],
    });
  });
});
