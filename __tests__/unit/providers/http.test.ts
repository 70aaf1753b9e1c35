import net from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  ProviderError,
  backoffDelay,
  classifyNetworkError,
  extractProviderError,
  parseRetryAfter,
  requestJson,
  type RequestOptions,
} from '../../../src/providers/http.ts';
import { fastRetry, rejection, startApi, TOKEN } from './helpers.ts';

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  const h = (o: Record<string, string>) => new Headers(o);

  it('reads seconds, milliseconds and HTTP-dates', () => {
    expect(parseRetryAfter(h({ 'retry-after': '3' }), { now })).toBe(3000);
    expect(parseRetryAfter(h({ 'retry-after': '1.5' }), { now })).toBe(1500);
    expect(parseRetryAfter(h({ 'retry-after-ms': '250', 'retry-after': '9' }), { now })).toBe(250);
    expect(parseRetryAfter(h({ 'retry-after': 'Thu, 01 Jan 2026 00:00:07 GMT' }), { now })).toBe(7000);
    expect(parseRetryAfter(h({ 'retry-after': 'Wed, 31 Dec 2025 23:59:00 GMT' }), { now })).toBe(0);
  });

  it('ignores garbage, negatives and infinities', () => {
    for (const v of ['abc', '-5', '1e309', '', 'Infinity', '12abc', 'tomorrow']) {
      expect(parseRetryAfter(h({ 'retry-after': v }), { now })).toBeUndefined();
    }
  });

  it("reads Datadog's x-ratelimit-reset (seconds until reset) only when asked, and an epoch as an epoch", () => {
    expect(parseRetryAfter(h({ 'x-ratelimit-reset': '4' }), { now })).toBeUndefined();
    expect(parseRetryAfter(h({ 'x-ratelimit-reset': '4' }), { now, rateLimitReset: true })).toBe(4000);
    expect(parseRetryAfter(h({ 'x-ratelimit-reset': String(now / 1000 + 10) }), { now, rateLimitReset: true })).toBe(
      10_000,
    );
  });
});

describe('backoffDelay', () => {
  const p = { retries: 5, baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 0 };
  it('doubles, is capped, and jitters within [d/2, d]', () => {
    expect(backoffDelay(1, p, () => 0)).toBe(50);
    expect(backoffDelay(1, p, () => 1)).toBe(100);
    expect(backoffDelay(3, p, () => 1)).toBe(400);
    expect(backoffDelay(10, p, () => 1)).toBe(1000);
    expect(backoffDelay(10, p, () => 0)).toBe(500);
  });
});

describe('classifyNetworkError', () => {
  it('tells "never sent" from "maybe sent"', () => {
    const fetchFailed = (code: string) =>
      Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(code), { code }) });
    expect(classifyNetworkError(fetchFailed('ECONNREFUSED'))).toEqual({ code: 'ECONNREFUSED', maybeSent: false });
    expect(classifyNetworkError(fetchFailed('ECONNRESET'))).toEqual({ code: 'ECONNRESET', maybeSent: true });
    expect(classifyNetworkError(fetchFailed('UND_ERR_SOCKET'))).toEqual({ code: 'UND_ERR_SOCKET', maybeSent: true });
    expect(classifyNetworkError(new DOMException('timed out', 'TimeoutError'))).toEqual({
      code: 'timeout',
      maybeSent: true,
    });
    const dual = Object.assign(new TypeError('fetch failed'), {
      cause: new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]),
    });
    expect(classifyNetworkError(dual)).toEqual({ code: 'ECONNREFUSED', maybeSent: false });
  });
});

