import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { codeSpan, escapeCell, escapeInline, table, truncate } from '../../../src/surfaces/markdown.ts';

describe('markdown escaping', () => {
  it('escapes HTML, Markdown punctuation and line breaks', () => {
    expect(escapeInline('<b>x</b> & *y* _z_ [l](u) `c` ~s~ #h !i')).toBe(
      '&lt;b&gt;x&lt;/b&gt; &amp; \\*y\\* \\_z\\_ \\[l\\]\\(u\\) \\`c\\` \\~s\\~ \\#h \\!i',
    );
    expect(escapeInline('a\r\nb\u2028c')).toBe('a b c');
    expect(escapeCell('')).toBe('—');
    expect(escapeCell('a|b')).toBe('a\\|b');
  });

  it('truncates long text with a marker', () => {
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abc', 4)).toBe('abc');
    expect(escapeInline('x'.repeat(1000), 10)).toBe(`${'x'.repeat(9)}…`);
  });

  it('fences code spans longer than any backtick run inside, and escapes pipes', () => {
    expect(codeSpan('dpl_1')).toBe('`dpl_1`');
    expect(codeSpan('a`b')).toBe('``a`b``');
    expect(codeSpan('`x')).toBe('`` `x ``');
    expect(codeSpan('a|b')).toBe('`a\\|b`');
    expect(codeSpan('')).toBe('—');
  });

  it('a cell never contains a line break, an unescaped pipe, or a raw < >', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (text) => {
        const cell = escapeCell(text);
        expect(cell).not.toMatch(/[\n\r<>]/);
        expect(cell).not.toMatch(/(^|[^\\])\|/);
      }),
      { numRuns: 500 },
    );
  });

  it('builds a table with a separator row', () => {
    expect(table(['A', 'B'], [['1', '2']])).toBe('| A | B |\n| --- | --- |\n| 1 | 2 |');
  });
});
