import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { parseCookie, stringifySetCookie } from 'cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HeraldError } from '../errors.js';
import { notAGuess } from './rate-limit.js';
import { CAPABILITIES, type Capability, type Store, type UiSession } from '../store/types.js';

/**
 * Who a request is: the operator (the API key, or a console session opened with it) or one
 * app's customer (a portal session, limited to that app and to its capabilities). Every
 * route declares what it needs (RouteSpec.access) and this is the one place that checks it,
 * on the server, for every request: the UI hiding a button is a courtesy, not the control.
 *
 * Browser sessions are cookies (HttpOnly, SameSite) holding a random secret; the database
 * keeps only its SHA-256. The console and the portal have a cookie each, so an operator can
 * open a customer's portal link without being signed out of the console; a request says which
 * it speaks for with `x-herald-session: portal` (default: the console's, else the portal's).
 *
 * CSRF: a cookie-authenticated write must carry `x-herald-csrf`, an HMAC of the session secret
 * that only a page able to read GET /v1/session's answer (same origin: no CORS here) can know.
 */
export type Access = Capability | 'operator' | 'session';
export type Principal =
  | { kind: 'operator'; via: 'api_key' | 'session'; session?: UiSession; cookie?: string }
  | { kind: 'portal'; session: UiSession; cookie: string };

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export const COOKIES = { operator: 'herald_console', portal: 'herald_portal' } as const;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
export const CONSOLE_SESSION_MS = 12 * 3600_000;

const sha256 = (value: string) => createHash('sha256').update(value).digest();
export const hashSecret = (value: string): string => sha256(value).toString('hex');
export const newSecret = (prefix: string): string => `${prefix}_${randomBytes(32).toString('base64url')}`;
export const csrfTokenOf = (cookie: string): string => createHmac('sha256', cookie).update('herald-csrf').digest('base64url');

/** Hashed first, so the comparison takes the same time whatever the lengths. */
export function sameSecret(given: string, expectedHash: Buffer): boolean {
  return timingSafeEqual(sha256(given), expectedHash);
}

/** What a portal session may not do, in words for its 403. */
const REFUSALS: Record<Capability, string> = {
  view: 'view this app',
  manage_endpoints: 'create, change or delete endpoints',
  reveal_secrets: 'reveal signing secrets',
  rotate_secrets: 'rotate signing secrets',
  send: 'send test events, retry or recover deliveries',
};

function sessionCookie(req: FastifyRequest): { kind: 'operator' | 'portal'; value: string } | null {
  const header = req.headers.cookie;
  if (!header) return null;
  const jar = parseCookie(header);
  const wanted = req.headers['x-herald-session'];
  const order: Array<'operator' | 'portal'> = wanted === 'portal' ? ['portal'] : wanted === 'console' ? ['operator'] : ['operator', 'portal'];
  for (const kind of order) {
    const value = jar[COOKIES[kind]];
    if (value) return { kind, value };
  }
  return null;
}

