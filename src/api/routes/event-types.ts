import type { Static } from '@sinclair/typebox';
import { notFound } from '../../errors.js';
import { pageQuery, type ApiContext } from '../context.js';
import type { Router } from '../router.js';
import { EventTypeCreate, EventTypeListQuery, EventTypeOut, EventTypeParams, EventTypePatch, pageOf } from '../schemas.js';
import { eventTypeOut } from '../wire.js';

/** Event types: the catalogue of what an app can publish, optionally with a JSON Schema for `data`. */
export function eventTypeRoutes(r: Router, ctx: ApiContext): void {
  r.add({
    method: 'POST', operationId: 'createEventType', url: '/v1/event-types', tag: 'event-types', summary: 'Create an event type', body: EventTypeCreate,
    response: { status: 201, schema: EventTypeOut },
    handler: async (req, reply) => {
      const b = req.body as Static<typeof EventTypeCreate>;
      if (b.schema) ctx.publisher.compileSchema(b.schema);
      const t = await ctx.store.createEventType({ name: b.name, description: b.description ?? null, schema: b.schema ?? null });
      return reply.status(201).send(eventTypeOut(t));
    },
  });
  r.add({
    method: 'GET', operationId: 'listEventTypes', url: '/v1/event-types', tag: 'event-types', summary: 'List event types (archived ones with includeArchived=true)',
    querystring: EventTypeListQuery, response: { status: 200, schema: pageOf(EventTypeOut) },
    handler: async (req) => {
      const page = await ctx.store.listEventTypes({ ...pageQuery(req), includeArchived: req.query.includeArchived === true });
      return { ...page, data: page.data.map(eventTypeOut) };
    },
  });
  r.add({
    method: 'GET', operationId: 'getEventType', url: '/v1/event-types/:name', tag: 'event-types', summary: 'Get an event type', params: EventTypeParams,
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
      if (b.schema) ctx.publisher.compileSchema(b.schema);
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
