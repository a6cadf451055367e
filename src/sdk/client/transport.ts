import { HeraldApiError } from './errors.js';
import { PageList } from './pages.js';
import type { Page } from './types.js';
import { ROUTES, type OperationId } from './routes.js';

export interface ClientOptions {
  /** Herald's base URL, e.g. https://hooks.example.com; in a browser page served by Herald, '' (the page's origin) */
  url: string;
  /** the API key; leave it out only with `credentials` (a browser session cookie authenticates instead) */
  apiKey?: string;
  /** fetch's credentials mode, for a browser signed in with a session cookie: 'same-origin' */
  credentials?: RequestCredentials;
  /** the fetch to use; default globalThis.fetch */
  fetch?: typeof globalThis.fetch;
  /** per request, default 30 s */
  timeoutMs?: number;
  /** retries of a retryable call (reads and publishes) after a network error, 429 or 5xx; default 3 */
  maxRetries?: number;
  /** longest Retry-After honoured; a longer one fails the call at once. Default 60 s */
  maxRetryAfterMs?: number;
  /** extra headers on every request, or a function giving them (read at each request: a session's CSRF token, say) */
  headers?: Record<string, string> | (() => Record<string, string>);
}

export interface Call {
  params?: Record<string, string>;
  query?: object;
  body?: unknown;
  headers?: Record<string, string>;
  /** safe to send again: reads, and publishes (they carry an Idempotency-Key) */
  retry?: boolean;
  /** return the response itself instead of its parsed JSON */
  raw?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function retryAfterMs(value: string | null): number | null {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

function queryString(query: object | undefined): string {
  if (!query) return '';
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

async function errorOf(res: Response): Promise<HeraldApiError> {
  const text = await res.text().catch(() => '');
  try {
    const { error } = JSON.parse(text) as { error: { code: string; message: string; details?: unknown } };
    if (error && typeof error.code === 'string') return new HeraldApiError(res.status, error.code, error.message, error.details);
  } catch {
    /* not Herald's error shape: a proxy's page, say */
  }
  return new HeraldApiError(res.status, `http_${res.status}`, text.slice(0, 200) || res.statusText || `HTTP ${res.status}`);
}

/**
 * One HTTP exchange with Herald, with retries where they can't do harm. Backoff 250 ms
 * doubling (±20 % jitter, at most 8 s); a 429's or 503's Retry-After is waited out when it is
 * within maxRetryAfterMs.
 */
export class Transport {
  private readonly base: string;
  private readonly fetch: typeof globalThis.fetch;

  constructor(private readonly o: ClientOptions) {
    if (!o.url && !o.credentials) throw new TypeError('HeraldClient: url is required');
    if (!o.apiKey && !o.credentials) throw new TypeError('HeraldClient: apiKey is required');
    this.base = o.url.replace(/\/+$/, '');
    const f = o.fetch ?? globalThis.fetch;
    if (!f) throw new TypeError('HeraldClient: no fetch in this runtime; pass options.fetch');
    this.fetch = f.bind(globalThis);
  }

  /** The absolute URL of an operation, its path parameters filled in. */
  url(op: OperationId, params: Record<string, string> = {}, query?: object): string {
    const path = ROUTES[op][1].replace(/\{(\w+)\}/g, (_, name: string) => {
      const v = params[name];
      if (v === undefined || v === '') throw new TypeError(`${op}: ${name} is required`);
      return encodeURIComponent(v);
    });
    return `${this.base}${path}${queryString(query)}`;
  }

  /** A list operation as a PageList: `query` with each page's `iterator`, retried like any read. */
  list<T>(op: OperationId, params: Record<string, string>, query: { iterator?: string }): PageList<T> {
    return new PageList((iterator) => this.call<Page<T>>(op, { params, query: { ...query, iterator }, retry: true }), query.iterator);
  }

  async call<T>(op: OperationId, c: Call = {}): Promise<T> {
    const method = ROUTES[op][0];
    const url = this.url(op, c.params, c.query);
    const path = url.slice(this.base.length).split('?')[0];
    const extra = typeof this.o.headers === 'function' ? this.o.headers() : this.o.headers;
    const headers: Record<string, string> = { accept: 'application/json', ...extra, ...c.headers };
    if (this.o.apiKey) headers.authorization = `Bearer ${this.o.apiKey}`;
    if (c.body !== undefined) headers['content-type'] = 'application/json';
    const body = c.body === undefined ? undefined : JSON.stringify(c.body);
    const retries = c.retry ? (this.o.maxRetries ?? 3) : 0;
    for (let attempt = 0; ; attempt++) {
      const backoff = Math.min(8000, 250 * 2 ** attempt) * (0.8 + Math.random() * 0.4);
      let res: Response;
      try {
        res = await this.fetch(url, { method, headers, body, credentials: this.o.credentials, signal: AbortSignal.timeout(this.o.timeoutMs ?? 30_000) });
      } catch (err) {
        if (attempt < retries) {
          await sleep(backoff);
          continue;
        }
        const timeout = (err as Error)?.name === 'TimeoutError';
        // fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, …) is in its cause.
        const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
        const why = timeout ? 'no response in time' : cause?.code ?? cause?.message ?? (err as Error)?.message ?? 'request failed';
        throw new HeraldApiError(0, timeout ? 'timeout' : 'network_error', `${method} ${path}: can't reach Herald at ${this.base || 'this origin'} (${why})`, undefined, { cause: err });
      }
      if ((res.status === 429 || res.status >= 500) && attempt < retries) {
        const after = retryAfterMs(res.headers.get('retry-after'));
        if (after === null || after <= (this.o.maxRetryAfterMs ?? 60_000)) {
          await res.body?.cancel().catch(() => {});
          await sleep(Math.max(backoff, after ?? 0));
          continue;
        }
      }
      if (!res.ok) throw await errorOf(res);
      if (c.raw) return res as T;
      if (res.status === 204) return undefined as T;
      const text = await res.text();
      return (text ? JSON.parse(text) : undefined) as T;
    }
  }
}
