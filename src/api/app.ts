import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { HeraldError } from '../errors.js';
import { authFailureThrottle, capConnections, managementRateLimit } from './rate-limit.js';
import type { ApiContext } from './context.js';
import { openApiDocument } from './openapi.js';
import { Router, type RouteSpec } from './router.js';
import { alertRoutes } from './routes/alerts.js';
import { appRoutes } from './routes/apps.js';
import { deliveryRoutes } from './routes/deliveries.js';
import { endpointRoutes } from './routes/endpoints.js';
import { filterRoutes } from './routes/filters.js';
import { transformRoutes } from './routes/transforms.js';
import { eventTypeRoutes } from './routes/event-types.js';
import { eventRoutes } from './routes/events.js';
import { ingestRoutes } from './routes/ingest.js';
import { relayRoutes } from './routes/relay.js';
import { sessionRoutes } from './routes/sessions.js';
import { sourceRoutes } from './routes/sources.js';
import { sourcePollRoutes } from './routes/source-poll.js';
import { uiRoutes } from './routes/ui.js';
import { authenticate } from './sessions.js';
import { PATTERN_HINTS } from './schemas.js';
import { jsonBodyParser, validatorCompiler } from './validation.js';

/** Fastify's own error codes that are the caller's fault, mapped to ours. */
const FASTIFY_ERRORS: Record<string, [HeraldError['code'], string]> = {
  FST_ERR_CTP_INVALID_JSON_BODY: ['invalid_json', 'request body is not valid JSON'],
  FST_ERR_CTP_BODY_TOO_LARGE: ['payload_too_large', 'request body is too large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['unsupported_media_type', 'send JSON with content-type: application/json'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['validation_failed', 'content-length does not match the body'],
  FST_ERR_BAD_URL: ['bad_request', 'the URL is not valid: check its percent-encoding'],
  FST_ERR_MAX_PARAM_LENGTH: ['uri_too_long', 'a path segment of the URL is too long'],
};

type ValidationIssue = NonNullable<FastifyError['validation']>[number];

/** Ajv's own words for one issue, unless we know better what the value should be. */
function describe(v: ValidationIssue): string {
  const params = v.params as { additionalProperty?: string; pattern?: string; format?: string };
  // Iterators are opaque: what they look like is no help to anyone holding a wrong one.
  if (v.instancePath === '/iterator') return 'must be a value returned by a previous page';
  if (v.keyword === 'additionalProperties') {
    const name = params.additionalProperty!;
    // A header map takes any name but an invalid one, and "unknown" would say otherwise.
    return v.instancePath.endsWith('/headers') ? `has '${name}', which is not an HTTP header name: letters, digits and !#$%&'*+.^_\`|~- only` : `unknown property '${name}'`;
  }
  if (v.keyword === 'pattern') return PATTERN_HINTS.get(params.pattern!) ?? v.message ?? 'invalid';
  if (v.keyword === 'format' && params.format === 'date-time') return 'must be a valid date-time like 2025-01-31T12:00:00Z (RFC 3339; no leap second :60)';
  return v.message ?? 'invalid';
}

/**
 * Ajv's errors as a person would put them. A value outside an enumeration fails each of the
 * union's literals in turn: that becomes one "must be one of …". The union's own summary
 * ("must match a schema in anyOf") and its nullable branch ("must be null") only repeat what
 * the other errors say, so they go unless nothing else is left.
 */
function explain(issues: ValidationIssue[]): Array<{ path: string; message: string }> {
  const out: Array<{ path: string; message: string; allowed?: unknown[] }> = [];
  for (const v of issues) {
    const path = v.instancePath || '/';
    if (v.keyword === 'const') {
      const allowed = (v.params as { allowedValue: unknown }).allowedValue;
      const same = out.find((d) => d.path === path && d.allowed);
      if (same) same.allowed!.push(allowed);
      else out.push({ path, message: '', allowed: [allowed] });
      continue;
    }
    out.push({ path, message: describe(v) });
  }
  const noise = (d: { message: string }) => d.message === 'must match a schema in anyOf' || d.message === 'must be null';
  const kept = out.some((d) => !noise(d)) ? out.filter((d) => !noise(d)) : out;
  return kept.map(({ path, message, allowed }) => ({
    path,
    message: allowed ? `must be ${allowed.length > 1 ? 'one of ' : ''}${allowed.map((a) => JSON.stringify(a)).join(', ')}` : message,
  }));
}

function toHeraldError(err: FastifyError): HeraldError | null {
  if (err instanceof HeraldError) return err;
  if (err.validation) {
    const where = err.validationContext ?? 'request';
    const details = explain(err.validation).map((d) => ({ location: where, ...d }));
    // An app's envelope profile is a setting checked on save: 422 like its semantic checks.
    const code = where === 'body' && details[0].path.startsWith('/envelopeProfile') ? 'invalid_envelope_profile' : 'validation_failed';
    return new HeraldError(code, `${where}${details[0].path === '/' ? '' : details[0].path} ${details[0].message}`, details);
  }
  if (err instanceof SyntaxError) return new HeraldError('invalid_json', 'request body is not valid JSON');
  const known = err.code ? FASTIFY_ERRORS[err.code] : undefined;
  if (known) return new HeraldError(known[0], known[1]);
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return new HeraldError('validation_failed', err.message);
  return null;
}

/**
 * What Node's HTTP parser refuses before Fastify has a request (headers past the size limit, a
 * long URL among them; a request that took too long; malformed HTTP), answered in the API's
 * error shape rather than Fastify's; the connection is closed after it, as Fastify does.
 */
function clientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const error = err.code === 'HPE_HEADER_OVERFLOW' ? new HeraldError('headers_too_large', 'the URL and headers of the request are too large')
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? new HeraldError('request_timeout', 'the request did not arrive in time')
      : new HeraldError('bad_request', 'malformed HTTP request');
  const body = JSON.stringify(error.toJSON());
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}

