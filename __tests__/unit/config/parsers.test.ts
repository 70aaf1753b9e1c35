import { describe, expect, it } from 'vitest';
import {
  InputError,
  MAX_DURATION_MS,
  formatDuration,
  formatList,
  parseBackupPrefix,
  parseBenchmarkThresholds,
  parseBoolean,
  parseBranchName,
  parseCloudflarePools,
  parseDatadogSite,
  parseDuration,
  parseEnum,
  parseGlobs,
  parseInteger,
  parseLines,
  parseList,
  parseNumber,
  parseRatio,
  parseRollbackTo,
  parseSeverities,
  parseTrafficSteps,
  parseUrl,
} from '../../../src/config/index.ts';

/** Runs `fn`, expecting an InputError naming `input`; returns it for further checks. */
function rejects(fn: () => unknown, input: string): InputError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).input).toBe(input);
    expect((err as InputError).message).toContain(`\`${input}\``);
    return err as InputError;
  }
  throw new Error(`expected an InputError for ${input}`);
}

describe('durations', () => {
  it.each([
    ['300', 300_000],
    ['300s', 300_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['1h', 3_600_000],
    ['2m30s', 150_000],
    ['1m0s250ms', 60_250],
    ['1.5s', 1_500],
    ['0.25', 250],
    ['0', 0],
    ['0s', 0],
    ['  10m ', 600_000],
    ['596h31m23s647ms', MAX_DURATION_MS],
  ])('parses %j as %d ms', (raw, ms) => {
    expect(parseDuration(raw, 'step-duration')).toBe(ms);
  });

  it.each([
    '',
    '   ',
    '-5m',
    '-1',
    '5x',
    'm',
    '5 m',
    '1h 30m',
    '30m1h',
    '5m5m',
    'ms',
    '1.',
    '.5s',
    '5M',
    'abc',
    '1e3',
    '597h',
    '99999999999999999999',
  ])('rejects %j naming the input', (raw) => {
    const err = rejects(() => parseDuration(raw, 'checks-timeout'), 'checks-timeout');
    expect(err.message).toMatch(/5m/);
  });

  it('says why a negative duration is refused', () => {
    expect(rejects(() => parseDuration('-5m', 'validation-window'), 'validation-window').message).toMatch(
      /not negative/,
    );
  });

  it('formats for people and round-trips', () => {
    expect(formatDuration(0)).toBe('0ms');
    expect(formatDuration(500)).toBe('500ms');
    expect(formatDuration(1_000)).toBe('1s');
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(2_250)).toBe('2.25s');
    expect(formatDuration(3_600_005)).toBe('1h0.005s');
    for (const ms of [0, 1, 999, 1_000, 1_001, 59_999, 60_000, 3_599_999, MAX_DURATION_MS]) {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    }
  });
});

describe('lists', () => {
  it('splits on commas and new lines, trims, drops empties', () => {
    expect(parseList('main, hotfix/*')).toEqual(['main', 'hotfix/*']);
    expect(parseList('a\nb\r\nc,,\n  ,d  ')).toEqual(['a', 'b', 'c', 'd']);
    expect(parseList('')).toEqual([]);
    expect(parseList(' , \n ')).toEqual([]);
  });
  it('keeps commas when only lines separate', () => {
    expect(parseLines('render, large<=10\n\n  api<=5  \r\n')).toEqual(['render, large<=10', 'api<=5']);
  });
  it('formats as the inverse', () => {
    expect(parseList(formatList(['a', 'b c', 'd']))).toEqual(['a', 'b c', 'd']);
  });
});

describe('booleans', () => {
  it.each([
    ['true', true],
    ['TRUE', true],
    ['Yes', true],
    ['on', true],
    ['1', true],
    ['false', false],
    ['No', false],
    ['OFF', false],
    ['0', false],
  ])('%j → %s', (raw, value) => {
    expect(parseBoolean(raw, 'prebuilt', !value)).toBe(value);
  });
  it('uses the default when empty', () => {
    expect(parseBoolean('', 'pr-comment', true)).toBe(true);
    expect(parseBoolean('  ', 'pr-comment', false)).toBe(false);
  });
  it.each(['maybe', 'truee', '2', 'y', 'enabled'])('rejects %j', (raw) => {
    expect(rejects(() => parseBoolean(raw, 'prebuilt', false), 'prebuilt').message).toMatch(/true or false/);
  });
});

