/**
 * Spec validation of the sandbox's request log (sandbox/README.md, "What each miniature covers"): for each logged
 * API request, find its operation in the official spec of its service, check required parameters,
 * the request body against its schema, and the logged response body against the response schema
 * for its status. Schemas are compiled by ajv against `$ref`s (never dereferenced).
 *
 * Specs: `../shared/specs` beside the checkout (as CI lays it out), else the vendored copy in sandbox/contract/specs; GitHub's
 * from `@octokit/openapi` (generated/api.github.com.json).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { LoggedRequest, ServiceName } from '../core/service.ts';
import { ALLOW_LIST, type AllowEntry, stripClientFields } from './allow-list.ts';
import { githubSchema } from '../services/github-graphql.ts';
import { pointerEscape, toJsonSchema } from './schema.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// ajv-formats is CommonJS with a default export; under ESM the function may sit on `.default`.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (
  ajv: Ajv,
) => Ajv;

export type SpecName = 'github' | 'vercel' | 'cloudflare' | 'datadog-v1' | 'datadog-v2' | 'slack';

/**
 * Where the provider spec excerpts live: `../shared/specs` beside the repo (the team's agreed copy),
 * else the copy vendored in `sandbox/contract/specs/` (byte-identical; GitHub's own CI has no shared/).
 */
export function specDir(): string {
  const candidates = [path.resolve(REPO_ROOT, '../shared/specs'), path.resolve(REPO_ROOT, 'sandbox/contract/specs')];
  const found = candidates.find((d) => fs.existsSync(path.join(d, 'vercel.openapi.json')));
  if (!found) throw new Error(`spec excerpts not found in ${candidates.join(' or ')}`);
  return found;
}

function specFile(name: SpecName): string {
  if (name === 'github') return path.join(REPO_ROOT, 'node_modules/@octokit/openapi/generated/api.github.com.json');
  return path.join(specDir(), `${name}.openapi.json`);
}

interface Operation {
  spec: SpecName;
  method: string;
  template: string;
  regex: RegExp;
  literals: number;
  pointer: string;
  op: Record<string, unknown>;
  params: Array<Record<string, unknown>>;
}

/** The result of validating one logged request. */
export interface Validation {
  seq: number;
  service: ServiceName;
  method: string;
  path: string;
  status?: number;
  /** `METHOD template` of the spec operation, when found. */
  operation?: string;
  operationId?: string;
  /** Why it was not validated (no spec for this service, a data-plane request). */
  skipped?: string;
  allowListed?: AllowEntry;
  errors: string[];
  warnings: string[];
}

type Doc = Record<string, unknown> & { paths: Record<string, Record<string, unknown>> };
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
const NOT_API: Partial<Record<ServiceName, string>> = {
  lb: 'data plane (load balancer proxy), not an API',
  'vercel-edge': 'data plane (deployment content), not an API',
  deps: 'sandbox dependency endpoint, not a provider API',
  sandbox: 'sandbox control endpoint',
  s3: 'S3 has no OpenAPI spec here; its wire format is checked by the AWS SDK and the AWS CLI in the tests',
};

/** Map a logged request to a spec and the path as the spec writes it. */
export function specFor(service: ServiceName, p: string): { spec: SpecName; path: string } | undefined {
  switch (service) {
    case 'github':
    case 'vercel':
      return { spec: service, path: p };
    case 'cloudflare':
      return { spec: 'cloudflare', path: p.replace(/^\/client\/v4(?=\/)/, '') };
    case 'datadog':
      return { spec: p.startsWith('/api/v2/') ? 'datadog-v2' : 'datadog-v1', path: p };
    case 'slack':
      return { spec: 'slack', path: p.replace(/^\/api(?=\/)/, '') };
    default:
      return undefined;
  }
}

function templateRegex(template: string): { regex: RegExp; literals: number } {
  let literals = 0;
  const src = template
    .split('/')
    .map((seg) => {
      if (!seg.includes('{')) {
        literals++;
        return seg.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
      }
      // A segment may mix literals and params (`{base}...{head}`, `{basehead}`).
      return seg
        .split(/(\{[^}]+\})/)
        .map((part) =>
          part.startsWith('{')
            ? `(?<${part.slice(1, -1).replace(/\W/g, '_')}>[^/]+?)`
            : part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'),
        )
        .join('');
    })
    .join('/');
  return { regex: new RegExp(`^${src}$`), literals };
}

