/**
 * The sandbox's plumbing: every miniature service is an HTTP server on 127.0.0.1 (ephemeral port)
 * created by `startService`. Before the service's own handler runs, a request is logged (secrets
 * replaced) and matched against the world's fault rules; the first matching rule answers instead.
 *
 * Written for Node 24's type stripping: erasable TypeScript only, local imports end in `.ts`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { matchesGlob } from 'node:path';

export type ServiceName =
  'github' | 'vercel' | 'vercel-edge' | 'cloudflare' | 'lb' | 'datadog' | 'slack' | 's3' | 'deps' | 'sandbox';

/** A fault rule (sandbox/README.md, "Fault rules"): the first matching rule answers instead of the normal handler. */
export interface FaultRule {
  service: ServiceName;
  method?: string;
  /** Glob over the path without query, e.g. `/zones/*\/load_balancers/*`. `**` crosses slashes. */
  path?: string;
  /** The request's operation within the path (GitHub GraphQL: `PreflightFacts`), when the service names one. */
  operation?: string;
  /** Skip the first `after` matching requests (they are handled normally). */
  after?: number;
  /** Apply to this many requests after `after`, then stop matching (default: unlimited). */
  times?: number;
  status?: number;
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Delay before answering (or before passing on to the normal handler when no status/body is set). */
  delayMs?: number;
  /** Never answer (the client must time out). */
  hang?: boolean;
  /** Reset the connection (TCP RST) instead of answering. */
  reset?: boolean;
  /** Internal: how many requests matched so far. */
  seen?: number;
}

export interface LoggedRequest {
  seq: number;
  time: string;
  service: ServiceName;
  method: string;
  path: string;
  /**
   * The operation a request names inside one path, when its service has several behind it: GitHub's
   * `POST /graphql` logs the GraphQL operation name (`PreflightFacts`; call site `POST /graphql PreflightFacts`).
   */
  operation?: string;
  query: Record<string, string | string[]>;
  /** Lower-cased names; credentials replaced by `[redacted]`. */
  headers: Record<string, string>;
  /** Parsed JSON or form (Slack) when possible, else the text (first 64 KiB); binary bodies as `{bytes: n}`. */
  body: unknown;
  /** Status the client got (set when the response finishes). */
  status?: number;
  /** Set when a fault rule answered. */
  fault?: string;
  /** Response body as JSON when the service answered JSON (for contract tests). */
  response?: unknown;
  durationMs?: number;
}

export interface SandboxRequest {
  method: string;
  path: string;
  url: URL;
  headers: http.IncomingHttpHeaders;
  raw: Buffer;
  /** The raw body parsed as JSON, or undefined. */
  json: unknown;
  log: LoggedRequest;
}

export interface SandboxResponse {
  status: number;
  headers?: Record<string, string>;
  /** undefined → empty body; string/Buffer as is; anything else as JSON. */
  body?: unknown;
}

export type Handler = (req: SandboxRequest, res: http.ServerResponse) => Promise<SandboxResponse | 'handled'>;

const SECRET_HEADERS = new Set([
  'authorization',
  'dd-api-key',
  'dd-application-key',
  'x-vercel-protection-bypass',
  'x-amz-security-token',
  'cookie',
]);

/** Shared by every service of one sandbox: request log, fault rules, extra latency. */
export class Traffic {
  requests: LoggedRequest[] = [];
  faults: FaultRule[] = [];
  /** Latency added to every API request (benchmarks inject provider latency with it). */
  latencyMs = 0;
  /** When set, every service echoes the credentials it received in its error bodies (secrets tests). */
  echoCredentials = false;
  private seq = 0;

  nextSeq(): number {
    return ++this.seq;
  }

  match(service: ServiceName, method: string, path: string, operation?: string): FaultRule | undefined {
    for (const rule of this.faults) {
      if (rule.service !== service) continue;
      if (rule.method && rule.method.toUpperCase() !== method) continue;
      if (rule.path && !globMatch(rule.path, path)) continue;
      if (rule.operation !== undefined && rule.operation !== operation) continue;
      rule.seen = (rule.seen ?? 0) + 1;
      const after = rule.after ?? 0;
      if (rule.seen <= after) continue;
      if (rule.times !== undefined && rule.seen > after + rule.times) continue;
      return rule;
    }
    return undefined;
  }
}

/** Glob over a URL path: `*` is one segment (no `/`), `**` any number of segments. */
export function globMatch(pattern: string, path: string): boolean {
  return pattern === path || matchesGlob(path, pattern);
}

export interface RunningService {
  name: ServiceName;
  url: string;
  port: number;
  server: http.Server;
  close(): Promise<void>;
}

function redactHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    const value = Array.isArray(v) ? v.join(', ') : (v ?? '');
    out[k] = SECRET_HEADERS.has(k) ? '[redacted]' : value;
  }
  return out;
}

function parseBody(raw: Buffer, contentType: string | undefined): unknown {
  if (raw.length === 0) return undefined;
  const ct = contentType ?? '';
  if (ct.includes('application/octet-stream') || raw.length > 1024 * 1024) return { bytes: raw.length };
  const text = raw.toString('utf8');
  if (ct.includes('application/x-www-form-urlencoded')) {
    const form: Record<string, unknown> = {};
    for (const [k, v] of new URLSearchParams(text)) {
      try {
        form[k] = v.startsWith('[') || v.startsWith('{') ? JSON.parse(v) : v;
      } catch {
        form[k] = v;
      }
    }
    for (const k of ['token']) if (k in form) form[k] = '[redacted]';
    return form;
  }
  try {
    return JSON.parse(text);
  } catch {
    return text.length > 65536 ? text.slice(0, 65536) : text;
  }
}

function queryObject(url: URL): Record<string, string | string[]> {
  const q: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    const prev = q[k];
    q[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return q;
}

/** Write a SandboxResponse; JSON bodies get content-type application/json. */
export function send(res: http.ServerResponse, r: SandboxResponse, log?: LoggedRequest): void {
  const headers: Record<string, string> = { ...(r.headers ?? {}) };
  let payload: Buffer | string | undefined;
  if (r.body === undefined) payload = undefined;
  else if (typeof r.body === 'string' || Buffer.isBuffer(r.body)) payload = r.body;
  else {
    payload = JSON.stringify(r.body);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
      headers['content-type'] = 'application/json; charset=utf-8';
    if (log) log.response = r.body;
  }
  if (log) log.status = r.status;
  res.writeHead(r.status, headers);
  res.end(payload);
}

/**
 * Start one service. `isApi` services get the world's injected latency and are logged;
 * data-plane servers (edge, lb) pass `log: false` so the request log holds only API calls.
 */
export async function startService(opts: {
  name: ServiceName;
  traffic: Traffic;
  handler: Handler;
  log?: boolean;
  port?: number;
  /** Names the operation of a request whose path serves several (logged, and matched by fault rules). */
  operationOf?: (r: Pick<LoggedRequest, 'method' | 'path' | 'body'>) => string | undefined;
}): Promise<RunningService> {
  const { name, traffic, handler } = opts;
  const logThis = opts.log !== false;
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const started = Date.now();
        const url = new URL(req.url ?? '/', 'http://sandbox.local');
        const raw = Buffer.concat(chunks);
        const method = (req.method ?? 'GET').toUpperCase();
        const log: LoggedRequest = {
          seq: traffic.nextSeq(),
          time: new Date().toISOString(),
          service: name,
          method,
          path: url.pathname,
          query: queryObject(url),
          headers: redactHeaders(req.headers),
          body: parseBody(raw, req.headers['content-type']),
        };
        const operation = opts.operationOf?.(log);
        if (operation !== undefined) log.operation = operation;
        if (logThis) traffic.requests.push(log);
        res.on('finish', () => {
          log.durationMs = Date.now() - started;
        });
        try {
          if (logThis && traffic.latencyMs > 0) await sleep(traffic.latencyMs);
          const rule = name === 'sandbox' ? undefined : traffic.match(name, method, url.pathname, operation);
          if (rule) {
            log.fault = JSON.stringify({ ...rule, seen: undefined });
            if (rule.delayMs) await sleep(rule.delayMs);
            if (rule.hang) return; // never answer; closed when the sandbox stops
            if (rule.reset) {
              req.socket.resetAndDestroy();
              log.status = 0;
              return;
            }
            if (rule.status !== undefined || rule.body !== undefined) {
              send(res, { status: rule.status ?? 200, headers: rule.headers, body: rule.body }, log);
              return;
            }
            if (rule.headers) for (const [k, v] of Object.entries(rule.headers)) res.setHeader(k, v);
          }
          let json: unknown;
          if (raw.length > 0 && raw.length < 32 * 1024 * 1024) {
            try {
              json = JSON.parse(raw.toString('utf8'));
            } catch {
              json = undefined;
            }
          }
          const out = await handler({ method, path: url.pathname, url, headers: req.headers, raw, json, log }, res);
          if (out !== 'handled') send(res, out, log);
        } catch (err) {
          send(res, { status: 500, body: { error: { code: 'sandbox_error', message: String(err) } } }, log);
        }
      })();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });
}