describe('numbers', () => {
  it('parses integers within bounds', () => {
    expect(parseInteger('3', 'required-approvals', { min: 0, max: 10 })).toBe(3);
    expect(parseInteger(' +0 ', 'failure-limit', { min: 0 })).toBe(0);
    expect(parseInteger('10', 'required-approvals', { min: 0, max: 10 })).toBe(10);
  });
  it.each(['11', '-1', '1.5', 'one', '', '1e2', '99999999999999999999'])('rejects integer %j', (raw) => {
    const err = rejects(() => parseInteger(raw, 'required-approvals', { min: 0, max: 10 }), 'required-approvals');
    expect(err.message).toContain('from 0 to 10');
  });
  it('parses decimals within bounds', () => {
    expect(parseNumber('250.5', 'performance-threshold-ms', { min: 1 })).toBe(250.5);
    expect(parseNumber('.5', 'x', {})).toBe(0.5);
    expect(parseNumber('1e3', 'x', { max: 1000 })).toBe(1000);
  });
  it.each(['0', 'NaN', 'Infinity', '1e999', '12ms', '0x10'])('rejects number %j', (raw) => {
    rejects(() => parseNumber(raw, 'performance-threshold-ms', { min: 1 }), 'performance-threshold-ms');
  });
  it('parses ratios and percentages', () => {
    expect(parseRatio('0.01', 'error-rate-threshold')).toBe(0.01);
    expect(parseRatio('1%', 'error-rate-threshold')).toBe(0.01);
    expect(parseRatio('0', 'error-rate-threshold')).toBe(0);
    expect(parseRatio('1', 'error-rate-threshold')).toBe(1);
    expect(parseRatio('100 %', 'error-rate-threshold')).toBe(1);
  });
  it.each(['1.5', '-0.1', '101%', 'five', '%', ''])('rejects ratio %j', (raw) => {
    rejects(() => parseRatio(raw, 'error-rate-threshold'), 'error-rate-threshold');
  });
});

describe('enums', () => {
  it('is case-insensitive and canonical', () => {
    expect(parseEnum('Canary', 'strategy', ['blue-green', 'canary', 'immediate'])).toBe('canary');
  });
  it('lists what it accepts', () => {
    const err = rejects(() => parseEnum('bogus', 'mode', ['deploy', 'rollback', 'plan']), 'mode');
    expect(err.message).toContain('deploy, rollback, plan');
    expect(err.message).toContain('"bogus"');
  });
});

describe('URLs', () => {
  it('accepts http and https, without a trailing slash', () => {
    expect(parseUrl('https://shop.example.com/', 'production-url')).toBe('https://shop.example.com');
    expect(parseUrl('http://127.0.0.1:8080/api/', 'dependency-urls')).toBe('http://127.0.0.1:8080/api');
    expect(parseUrl('https://example.com/health?deep=1', 'dependency-urls')).toBe('https://example.com/health?deep=1');
  });
  it.each([
    'ftp://example.com',
    'example.com',
    'javascript:alert(1)',
    'file:///etc/passwd',
    'https://',
    'http://a b.com',
    '',
  ])('rejects %j', (raw) => {
    rejects(() => parseUrl(raw, 'production-url'), 'production-url');
  });
  it('refuses credentials and never echoes them', () => {
    const err = rejects(() => parseUrl('https://user:hunter2secret@example.com', 'backup-endpoint'), 'backup-endpoint');
    expect(err.message).not.toContain('hunter2secret');
    expect(err.message).toContain('credentials');
  });
});

describe('globs', () => {
  it('accepts picomatch patterns', () => {
    expect(parseGlobs('main, hotfix/*\nrelease/v{1,2}/**', 'allowed-branches')).toEqual([
      'main',
      'hotfix/*',
      'release/v{1,2}/**',
    ]);
  });
  it.each(['release/[v1', 'a{b', 'feat(x', 'trailing\\'])('rejects %j', (raw) => {
    const err = rejects(() => parseGlobs(`main,${raw}`, 'allowed-branches'), 'allowed-branches');
    expect(err.message).toContain(JSON.stringify(raw));
  });
});

describe('traffic steps and pools', () => {
  it('accepts ascending percentages ending at 100', () => {
    expect(parseTrafficSteps('100')).toEqual([100]);
    expect(parseTrafficSteps('10,50,100')).toEqual([10, 50, 100]);
    expect(parseTrafficSteps('1\n5%\n25\n100')).toEqual([1, 5, 25, 100]);
  });
  it.each([
    '',
    '50',
    '10,10,100',
    '50,10,100',
    '0,100',
    '10,50,101',
    '10,50,100,100',
    '10.5,100',
    'ten,100',
    '-10,100',
  ])('rejects %j', (raw) => {
    expect(rejects(() => parseTrafficSteps(raw), 'traffic-steps').message).toMatch(/ending at 100/);
  });
  it('takes exactly two distinct pools', () => {
    expect(parseCloudflarePools('blue-pool, green-pool')).toEqual(['blue-pool', 'green-pool']);
    expect(parseCloudflarePools('17b5962d775c646f3f9725cbc7a53df4\n9290f38c5d07c2e2f4df57b1f61d4196')).toEqual([
      '17b5962d775c646f3f9725cbc7a53df4',
      '9290f38c5d07c2e2f4df57b1f61d4196',
    ]);
  });
  it.each(['one', 'a,a', 'a,b,c', '', 'a b,c'])('rejects pools %j', (raw) => {
    expect(rejects(() => parseCloudflarePools(raw), 'cloudflare-pools').message).toContain('exactly two');
  });
});

