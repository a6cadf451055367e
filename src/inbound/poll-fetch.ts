import { isIP } from 'node:net';
import { Agent } from 'undici';
import type { AddressPolicy } from '../core/address-policy.js';
import { classifyError } from '../delivery/http.js';
import { guardedLookup, type LookupFunction } from '../delivery/guard.js';
import { MAX_POLL_RESPONSE_BYTES } from './poll-config.js';

/**
 * The poller's HTTP client: GET the provider's changes API with the SSRF guard of outbound
 * delivery (the address policy checked on the address actually connected to, IP literals
 * before dispatch), a timeout over the whole exchange, no redirects followed (a 3xx is an
 * error of the run) and a cap on the response size.
 */
export interface PollResponse {
  status: number;
  retryAfter: string | undefined;
  body: Buffer;
}

/** No response to judge: the error codes of outbound delivery (timeout, dns, blocked_address, …), or response_too_large. */
export class PollFetchError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export interface PollFetcher {
  /** `stop` aborts the request (Herald is stopping): a PollFetchError 'stopped' */
  get(url: string, headers: Record<string, string>, timeoutMs: number, stop?: AbortSignal): Promise<PollResponse>;
  close(): Promise<void>;
}

export function createPollFetcher(options: { policy: AddressPolicy; resolve?: LookupFunction; userAgent: string }): PollFetcher {
  const { policy } = options;
  const agent = new Agent({
    connections: 4,
    keepAliveTimeout: 10_000,
    connect: { timeout: 10_000, ...(!policy.dev ? { lookup: guardedLookup(policy, options.resolve) } : options.resolve ? { lookup: options.resolve } : {}) },
  });
  return {
    async get(url, headers, timeoutMs, stop) {
      const u = new URL(url);
      const host = u.hostname.replace(/^\[|\]$/g, '');
      if (isIP(host) !== 0 && !policy.permits(host)) throw new PollFetchError('blocked_address', `${host} is an address webhooks may not reach`);
      const signal = stop ? AbortSignal.any([AbortSignal.timeout(timeoutMs), stop]) : AbortSignal.timeout(timeoutMs);
      try {
        const res = await agent.request({
          origin: u.origin, path: `${u.pathname}${u.search}`, method: 'GET', signal,
          headers: { accept: 'application/json', 'user-agent': options.userAgent, ...headers },
          headersTimeout: timeoutMs, bodyTimeout: timeoutMs,
        });
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of res.body) {
          size += (chunk as Buffer).length;
          if (size > MAX_POLL_RESPONSE_BYTES) {
            res.body.destroy();
            throw new PollFetchError('response_too_large', `the response is larger than ${MAX_POLL_RESPONSE_BYTES} bytes`);
          }
          chunks.push(chunk as Buffer);
        }
        const ra = res.headers['retry-after'];
        return { status: res.statusCode, retryAfter: Array.isArray(ra) ? ra[0] : ra, body: Buffer.concat(chunks) };
      } catch (err) {
        if (err instanceof PollFetchError) throw err;
        if (stop?.aborted) throw new PollFetchError('stopped', 'Herald is stopping');
        const code = classifyError(err);
        throw new PollFetchError(code, code === 'timeout' ? `no complete response within ${timeoutMs} ms` : `the request failed (${code})`);
      }
    },
    close: () => agent.close(),
  };
}
