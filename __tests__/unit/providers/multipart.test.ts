import { describe, expect, it } from 'vitest';
import {
  GiB,
  MiB,
  PartBuffers,
  S3_LIMITS,
  TiB,
  partSchedule,
  partSize,
  partsInFlight,
  scheduleReach,
} from '../../../src/providers/multipart.ts';
import { POLICIES } from '../../../src/providers/index.ts';

/** Every part size of `s`, part 1 to 10,000. */
const sizesOf = (s: ReturnType<typeof partSchedule>) =>
  Array.from({ length: S3_LIMITS.maxParts }, (_, i) => partSize(s, i + 1));

describe('the run’s schedule (POLICIES.s3)', () => {
  const { partSize: first, queueSize } = POLICIES.s3;
  const s = partSchedule(first);
  const sizes = sizesOf(s);

  it('stays at the first size past 4 GiB: a 4 GiB backup has the part buffers of a 1 GiB one', () => {
    const firstGrowth = sizes.findIndex((n) => n > first);
    expect(firstGrowth).toBe(s.step);
    // Bytes sent before the first larger part.
    expect(firstGrowth * first).toBeGreaterThan(4 * GiB);
    expect(sizes.slice(0, Math.ceil((4 * GiB) / first)).every((n) => n === first)).toBe(true);
  });

  it('reaches S3’s 5 TiB within 10,000 parts, each within 5 MiB–5 GiB, never shrinking', () => {
    expect(sizes.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(S3_LIMITS.maxObjectBytes);
    expect(scheduleReach(s)).toBe(sizes.reduce((a, b) => a + b, 0));
    // Every part but the last of an upload is a full part of the schedule: all ≥ 5 MiB.
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(S3_LIMITS.minPartBytes);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(S3_LIMITS.maxPartBytes);
    for (let i = 1; i < sizes.length; i++) expect(sizes[i]!).toBeGreaterThanOrEqual(sizes[i - 1]!);
  });

  it('grows to the 2 GiB cap only past 2 TiB (beyond a GitHub-hosted job’s 6 hours at 100 MiB/s)', () => {
    const capAt = sizes.indexOf(s.cap);
    expect(s.cap).toBe(2 * GiB);
    const before = sizes.slice(0, capAt).reduce((a, b) => a + b, 0);
    expect(before).toBeGreaterThan(2 * TiB);
    expect(before / (100 * MiB) / 3600).toBeGreaterThan(6);
  });

  it('keeps the bytes in flight within queueSize first-size parts at every size (one part at least)', () => {
    for (const size of new Set(sizes)) {
      const n = partsInFlight(s, queueSize, size);
      expect(n).toBeGreaterThanOrEqual(1);
      if (size <= queueSize * first) expect(n * size).toBeLessThanOrEqual(queueSize * first);
      else expect(n).toBe(1);
    }
  });
});

describe('the part-size schedule', () => {
  it('from 8 MiB: reaches 5 TiB within 10,000 parts, every part within 5 MiB–5 GiB', () => {
    const s = partSchedule(8 * MiB);
    expect(scheduleReach(s)).toBeGreaterThanOrEqual(5 * TiB);
    const sizes = Array.from({ length: S3_LIMITS.maxParts }, (_, i) => partSize(s, i + 1));
    expect(Math.min(...sizes)).toBe(8 * MiB);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(S3_LIMITS.maxPartBytes);
    expect(Math.max(...sizes)).toBe(2 * GiB);
    // Parts never shrink: the buffers of a size are only dropped once the parts outgrew them.
    for (let i = 1; i < sizes.length; i++) expect(sizes[i]!).toBeGreaterThanOrEqual(sizes[i - 1]!);
  });

  it('keeps the first size as long as it can: one step more would fall short of 5 TiB', () => {
    const s = partSchedule(8 * MiB);
    expect(s.step).toBeGreaterThan(500);
    expect(scheduleReach({ ...s, step: s.step + 1 })).toBeLessThan(5 * TiB);
    // A 4 GiB backup stays in 8 MiB parts, so its memory is that of a 1 GiB one.
    expect(s.step * 8 * MiB).toBeGreaterThanOrEqual(4 * GiB);
    expect(partSize(s, s.step)).toBe(8 * MiB);
    expect(partSize(s, s.step + 1)).toBe(16 * MiB);
  });

  it('from the 5 MiB minimum and from larger first parts too', () => {
    for (const first of [5 * MiB, 16 * MiB, 100 * MiB, 2 * GiB]) {
      const s = partSchedule(first);
      expect(scheduleReach(s)).toBeGreaterThanOrEqual(5 * TiB);
      expect(partSize(s, 1)).toBe(first);
      expect(partSize(s, S3_LIMITS.maxParts)).toBeLessThanOrEqual(S3_LIMITS.maxPartBytes);
    }
  });

  it('refuses a first part outside S3’s limits, and a cap that cannot reach 5 TiB', () => {
    expect(() => partSchedule(5 * MiB - 1)).toThrow(/outside S3's 5 MiB–5 GiB/);
    expect(() => partSchedule(5 * GiB + 1)).toThrow(/outside S3's 5 MiB–5 GiB/);
    expect(() => partSchedule(8 * MiB, 256 * MiB)).toThrow(/cannot reach 5 TiB/);
  });

  it('keeps the bytes in flight within queueSize first-size parts as parts grow, never below one part', () => {
    const s = partSchedule(8 * MiB);
    expect(partsInFlight(s, 4, 8 * MiB)).toBe(4);
    expect(partsInFlight(s, 4, 16 * MiB)).toBe(2);
    expect(partsInFlight(s, 4, 32 * MiB)).toBe(1);
    expect(partsInFlight(s, 4, GiB)).toBe(1);
  });
});

// The pool does not depend on the size: small buffers keep the test light.
const KiB = 1024;

describe('PartBuffers', () => {
  it('hands back the same buffers: a long upload allocates parts in flight + 1, not one per part', () => {
    const pool = new PartBuffers();
    const inFlight: Buffer[] = [];
    const seen = new Set<Buffer>();
    let filling = pool.take(8 * KiB);
    for (let part = 0; part < 200; part++) {
      seen.add(filling);
      // Four parts in flight: the full buffer waits until the oldest part is answered and its buffer back.
      if (inFlight.length === 4) pool.give(inFlight.shift()!, 8 * KiB);
      inFlight.push(filling);
      filling = pool.take(8 * KiB);
    }
    expect(pool.allocated).toBe(5);
    expect(seen.size).toBe(5);
    expect(pool.allocatedBytes).toBe(5 * 8 * KiB);
  });

  it('drops buffers the parts have outgrown instead of keeping them', () => {
    const pool = new PartBuffers();
    const a = pool.take(8 * KiB);
    const b = pool.take(8 * KiB);
    pool.give(a, 8 * KiB);
    pool.give(b, 16 * KiB); // the parts grew while b was in flight
    const c = pool.take(16 * KiB);
    expect(c.length).toBe(16 * KiB);
    expect(c === a).toBe(false);
    expect(c === b).toBe(false);
    pool.give(c, 16 * KiB);
    expect(pool.take(16 * KiB) === c).toBe(true);
    expect(pool.take(8 * KiB) === a).toBe(false); // a was dropped once the parts reached 16 MiB
    expect(pool.allocated).toBe(4);
  });
});
