import { describe, expect, it } from 'vitest';
import { createLogger, type LogSink } from '../../../src/log.ts';
import { SECRET } from './fixtures.ts';

function sink(): LogSink & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => lines.push(m),
    warning: (m) => lines.push(`W ${m}`),
    error: (m) => lines.push(`E ${m}`),
    debug: (m) => lines.push(`D ${m}`),
  };
}

describe('createLogger', () => {
  it('wraps untrusted text in stop-commands with a fresh 128-bit token each time', () => {
    const s = sink();
    const log = createLogger([], s);
    const text = '::add-mask::x\n::error::pwned\n::set-output name=url::https://evil';
    log.untrusted(text);
    log.untrusted(text);
    const [open1, body1, close1, open2, , close2] = s.lines;
    const token1 = /^::stop-commands::([0-9a-f]{32})$/.exec(open1!)?.[1];
    const token2 = /^::stop-commands::([0-9a-f]{32})$/.exec(open2!)?.[1];
    expect(token1).toBeDefined();
    expect(token2).toBeDefined();
    expect(token1).not.toBe(token2);
    expect(body1).toBe(text);
    expect(close1).toBe(`::${token1}::`);
    expect(close2).toBe(`::${token2}::`);
  });

  it('removes secrets from every level and from untrusted text', () => {
    const s = sink();
    const log = createLogger([SECRET], s);
    log.info(`a ${SECRET}`);
    log.warning(SECRET);
    log.error(`x${SECRET}x`);
    log.debug(SECRET);
    log.untrusted(`build log: ${SECRET}`);
    expect(s.lines.join('\n')).not.toContain(SECRET);
    expect(s.lines).toContain('a ***');
    expect(s.lines).toContain('E x***x');
  });
});