class LoadedSpec {
  readonly ops: Operation[] = [];
  private readonly ajv: Ajv;
  private readonly coerce: Ajv;
  private readonly cache = new Map<string, ValidateFunction>();
  private readonly id: string;
  readonly name: SpecName;
  readonly doc: Doc;

  constructor(name: SpecName, doc: Doc) {
    this.name = name;
    this.doc = doc;
    this.id = `https://spec.local/${name}`;
    const root = { components: toJsonSchema(doc.components ?? {}), definitions: toJsonSchema(doc.definitions ?? {}) };
    const mk = (coerceTypes: boolean | 'array') => {
      const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, coerceTypes });
      addFormats(ajv);
      for (const f of ['int32', 'int64', 'float', 'double', 'binary', 'password', 'uint64', 'timestamp'])
        ajv.addFormat(f, true);
      ajv.addSchema(root, this.id);
      return ajv;
    };
    this.ajv = mk(false);
    this.coerce = mk('array');
    for (const [template, item] of Object.entries(doc.paths)) {
      const shared = (item.parameters as Array<Record<string, unknown>>) ?? [];
      for (const method of METHODS) {
        const op = item[method] as Record<string, unknown> | undefined;
        if (!op) continue;
        const { regex, literals } = templateRegex(template);
        const own = (op.parameters as Array<Record<string, unknown>>) ?? [];
        const params = [...shared, ...own].map((p) => this.resolve(p));
        this.ops.push({
          spec: name,
          method: method.toUpperCase(),
          template,
          regex,
          literals,
          pointer: `/paths/${pointerEscape(template)}/${method}`,
          op,
          params: dedupeParams(params),
        });
      }
    }
  }

  /** Resolve a local `$ref` (parameters, responses, requestBodies). */
  resolve<T = Record<string, unknown>>(node: Record<string, unknown>): T {
    let cur: Record<string, unknown> = node;
    for (let i = 0; i < 10 && typeof cur?.$ref === 'string'; i++) {
      const parts = (cur.$ref as string).replace(/^#\//, '').split('/');
      let next: unknown = this.doc;
      for (const part of parts)
        next = (next as Record<string, unknown>)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
      cur = next as Record<string, unknown>;
    }
    return cur as T;
  }

  find(method: string, p: string): { op: Operation; params: Record<string, string> } | undefined {
    let best: { op: Operation; params: Record<string, string> } | undefined;
    for (const op of this.ops) {
      if (op.method !== method) continue;
      const m = op.regex.exec(p);
      if (!m) continue;
      if (!best || op.literals > best.op.literals) best = { op, params: { ...(m.groups ?? {}) } };
    }
    return best;
  }

  validator(schema: unknown, coerce: boolean): ValidateFunction {
    const key = `${coerce}:${JSON.stringify(schema)}`;
    let v = this.cache.get(key);
    if (!v) {
      v = (coerce ? this.coerce : this.ajv).compile(toJsonSchema(schema, this.id) as object);
      this.cache.set(key, v);
    }
    return v;
  }
}

function dedupeParams(params: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  const byKey = new Map<string, Record<string, unknown>>();
  for (const p of params) byKey.set(`${String(p.in)}:${String(p.name)}`, p);
  return [...byKey.values()];
}

function ajvErrors(v: ValidateFunction): string {
  return (v.errors ?? [])
    .slice(0, 8)
    .map((e) => `${e.instancePath || '/'} ${e.message ?? ''}${e.params ? ' ' + JSON.stringify(e.params) : ''}`)
    .join('; ');
}

function mediaSchema(content: unknown, contentType?: string): unknown {
  if (!content || typeof content !== 'object') return undefined;
  const entries = Object.entries(content as Record<string, { schema?: unknown }>);
  const wanted = (contentType ?? 'application/json').split(';')[0]!.trim();
  const exact = entries.find(([k]) => k === wanted);
  const json = entries.find(([k]) => k.includes('json'));
  return (exact ?? json ?? entries[0])?.[1]?.schema;
}

/** Loads the specs once and validates logged requests against them. */
export class SpecValidator {
  private readonly specs = new Map<SpecName, LoadedSpec>();
  /** GitHub's GraphQL schema (with graphql-js), loaded with the `github` spec: `POST /graphql` is checked against it. */
  private graphql?: Awaited<ReturnType<typeof githubSchema>>;

