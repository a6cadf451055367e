import type { TSchema } from '@sinclair/typebox';
import { VERSION } from '../version.js';
import type { RouteSpec } from './router.js';
import { ErrorBody } from './schemas.js';

/** TypeBox adds symbol-keyed metadata; JSON round-trip leaves plain JSON Schema. */
const plain = (s: TSchema): unknown => JSON.parse(JSON.stringify(s));

function parameters(spec: RouteSpec): unknown[] {
  const out: unknown[] = [];
  for (const [where, schema] of [['path', spec.params], ['query', spec.querystring]] as const) {
    const props = (schema as { properties?: Record<string, TSchema> } | undefined)?.properties ?? {};
    const required = new Set((schema as { required?: string[] } | undefined)?.required ?? []);
    for (const [name, s] of Object.entries(props)) {
      out.push({ name, in: where, required: where === 'path' || required.has(name), schema: plain(s) });
    }
  }
  return out;
}

/** OpenAPI 3.1 document for the declared routes. */
export function openApiDocument(specs: RouteSpec[]): unknown {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of specs) {
    const path = spec.url.replace(/:([A-Za-z]+)/g, '{$1}');
    const errors = { description: 'Error', content: { 'application/json': { schema: plain(ErrorBody) } } };
    paths[path] ??= {};
    paths[path][spec.method.toLowerCase()] = {
      operationId: spec.operationId,
      summary: spec.summary,
      tags: [spec.tag],
      security: spec.auth === false ? [] : [{ bearer: [] }],
      parameters: parameters(spec),
      ...(spec.body ? { requestBody: { required: true, content: { 'application/json': { schema: plain(spec.body) } } } } : {}),
      responses: {
        [spec.response.status]: {
          description: spec.response.description ?? 'OK',
          ...(spec.response.schema ? { content: { 'application/json': { schema: plain(spec.response.schema) } } } : {}),
        },
        '4XX': errors,
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Herald API', version: VERSION, description: 'Self-hostable webhook delivery. All /v1 routes need `Authorization: Bearer <api key>`.' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths,
  };
}
