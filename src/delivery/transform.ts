import { isRelay } from '../core/relay.js';
import type { TransformStore } from '../store/transforms.js';
import type { ClaimedDelivery, Endpoint, TransformedRequest } from '../store/types.js';
import type { Sandbox } from '../transform/sandbox.js';
import { isReservedHeader } from './headers.js';

/**
 * What an attempt sends, once the endpoint's transform (if any) has had its say:
 * - `send`: `delivery` with the transformed body, URL and custom headers in place (signatures
 *   are made over what is actually sent); `transformed` is set when the transform ran now and
 *   its output is to be stored with the attempt's outcome.
 * - `skip`: the transform returned null: nothing is sent, the delivery is done.
 * - `failed`: the transform threw, ran over a limit, or returned something unsendable.
 *
 * It runs once per delivery: the attempt that first runs it stores the output (OutcomeWriter),
 * and every later attempt sends that output again (identical bytes), however the endpoint's
 * transform has changed since. A run that failed stores nothing, so the retry runs the
 * (possibly fixed) transform again. A source's forwarded requests are raw bytes, not events:
 * they are never transformed.
 */
export type Prepared =
  | { kind: 'send'; delivery: ClaimedDelivery; transformed?: TransformedRequest }
  | { kind: 'skip' }
  | { kind: 'failed'; error: string };

/** The object a transform receives: `function transform(webhook)`. */
export interface TransformInput {
  type: string;
  payload: unknown;
  url: string;
  headers: Record<string, string>;
}

export async function prepareDelivery(d: ClaimedDelivery, store: TransformStore, sandbox: () => Sandbox): Promise<Prepared> {
  if (d.headers !== null) return { kind: 'send', delivery: d };
  // Only deliveries that were attempted before can have a stored output; the first attempt of
  // an endpoint without a transform costs nothing here.
  const stored = d.attemptCount > 0 || d.oneShot ? await store.getTransformed(d.id) : null;
  if (stored) return { kind: 'send', delivery: withRequest(d, stored) };
  const source = d.endpoint.transform;
  if (!source) return { kind: 'send', delivery: d };
  const out = await runTransform(sandbox(), source, d.endpoint, d.eventType, typeof d.body === 'string' ? d.body : d.body.toString('utf8'));
  if (out.kind !== 'send') return out;
  return { kind: 'send', delivery: withRequest(d, out.request), transformed: out.request };
}

export type TransformOutcome = { kind: 'send'; request: TransformedRequest } | { kind: 'skip' } | { kind: 'failed'; error: string };

/** One run of `source` over an event's body as the endpoint would get it (also POST …/transform/test). */
export async function runTransform(sandbox: Sandbox, source: string, endpoint: Pick<Endpoint, 'url' | 'headers'>, type: string, body: string): Promise<TransformOutcome> {
  // The body is JSON already: spliced in, not parsed and serialized again on this thread.
  const input = `{"type":${JSON.stringify(type)},"url":${JSON.stringify(endpoint.url)},"headers":${JSON.stringify(endpoint.headers)},"payload":${body}}`;
  const r = await sandbox.run(source, input);
  if (!r.ok) return { kind: 'failed', error: r.error };
  if (r.output === 'null') return { kind: 'skip' };
  const o = JSON.parse(r.output) as { url?: unknown; headers?: unknown; body?: string };
  const problem = checkOutput(o, endpoint);
  if (problem) return { kind: 'failed', error: problem };
  return {
    kind: 'send',
    request: {
      url: (o.url as string | undefined) ?? endpoint.url,
      headers: o.headers === undefined ? { ...endpoint.headers } : lowerCased(o.headers as Record<string, string>),
      body: o.body ?? body,
    },
  };
}

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,256}$/;
const SENDABLE = /^[\t\x20-\x7e]*$/;

function checkOutput(o: { url?: unknown; headers?: unknown; body?: unknown }, endpoint: Pick<Endpoint, 'url' | 'headers'>): string | null {
  if (o.url !== undefined && o.url !== endpoint.url) {
    if (typeof o.url !== 'string') return 'the returned url must be a string';
    if (isRelay(endpoint)) return "a relay endpoint's url can't be changed by its transform";
    let url: URL;
    try {
      url = new URL(o.url);
    } catch {
      return `the returned url '${o.url.slice(0, 200)}' is not a valid absolute URL`;
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return `the returned url must be http:// or https:// (got ${url.protocol}//)`;
    if (url.username || url.password) return 'the returned url must not contain credentials';
    if (o.url.length > 2048) return 'the returned url is longer than 2048 characters';
    // Its address is checked where every URL's is: by the SSRF guard, on the address connected to.
  }
  if (o.headers !== undefined) {
    if (typeof o.headers !== 'object' || o.headers === null || Array.isArray(o.headers)) return 'the returned headers must be an object of header names to string values';
    const entries = Object.entries(o.headers);
    if (entries.length > 50) return 'the returned headers hold more than 50 headers';
    for (const [name, value] of entries) {
      if (!HEADER_NAME.test(name)) return `'${name.slice(0, 100)}' is not an HTTP header name`;
      if (isReservedHeader(name)) return `header '${name}' is set by Herald and can't be set by a transform`;
      if (typeof value !== 'string') return `header '${name}' must have a string value`;
      if (!SENDABLE.test(value) || value.length > 4096) return `header '${name}' has a value HTTP can't carry (visible ASCII, spaces and tabs, at most 4096)`;
    }
  }
  if (o.body === undefined) return 'the returned webhook has no payload';
  return null;
}

const lowerCased = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));

function withRequest(d: ClaimedDelivery, t: TransformedRequest): ClaimedDelivery {
  return { ...d, body: t.body, endpoint: { ...d.endpoint, url: t.url, headers: t.headers } };
}