/** The methods a path answers to, from the declared routes (and HEAD with GET, as Fastify serves it): 405 rather than 404. */
function allowedMethods(specs: RouteSpec[]): (path: string) => string[] {
  const segment = (s: string) => (s.startsWith(':') ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  let routes: Array<{ method: string; path: RegExp }> | undefined;
  return (path) => {
    // Built at the first miss: the ingest and relay routes are declared when Fastify starts.
    routes ??= specs.map((s) => ({ method: s.method as string, path: new RegExp(`^${s.url.split('/').map(segment).join('/')}$`) }));
    const methods = routes.filter((r) => r.path.test(path)).flatMap((r) => (r.method === 'GET' ? ['GET', 'HEAD'] : [r.method]));
    return [...new Set(methods)];
  };
}

/** A database locked by another process usually lets go within seconds: say when to come back. */
const sendError = (reply: FastifyReply, err: HeraldError) => {
  if (err.code === 'storage_unavailable') reply.header('retry-after', '1');
  return reply.status(err.status).send(err.toJSON());
};

export function buildApi(ctx: ApiContext, options: { logger: Logger; apiKey: string }): { fastify: FastifyInstance; router: Router } {
  // Typed as the default instance: pino's Logger type is stricter than Fastify's base logger.
  const fastify = Fastify({
    loggerInstance: options.logger,
    // Per-request log lines cost more than a publish at thousands of requests per second.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: ctx.config.maxPayloadBytes + 64 * 1024,
    // Path parameters as long as what the API accepts (uids and event-type names up to 256).
    routerOptions: { maxParamLength: 300 },
    return503OnClosing: true,
    trustProxy: ctx.config.trustProxy,
    // Fastify's answers to a bad URL or an overlong path segment, and Node's to a bad request, in our error shape.
    frameworkErrors: (err: FastifyError, _req: FastifyRequest, reply: FastifyReply) =>
      sendError(reply, toHeraldError(err) ?? new HeraldError('internal_error', 'internal error')),
    clientErrorHandler: clientError,
    // Slowloris: a client that trickles its headers or body doesn't hold a connection for long
    // (Fastify leaves both at 0, i.e. forever). Node checks these timeouts on an interval of its
    // own (30 s by default), so it is shortened to keep them close to what they say.
    requestTimeout: ctx.config.http.requestTimeoutMs,
    keepAliveTimeout: ctx.config.http.keepAliveTimeoutMs,
    http: {
      headersTimeout: ctx.config.http.headersTimeoutMs,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(ctx.config.http.headersTimeoutMs / 4))),
    },
  }) as unknown as FastifyInstance;
  capConnections(fastify.server, ctx.config.maxConnectionsPerClient);

  // Online guessing of the API key: an address with too many failed authentications is refused
  // (429) before its key is even looked at, until its bucket refills.
  const authFailures = authFailureThrottle(ctx.config.authFailuresPerMinute);
  fastify.addHook('onRequest', authFailures.check);
  fastify.addHook('onRequest', authenticate(ctx.store, options.apiKey));
  fastify.addHook('onRequest', managementRateLimit(ctx.config.apiRateLimit));
  fastify.addHook('onResponse', authFailures.record);

  // API answers are never cached: a session's CSRF token, secrets, a delivery log that moves.
  fastify.addHook('onSend', async (req, reply) => {
    if (req.url.startsWith('/v1/') && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  });

  fastify.setValidatorCompiler(validatorCompiler());
  // JSON only: a text/plain body is refused (415) like a form, not parsed into a string the
  // schema then calls "not an object".
  fastify.removeContentTypeParser(['application/json', 'text/plain']);
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, jsonBodyParser(fastify.getDefaultJsonParser('error', 'error')));

  fastify.setErrorHandler((err: FastifyError, req, reply) => {
    const known = toHeraldError(err);
    if (known) return sendError(reply, known);
    // Unexpected: log with the cause, answer without internals.
    req.log.error({ err, url: req.url, method: req.method }, 'unhandled error');
    return reply.status(500).send(new HeraldError('internal_error', 'internal error').toJSON());
  });
  const router = new Router(fastify);
  const allowed = allowedMethods(router.specs);
  fastify.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0];
    const methods = allowed(path);
    if (methods.length === 0) return sendError(reply, new HeraldError('not_found', `no route ${req.method} ${path}; the API's routes are in /openapi.json`));
    reply.header('allow', methods.join(', '));
    return sendError(reply, new HeraldError('method_not_allowed', `${path} answers ${methods.join(', ')}, not ${req.method}`, { allow: methods }));
  });

  appRoutes(router, ctx);
  eventTypeRoutes(router, ctx);
  endpointRoutes(router, ctx);
  filterRoutes(router, ctx);
  transformRoutes(router, ctx);
  eventRoutes(router, ctx);
  deliveryRoutes(router, ctx);
  sourceRoutes(router, ctx);
  sourcePollRoutes(router, ctx);
  sessionRoutes(router, ctx, options.apiKey);
  alertRoutes(router, ctx);
  ingestRoutes(fastify, ctx, router.specs);
  relayRoutes(fastify, ctx, router.specs);
  uiRoutes(fastify, ctx);

  router.add({
    method: 'GET', operationId: 'getHealth', url: '/health', tag: 'system',
    summary: 'Liveness and database check: 200 ok; 503 degraded when writes can\'t commit now (SQLite locked by another process), 503 unavailable when the database doesn\'t answer',
    auth: false,
    response: { status: 200 },
    handler: async (_req, reply) => {
      try {
        const storage = ctx.store.health ? await ctx.store.health() : { status: 'ok' as const };
        if (storage.status !== 'ok') return reply.status(503).send({ status: 'degraded', storage: storage.detail });
        await ctx.store.queueDepth();
        return { status: 'ok' };
      } catch {
        return reply.status(503).send({ status: 'unavailable' });
      }
    },
  });
  router.add({
    method: 'GET', operationId: 'getMetrics', url: '/metrics', tag: 'system', summary: 'Prometheus metrics', auth: false,
    response: { status: 200, description: 'Prometheus text format' },
    handler: async (_req, reply) => reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics()),
  });
  let doc: unknown;
  router.add({
    method: 'GET', operationId: 'getOpenApi', url: '/openapi.json', tag: 'system', summary: 'This API as an OpenAPI 3.1 document', auth: false,
    response: { status: 200 },
    handler: async () => (doc ??= openApiDocument(router.specs)),
  });
  return { fastify, router };
}