describe('extractProviderError', () => {
  it('reads every envelope the providers use', () => {
    expect(extractProviderError({ error: { code: 'forbidden', message: 'Not authorized' } })).toEqual({
      code: 'forbidden',
      message: 'Not authorized',
    });
    expect(extractProviderError({ success: false, errors: [{ code: 1002, message: 'bad pool' }] })).toEqual({
      code: '1002',
      message: 'bad pool (code 1002)',
    });
    expect(extractProviderError({ errors: ['Forbidden', 'Key invalid'] }).message).toBe('Forbidden; Key invalid');
    expect(extractProviderError({ message: 'Not Found' }).message).toBe('Not Found');
    expect(extractProviderError({ ok: false, error: 'channel_not_found' }).code).toBe('channel_not_found');
  });

  it('flattens remote text to one line so it cannot start a workflow command', () => {
    const m = extractProviderError({ message: 'oops\n::error::pwned\r\n::add-mask::x' }).message!;
    expect(m).not.toMatch(/[\r\n]/);
  });
});

function opts<T = unknown>(url: string, o: Partial<RequestOptions<T>> = {}): RequestOptions<T> {
  return {
    provider: 'vercel',
    operation: 'getThing',
    method: 'GET',
    url,
    timeoutMs: 2_000,
    retry: fastRetry(),
    idempotent: true,
    ...o,
  };
}

describe('requestJson', () => {
  it('retries a 503 and returns the next answer', async () => {
    const api = await startApi(async () => ({ status: 200, body: { n: 1 } }));
    api.fault({ path: '/x', status: 503, times: 1 });
    const res = await requestJson<{ n: number }>(opts(`${api.url}/x`));
    expect(res.body).toEqual({ n: 1 });
    expect(api.requests('GET', '/x')).toHaveLength(2);
  });

  it('waits for a 429 retry-after given in seconds', async () => {
    const api = await startApi(async () => ({ status: 200, body: {} }));
    api.fault({ status: 429, headers: { 'retry-after': '1' }, times: 1 });
    const t0 = Date.now();
    await requestJson(opts(`${api.url}/x`));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(api.requests()).toHaveLength(2);
  });

  it('waits for a 429 retry-after given as an HTTP-date', async () => {
    const api = await startApi(async () => ({ status: 200, body: {} }));
    const at = new Date(Math.ceil((Date.now() + 1000) / 1000) * 1000);
    api.fault({ status: 429, headers: { 'retry-after': at.toUTCString() }, times: 1 });
    await requestJson(opts(`${api.url}/x`));
    const [first, second] = api.requests();
    expect(Date.parse(second!.time)).toBeGreaterThanOrEqual(at.getTime() - 50);
    expect(Date.parse(second!.time)).toBeGreaterThan(Date.parse(first!.time));
  });

  it('fails at once, naming the wait, when the provider asks to wait longer than the cap', async () => {
    const api = await startApi(async () => ({ status: 200, body: {} }));
    api.fault({
      status: 429,
      headers: { 'retry-after': '300' },
      body: { error: { code: 'rate_limited', message: 'slow down' } },
    });
    const t0 = Date.now();
    const err = await rejection(requestJson(opts(`${api.url}/x`, { retry: fastRetry(3, 30_000) })));
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toContain('Vercel getThing failed: HTTP 429 rate_limited: slow down');
    expect(err.message).toContain('asked to wait 300 s');
    expect(err.message).toContain('30 s');
    expect(api.requests()).toHaveLength(1);
  });

  it('times out a hanging GET and retries it', async () => {
    const api = await startApi(async () => ({ status: 200, body: { ok: true } }));
    api.fault({ hang: true, times: 1 });
    const res = await requestJson(opts(`${api.url}/x`, { timeoutMs: 300 }));
    expect(res.body).toEqual({ ok: true });
    expect(api.requests()).toHaveLength(2);
  });

  it('gives up on a GET that keeps hanging, saying so', async () => {
    const api = await startApi(async () => ({ status: 200, body: {} }));
    api.fault({ hang: true });
    const err = await rejection(requestJson(opts(`${api.url}/x`, { timeoutMs: 150, retry: fastRetry(1) })));
    expect(err.message).toMatch(/no answer within 150 ms \(after 2 attempts\)/);
    expect(err.code).toBe('timeout');
    expect(err.retryable).toBe(true);
  });

  it('retries a GET whose connection was reset', async () => {
    const api = await startApi(async () => ({ status: 200, body: { ok: 1 } }));
    api.fault({ reset: true, times: 2 });
    expect((await requestJson(opts(`${api.url}/x`))).body).toEqual({ ok: 1 });
    expect(api.requests()).toHaveLength(3);
  });

  it('does not retry a 4xx and reports the status and the provider message', async () => {
    const api = await startApi(async () => ({
      status: 404,
      body: { error: { code: 'not_found', message: 'Deployment not found' } },
    }));
    const err = await rejection(requestJson(opts(`${api.url}/x`)));
    expect(err.message).toBe('Vercel getThing failed: HTTP 404 not_found: Deployment not found');
    expect(err.status).toBe(404);
    expect(err.retryable).toBe(false);
    expect(api.requests()).toHaveLength(1);
  });

  it('does not follow a redirect, so custom credential headers never leave the configured host', async () => {
    const other = await startApi(async () => ({ status: 200, body: {} }));
    const api = await startApi(async () => ({ status: 302, headers: { location: `${other.url}/x` } }));
    const err = await rejection(requestJson(opts(`${api.url}/x`, { headers: { 'dd-api-key': TOKEN } })));
    expect(err.status).toBe(302);
    expect(other.requests()).toHaveLength(0);
  });

  it('treats okStatuses as answers', async () => {
    const api = await startApi(async () => ({ status: 404, body: { error: { code: 'not_found' } } }));
    const res = await requestJson(opts(`${api.url}/x`, { okStatuses: [404] }));
    expect(res.status).toBe(404);
  });

  it('retries malformed JSON on a GET, then fails with a clear error', async () => {
    const api = await startApi(async () => ({
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: '{"half": ',
    }));
    const err = await rejection(requestJson(opts(`${api.url}/x`, { retry: fastRetry(2) })));
    expect(err.code).toBe('malformed_json');
    expect(err.message).toContain('HTTP 200 with a body that is not JSON');
    expect(api.requests()).toHaveLength(3);
  });

  it('stops at once when the run is cancelled, without retrying', async () => {
    const api = await startApi(async () => ({ status: 200, body: {} }));
    api.fault({ hang: true });
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('cancelled by SIGINT')), 100);
    const err = await rejection(requestJson(opts(`${api.url}/x`, { timeoutMs: 5_000, signal: ac.signal })));
    expect(err.message).toBe('cancelled by SIGINT');
    expect(api.requests()).toHaveLength(1);
  });
});

