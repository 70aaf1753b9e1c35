/**
 * OpenAPI 3.0 / Swagger 2.0 schemas → JSON Schema (draft-07) for ajv, keeping `$ref`s (Vercel's
 * `FlagJSONValue` refers to itself, so dereferencing would loop). What changes and why:
 * - `nullable: true` becomes `type: [t, 'null']` (or `anyOf` with null when there is no `type`):
 *   ajv refuses `nullable` without `type`, which the Vercel and GitHub specs use.
 * - boolean `exclusiveMinimum/Maximum` (draft-04 style, OAS 3.0) become the numeric draft-07 form.
 * - duplicate `enum` items are dropped and an empty `oneOf` is removed (both make ajv throw; both
 *   occur in the Vercel spec and mean nothing stricter than their absence).
 * - `discriminator` is removed (a hint), and `oneOf` is read as `anyOf`: Vercel's unions overlap (a
 *   full deployment also matches the "public information only" alternative), so a correct answer
 *   matches several and strict `oneOf` fails it; the SDKs decode a union by its first matching
 *   member. An answer must still match at least one alternative.
 * - a string with a `format` whose own `default` is `""` also accepts `""` (GitHub's deployment
 *   status URLs: `format: uri, default: ""`, and the API returns `""` when unset).
 */

type Json = unknown;

function isObj(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const DROP = new Set(['discriminator', 'example', 'examples', 'xml', 'externalDocs']);

/** Convert one schema (recursively). `refPrefix` is prepended to local refs (`#/…` → `<id>#/…`). */
export function toJsonSchema(node: Json, refPrefix = ''): Json {
  if (Array.isArray(node)) return node.map((n) => toJsonSchema(n, refPrefix));
  if (!isObj(node)) return node;
  const out: Record<string, Json> = {};
  const extraAllOf: Json[] = [];
  for (const [k, v] of Object.entries(node)) {
    if (DROP.has(k) || k.startsWith('x-')) continue;
    if (k === '$ref' && typeof v === 'string') {
      out.$ref = v.startsWith('#') ? refPrefix + v : v;
      continue;
    }
    if (k === 'properties' || k === 'patternProperties' || k === 'definitions') {
      // Keys here are names, not keywords: convert each value, keep every key.
      const m: Record<string, Json> = {};
      if (isObj(v)) for (const [pk, pv] of Object.entries(v)) m[pk] = toJsonSchema(pv, refPrefix);
      out[k] = m;
      continue;
    }
    if (k === 'enum' && Array.isArray(v)) {
      const seen = new Set<string>();
      out.enum = v.filter((x) => {
        const key = JSON.stringify(x);
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
      continue;
    }
    if ((k === 'oneOf' || k === 'anyOf' || k === 'allOf') && Array.isArray(v) && v.length === 0) continue;
    if (k === 'oneOf') {
      // Next to a real anyOf, both must hold: keep the converted oneOf under allOf.
      if (Array.isArray(node.anyOf)) extraAllOf.push({ anyOf: toJsonSchema(v, refPrefix) });
      else out.anyOf = toJsonSchema(v, refPrefix);
      continue;
    }
    out[k] = toJsonSchema(v, refPrefix);
  }
  if (extraAllOf.length) out.allOf = [...((out.allOf as Json[] | undefined) ?? []), ...extraAllOf];
  if (out.exclusiveMinimum === true && typeof out.minimum === 'number') {
    out.exclusiveMinimum = out.minimum;
    delete out.minimum;
  } else if (typeof out.exclusiveMinimum === 'boolean') delete out.exclusiveMinimum;
  if (out.exclusiveMaximum === true && typeof out.maximum === 'number') {
    out.exclusiveMaximum = out.maximum;
    delete out.maximum;
  } else if (typeof out.exclusiveMaximum === 'boolean') delete out.exclusiveMaximum;
  // Swagger 2 `type: file` has no JSON Schema meaning.
  if (out.type === 'file') delete out.type;
  const emptyDefault = typeof out.format === 'string' && out.default === '';
  const nullable = out.nullable === true || out['x-nullable'] === true;
  delete out.nullable;
  let result: Record<string, Json> = out;
  if (nullable) {
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    else if (Array.isArray(out.type)) {
      if (!out.type.includes('null')) out.type = [...out.type, 'null'];
    } else result = { anyOf: [out, { type: 'null' }] };
  }
  return emptyDefault ? { anyOf: [result, { type: 'string', maxLength: 0 }] } : result;
}

/** JSON pointer escaping (RFC 6901). */
export function pointerEscape(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}
