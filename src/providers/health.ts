/**
 * Plain HTTP probes of things we deployed or depend on: green's health check, dependency URLs, smoke
 * tests, routing checks through the production URL. One probe is one request (plus at most a few
 * same-scheme-family redirects) with a timeout, timed with `performance.now`, and it never throws for an
 * HTTP or network failure: the caller judges the result. Only the run being cancelled throws.
 */
import { attemptSignal, classifyNetworkError } from './http.js';
import { redact } from '../text.js';

export interface ProbeOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** For the whole probe, redirects and body included. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Body bytes kept (default 1 MiB); the rest is not read. */
  maxBodyBytes?: number;
  /** Redirects followed (default 5; 0 returns the 3xx itself). */
  maxRedirects?: number;
  /** Values to keep out of `error` (the headers' secret values are added automatically). */
  secrets?: string[];
}

export interface ProbeResult {
  /** The URL that answered (after redirects). */
  url: string;
  /** 0 when there was no HTTP answer (see `error`). */
  status: number;
  /** 2xx */
  ok: boolean;
  headers: Headers;
  /** Decoded as UTF-8, at most `maxBodyBytes`. Remote text: print with `log.untrusted`. */
  body: string;
  truncated: boolean;
  /** From sending the request to the end of the body read. */
  durationMs: number;
  redirects: number;
  /** Why there was no usable answer: `timeout after 5000 ms`, `ECONNREFUSED`, a refused redirect. */
  error?: string;
}

/** Header names whose values are secrets: dropped on a cross-origin redirect, kept out of errors. */
const SECRET_HEADERS = /^(authorization|cookie|x-vercel-protection-bypass|x-vercel-set-bypass-cookie)$/i;

/** One HTTP request with timing; see the module comment. */
export async function probe(url: string, o: ProbeOptions): Promise<ProbeResult> {
  const maxBody = o.maxBodyBytes ?? 1024 * 1024;
  const maxRedirects = o.maxRedirects ?? 5;
  const secrets = [...(o.secrets ?? [])];
  for (const [k, v] of Object.entries(o.headers ?? {})) if (SECRET_HEADERS.test(k)) secrets.push(v);
  const signal = attemptSignal(o.timeoutMs, o.signal);
  let current = new URL(url);
  let method = (o.method ?? 'GET').toUpperCase();
  let body = o.body;
  let headers: Record<string, string> = { ...o.headers };
  let redirects = 0;
  const started = performance.now();
  const result = (r: Partial<ProbeResult>): ProbeResult => ({
    url: current.toString(),
    status: 0,
    ok: false,
    headers: new Headers(),
    body: '',
    truncated: false,
    durationMs: Math.round((performance.now() - started) * 10) / 10,
    redirects,
    ...r,
  });
  try {
    for (;;) {
      if (current.protocol !== 'http:' && current.protocol !== 'https:') {
        return result({ error: `refused to request a ${current.protocol} URL` });
      }
      const res = await fetch(current, { method, headers, body, redirect: 'manual', signal });
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location && redirects < maxRedirects) {
        await res.body?.cancel();
        const next = new URL(location, current);
        if (next.protocol !== 'http:' && next.protocol !== 'https:') {
          return result({
            status: res.status,
            headers: res.headers,
            error: `redirect to a ${next.protocol} URL not followed`,
          });
        }
        // Credentials are for the origin we were given, never for wherever it sends us.
        if (next.origin !== current.origin) {
          headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !SECRET_HEADERS.test(k)));
        }
        if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
          method = 'GET';
          body = undefined;
        }
        current = next;
        redirects++;
        continue;
      }
      const { text, truncated } = await readBounded(res, maxBody);
      return result({ status: res.status, ok: res.ok, headers: res.headers, body: text, truncated });
    }
  } catch (err) {
    if (o.signal?.aborted) throw err;
    const n = classifyNetworkError(err);
    const error = n.code === 'timeout' ? `timeout after ${o.timeoutMs} ms` : n.code;
    return result({ error: redact(error, secrets) });
  }
}

/** Reads at most `max` bytes of the body and cancels the rest. */
async function readBounded(res: Response, max: number): Promise<{ text: string; truncated: boolean }> {
  if (!res.body) return { text: '', truncated: false };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const room = max - size;
    if (value.byteLength > room) {
      chunks.push(value.subarray(0, room));
      size += room;
      truncated = true;
      await reader.cancel();
      break;
    }
    chunks.push(value);
    size += value.byteLength;
  }
  return { text: Buffer.concat(chunks, size).toString('utf8'), truncated };
}

/** True for `localhost`, `*.localhost`, 127.0.0.0/8 and `::1`. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return (
    h === 'localhost' ||
    h.endsWith('.localhost') ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) ||
    h === '::1' ||
    h === '0:0:0:0:0:0:0:1'
  );
}

/**
 * `scheme://host[:port]` of a deployment URL or bare hostname (Vercel gives `app-abc.vercel.app`): a
 * loopback host is reached over `http://` (a local run or the sandbox), any other over `https://`. Throws on input
 * that is not a host or an http(s) URL.
 */
export function deploymentBaseUrl(urlOrHost: string): string {
  const raw = urlOrHost.trim();
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw);
  let u: URL;
  try {
    u = new URL(hasScheme ? raw : `http://${raw}`);
  } catch {
    throw new Error(`not a deployment URL or hostname: ${JSON.stringify(raw.slice(0, 200))}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new Error(`not an http(s) deployment URL: ${JSON.stringify(raw.slice(0, 200))}`);
  }
  if (!u.hostname) throw new Error(`no host in deployment URL ${JSON.stringify(raw.slice(0, 200))}`);
  return `${isLoopbackHost(u.hostname) ? 'http' : 'https'}://${u.host}`;
}
