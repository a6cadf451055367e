import { HeraldApiError, HeraldClient } from 'herald-webhooks/client';
import type { FieldProblem } from '../utils/filters';

/**
 * The one HeraldClient of the page. It authenticates with the session cookie (same origin);
 * every call carries the session's CSRF token, which lives only in this module's memory
 * (after a reload it comes back from GET /v1/session). The API key is never kept: it is
 * sent once, to POST /v1/sessions.
 */
let csrfToken = '';

export function setCsrfToken(token: string | null | undefined): void {
  csrfToken = token ?? '';
}

/** Which of the browser's two session cookies (console, portal) the server should use for this page. */
const FACE = location.pathname.startsWith('/portal') ? 'portal' : 'console';

export function sessionHeaders(): Record<string, string> {
  return csrfToken ? { 'x-herald-session': FACE, 'x-herald-csrf': csrfToken } : { 'x-herald-session': FACE };
}

/** Called when a call answers 401: the session ended (expired, signed out elsewhere). */
let onUnauthorized: () => void = () => {};
export function whenUnauthorized(f: () => void): void {
  onUnauthorized = f;
}

export const herald = new HeraldClient({
  url: '',
  fetch: async (input, init) => {
    const res = await fetch(input, init);
    // A 401 of the session calls themselves is an answer (wrong key, used link), not an ending.
    if (res.status === 401 && !/\/v1\/sessions?(?:$|\?)/.test(new URL(String(input), location.href).pathname)) onUnauthorized();
    return res;
  },
  credentials: 'same-origin',
  headers: sessionHeaders,
  // A person is waiting: one quick retry of a read, not a minute of them.
  maxRetries: 1,
  timeoutMs: 20_000,
});

export { HeraldApiError };

/** What to tell a person about a failed call. */
export function errorMessage(err: unknown): string {
  if (err instanceof HeraldApiError) {
    if (err.status === 0) return "Can't reach the server. Check your connection and try again.";
    if (err.code === 'forbidden') return "You don't have permission to do that.";
    const details = err.details as Array<{ path?: string; message?: string }> | undefined;
    if (err.code === 'validation_failed' && Array.isArray(details) && details.length > 1) {
      return details.map((d) => `${d.path && d.path !== '/' ? `${d.path.slice(1)}: ` : ''}${d.message}`).join('; ');
    }
    return err.message;
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * Which part of a request a 422 is about ('filter', 'channels', 'event', …), with the
 * server's message and the JSON pointer it names; undefined for any other error.
 */
export function problemOf(err: unknown): { field: string; problem: FieldProblem } | undefined {
  if (!(err instanceof HeraldApiError) || err.status !== 422) return undefined;
  if (err.code === 'invalid_transform') return { field: 'transform', problem: { message: err.message } };
  if (err.code === 'invalid_filter') {
    const path = (err.details as { path?: unknown } | undefined)?.path;
    return { field: 'filter', problem: { message: err.message, path: typeof path === 'string' ? path : undefined } };
  }
  const first = Array.isArray(err.details) ? (err.details[0] as { path?: unknown; message?: unknown } | undefined) : undefined;
  if (err.code === 'validation_failed' && first && typeof first.path === 'string') {
    return { field: first.path.split('/')[1] ?? '', problem: { message: typeof first.message === 'string' ? first.message : err.message, path: first.path } };
  }
  return undefined;
}
