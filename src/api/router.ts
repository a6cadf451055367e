import type { TSchema } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import type { Access } from './sessions.js';

/**
 * Routes are declared once, as data: the same declaration registers the Fastify route
 * (with its validation schemas) and becomes an operation in /openapi.json.
 */
/** Handlers cast `body` to the Static type of their schema; params and query stay loose. */
export type AnyRequest = FastifyRequest & { params: any; query: any; body: unknown };

export interface RouteSpec {
  method: HTTPMethods;
  /** stable camelCase name: the OpenAPI operationId and the typed client's route key */
  operationId: string;
  /** Fastify syntax: /v1/apps/:app */
  url: string;
  summary: string;
  tag: string;
  params?: TSchema;
  querystring?: TSchema;
  body?: TSchema;
  /** documented success response */
  response: { status: number; schema?: TSchema; description?: string };
  bodyLimit?: number;
  /** false for the unauthenticated routes (health, metrics, openapi) */
  auth?: boolean;
  /**
   * Who may call it besides the operator: a portal session with this capability, on its own
   * app ('view', 'send', …); any signed-in browser ('session'). Default 'operator': the API
   * key or a console session only. Checked by authenticate() in sessions.ts.
   */
  access?: Access;
  /** a public route that checks a secret of its own (sign-in): its failures count toward the auth-failure throttle */
  throttleAuth?: boolean;
  /** false for routes exempt from the management API rate limit (publishing) */
  rateLimited?: boolean;
  handler: (req: AnyRequest, reply: FastifyReply) => Promise<unknown>;
}

export class Router {
  readonly specs: RouteSpec[] = [];

  constructor(private readonly fastify: FastifyInstance) {}

  add(spec: RouteSpec): void {
    if (this.specs.some((s) => s.operationId === spec.operationId)) throw new Error(`duplicate operationId ${spec.operationId}`);
    this.specs.push(spec);
    this.fastify.route({
      method: spec.method,
      url: spec.url,
      bodyLimit: spec.bodyLimit,
      // Only the parts that exist: Fastify warns about keys present but undefined.
      schema: Object.fromEntries(
        Object.entries({ params: spec.params, querystring: spec.querystring, body: spec.body }).filter(([, v]) => v),
      ),
      config: { auth: spec.auth !== false, rateLimited: spec.rateLimited !== false, access: spec.access ?? 'operator', throttleAuth: spec.throttleAuth === true },
      handler: spec.handler,
    });
  }
}