  /** Load the named specs (default: all). GitHub's 13 MB spec takes about a second. */
  static async load(names: SpecName[] = ['github', 'vercel', 'cloudflare', 'datadog-v1', 'datadog-v2', 'slack']) {
    const v = new SpecValidator();
    for (const name of names) {
      // parse() reads and checks the document's version without dereferencing (Vercel's refs are cyclic).
      const doc = (await SwaggerParser.parse(specFile(name))) as unknown as Doc;
      v.specs.set(name, new LoadedSpec(name, doc));
    }
    if (names.includes('github')) v.graphql = await githubSchema();
    return v;
  }

  /** Validate one logged request and its logged response. */
  validate(entry: LoggedRequest): Validation {
    const out: Validation = {
      seq: entry.seq,
      service: entry.service,
      method: entry.method,
      path: entry.path,
      status: entry.status,
      errors: [],
      warnings: [],
    };
    if (entry.service === 'github' && entry.path === '/graphql' && this.graphql) {
      this.checkGraphql(entry, out);
      return out;
    }
    const target = specFor(entry.service, entry.path);
    if (!target) {
      out.skipped = NOT_API[entry.service] ?? `no spec for service ${entry.service}`;
      return out;
    }
    const spec = this.specs.get(target.spec);
    if (!spec) {
      out.skipped = `spec ${target.spec} not loaded`;
      return out;
    }
    let found = spec.find(entry.method, target.path);
    if (!found) {
      const allow = ALLOW_LIST.find(
        (a) =>
          a.service === entry.service && a.method === entry.method && templateRegex(a.path).regex.test(target.path),
      );
      if (!allow) {
        out.errors.push(`operation not in the official ${target.spec} spec: ${entry.method} ${target.path}`);
        return out;
      }
      out.allowListed = allow;
      if (!allow.sameAs) return out;
      const [m, p] = allow.sameAs.split(' ');
      found = spec.find(m!, p!);
      if (!found) return out;
    }
    const { op, params } = found;
    out.operation = `${op.method} ${op.template}`;
    out.operationId = op.op.operationId as string | undefined;
    this.checkParams(spec, op, params, entry, out);
    this.checkRequestBody(spec, op, entry, out);
    this.checkResponse(spec, op, entry, out);
    return out;
  }

  /**
   * GitHub GraphQL: the document must be valid against GitHub's public schema, and an answered call
   * carry GraphQL's response shape (`data` and/or a non-empty `errors`, each error with a `message`).
   */
  private checkGraphql(entry: LoggedRequest, out: Validation) {
    const { gql, schema } = this.graphql!;
    out.operation = `POST /graphql${entry.operation ? ` ${entry.operation}` : ''}`;
    const body = entry.body as { query?: unknown } | undefined;
    if (entry.method !== 'POST') out.errors.push(`GraphQL is POST only, got ${entry.method}`);
    else if (typeof body?.query !== 'string') out.errors.push('request body has no `query` string');
    else {
      try {
        for (const e of gql.validate(schema, gql.parse(body.query))) out.errors.push(`document: ${e.message}`);
      } catch (e) {
        out.errors.push(`document does not parse: ${(e as Error).message}`);
      }
    }
    if (entry.status !== 200 || entry.fault) return;
    const r = entry.response as { data?: unknown; errors?: unknown } | undefined;
    if (!r || typeof r !== 'object' || (!('data' in r) && !('errors' in r)))
      out.errors.push('response has neither `data` nor `errors`');
    else if (
      'errors' in r &&
      (!Array.isArray(r.errors) || r.errors.length === 0 || r.errors.some((e) => typeof e?.message !== 'string'))
    )
      out.errors.push('response `errors` must be a non-empty list of errors with a `message`');
  }

  /** Validate many entries (e.g. `GET /_sandbox/requests`). */
  validateAll(entries: LoggedRequest[]): Validation[] {
    return entries.map((e) => this.validate(e));
  }

  private checkParams(
    spec: LoadedSpec,
    op: Operation,
    pathParams: Record<string, string>,
    entry: LoggedRequest,
    out: Validation,
  ) {
    for (const p of op.params) {
      const name = String(p.name);
      const where = String(p.in);
      let value: unknown;
      if (where === 'path') value = pathParams[name.replace(/\W/g, '_')];
      else if (where === 'query') value = entry.query[name];
      else if (where === 'header') {
        value = entry.headers[name.toLowerCase()];
        // Slack's spec has a `token` header; clients send it as Authorization: Bearer (spec securityDefinitions).
        if (value === undefined && spec.name === 'slack' && name === 'token') value = entry.headers.authorization;
      } else continue; // formData: checked with the body
      if (value === undefined) {
        if (p.required) out.errors.push(`missing required ${where} parameter "${name}"`);
        continue;
      }
      const schema =
        (p.schema as object | undefined) ?? (p.type ? { type: p.type, enum: p.enum, items: p.items } : undefined);
      if (!schema || value === '[redacted]') continue;
      const v = spec.validator(schema, true);
      const holder = { v: Array.isArray(value) && (schema as { type?: string }).type !== 'array' ? value[0] : value };
      if (!v(holder.v)) out.errors.push(`${where} parameter "${name}"=${JSON.stringify(value)}: ${ajvErrors(v)}`);
    }
  }

