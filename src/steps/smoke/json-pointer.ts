/**
 * RFC 6901 JSON pointers and deep equality: the `json: {pointer: value}` expectations of a smoke check.
 */

/** The result of resolving a pointer: `found: false` when a segment does not exist. */
export type PointerResult = { found: true; value: unknown } | { found: false };

/**
 * Resolve `pointer` (`''` is the whole document, `/a/0/b~1c` walks a → 0 → "b/c") in `doc`.
 * Throws on a pointer that does not start with `/` (a configuration error, not a failed check).
 */
export function resolvePointer(doc: unknown, pointer: string): PointerResult {
  if (pointer === '') return { found: true, value: doc };
  if (!pointer.startsWith('/')) throw new Error(`JSON pointer ${JSON.stringify(pointer)} must start with "/"`);
  let current: unknown = doc;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(current)) {
      if (!/^(0|[1-9][0-9]*)$/.test(key)) return { found: false };
      const index = Number(key);
      if (index >= current.length) return { found: false };
      current = current[index];
    } else if (current !== null && typeof current === 'object') {
      if (!Object.prototype.hasOwnProperty.call(current, key)) return { found: false };
      current = (current as Record<string, unknown>)[key];
    } else {
      return { found: false };
    }
  }
  return { found: true, value: current };
}

/** Structural equality of JSON values (objects compare by keys regardless of order). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => deepEqual(v, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = Object.keys(ao);
  if (keys.length !== Object.keys(bo).length) return false;
  return keys.every((k) => Object.prototype.hasOwnProperty.call(bo, k) && deepEqual(ao[k], bo[k]));
}
