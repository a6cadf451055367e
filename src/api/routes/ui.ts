import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiContext } from '../context.js';

/**
 * The web UI: the operator console at /ui/ and the customer portal at /portal/, one
 * single-page app built by Vite into dist/ui (`npm run build`). Both faces talk to Herald
 * only through the public /v1 API. Deep links get index.html (the app routes itself); the
 * hashed files under assets/ are cached for a year, the HTML never.
 *
 * No API key on these routes: the page itself holds nothing secret; it signs in with a
 * session cookie (console: the API key, sent once; portal: a one-time token in the URL
 * fragment).
 */

/** dist/ui of this package: three levels up from src/api/routes (tests) and dist/api/routes (built) alike. */
export const UI_DIR = fileURLToPath(new URL('../../../dist/ui/', import.meta.url));

const YEAR = 365 * 24 * 3600;

/** An origin for frame-ancestors: a scheme and host, no spaces, semicolons or commas that would break the header. */
const SOURCE_EXPRESSION = /^(?:https?:\/\/(?:\*\.)?[A-Za-z0-9.-]+(?::\d{1,5})?|'self')$/;

export function contentSecurityPolicy(frameAncestors: string[]): string {
  const ancestors = frameAncestors.filter((o) => SOURCE_EXPRESSION.test(o));
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: https:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "object-src 'none'",
    `frame-ancestors ${ancestors.length ? ancestors.join(' ') : "'none'"}`,
  ].join('; ');
}

export function uiRoutes(fastify: FastifyInstance, ctx: ApiContext, options: { dir?: string } = {}): void {
  const dir = options.dir ?? UI_DIR;
  const portalAncestors = ctx.config.portalFrameAncestors ?? [];
  const consoleCsp = contentSecurityPolicy([]);
  const portalCsp = contentSecurityPolicy(portalAncestors);
  // Checked until found, so a build made while the server runs is picked up.
  let built = false;
  const isBuilt = () => (built ||= existsSync(`${dir}index.html`));

  const secure = (reply: FastifyReply, portal: boolean) => {
    reply.header('content-security-policy', portal ? portalCsp : consoleCsp);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    // Older browsers that don't read frame-ancestors: the console is never framed; the portal only where allowed.
    if (!portal || portalAncestors.length === 0) reply.header('x-frame-options', 'DENY');
  };
  const notBuilt = (reply: FastifyReply) => {
    reply.header('cache-control', 'no-store');
    const message = 'the web UI is not built: run `npm run build` (it writes dist/ui), then reload';
    return reply.status(503).type('application/json; charset=utf-8').send({ error: { code: 'ui_not_built', message } });
  };

  fastify.register(async (child) => {
    // sendFile only: the routes are ours, so they carry auth: false and the headers above.
    await child.register(fastifyStatic, { serve: false, preCompressed: true });
    const config = { auth: false, rateLimited: false };

    const page = (portal: boolean) => async (_req: FastifyRequest, reply: FastifyReply) => {
      secure(reply, portal);
      if (!isBuilt()) return notBuilt(reply);
      reply.header('cache-control', 'no-store');
      return reply.sendFile('index.html', dir, { cacheControl: false, lastModified: false, etag: false });
    };
    const asset = (portal: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
      secure(reply, portal);
      if (!isBuilt()) return notBuilt(reply);
      const file = (req.params as { '*': string })['*'];
      // The file names carry their content hash: a changed file is a new URL.
      return reply.sendFile(`assets/${file}`, dir, { maxAge: YEAR * 1000, immutable: true });
    };

    for (const [base, portal] of [['/ui', false], ['/portal', true]] as const) {
      child.get(base, { config }, async (req, reply) => {
        secure(reply, portal);
        const q = req.url.indexOf('?');
        return reply.redirect(`${base}/${q >= 0 ? req.url.slice(q) : ''}`, 302);
      });
      child.get(`${base}/`, { config }, page(portal));
      child.get(`${base}/assets/*`, { config }, asset(portal));
      child.get(`${base}/*`, { config }, page(portal));
    }
  });
}
