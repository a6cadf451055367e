import type { Source } from '../store/inbound.js';
import type { PollCursor, SourcePoll } from '../store/poll.js';
import { RequestView } from './selectors.js';

/**
 * The pure half of polling: is a poll configuration usable with its source, what a response
 * says (items, their keys, the next cursor), and when to poll next. No I/O.
 */

/** `$`, `$.a.b`, `$.items[0].id`: the `body:$.path` syntax of selectors, without `body:` (and `$` alone for the root). */
export const POLL_PATH_PATTERN = '^\\$(\\.[A-Za-z0-9_-]+|\\[\\d+\\])*$';

export const POLL_DEFAULTS = { intervalSeconds: 300, maxPages: 10, timeoutMs: 30_000 } as const;

/** A response larger than this is refused (an error of the run) rather than parsed. */
export const MAX_POLL_RESPONSE_BYTES = 8 * 1024 * 1024;

/** Follows `.name` and `[index]` steps, as selectors do. */
export function at(value: unknown, path: string): unknown {
  let cur = value;
  for (const step of path.slice(1).match(/\.[A-Za-z0-9_-]+|\[\d+\]/g) ?? []) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[step.startsWith('[') ? Number(step.slice(1, -1)) : step.slice(1)];
  }
  return cur;
}

/** Schemes whose verified requests are deduplicated by body hash instead of a header or id key (see gateway.ts, dedupOf). */
function hashesHeaderKeys(source: Pick<Source, 'verification'>): boolean {
  const v = source.verification;
  if (v.scheme === 'hmac') return !v.timestampHeader;
  return v.scheme === 'github' || v.scheme === 'shopify' || v.scheme === 'legacy';
}

/**
 * Why this source can't be polled, naming the bad part (for the 422), or null. A polled item
 * counts as seen only when its key is the very dedup key a webhook of the same change got, so
 * the source must deduplicate on something an item can carry.
 */
export function pollProblem(source: Pick<Source, 'verification' | 'dedup'>, poll: SourcePoll): { field: string; message: string } | null {
  const dedup = source.dedup;
  if (!dedup) return { field: 'dedup', message: 'a polled source needs `dedup`: its key is how a polled change is matched with its webhook' };
  if (dedup.key === 'hash') {
    return { field: 'dedup.key', message: 'a polled source can\'t deduplicate on `hash`: a changes API item never has the bytes of the webhook' };
  }
  if (!dedup.key.startsWith('body:') && hashesHeaderKeys(source)) {
    return {
      field: 'dedup.key',
      message: `scheme '${source.verification.scheme}' signs no timestamp, so its webhooks are deduplicated on the body hash, not on ${dedup.key}: use a body:$… key to poll`,
    };
  }
  if (poll.cursor && 'fromItems' in poll.cursor && poll.cursor.fromItems === '$') return { field: 'poll.cursor.fromItems', message: 'must name a field of the items' };
  return null;
}

export class PollResponseError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/** The changed objects of a response. */
export function itemsOf(response: unknown, path: string): unknown[] {
  const items = at(response, path);
  if (!Array.isArray(items)) throw new PollResponseError('invalid_response', `${path} of the response is ${items === undefined ? 'missing' : 'not an array'}`);
  return items;
}

/** An item as the request body it becomes: its JSON, which the source's selectors read as they read a webhook's body. */
export const itemView = (item: unknown): RequestView =>
  new RequestView({}, Buffer.from(JSON.stringify(item) ?? 'null'), 'application/json');

/**
 * The dedup key an item yields: the value at `poll.key`, turned into a key string exactly as a
 * webhook's `body:$…` dedup value is (objects as JSON text, long keys as their hash), so the
 * same change gives the same key by either road.
 */
export const itemKey = (view: RequestView, key: string): string | null => view.selectKey(`body:${key}`);

/** A scalar as cursor text; null when absent or not a scalar. */
function cursorText(v: unknown): string | null {
  if (typeof v === 'string') return v === '' ? null : v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

/**
 * The cursor after a page: the response's field (`from`), or the largest value of the items'
 * field (`fromItems`; numbers compared as numbers, anything else as text, which orders ISO
 * timestamps). Null when the page gives none: the stored cursor stays.
 */
export function nextCursor(cursor: PollCursor, response: unknown, items: unknown[]): string | null {
  if ('from' in cursor) return cursorText(at(response, cursor.from));
  let best: string | number | null = null;
  for (const item of items) {
    const v = at(item, cursor.fromItems);
    if (typeof v === 'number' && Number.isFinite(v)) {
      if (best === null || (typeof best === 'number' ? v > best : String(v) > best)) best = v;
    } else if (typeof v === 'string' && v !== '') {
      if (best === null || v > String(best)) best = v;
    }
  }
  return best === null ? null : String(best);
}

/** The URL of a page: the configured one with the cursor parameter set (none before the first cursor). */
export function pageUrl(poll: SourcePoll, cursor: string | null): string {
  const url = new URL(poll.url);
  if (poll.cursor && cursor !== null) url.searchParams.set(poll.cursor.param, cursor);
  return url.toString();
}

/** Backoff after consecutive failed runs: the interval doubled per failure, at most 6 h (or the interval, if longer). */
export const MAX_BACKOFF_MS = 6 * 3600_000;

/**
 * When the next run is due after one that ended at `now`: the interval after a success; after
 * `failures` failed runs in a row, interval × 2^failures (capped); and never before the
 * provider's Retry-After.
 */
export function nextPollAt(now: number, intervalSeconds: number, failures: number, retryAfterSeconds?: number): number {
  const interval = intervalSeconds * 1000;
  const delay = failures === 0 ? interval : Math.min(interval * 2 ** Math.min(failures, 30), Math.max(MAX_BACKOFF_MS, interval));
  return now + Math.max(delay, (retryAfterSeconds ?? 0) * 1000);
}
