/** A few at a time, in order (record statuses, routing-check requests): mapInOrder. */
import { describe, expect, it } from 'vitest';
import { mapInOrder } from '../../../src/text.ts';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('mapInOrder', () => {
  it('keeps the items’ order whatever order the calls end in, and never runs more than the limit', async () => {
    let running = 0;
    let most = 0;
    const out = await mapInOrder([30, 5, 20, 1, 10, 2, 15], 3, async (ms) => {
      running++;
      most = Math.max(most, running);
      await tick(ms);
      running--;
      return ms * 2;
    });
    expect(out).toEqual([60, 10, 40, 2, 20, 4, 30]);
    expect(most).toBe(3);
  });

  it('an empty list makes no call; a failed call fails the whole', async () => {
    expect(await mapInOrder([], 4, async () => 1)).toEqual([]);
    await expect(
      mapInOrder([1, 2, 3], 2, async (n) => {
        if (n === 2) throw new Error('HTTP 502');
        return n;
      }),
    ).rejects.toThrow('HTTP 502');
  });
});