describe('benchmark thresholds', () => {
  it('parses bounds, names with spaces and commas included', () => {
    expect(parseBenchmarkThresholds('render, large<=120\napi p95 >= 0.5\n\nsize<=1e3')).toEqual([
      { name: 'render, large', op: '<=', value: 120 },
      { name: 'api p95', op: '>=', value: 0.5 },
      { name: 'size', op: '<=', value: 1000 },
    ]);
  });
  it('allows an upper and a lower bound for one name', () => {
    expect(parseBenchmarkThresholds('x<=10\nx>=1')).toHaveLength(2);
  });
  it.each(['render<120', 'render<=', '<=5', 'render=>5', 'render<=fast', 'x<=1\nx<=2'])('rejects %j', (raw) => {
    rejects(() => parseBenchmarkThresholds(raw), 'benchmark-thresholds');
  });
});

describe('severities', () => {
  it('returns a canonical subset', () => {
    expect(parseSeverities('high, CRITICAL')).toEqual(['critical', 'high']);
    expect(parseSeverities('low,medium,high,critical,low')).toEqual(['critical', 'high', 'medium', 'low']);
  });
  it('none disables', () => {
    expect(parseSeverities('none')).toEqual([]);
    expect(parseSeverities('NONE')).toEqual([]);
  });
  it.each(['severe', 'none,high', ',', 'critical;high'])('rejects %j', (raw) => {
    rejects(() => parseSeverities(raw), 'security-block-severity');
  });
});

describe('datadog site', () => {
  it.each([
    ['datadoghq.com', 'https://api.datadoghq.com'],
    ['datadoghq.eu', 'https://api.datadoghq.eu'],
    ['us5.datadoghq.com', 'https://api.us5.datadoghq.com'],
    ['app.datadoghq.eu', 'https://api.datadoghq.eu'],
    ['api.us3.datadoghq.com', 'https://api.us3.datadoghq.com'],
    ['ddog-gov.com', 'https://api.ddog-gov.com'],
    ['http://127.0.0.1:4567/', 'http://127.0.0.1:4567'],
    ['https://dd.internal.example/proxy', 'https://dd.internal.example/proxy'],
  ])('%j → %s', (raw, url) => {
    expect(parseDatadogSite(raw)).toBe(url);
  });
  it.each(['datadog', 'ftp://datadoghq.com', 'data dog.com', '-x.com'])('rejects %j', (raw) => {
    rejects(() => parseDatadogSite(raw), 'datadog-site');
  });
});

describe('backup prefix', () => {
  const vars = { owner: 'acme', repo: 'shop', environment: 'production' };
  it('substitutes placeholders and ends with /', () => {
    expect(parseBackupPrefix('production-deploy/{repo}/{environment}/', vars)).toBe(
      'production-deploy/acme/shop/production/',
    );
    expect(parseBackupPrefix('db/{owner}-{name}/{environment}', vars)).toBe('db/acme-shop/production/');
  });
  it.each(['{unknown}/x', '/absolute/', 'a\u0001b', '{repo'])('rejects %j', (raw) => {
    rejects(() => parseBackupPrefix(raw, vars), 'backup-prefix');
  });
});

describe('rollback-to and branch names', () => {
  it.each(['previous', 'PREVIOUS', 'dpl_8Gx2aBcD', SHA(), 'abc1234', '123456789'])('accepts rollback-to %j', (raw) => {
    expect(parseRollbackTo(raw)).toBe(raw.toLowerCase() === 'previous' ? 'previous' : raw);
  });
  it.each(['last', 'dpl_', 'abc', 'HEAD~1', 'v1.2.3'])('rejects rollback-to %j', (raw) => {
    rejects(() => parseRollbackTo(raw), 'rollback-to');
  });
  it.each(['main', 'hotfix/login-fix', 'release/v1.2', 'refs/heads/feature/x', 'ünïcode'])(
    'accepts branch %j',
    (raw) => {
      expect(parseBranchName(raw)).toBe(raw.replace(/^refs\/heads\//, ''));
    },
  );
  it.each([
    '',
    'a b',
    '-rf',
    'a..b',
    'a~1',
    'x^',
    'a:b',
    'a?',
    'a*',
    'a[b',
    'a\\b',
    'x.lock',
    'x/',
    '/x',
    '.hidden',
    'a@{1}',
    '@',
    'a//b',
    'tab\tx',
  ])('rejects branch %j', (raw) => {
    rejects(() => parseBranchName(raw), 'branch');
  });
});

function SHA(): string {
  return 'deadbeef'.repeat(5);
}