describe('requestJson: non-idempotent calls', () => {
  /** A create endpoint that performs the create, then loses the answer (socket reset) the first time. */
  async function createApi() {
    const created: string[] = [];
    let lose = 1;
    const api = await startApi(async (req, res) => {
      if (req.method === 'POST') {
        created.push((req.json as { name: string }).name);
        if (lose-- > 0) {
          res.socket?.resetAndDestroy();
          return 'handled';
        }
        return { status: 201, body: { id: created.length } };
      }
      const name = req.url.searchParams.get('name');
      const i = created.indexOf(name ?? '');
      return { status: 200, body: i >= 0 ? [{ id: i + 1 }] : [] };
    });
    const lookup = async () => {
      const r = await requestJson<{ id: number }[]>(opts(`${api.url}/things?name=a`));
      return r.body[0];
    };
    return { api, created, lookup };
  }

  it('looks up an unknown outcome instead of repeating the create', async () => {
    const { api, created, lookup } = await createApi();
    const res = await requestJson<{ id: number }>(
      opts(`${api.url}/things`, { method: 'POST', body: { name: 'a' }, idempotent: false, lookup }),
    );
    expect(res.lookedUp).toBe(true);
    expect(res.body).toEqual({ id: 1 });
    expect(created).toEqual(['a']);
    expect(api.requests('POST')).toHaveLength(1);
  });

  it('without a lookup, reports the outcome as unknown and does not repeat', async () => {
    const { api, created } = await createApi();
    const err = await rejection(
      requestJson(opts(`${api.url}/things`, { method: 'POST', body: { name: 'a' }, idempotent: false })),
    );
    expect(err.outcomeUnknown).toBe(true);
    expect(err.message).toContain('the outcome is unknown: it was not repeated');
    expect(created).toEqual(['a']);
  });

  it('repeats the create when the lookup shows it did not happen', async () => {
    const api = await startApi(async () => ({ status: 201, body: { id: 7 } }));
    api.fault({ method: 'POST', status: 502, times: 1 });
    let looked = 0;
    const res = await requestJson(
      opts(`${api.url}/things`, {
        method: 'POST',
        body: {},
        idempotent: false,
        lookup: async () => (looked++, undefined),
      }),
    );
    expect(looked).toBe(1);
    expect(res.body).toEqual({ id: 7 });
    expect(api.requests('POST')).toHaveLength(2);
  });

  it('a create that never reached the server (connection refused) is repeated', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    const err = await rejection(
      requestJson(
        opts(`http://127.0.0.1:${port}/a`, { method: 'POST', body: {}, idempotent: false, retry: fastRetry(1) }),
      ),
    );
    expect(err.outcomeUnknown).toBe(false);
    expect(err.attempts).toBe(2);
    expect(err.message).toContain('network error ECONNREFUSED (after 2 attempts)');
  });

  it('a 5xx without lookup is not repeated; a 429 (not processed) is', async () => {
    const api = await startApi(async () => ({ status: 201, body: { id: 1 } }));
    api.fault({ method: 'POST', path: '/a', status: 500 });
    const err = await rejection(requestJson(opts(`${api.url}/a`, { method: 'POST', body: {}, idempotent: false })));
    expect(err.outcomeUnknown).toBe(true);
    expect(api.requests('POST', '/a')).toHaveLength(1);

    api.fault({ method: 'POST', path: '/b', status: 429, headers: { 'retry-after': '0' }, times: 1 });
    await requestJson(opts(`${api.url}/b`, { method: 'POST', body: {}, idempotent: false }));
    expect(api.requests('POST', '/b')).toHaveLength(2);
  });
});

