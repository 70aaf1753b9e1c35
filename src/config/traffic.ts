/** `traffic-steps` and `cloudflare-pools`. */
import { fail } from './errors.js';
import { parseList } from './list.js';

export const TRAFFIC_STEPS_ACCEPTS =
  "whole percentages from 1 to 100, strictly ascending, ending at 100 (e.g. '10,50,100')";

/** Green's share after each step: integers 1–100, strictly ascending, ending at 100. */
export function parseTrafficSteps(raw: string, input = 'traffic-steps'): number[] {
  const items = parseList(raw);
  if (items.length === 0) fail(input, raw, TRAFFIC_STEPS_ACCEPTS);
  const steps = items.map((item) => {
    const text = item.endsWith('%') ? item.slice(0, -1).trim() : item;
    if (!/^\d{1,3}$/.test(text)) fail(input, raw, TRAFFIC_STEPS_ACCEPTS);
    return Number(text);
  });
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    if (step < 1 || step > 100 || (i > 0 && step <= steps[i - 1]!)) fail(input, raw, TRAFFIC_STEPS_ACCEPTS);
  }
  if (steps[steps.length - 1] !== 100) fail(input, raw, TRAFFIC_STEPS_ACCEPTS);
  return steps;
}

const POOL_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

/** Exactly two distinct Cloudflare pool ids: the two slots. */
export function parseCloudflarePools(raw: string, input = 'cloudflare-pools'): [string, string] {
  const accepts = 'exactly two different Cloudflare pool ids, separated by a comma or a new line';
  const ids = parseList(raw);
  if (ids.length !== 2 || ids[0] === ids[1] || !ids.every((id) => POOL_ID.test(id))) fail(input, raw, accepts);
  return [ids[0]!, ids[1]!];
}
