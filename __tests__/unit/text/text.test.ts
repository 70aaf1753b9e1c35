/**
 * The shared text and time helpers (src/text.ts): one line, error messages, millisecond figures,
 * an abortable sleep, and the one redaction every layer uses.
 */
import { describe, expect, it } from 'vitest';
import { createRedactor, errorMessage, formatMs, oneLine, redact, redactDeep, sleep } from '../../../src/text.ts';

describe('oneLine', () => {
  it('collapses whitespace and control characters, so remote text cannot start a log line', () => {
    expect(oneLine('a\n::error::x\r\n\tb\u0000c')).toBe('a ::error::x b c');
    expect(oneLine('  spaced   out  ')).toBe('spaced out');
  });
  it('cuts to the given length with an ellipsis', () => {
    expect(oneLine('x'.repeat(400), 300)).toHaveLength(300);
    expect(oneLine('x'.repeat(400), 300).endsWith('...')).toBe(true);
    expect(oneLine('short', 300)).toBe('short');
  });
});

describe('errorMessage', () => {
  it('reads Errors, strings and anything else on one line', () => {
    expect(errorMessage(new Error('boom\nagain'))).toBe('boom again');
    expect(errorMessage('plain')).toBe('plain');
    expect(errorMessage({ code: 7 })).toBe('{"code":7}');
    expect(errorMessage(new TypeError(''))).toBe('TypeError');
  });
});

describe('formatMs', () => {
  it('whole ms from 10 ms, one decimal below, a dash when unknown', () => {
    expect(formatMs(812.4)).toBe('812 ms');
    expect(formatMs(1500)).toBe('1500 ms');
    expect(formatMs(5)).toBe('5 ms');
    expect(formatMs(9.64)).toBe('9.6 ms');
    expect(formatMs(Number.NaN)).toBe('–');
  });
});

describe('sleep', () => {
  it('resolves after the time, and rejects at once with the reason when aborted', async () => {
    await expect(sleep(5)).resolves.toBeUndefined();
    const c = new AbortController();
    const waiting = sleep(60_000, c.signal);
    c.abort(new Error('SIGINT'));
    await expect(waiting).rejects.toThrow('SIGINT');
    const plain = new AbortController();
    plain.abort('not an error');
    await expect(sleep(10, plain.signal)).rejects.toThrow('the run was cancelled');
  });
});

describe('redact', () => {
  it('removes secrets and their encoded forms', () => {
    const s = 'a+b/c=d&e?f';
    const text = `x ${s} ${encodeURIComponent(s)} ${Buffer.from(s).toString('base64')} ${JSON.stringify('q"' + s).slice(1, -1)}`;
    const out = redact(text, [s]);
    expect(out).not.toContain(s);
    expect(out).not.toContain(encodeURIComponent(s));
    expect(out).not.toContain(Buffer.from(s).toString('base64'));
  });

  it('removes authorization values and well-known token shapes even when not listed', () => {
    const out = redact(
      'Authorization: Bearer abc.def-123456 and "authorization":"token zz9" ghp_abcdefghijklmnopqrstuvwxyz0123 xoxb-123456789012-abc AKIAABCDEFGHIJKLMNOP',
    );
    for (const leak of [
      'abc.def-123456',
      'zz9',
      'ghp_abcdefghijklmnopqrstuvwxyz0123',
      'xoxb-123456789012-abc',
      'AKIAABCDEFGHIJKLMNOP',
    ]) {
      expect(out).not.toContain(leak);
    }
  });

  it('a secret that has no URL form (a lone surrogate) is still removed, and nothing throws', () => {
    const s = '\ud800  status: ';
    expect(redact(`got ${s} here`, [s])).toBe('got *** here');
  });

  it('leaves ordinary words alone', () => {
    expect(redact('invalid token provided; token expired')).toBe('invalid token provided; token expired');
  });

  it('masks a short secret as given, but not its encoded forms (they would match everywhere)', () => {
    expect(redact('key abc in use', ['abc'])).toBe('key *** in use');
    expect(redact(Buffer.from('abc').toString('base64'), ['abc'])).toBe(Buffer.from('abc').toString('base64'));
  });

  it('one redaction for logs, files and provider errors: createRedactor and redactDeep agree with redact', () => {
    const s = 'tok_"quote\\back%25';
    const text = `a ${s} b ${encodeURIComponent(s)} Bearer abcdef1234567890`;
    expect(createRedactor([s])(text)).toBe(redact(text, [s]));
    expect(redactDeep({ [s]: [text] }, [s])).toEqual({ '***': [redact(text, [s])] });
  });
});
