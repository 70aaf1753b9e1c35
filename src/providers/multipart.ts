/**
 * The pieces of the backup's multipart upload that do not talk to S3: which size each part has, and
 * the part buffers that are filled, sent and filled again.
 *
 * S3's limits (https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html): an object of at
 * most 5 TiB, in at most 10,000 parts of 5 MiB to 5 GiB each (the last part may be smaller). A stream
 * of unknown length (`pg_dump` writing to stdout) cannot pick one part size: a fixed 8 MiB stops at
 * 78 GiB, a fixed 525 MiB would hold half a gigabyte per part for every small backup. So the part size
 * grows with the stream: the first part size for `step` parts, then doubling every `step` parts up to
 * a cap; `step` is the largest that still reaches 5 TiB within 10,000 parts.
 */

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
export const TiB = 1024 * GiB;

/** S3's multipart limits. */
export const S3_LIMITS = {
  maxParts: 10_000,
  minPartBytes: 5 * MiB,
  maxPartBytes: 5 * GiB,
  maxObjectBytes: 5 * TiB,
} as const;

/**
 * The largest part the schedule grows to unless the first part is larger. A part is held in memory
 * while it is filled and sent, so this bounds the upload's memory on the largest backups: parts in
 * flight shrink as parts grow (`partsInFlight`), and at this size one part is read, then sent (2 GiB).
 *
 * Why 2 GiB and not 1: the higher the cap, the longer 10,000 parts can stay at the first size and
 * still reach 5 TiB, and a backup that never leaves the first size has the memory of a small one.
 * From 5 MiB parts, a 1 GiB cap makes parts double at 3.53 GiB (722 parts); a 2 GiB cap at 4.68 GiB
 * (959 parts), so a 4 GiB backup stays in first-size buffers. The 2 GiB parts only come past 2 TiB
 * (2.34 TiB from 5 MiB parts, 2.07–3.50 TiB from 6–8 MiB). A 2 TiB backup streamed through a runner
 * at ~100 MiB/s takes 5.8 hours: a GitHub-hosted job is stopped at 6 hours ("Job execution time",
 * https://docs.github.com/en/actions/reference/usage-limits-billing-and-administration#usage-limits),
 * so only a self-hosted runner (5 days), sized for such a database, ever holds a 2 GiB part. A cap of
 * 4–5 GiB (S3's part limit) would keep first-size parts only ~0.2 GiB longer and hold 4–5 GiB.
 */
export const DEFAULT_PART_CAP = 2 * GiB;

export interface PartSchedule {
  /** Size of the first parts, bytes. */
  first: number;
  /** Parts of each size before it doubles. */
  step: number;
  /** The size parts grow to and stay at. */
  cap: number;
}

/** The size of part `partNumber` (1-based) under `s`. */
export function partSize(s: PartSchedule, partNumber: number): number {
  const doublings = Math.floor((partNumber - 1) / s.step);
  // 2^31 parts of the first size would overflow nothing here: doublings stays below 10,000 / step.
  return Math.min(s.cap, s.first * 2 ** doublings);
}

/** The most bytes a stream can carry under `s` within S3's 10,000 parts. */
export function scheduleReach(s: PartSchedule): number {
  let total = 0;
  // One size per `step` parts.
  for (let n = 1; n <= S3_LIMITS.maxParts; n += s.step) {
    total += partSize(s, n) * Math.min(s.step, S3_LIMITS.maxParts - n + 1);
  }
  return total;
}

/**
 * The schedule starting at `first` bytes: parts of that size for as long as possible (the largest
 * `step`) while 10,000 parts still reach S3's 5 TiB object limit. Throws on a first part outside
 * S3's 5 MiB–5 GiB.
 */
export function partSchedule(first: number, cap = Math.max(DEFAULT_PART_CAP, first)): PartSchedule {
  if (!Number.isInteger(first) || first < S3_LIMITS.minPartBytes || first > S3_LIMITS.maxPartBytes) {
    throw new Error(`a part of ${first} bytes is outside S3's 5 MiB–5 GiB`);
  }
  const c = Math.min(cap, S3_LIMITS.maxPartBytes);
  // reach(step) falls as step grows (more parts stay small): the largest step that reaches 5 TiB.
  let lo = 1;
  let hi = S3_LIMITS.maxParts;
  if (scheduleReach({ first, step: lo, cap: c }) < S3_LIMITS.maxObjectBytes) {
    throw new Error(`parts capped at ${c} bytes cannot reach 5 TiB within ${S3_LIMITS.maxParts} parts`);
  }
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (scheduleReach({ first, step: mid, cap: c }) >= S3_LIMITS.maxObjectBytes) lo = mid;
    else hi = mid - 1;
  }
  return { first, step: lo, cap: c };
}

/**
 * Parts in flight for parts of `size` when `queueSize` parts of the first size may be: the bytes in
 * flight stay within `queueSize × first` as parts grow, and at least one part is always sent.
 */
export function partsInFlight(s: PartSchedule, queueSize: number, size: number): number {
  return Math.max(1, Math.floor((queueSize * s.first) / size));
}

/**
 * The part buffers of one upload. A part is filled in one preallocated buffer (read into straight from
 * a PartSource, or chunks copied in, never concatenated), sent from it, and the buffer is handed back
 * to be filled again: an upload allocates `parts in flight` buffers of each part size it reaches (the
 * next part is filled only once it could be sent), whatever the stream's length.
 */
export class PartBuffers {
  private readonly free: Buffer[] = [];
  /** Buffers allocated so far (for tests and the benchmark). */
  allocated = 0;
  /** Bytes allocated so far. */
  allocatedBytes = 0;

  /** A buffer of exactly `size` bytes: a returned one of that size, else a new one. */
  take(size: number): Buffer {
    const i = this.free.findIndex((b) => b.length === size);
    if (i >= 0) return this.free.splice(i, 1)[0]!;
    // Unpooled and uninitialised: every byte sent is first copied in, and only `filled` bytes are sent.
    const b = Buffer.allocUnsafeSlow(size);
    this.allocated++;
    this.allocatedBytes += size;
    return b;
  }

  /** Hands a buffer back. One smaller than `current` (the parts have grown) is dropped, not kept. */
  give(b: Buffer, current: number): void {
    if (b.length === current) this.free.push(b);
    // Parts only grow: drop the free buffers too small to be used again.
    for (let i = this.free.length - 1; i >= 0; i--) if (this.free[i]!.length < current) this.free.splice(i, 1);
  }

  /** Drops every free buffer. */
  clear(): void {
    this.free.length = 0;
  }
}

/**
 * A body the uploader reads straight into its part buffers (no chunks in between): the backup
 * command's stdout read from a FIFO (`spawnBackupFifo`, src/steps/prepare/backup.ts). `read` fills at most `length`
 * bytes of `buf` from `offset` and resolves how many it wrote, 0 at the end; it rejects when the body
 * failed (the command exited non-zero, was stopped). `close` gives the body up (stops its producer if
 * it has not ended); it may be called more than once, also while a read is pending.
 */
export interface PartSource {
  read(buf: Buffer, offset: number, length: number): Promise<number>;
  close(): void;
}

export function isPartSource(body: unknown): body is PartSource {
  return (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as PartSource).read === 'function' &&
    typeof (body as PartSource).close === 'function' &&
    // A Readable has read() and no close(); a fs FileHandle has both but is not handed here.
    !('pipe' in body)
  );
}
