import type { Static } from '@sinclair/typebox';
import { HeraldError, notFound } from '../../errors.js';
import { pageQuery, type ApiContext } from '../context.js';
import type { Router } from '../router.js';
import { EventTypeCreate, EventTypeListQuery, EventTypeOut, EventTypeParams, EventTypePatch, pageOf } from '../schemas.js';
import { eventTypeOut } from '../wire.js';

/** The schema compiles, and every example matches it: a customer reading the catalogue gets payloads that can really arrive. */
function checkExamples(ctx: ApiContext, schema: Record<string, unknown> | null, examples: Array<Record<string, unknown>> | undefined): void {
  if (!schema) return;
  const validate = ctx.publisher.compileSchema(schema);
  (examples ?? []).forEach((example, i) => {
    if (!validate(example)) {
      throw new HeraldError('schema_validation_failed', `examples[${i}] does not match the event type's schema`, {
        errors: (validate.errors ?? []).map((e) => ({ path: e.instancePath || '/', message: e.message ?? 'invalid' })),
      });
    }
  });
}

/** Event types: the catalogue of what an app can publish, optionally with a JSON Schema for `data`. */
export function eventTypeRoutes(r: Router, ctx: ApiContext): void {
  r.add({
    method: 'POST', operationId: 'createEventType', url: '/v1/event-types', tag: 'event-types', summary: 'Create an event type', body: EventTypeCreate,
    response: { status: 201, schema: EventTypeOut },
    handler: async (req, reply) => {
      const b = req.body as Static<typeof EventTypeCreate>;
      checkExamples(ctx, b.schema ?? null, b.examples);
      const t = await ctx.store.createEventType({ name: b.name, description: b.description ?? null, schema: b.schema ?? null, examples: b.examples ?? [] });
      return reply.status(201).send(eventTypeOut(t));
    },
  });
  r.add({
    method: 'GET', operationId: 'listEventTypes', access: 'view', url: '/v1/event-types', tag: 'event-types', summary: 'List event types (archived ones with includeArchived=true)',
    querystring: EventTypeListQuery, response: { status: 200, schema: pageOf(EventTypeOut) },
    handler: async (req) => {
      const page = await ctx.store.listEventTypes({ ...pageQuery(req), includeArchived: req.query.includeArchived === true });
      return { ...page, data: page.data.map(eventTypeOut) };
    },
  });
  r.add({
    method: 'GET', operationId: 'getEventType', access: 'view', url: '/v1/event-types/:name', tag: 'event-types', summary: 'Get an event type', params: EventTypeParams,
    response: { status: 200, schema: EventTypeOut },
    handler: async (req) => {
      const t = await ctx.store.getEventType(req.params.name);
      if (!t) throw notFound('event type', req.params.name);
      return eventTypeOut(t);
    },
  });
  r.add({
    method: 'PATCH', operationId: 'updateEventType', url: '/v1/event-types/:name', tag: 'event-types', summary: 'Update an event type', params: EventTypeParams,
    body: EventTypePatch, response: { status: 200, schema: EventTypeOut },
    handler: async (req) => {
      const b = req.body as Static<typeof EventTypePatch>;
      const current = await ctx.store.getEventType(req.params.name);
      if (!current) throw notFound('event type', req.params.name);
      // A new schema must accept the examples kept, and new examples the schema kept.
      const schema = b.schema !== undefined ? b.schema : current.schema;
      if (b.schema !== undefined || b.examples !== undefined) checkExamples(ctx, schema, b.examples ?? current.examples);
      const t = await ctx.store.updateEventType(req.params.name, b);
      if (!t) throw notFound('event type', req.params.name);
      return eventTypeOut(t);
    },
  });
  r.add({
    method: 'DELETE', operationId: 'archiveEventType', url: '/v1/event-types/:name', tag: 'event-types',
    summary: 'Archive an event type (kept for existing events; hidden from the list)', params: EventTypeParams,
    response: { status: 200, schema: EventTypeOut },
    handler: async (req) => {
      const t = await ctx.store.updateEventType(req.params.name, { archived: true });
      if (!t) throw notFound('event type', req.params.name);
      return eventTypeOut(t);
    },
  });
}
