import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HeraldError } from '../../errors.js';
import { CAPABILITIES, type App, type UiSession } from '../../store/types.js';
import { baseUrlOf, loadApp, type ApiContext } from '../context.js';
import {
  ExpireAllBody, ExpireAllOut, PortalAccessBody, PortalAccessOut, SessionCreate, SessionOut,
} from '../portal-schemas.js';
import type { Router } from '../router.js';
import { AppParams } from '../schemas.js';
import {
  CONSOLE_SESSION_MS, clearSessionCookie, csrfTokenOf, hashSecret, newSecret, normaliseCapabilities, sameSecret, setSessionCookie,
} from '../sessions.js';
import { appOut } from '../wire.js';

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Browser sessions (the operator console and the customer portal) and the links that open
 * portal sessions. The product's backend asks for a link with its API key and hands it to
 * its customer; the link's token is good for one exchange, within its lifetime.
 */
export function sessionRoutes(r: Router, ctx: ApiContext, apiKey: string): void {
  const keyHash = createHash('sha256').update(apiKey).digest();
  const cookieOptions = (req: FastifyRequest) => ({
    // Behind a TLS-terminating proxy the socket is plain: the configured public URL says https.
    secure: req.protocol === 'https' || (ctx.config.publicUrl?.startsWith('https:') ?? false),
    framed: ctx.config.portalFrameAncestors.length > 0,
  });
  const sessionOut = (s: UiSession, app: App | null, cookie: string | null) => ({
    kind: s.kind, app: app ? appOut(app) : null, capabilities: s.capabilities, expiresAt: iso(s.expiresAt),
    csrfToken: cookie ? csrfTokenOf(cookie) : null, theme: app?.portal ?? null,
  });

  r.add({
    method: 'POST', operationId: 'createSession', url: '/v1/sessions', tag: 'sessions', auth: false, throttleAuth: true,
    summary: 'Sign a browser in: with the API key (operator console) or a portal link\'s token (one use); sets an HttpOnly session cookie',
    body: SessionCreate, response: { status: 201, schema: SessionOut },
    handler: async (req, reply) => {
      const b = req.body as SessionCreate;
      const now = Date.now();
      const cookie = newSecret('hs');
      if ('apiKey' in b) {
        if (!sameSecret(b.apiKey, keyHash)) throw new HeraldError('unauthorized', 'that is not the API key of this Herald');
        const session: UiSession = {
          kind: 'operator', appId: null, capabilities: [...CAPABILITIES], label: null, expiresAt: now + CONSOLE_SESSION_MS, createdAt: now,
        };
        await ctx.store.createSession(hashSecret(cookie), session);
        setSessionCookie(reply, 'operator', cookie, session.expiresAt, cookieOptions(req));
        return reply.status(201).send(sessionOut(session, null, cookie));
      }
      const session = await ctx.store.exchangePortalToken(hashSecret(b.portalToken), hashSecret(cookie), now);
      if (!session) throw new HeraldError('invalid_token', 'this portal link has expired or was already used: ask for a new one');
      const app = await ctx.store.getApp(session.appId!);
      if (!app) throw new HeraldError('invalid_token', 'the app of this portal link no longer exists');
      setSessionCookie(reply, 'portal', cookie, session.expiresAt, cookieOptions(req));
      return reply.status(201).send(sessionOut(session, app, cookie));
    },
  });
  r.add({
    method: 'GET', operationId: 'getSession', url: '/v1/session', tag: 'sessions', access: 'session',
    summary: 'Who this request is: the session, its app and capabilities, and its CSRF token (kind operator with no expiry for the API key)',
    response: { status: 200, schema: SessionOut },
    handler: async (req) => {
      const p = req.principal!;
      if (!p.session) return { kind: 'operator', app: null, capabilities: [...CAPABILITIES], expiresAt: null, csrfToken: null, theme: null };
      const app = p.session.appId ? await ctx.store.getApp(p.session.appId) : null;
      return sessionOut(p.session, app, p.cookie ?? null);
    },
  });
  r.add({
    method: 'DELETE', operationId: 'deleteSession', url: '/v1/session', tag: 'sessions', access: 'session',
    summary: 'Sign out: ends this browser session (nothing to end for the API key)', response: { status: 204 },
    handler: async (req, reply: FastifyReply) => {
      const p = req.principal!;
      if (p.session && p.cookie) {
        await ctx.store.deleteSession(hashSecret(p.cookie));
        clearSessionCookie(reply, p.kind, cookieOptions(req));
      }
      return reply.status(204).send();
    },
  });

  r.add({
    method: 'POST', operationId: 'createPortalAccess', url: '/v1/apps/:app/portal-access', tag: 'portal',
    summary: "A one-time link into this app's customer portal, for your customer (default: every capability, 1 h)",
    params: AppParams, body: PortalAccessBody, response: { status: 201, schema: PortalAccessOut },
    handler: async (req, reply) => {
      const b = req.body as PortalAccessBody;
      const app = await loadApp(ctx, req.params.app);
      if (app.sourceId) throw new HeraldError('conflict', `app '${app.id}' belongs to source '${app.sourceId}': it has no customer`);
      const now = Date.now();
      const token = newSecret('hpt');
      const expiresAt = now + (b.expiresInSeconds ?? 3600) * 1000;
      await ctx.store.createPortalToken(hashSecret(token), {
        appId: app.id, capabilities: normaliseCapabilities(b.capabilities), label: b.sessionId ?? null, expiresAt,
      }, now);
      // In the fragment: browsers don't send it to servers, proxies and access logs never see it.
      return reply.status(201).send({ url: `${baseUrlOf(ctx, req)}/portal/#token=${token}`, token, expiresAt: iso(expiresAt) });
    },
  });
  r.add({
    method: 'POST', operationId: 'expirePortalAccess', url: '/v1/apps/:app/portal-access/expire-all', tag: 'portal',
    summary: "End this app's portal sessions now, and void its unused links (only those of sessionId, if given)",
    params: AppParams, body: ExpireAllBody, response: { status: 200, schema: ExpireAllOut },
    handler: async (req) => {
      const b = req.body as { sessionId?: string };
      const app = await loadApp(ctx, req.params.app);
      return { expired: await ctx.store.expirePortalSessions(app.id, b.sessionId ?? null, Date.now()) };
    },
  });
}
