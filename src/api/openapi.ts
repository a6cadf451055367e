import type { TSchema } from '@sinclair/typebox';
import { VERSION } from '../version.js';
import type { RouteSpec } from './router.js';
import * as S from './schemas.js';
import * as I from './source-schemas.js';
import * as P from './payload-schemas.js';

/**
 * The shared shapes, by the names generated clients give them (`components.schemas`). A
 * schema anywhere in an operation that is one of these, structurally, becomes a $ref.
 */
const NAMED: Record<string, TSchema> = {
  Error: S.ErrorBody,
  App: S.AppOut, AppCreate: S.AppCreate, AppPatch: S.AppPatch, SignatureProfile: S.SignatureProfile,
  EnvelopeProfile: P.EnvelopeProfileSchema, TransformTest: P.TransformTestIn, TransformTestResult: P.TransformTestOut,
  EventType: S.EventTypeOut, EventTypeCreate: S.EventTypeCreate, EventTypePatch: S.EventTypePatch,
  Endpoint: S.EndpointOut, EndpointCreate: S.EndpointCreate, EndpointPatch: S.EndpointPatch, EndpointStats: S.StatsOut,
  RelayStatus: S.RelayOut, Secret: S.SecretOut, RotateSecret: S.RotateBody, Recover: S.RecoverBody,
  EventIn: S.EventIn, EventBatchIn: S.EventBatchIn, Published: S.PublishOut, BatchPublished: S.BatchPublishOut, Event: S.EventOut, EventDetail: S.EventDetailOut, FilterTestResult: S.FilterTestOut,
  Delivery: S.DeliveryOut, DeliveryDetail: S.DeliveryDetailOut, Attempt: S.AttemptOut,
  Source: I.SourceOut, SourceCreate: I.SourceCreate, SourcePatch: I.SourcePatch,
  InboundRequest: I.RequestOut, InboundRequestDetail: I.RequestDetailOut, Replay: I.ReplayBody,
};

/** TypeBox adds symbol-keyed metadata; JSON round-trip leaves plain JSON Schema. */
const plain = (s: TSchema): any => JSON.parse(JSON.stringify(s));

/** Replaces every subschema equal to a named one with a $ref (the named one itself excepted, at its root). */
function withRefs(schema: unknown, byText: Map<string, string>, self?: string): unknown {
  const walk = (node: unknown, root: boolean): unknown => {
    if (Array.isArray(node)) return node.map((n) => walk(n, false));
    if (!node || typeof node !== 'object') return node;
    const name = byText.get(JSON.stringify(node));
    if (name && !(root && name === self)) return { $ref: `#/components/schemas/${name}` };
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v, false)]));
  };
  return walk(schema, true);
}

function parameters(spec: RouteSpec, refs: (s: unknown) => unknown): unknown[] {
  const out: unknown[] = [];
  for (const [where, schema] of [['path', spec.params], ['query', spec.querystring]] as const) {
    const props = (schema as { properties?: Record<string, TSchema> } | undefined)?.properties ?? {};
    const required = new Set((schema as { required?: string[] } | undefined)?.required ?? []);
    for (const [name, s] of Object.entries(props)) {
      out.push({ name, in: where, required: where === 'path' || required.has(name), schema: refs(plain(s)) });
    }
  }
  return out;
}

/** OpenAPI 3.1 document for the declared routes. */
export function openApiDocument(specs: RouteSpec[]): unknown {
  const schemas = Object.fromEntries(Object.entries(NAMED).map(([name, s]) => [name, plain(s)]));
  const byText = new Map(Object.entries(schemas).map(([name, s]) => [JSON.stringify(s), name]));
  const refs = (s: unknown) => withRefs(s, byText);
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of specs) {
    const path = spec.url.replace(/:([A-Za-z]+)/g, '{$1}');
    const errors = { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
    paths[path] ??= {};
    paths[path][spec.method.toLowerCase()] = {
      operationId: spec.operationId,
      summary: spec.summary,
      tags: [spec.tag],
      security: spec.auth === false ? [] : [{ bearer: [] }],
      parameters: parameters(spec, refs),
      // A body whose fields are all optional may be left out (it is taken as {}).
      ...(spec.body ? { requestBody: { required: ((spec.body as { required?: string[] }).required ?? []).length > 0, content: { 'application/json': { schema: refs(plain(spec.body)) } } } } : {}),
      responses: {
        [spec.response.status]: {
          description: spec.response.description ?? 'OK',
          ...(spec.response.schema ? { content: { 'application/json': { schema: refs(plain(spec.response.schema)) } } } : {}),
        },
        '4XX': errors,
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Herald API', version: VERSION, description: 'Self-hostable webhook delivery. All /v1 routes need `Authorization: Bearer <api key>`.' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: Object.fromEntries(Object.entries(schemas).map(([name, s]) => [name, withRefs(s, byText, name)])),
    },
    paths,
  };
}
