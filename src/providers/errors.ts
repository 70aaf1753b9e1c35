/**
 * The one error type the adapters throw, and the text helpers that keep its messages safe to print:
 * redaction of secrets, the providers' error envelopes flattened to one line, transport error codes.
 */
import { oneLine } from '../text.js';

/** Which outside system a call went to; used in error messages and the report. */
export type ProviderName = 'github' | 'vercel' | 'cloudflare' | 'datadog' | 'slack' | 's3' | 'http';

const DISPLAY: Record<ProviderName, string> = {
  github: 'GitHub',
  vercel: 'Vercel',
  cloudflare: 'Cloudflare',
  datadog: 'Datadog',
  slack: 'Slack',
  s3: 'S3',
  http: 'HTTP',
};

/** The one error type adapters throw. Its message is safe to print: it never holds a secret. */
export class ProviderError extends Error {
  readonly provider: ProviderName;
  readonly operation: string;
  readonly status?: number;
  /** The provider's own error code (`not_found`, `1002`…) or a transport code (`ECONNRESET`, `timeout`). */
  readonly code?: string;
  readonly retryable: boolean;
  readonly attempts: number;
  /** A create/promote may or may not have happened: look it up before doing anything else. */
  readonly outcomeUnknown: boolean;
  /** GitHub token permission that would have allowed the call (`deployments: write`). */
  readonly permission?: string;

  constructor(init: {
    provider: ProviderName;
    operation: string;
    message: string;
    status?: number;
    code?: string;
    retryable?: boolean;
    attempts?: number;
    outcomeUnknown?: boolean;
    permission?: string;
  }) {
    super(init.message);
    this.name = 'ProviderError';
    this.provider = init.provider;
    this.operation = init.operation;
    this.status = init.status;
    this.code = init.code;
    this.retryable = init.retryable ?? false;
    this.attempts = init.attempts ?? 1;
    this.outcomeUnknown = init.outcomeUnknown ?? false;
    this.permission = init.permission;
  }
}

/** "Vercel promote failed: HTTP 409 conflict: message" — the common message shape. */
export function providerMessage(p: ProviderName, operation: string, detail: string): string {
  return `${DISPLAY[p]} ${operation} failed: ${detail}`;
}

/**
 * The provider's own error code and message from a body, whichever envelope it uses: Vercel
 * `{error:{code,message}}`, Cloudflare `{errors:[{code,message}]}`, Datadog `{errors:["…"]}` or JSON:API
 * `{errors:[{title,detail}]}`, GitHub `{message}`, Slack `{error:"…"}`. Remote text is flattened to one
 * line and bounded, so it can never start a workflow command on a line of its own.
 */
export function extractProviderError(body: unknown): { code?: string; message?: string } {
  const line = (v: unknown): string | undefined =>
    v === undefined || v === null || v === '' ? undefined : oneLine(String(v), PROVIDER_TEXT_MAX);
  if (typeof body === 'string') return { message: line(body.slice(0, 300)) };
  if (!body || typeof body !== 'object') return {};
  const b = body as Record<string, unknown>;
  if (b.error && typeof b.error === 'object') {
    const e = b.error as Record<string, unknown>;
    return { code: line(e.code), message: line(e.message) };
  }
  if (typeof b.error === 'string') return { code: line(b.error), message: line(b.message) };
  if (Array.isArray(b.errors) && b.errors.length > 0) {
    const parts: string[] = [];
    let code: string | undefined;
    for (const e of b.errors.slice(0, 3)) {
      if (typeof e === 'string') parts.push(e);
      else if (e && typeof e === 'object') {
        const o = e as Record<string, unknown>;
        code ??= line(o.code);
        const text = [o.message, o.title, o.detail].filter((x) => typeof x === 'string' && x).join(': ');
        parts.push(o.code !== undefined ? `${text} (code ${String(o.code)})` : text);
      }
    }
    return { code, message: line(parts.join('; ')) };
  }
  if (typeof b.message === 'string') return { message: line(b.message) };
  return {};
}

/** How long a provider's text may be in a message: enough for its error, never a whole page. */
export const PROVIDER_TEXT_MAX = 300;

/** Secret values carried by request headers, so they are redacted even if the caller forgot them. */
export function headerSecrets(headers: Record<string, string> | undefined): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (/^(authorization|dd-api-key|dd-application-key|x-vercel-protection-bypass|cookie)$/i.test(k)) {
      out.push(v, v.replace(/^(bearer|token|basic)\s+/i, ''));
    }
  }
  return out;
}

/** Transport failure of one attempt: code and whether the request may have reached the server. */
export function classifyNetworkError(err: unknown): { code: string; maybeSent: boolean } {
  type Cause = { code?: string; name?: string; message?: string; errors?: { code?: string }[] };
  const e = err as Cause & { cause?: Cause };
  if (e?.name === 'TimeoutError' || e?.cause?.name === 'TimeoutError') return { code: 'timeout', maybeSent: true };
  const c = e?.cause;
  // fetch wraps the socket error in `cause`; a dual-stack connect failure is an AggregateError of them.
  const code =
    c?.code ??
    e?.code ??
    c?.errors?.[0]?.code ??
    (c?.message ? oneLine(c.message, PROVIDER_TEXT_MAX).slice(0, 80) : undefined) ??
    e?.name ??
    'network_error';
  // The connection was never made: nothing reached the provider, so repeating is safe.
  const notSent = /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|UND_ERR_CONNECT_TIMEOUT|EHOSTUNREACH|ENETUNREACH)$/;
  return { code: String(code), maybeSent: !notSent.test(String(code)) };
}

/** `500 ms`, `12 s`: a wait or timeout for a message. */
export function formatWait(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${Math.round(ms / 100) / 10} s`;
}
