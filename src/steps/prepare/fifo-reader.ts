/**
 * Reads a FIFO's read end into the caller's buffers through libuv's pipe handle (`net.Socket` over
 * the descriptor, with `onread`): libuv reads in the event loop into one preallocated 64 KiB
 * buffer, from which the bytes are copied into the caller's; no JS object is made per read.
 *
 * Why not `fs.read`: a pipe read returns only what the writer has written so far (4 to 64 KiB for
 * `pg_dump` or `openssl`), so a 5 MiB part takes ~370 reads, and each `fs.read` makes a request
 * object in the threadpool's queue. That garbage, at ~40 MB/s, is what grew V8's young generation
 * during long backups (docs/benchmarks.md §3). libuv sets the descriptor non-blocking and owns it:
 * `destroy` closes it once, whatever is pending.
 */
import net from 'node:net';

/** Each libuv read lands here first (at most this many bytes per read: a default pipe's capacity). */
const SCRATCH = 64 * 1024;

export interface FifoReader {
  /**
   * Fills `buf[offset, offset + length)`, resolving `length`, or fewer at the end of the output (then
   * 0 on every later call). Rejects with the pipe's error, or with what `destroy` was given.
   */
  read(buf: Buffer, offset: number, length: number): Promise<number>;
  /** Whether a read is waiting for bytes. */
  pending(): boolean;
  /** Stops reading and closes the descriptor; a pending read rejects with `reason`. */
  destroy(reason: Error): void;
}

export function fifoReader(fd: number): FifoReader {
  const scratch = Buffer.allocUnsafeSlow(SCRATCH);
  // Bytes read past the end of the caller's range: kept for the next read (at most one libuv read).
  const carry = Buffer.allocUnsafeSlow(SCRATCH);
  let carried = 0;
  let want: { buf: Buffer; at: number; end: number; start: number } | undefined;
  let settle: { resolve: (n: number) => void; reject: (e: Error) => void } | undefined;
  let ended = false;
  let failure: Error | undefined;

  const finish = (err?: Error) => {
    const s = settle;
    const w = want;
    settle = undefined;
    want = undefined;
    if (!s || !w) return;
    if (err) s.reject(err);
    else s.resolve(w.at - w.start);
  };

  const socket = new net.Socket({
    fd,
    readable: true,
    writable: false,
    onread: {
      buffer: scratch,
      callback(n: number) {
        let from = 0;
        if (want) {
          const take = Math.min(n, want.end - want.at);
          scratch.copy(want.buf, want.at, 0, take);
          want.at += take;
          from = take;
          if (want.at === want.end) finish();
        }
        if (from < n) {
          // No range to fill (or it is full): keep the rest and stop reading until the next read.
          scratch.copy(carry, carried, from, n);
          carried += n - from;
        }
        return want !== undefined;
      },
    },
  });
  socket.on('end', () => {
    ended = true;
    finish();
  });
  socket.on('error', (err) => {
    failure = err;
    finish(err);
  });

  return {
    read(buf, offset, length) {
      if (failure) return Promise.reject(failure);
      if (settle) return Promise.reject(new Error('a FIFO read is already pending'));
      let at = offset;
      if (carried > 0) {
        const take = Math.min(carried, length);
        carry.copy(buf, at, 0, take);
        carry.copyWithin(0, take, carried);
        carried -= take;
        at += take;
      }
      if (at - offset === length || ended) return Promise.resolve(at - offset);
      return new Promise<number>((resolve, reject) => {
        settle = { resolve, reject };
        want = { buf, at, end: offset + length, start: offset };
        // Reading stops whenever no range waits (the callback's `false`); a no-op while it runs.
        socket.resume();
      });
    },
    pending: () => settle !== undefined,
    destroy(reason) {
      failure ??= reason;
      finish(reason);
      socket.destroy();
    },
  };
}