  private checkRequestBody(spec: LoadedSpec, op: Operation, entry: LoggedRequest, out: Validation) {
    const ct = entry.headers['content-type'];
    const formParams = op.params.filter((p) => p.in === 'formData');
    const bodyParam = op.params.find((p) => p.in === 'body');
    if (formParams.length > 0) {
      // Swagger 2 form: every field is a string on the wire; objects were JSON-parsed by the log.
      const body = (entry.body && typeof entry.body === 'object' ? entry.body : {}) as Record<string, unknown>;
      const form: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(body)) form[k] = typeof v === 'object' && v !== null ? JSON.stringify(v) : v;
      const schema = {
        type: 'object',
        required: formParams.filter((p) => p.required).map((p) => p.name),
        properties: Object.fromEntries(formParams.map((p) => [p.name, { type: p.type, enum: p.enum }])),
      };
      const v = spec.validator(schema, true);
      if (!v(form)) out.errors.push(`request form: ${ajvErrors(v)}`);
      return;
    }
    let schema: unknown;
    let required = false;
    if (bodyParam) {
      schema = bodyParam.schema;
      required = Boolean(bodyParam.required);
    } else if (op.op.requestBody) {
      const rb = spec.resolve(op.op.requestBody as Record<string, unknown>);
      schema = mediaSchema(rb.content, ct);
      required = Boolean(rb.required);
    }
    if (entry.body === undefined) {
      if (required) out.errors.push('missing required request body');
      return;
    }
    if (!schema) return;
    if (typeof entry.body === 'object' && entry.body !== null && 'bytes' in (entry.body as object)) return;
    const v = spec.validator(schema, false);
    const { body, dropped } = stripClientFields(entry.service, out.operation, entry.body);
    if (dropped.length)
      out.warnings.push(`client fields outside the spec, documented in CLIENT_FIELDS: ${dropped.join(', ')}`);
    if (!v(body)) out.errors.push(`request body: ${ajvErrors(v)}`);
  }

  private checkResponse(spec: LoadedSpec, op: Operation, entry: LoggedRequest, out: Validation) {
    if (entry.fault) {
      out.warnings.push('response came from a fault rule; not validated');
      return;
    }
    if (entry.status === undefined || entry.status === 0) {
      out.warnings.push('no response recorded');
      return;
    }
    const responses = (op.op.responses ?? {}) as Record<string, Record<string, unknown>>;
    const code = String(entry.status);
    // Slack answers errors with HTTP 200 and `ok: false`; its spec documents them as `default`.
    const slackError = spec.name === 'slack' && (entry.response as { ok?: unknown } | undefined)?.ok === false;
    const key =
      slackError && 'default' in responses
        ? 'default'
        : [code, `${code[0]}XX`, `${code[0]}xx`, 'default'].find((k) => k in responses);
    if (!key) {
      const msg = `status ${code} is not documented for ${out.operation}`;
      if (entry.status < 300) out.errors.push(msg);
      else out.warnings.push(msg);
      return;
    }
    const res = spec.resolve(responses[key]!);
    const schema = 'schema' in res ? res.schema : mediaSchema(res.content);
    if (!schema) {
      if (entry.response !== undefined) out.warnings.push(`status ${code} documents no body but one was sent`);
      return;
    }
    if (entry.response === undefined) {
      out.errors.push(`status ${code}: the spec documents a JSON body, none was logged`);
      return;
    }
    const v = spec.validator(schema, false);
    if (!v(entry.response)) out.errors.push(`response ${code}: ${ajvErrors(v)}`);
  }
}

/** One line per problem, for test failure messages. */
export function formatProblems(results: Validation[]): string {
  return results
    .filter((r) => r.errors.length > 0)
    .map(
      (r) =>
        `#${r.seq} ${r.service} ${r.method} ${r.path} → ${r.status ?? '?'} [${r.operation ?? 'no operation'}]: ${r.errors.join(' | ')}`,
    )
    .join('\n');
}
