import { describe, expect, it } from 'vitest';
import {
  InputError,
  SECRET_INPUTS,
  fromEnv,
  parseConfig,
  redact,
  registerSecrets,
  secretForms,
  type InputSource,
} from '../../../src/config/index.ts';
import { INPUTS, SECRETS, envWith, source } from './fixtures.ts';

describe('secretForms', () => {
  it('covers URL-encoded, JSON-escaped and base64 forms', () => {
    const secret = 'p@ss w/"q"&=+?#%\\é';
    const forms = secretForms(secret);
    expect(forms[0]).toBe(secret);
    expect(forms).toContain(encodeURIComponent(secret));
    expect(forms).toContain(JSON.stringify(secret).slice(1, -1));
    expect(forms).toContain(Buffer.from(secret).toString('base64'));
    expect(forms).toContain(Buffer.from(secret).toString('base64url'));
    expect(forms).toContain(new URLSearchParams({ v: secret }).toString().slice(2));
  });

  it('masks base64 of the secret wherever it sits in a longer string (Basic auth)', () => {
    const secret = 'tok_0123456789abcdef';
    const forms = secretForms(secret);
    for (const user of ['', 'a', 'ab', 'abc', 'x-access-token', 'user']) {
      const basic = Buffer.from(`${user}:${secret}trailing`).toString('base64');
      expect(redact(basic, forms), `user ${JSON.stringify(user)}`).toContain('***');
      // What stays readable is the prefix, the suffix, and at most a group of boundary characters each side.
      const left = redact(basic, forms).split('***').join('').length;
      expect(left).toBeLessThanOrEqual(Math.ceil(((user.length + 1) * 4) / 3) + Math.ceil((8 * 4) / 3) + 8);
    }
  });

  it('registers each line of a multi-line secret, skipping short fragments, CRLF handled', () => {
    const key = '-----BEGIN KEY-----\r\nMIIEabcdef\n{\n}\n\n  ab\nZZZZ\r\n-----END KEY-----';
    const forms = secretForms(key);
    expect(forms).toEqual(expect.arrayContaining(['-----BEGIN KEY-----', 'MIIEabcdef', 'ZZZZ', '-----END KEY-----']));
    expect(forms).not.toContain('{');
    expect(forms).not.toContain('}');
    expect(forms).not.toContain('ab');
    expect(forms).not.toContain('');
    expect(forms).not.toContain(key);
    expect(forms.every((f) => !/[\r\n]/.test(f))).toBe(true);
  });

  it('gives nothing for an empty value', () => {
    expect(secretForms('')).toEqual([]);
  });
});

describe('registerSecrets', () => {
  it('registers every value and form once, skipping empties, and returns them', () => {
    const calls: string[] = [];
    const out = registerSecrets(['abcd1234', '', undefined, 'abcd1234', 'x'], (v) => calls.push(v));
    expect(calls).toEqual(out);
    expect(new Set(calls).size).toBe(calls.length);
    expect(calls).toContain('abcd1234');
    expect(calls).toContain(Buffer.from('abcd1234').toString('base64'));
    // A short secret is still masked as itself, though its fragments are not.
    expect(calls).toContain('x');
  });
});

describe('parseConfig and secrets', () => {
  it('registers every secret and derived form before reading any other input or variable', () => {
    const events: string[] = [];
    const env = envWith(
      { ...INPUTS, ...SECRETS, 'slack-channel': 'C123', 'error-rate-query': 'q' },
      { AWS_SECRET_ACCESS_KEY: 'awsSecretFixture/0008+', AWS_SESSION_TOKEN: 'awsSessionFixture0009' },
    );
    const base = fromEnv(env);
    const tracked: InputSource = {
      getInput: (name) => {
        events.push(`input:${name}`);
        return base.getInput(name);
      },
      env: new Proxy(env, {
        get: (target, key: string) => {
          events.push(`env:${key}`);
          return target[key];
        },
      }),
      readFile: (file) => {
        events.push(`file:${file}`);
        throw new Error('ENOENT');
      },
      setSecret: (value) => events.push(`secret:${value}`),
    };
    const config = parseConfig(tracked);

    const lastSecret = events.findLastIndex((e) => e.startsWith('secret:'));
    const secretReads = new Set([
      ...SECRET_INPUTS.map((n) => `input:${n}`),
      'env:AWS_SECRET_ACCESS_KEY',
      'env:AWS_SESSION_TOKEN',
      'env:GITHUB_TOKEN',
    ]);
    const before = events.slice(0, lastSecret);
    expect(before.filter((e) => !e.startsWith('secret:') && !secretReads.has(e))).toEqual([]);
    const registered = events.filter((e) => e.startsWith('secret:')).map((e) => e.slice('secret:'.length));
    for (const value of [...Object.values(SECRETS), 'awsSecretFixture/0008+', 'awsSessionFixture0009']) {
      for (const form of secretForms(value)) expect(registered).toContain(form);
    }
    expect(registered).toEqual(config.secrets);
  });

  it('falls back to GITHUB_TOKEN and masks it', () => {
    const src = source({ 'github-token': undefined }, { env: { GITHUB_TOKEN: 'ghs_fromEnvFixture' } });
    const config = parseConfig(src);
    expect(config.githubToken).toBe('ghs_fromEnvFixture');
    expect(src.masked).toContain('ghs_fromEnvFixture');
  });

  it('never echoes a secret in an error, even one pasted into the wrong input', () => {
    const wrong = source({
      ...SECRETS,
      'vercel-token': `${SECRETS['vercel-token']} extra`,
      'slack-token': 'xoxb-with\nnewline-Fixture',
      'production-url': SECRETS['datadog-api-key'],
      'vercel-project-id': `bad ${SECRETS['github-token']}`,
      'backup-endpoint': 'https://key:secretpw-Fixture@s3.example.com',
    });
    let err: unknown;
    try {
      parseConfig(wrong);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    const message = (err as InputError).message;
    for (const s of [...Object.values(SECRETS), 'newline-Fixture', 'secretpw-Fixture']) {
      expect(message).not.toContain(s);
    }
    for (const input of ['vercel-token', 'slack-token', 'production-url', 'vercel-project-id', 'backup-endpoint']) {
      expect(message).toContain(`\`${input}\``);
    }
    expect(message).toContain('a value (hidden)');
    expect(JSON.stringify((err as InputError).problems)).not.toContain(SECRETS['github-token']);
  });
});