describe('requestJson: secrets never reach an error', () => {
  it('redacts the token the server echoes back, in every error path', async () => {
    const echo = async (req: { headers: Record<string, unknown> }) => ({
      status: 401,
      body: {
        error: { code: 'unauthorized', message: `bad credentials ${String(req.headers.authorization)} / ${TOKEN}` },
      },
    });
    const api = await startApi(echo as never);
    const headers = { authorization: `Bearer ${TOKEN}` };
    const err401 = await rejection(requestJson(opts(`${api.url}/x`, { headers })));
    expect(err401.message).toContain('bad credentials');
    expect(err401.message).not.toContain(TOKEN);

    // 5xx retried until exhausted, 429 over the cap, malformed 2xx, timeouts: the token never shows.
    api.fault({ path: '/5xx', status: 503, body: `upstream said ${TOKEN}` });
    api.fault({ path: '/429', status: 429, headers: { 'retry-after': '999' }, body: { error: { message: TOKEN } } });
    api.fault({ path: '/bad', status: 200, body: `{${TOKEN}` });
    api.fault({ path: '/hang', hang: true });
    for (const p of ['/5xx', '/429', '/bad', '/hang']) {
      const err = await rejection(
        requestJson(
          opts(`${api.url}${p}?q=${TOKEN}`, { headers, timeoutMs: 200, retry: fastRetry(1), secrets: [TOKEN] }),
        ),
      );
      expect(err).toBeInstanceOf(ProviderError);
      expect(err.message).not.toContain(TOKEN);
      expect(JSON.stringify(err)).not.toContain(TOKEN);
    }
  });
});
