/**
 * Small helpers for tests that drive one miniature at a time (faster than a whole sandbox): a fresh
 * world in a temporary directory, and a shared spec validator.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Traffic } from '../core/service.ts';
import type { World } from '../core/world.ts';
import { type SpecName, SpecValidator } from './validate.ts';

/** A new, empty world with its own temporary directory; `cleanup()` removes the directory. */
export function makeWorld(): World & { cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-world-'));
  return {
    traffic: new Traffic(),
    urls: {},
    hits: [],
    state: {},
    events: new EventEmitter(),
    dir,
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

const cache = new Map<string, Promise<SpecValidator>>();

/** A validator for the given specs, loaded once per process. */
export function validator(names?: SpecName[]): Promise<SpecValidator> {
  const key = (names ?? ['all']).join(',');
  let v = cache.get(key);
  if (!v) {
    v = SpecValidator.load(names);
    cache.set(key, v);
  }
  return v;
}
