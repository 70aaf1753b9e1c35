/**
 * Test plumbing for the provider adapters: a real HTTP server on 127.0.0.1 (the sandbox's `startService`,
 * with its request log and fault rules) running a small handler written in the test.
 */
import { afterEach } from 'vitest';
import {
  startService,
  Traffic,
  type FaultRule,
  type Handler,
  type LoggedRequest,
  type ServiceName,
} from '../../../sandbox/core/service.ts';
import type { RetryPolicy } from '../../../src/providers/http.ts';

export interface TestApi {
  url: string;
  traffic: Traffic;
  /** Adds a fault rule for this service. */
  fault(rule: Omit<FaultRule, 'service'>): void;
  /** Requests received, optionally only those of one method and path. */
  requests(method?: string, path?: string): LoggedRequest[];
}

const running: { close(): Promise<void> }[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

/** Starts a service with `handler`; it is closed after the test. */
export async function startApi(handler: Handler, name: Exclude<ServiceName, 'sandbox'> = 'deps'): Promise<TestApi> {
  const traffic = new Traffic();
  // (startService skips fault rules for the service named 'sandbox', hence the type above.)
  const svc = await startService({ name, traffic, handler });
  running.push(svc);
  return {
    url: svc.url,
    traffic,
    fault: (rule) => traffic.faults.push({ ...rule, service: svc.name }),
    requests: (method, path) =>
      traffic.requests.filter((r) => (!method || r.method === method) && (!path || r.path === path)),
  };
}

/** Retries with tiny delays, so tests prove behaviour without waiting. */
export function fastRetry(retries = 3, maxRetryAfterMs = 5_000): RetryPolicy {
  return { retries, baseDelayMs: 10, maxDelayMs: 40, maxRetryAfterMs };
}

/** The rejection of a promise that must reject. */
export async function rejection(p: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await p;
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  throw new Error('expected the promise to reject');
}

/** A token shaped like none of the well-known patterns, so only the adapter's own redaction can hide it. */
export const TOKEN = 'tok_Secret1234567890abcdef';
