import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { deploymentBaseUrl, isLoopbackHost, probe } from '../../../src/providers/health.ts';
import { startApi } from './helpers.ts';

describe('deploymentBaseUrl', () => {
  it('reaches loopback hosts over http and everything else over https', () => {
    expect(deploymentBaseUrl('shop-abc123.vercel.app')).toBe('https://shop-abc123.vercel.app');
    expect(deploymentBaseUrl('http://shop.example.com/some/path')).toBe('https://shop.example.com');
    expect(deploymentBaseUrl('127.0.0.1:4100')).toBe('http://127.0.0.1:4100');
    expect(deploymentBaseUrl('https://localhost:3000/')).toBe('http://localhost:3000');
    expect(deploymentBaseUrl('green.localhost')).toBe('http://green.localhost');
    expect(deploymentBaseUrl('[::1]:8080')).toBe('http://[::1]:8080');
    expect(deploymentBaseUrl(' shop.example.com:8443 ')).toBe('https://shop.example.com:8443');
  });

  it('refuses what is not a host or an http(s) URL', () => {
    expect(() => deploymentBaseUrl('ftp://files.example.com')).toThrow(/not an http\(s\) deployment URL/);
    expect(() => deploymentBaseUrl('http://')).toThrow();
    expect(() => deploymentBaseUrl('a b')).toThrow(/not a deployment URL or hostname/);
  });

  it('knows the loopback names', () => {
    for (const h of ['localhost', 'x.localhost', '127.0.0.1', '127.10.0.3', '::1', '[::1]'])
      expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['example.com', '10.0.0.1', 'localhost.example.com', '128.0.0.1'])
      expect(isLoopbackHost(h)).toBe(false);
  });
});

describe('probe', () => {
  it('returns status, headers, body and a duration', async () => {
    const api = await startApi(async (req) => ({
      status: 200,
      headers: { 'x-app-version': 'v2', 'content-type': 'text/plain' },
      body: `hello ${req.method} ${String(req.headers['x-vercel-protection-bypass'] ? 'bypassed' : 'plain')}`,
    }));
    api.fault({ path: '/slow', delayMs: 120 });
    const r = await probe(`${api.url}/slow`, {
      timeoutMs: 2_000,
      headers: { 'x-vercel-protection-bypass': 'bp_secret_1234' },
    });
    expect(r).toMatchObject({ status: 200, ok: true, body: 'hello GET bypassed', truncated: false, redirects: 0 });
    expect(r.headers.get('x-app-version')).toBe('v2');
    expect(r.durationMs).toBeGreaterThanOrEqual(110);
    expect(r.error).toBeUndefined();
  });

  it('reports a non-2xx as an answer, not an error', async () => {
    const api = await startApi(async () => ({ status: 503, body: { status: 'unhealthy' } }));
    const r = await probe(`${api.url}/health`, { timeoutMs: 1_000 });
    expect(r).toMatchObject({ status: 503, ok: false, body: '{"status":"unhealthy"}' });
    expect(r.error).toBeUndefined();
  });

  it('keeps at most maxBodyBytes of the body', async () => {
    const api = await startApi(async () => ({ status: 200, body: 'x'.repeat(100_000) }));
    const r = await probe(api.url, { timeoutMs: 1_000, maxBodyBytes: 1000 });
    expect(r.body).toHaveLength(1000);
    expect(r.truncated).toBe(true);
  });

  it('times out a hanging server and says so, without throwing', async () => {
    const api = await startApi(async () => ({ status: 200 }));
    api.fault({ hang: true });
    const r = await probe(api.url, { timeoutMs: 200 });
    expect(r).toMatchObject({ status: 0, ok: false, error: 'timeout after 200 ms' });
    expect(r.durationMs).toBeGreaterThanOrEqual(190);
  });

  it('reports a refused connection', async () => {
    // A port that was just free: nothing listens there.
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    const r = await probe(`http://127.0.0.1:${port}/`, { timeoutMs: 1_000 });
    expect(r.status).toBe(0);
    expect(r.error).toBe('ECONNREFUSED');
  });

  it('follows redirects within http(s), never to another scheme', async () => {
    const api = await startApi(async (req) => {
      if (req.path === '/old') return { status: 301, headers: { location: '/new' } };
      if (req.path === '/evil') return { status: 302, headers: { location: 'file:///etc/passwd' } };
      return { status: 200, body: `at ${req.path}` };
    });
    const r = await probe(`${api.url}/old`, { timeoutMs: 1_000 });
    expect(r).toMatchObject({ status: 200, body: 'at /new', redirects: 1, url: `${api.url}/new` });
    const evil = await probe(`${api.url}/evil`, { timeoutMs: 1_000 });
    expect(evil).toMatchObject({ status: 302, ok: false, error: 'redirect to a file: URL not followed' });
    expect(api.requests()).toHaveLength(3);
  });

  it('does not carry credentials to another origin', async () => {
    const other = await startApi(async (req) => ({
      status: 200,
      body: String(req.headers['x-vercel-protection-bypass'] ?? 'none'),
    }));
    const api = await startApi(async () => ({ status: 302, headers: { location: `${other.url}/landing` } }));
    const r = await probe(api.url, {
      timeoutMs: 1_000,
      headers: { 'x-vercel-protection-bypass': 'bp_secret_1234', accept: 'text/html' },
    });
    expect(r.body).toBe('none');
    expect(other.requests()[0]!.headers.accept).toBe('text/html');
  });

  it('throws only when the run is cancelled', async () => {
    const api = await startApi(async () => ({ status: 200 }));
    api.fault({ hang: true });
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('cancelled')), 50);
    await expect(probe(api.url, { timeoutMs: 5_000, signal: ac.signal })).rejects.toThrow('cancelled');
  });
});
