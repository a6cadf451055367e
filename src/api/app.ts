import Fastify, { LogController, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { HeraldError } from '../errors.js';
import { bearerAuth } from './auth.js';
import { authFailureThrottle, capConnections, managementRateLimit } from './rate-limit.js';
import type { ApiContext } from './context.js';
import { openApiDocument } from './openapi.js';
import { Router } from './router.js';
import { appRoutes } from './routes/apps.js';
import { deliveryRoutes } from './routes/deliveries.js';
import { endpointRoutes } from './routes/endpoints.js';
import { eventTypeRoutes } from './routes/event-types.js';
import { eventRoutes } from './routes/events.js';
import { ingestRoutes } from './routes/ingest.js';
import { relayRoutes } from './routes/relay.js';
import { sourceRoutes } from './routes/sources.js';

/** Fastify's own error codes that are the caller's fault, mapped to ours. */
const FASTIFY_ERRORS: Record<string, [HeraldError['code'], string]> = {
  FST_ERR_CTP_INVALID_JSON_BODY: ['invalid_json', 'request body is not valid JSON'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['invalid_json', 'request body is empty but content-type is application/json'],
  FST_ERR_CTP_BODY_TOO_LARGE: ['payload_too_large', 'request body is too large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['unsupported_media_type', 'send JSON with content-type: application/json'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['validation_failed', 'content-length does not match the body'],
};

type ValidationIssue = NonNullable<FastifyError['validation']>[number];

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
    const message = v.keyword === 'additionalProperties'
      ? `unknown property '${(v.params as { additionalProperty: string }).additionalProperty}'`
      : v.message ?? 'invalid';
    out.push({ path, message });
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
    return new HeraldError('validation_failed', `${where}${details[0].path === '/' ? '' : details[0].path} ${details[0].message}`, details);
  }
  if (err instanceof SyntaxError) return new HeraldError('invalid_json', 'request body is not valid JSON');
  const known = err.code ? FASTIFY_ERRORS[err.code] : undefined;
  if (known) return new HeraldError(known[0], known[1]);
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return new HeraldError('validation_failed', err.message);
  return null;
}

export function buildApi(ctx: ApiContext, options: { logger: Logger; apiKey: string }): { fastify: FastifyInstance; router: Router } {
  // Typed as the default instance: pino's Logger type is stricter than Fastify's base logger.
  const fastify = Fastify({
    loggerInstance: options.logger,
    // Per-request log lines cost more than a publish at thousands of requests per second.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: ctx.config.maxPayloadBytes + 64 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
    return503OnClosing: true,
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
  fastify.addHook('onRequest', bearerAuth(options.apiKey));
  fastify.addHook('onRequest', managementRateLimit(ctx.config.apiRateLimit));
  fastify.addHook('onResponse', authFailures.record);

  fastify.setErrorHandler((err: FastifyError, req, reply) => {
    const known = toHeraldError(err);
    if (known) return reply.status(known.status).send(known.toJSON());
    // Unexpected: log with the cause, answer without internals.
    req.log.error({ err, url: req.url, method: req.method }, 'unhandled error');
    return reply.status(500).send(new HeraldError('internal_error', 'internal error').toJSON());
  });
  fastify.setNotFoundHandler((req, reply) => {
    reply.status(404).send(new HeraldError('not_found', `no route ${req.method} ${req.url.split('?')[0]}`).toJSON());
  });

  const router = new Router(fastify);
  appRoutes(router, ctx);
  eventTypeRoutes(router, ctx);
  endpointRoutes(router, ctx);
  eventRoutes(router, ctx);
  deliveryRoutes(router, ctx);
  sourceRoutes(router, ctx);
  ingestRoutes(fastify, ctx, router.specs);
  relayRoutes(fastify, ctx, router.specs);

  router.add({
    method: 'GET', operationId: 'getHealth', url: '/health', tag: 'system', summary: 'Liveness and database check', auth: false,
    response: { status: 200 },
    handler: async (_req, reply) => {
      try {
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