export function authenticate(store: Store, apiKey: string): (req: FastifyRequest) => Promise<void> {
  const expected = sha256(apiKey);
  return async (req) => {
    const config = req.routeOptions.config as { auth?: boolean; access?: Access };
    // A request that matches no route has nothing to protect: it gets its 404 (or 405) without a key.
    if (req.is404 || config.auth === false) return;
    const header = req.headers.authorization;
    if (header !== undefined) {
      const match = /^Bearer\s+(.+)$/i.exec(header);
      if (!match || !sameSecret(match[1].trim(), expected)) {
        throw new HeraldError('unauthorized', 'missing or invalid API key: send Authorization: Bearer <api key>');
      }
      req.principal = { kind: 'operator', via: 'api_key' };
      return;
    }
    const cookie = sessionCookie(req);
    if (!cookie) throw new HeraldError('unauthorized', 'missing or invalid API key: send Authorization: Bearer <api key>');
    const session = await store.getSession(hashSecret(cookie.value), Date.now());
    if (!session || session.kind !== cookie.kind) {
      notAGuess(req);
      throw new HeraldError('unauthorized', 'this session has expired or was ended: sign in again');
    }
    if (!SAFE_METHODS.has(req.method)) {
      const given = req.headers['x-herald-csrf'];
      if (typeof given !== 'string' || !sameSecret(given, sha256(csrfTokenOf(cookie.value)))) {
        throw new HeraldError('csrf_failed', 'a change made with a session cookie needs the x-herald-csrf header from GET /v1/session');
      }
    }
    if (session.kind === 'operator') {
      req.principal = { kind: 'operator', via: 'session', session, cookie: cookie.value };
      return;
    }
    req.principal = { kind: 'portal', session, cookie: cookie.value };
    const access = config.access ?? 'operator';
    if (access === 'session') return;
    if (access === 'operator') throw new HeraldError('forbidden', 'a portal session can only reach its own app\'s endpoints, deliveries, events and event catalogue');
    if (!session.capabilities.includes(access)) throw new HeraldError('forbidden', `this portal session may not ${REFUSALS[access]}`, { capability: access });
    const appKey = (req.params as { app?: string }).app;
    if (appKey !== undefined) {
      // By id or uid, as the routes take it; another app, existing or not, is the same 403.
      const app = await store.getApp(appKey);
      if (!app || app.id !== session.appId) throw new HeraldError('forbidden', 'a portal session can only reach its own app');
    }
  };
}

/**
 * The session cookie's attributes. SameSite=Strict: no other site can make the browser send
 * it. A portal that may be framed by another site (HERALD_PORTAL_FRAME_ANCESTORS) needs
 * SameSite=None, which browsers take only with Secure, and Partitioned (CHIPS) so it still
 * works where third-party cookies are blocked: the cookie is then kept per embedding site.
 */
export function setSessionCookie(reply: FastifyReply, kind: 'operator' | 'portal', value: string, expiresAt: number, o: { secure: boolean; framed: boolean }): void {
  reply.header('set-cookie', stringifySetCookie(COOKIES[kind], value, { ...attributes(kind, o), maxAge: Math.max(1, Math.round((expiresAt - Date.now()) / 1000)) }));
}

/** Cleared with the attributes it was set with: a partitioned cookie is only replaced by a partitioned one. */
export function clearSessionCookie(reply: FastifyReply, kind: 'operator' | 'portal', o: { secure: boolean; framed: boolean }): void {
  reply.header('set-cookie', stringifySetCookie(COOKIES[kind], '', { ...attributes(kind, o), maxAge: 0 }));
}

function attributes(kind: 'operator' | 'portal', o: { secure: boolean; framed: boolean }) {
  const framed = kind === 'portal' && o.framed;
  return { httpOnly: true, path: '/', secure: o.secure || framed, sameSite: framed ? ('none' as const) : ('strict' as const), partitioned: framed || undefined };
}

/**
 * Whether the request may read the values of endpoints' custom headers. They often carry a
 * receiver's credentials (`Authorization: Bearer …`) and are sealed at rest: a view-only portal
 * session sees their names, not their values; whoever may edit the endpoint sees them.
 */
export function readsHeaderValues(req: FastifyRequest): boolean {
  const p = req.principal;
  return !p || p.kind === 'operator' || p.session.capabilities.includes('manage_endpoints');
}

export const HIDDEN_VALUE = '(hidden)';
export const hideValues = (headers: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.keys(headers).map((k) => [k, HIDDEN_VALUE]));

/** Capabilities as given, `view` always among them, in a stable order. */
export function normaliseCapabilities(given: readonly Capability[] | undefined): Capability[] {
  const wanted = new Set<Capability>(given ?? CAPABILITIES);
  wanted.add('view');
  return CAPABILITIES.filter((c) => wanted.has(c));
}
