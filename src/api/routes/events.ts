import type { Static } from '@sinclair/typebox';
import { HeraldError, notFound } from '../../errors.js';
import { loadApp, pageQuery, type ApiContext } from '../context.js';
import type { Router } from '../router.js';
import { AppParams, BatchPublishOut, EventBatchIn, EventIn, EventDetailOut, EventListQuery, EventOut, EventParams, PublishOut, pageOf } from '../schemas.js';
import { eventOut, publishOut } from '../wire.js';

function idempotencyKey(header: string | string[] | undefined): string | undefined {
  const key = Array.isArray(header) ? header[0] : header;
  if (key === undefined) return undefined;
  if (key.length === 0 || key.length > 256) throw new HeraldError('validation_failed', 'Idempotency-Key must be 1 to 256 characters');
  return key;
}

/** Publishing and the polling feed. */
export function eventRoutes(r: Router, ctx: ApiContext): void {
  r.add({
    method: 'POST', operationId: 'publishEvent', url: '/v1/apps/:app/events', tag: 'events',
    summary: 'Publish an event: 202 once it and its deliveries are committed; 200 with the original for a repeated id or Idempotency-Key',
    params: AppParams, body: EventIn, response: { status: 202, schema: PublishOut }, rateLimited: false,
    handler: async (req, reply) => {
      const app = await loadApp(ctx, req.params.app);
      const [result] = await ctx.publisher.publish(app, [req.body as Static<typeof EventIn>], idempotencyKey(req.headers['idempotency-key']));
      return reply.status(result.created ? 202 : 200).send(publishOut(result.event));
    },
  });
  r.add({
    method: 'POST', operationId: 'publishEvents', url: '/v1/apps/:app/events/batch', tag: 'events',
    summary: 'Publish up to 1,000 events in one transaction', params: AppParams, body: EventBatchIn,
    bodyLimit: ctx.config.maxBatchBytes, rateLimited: false,
    response: { status: 202, schema: BatchPublishOut },
    handler: async (req, reply) => {
      const app = await loadApp(ctx, req.params.app);
      const { events } = req.body as Static<typeof EventBatchIn>;
      const results = await ctx.publisher.publish(app, events, idempotencyKey(req.headers['idempotency-key']));
      return reply.status(202).send({ data: results.map((r) => ({ ...publishOut(r.event), duplicate: !r.created })) });
    },
  });
  r.add({
    method: 'GET', operationId: 'listEvents', access: 'view', url: '/v1/apps/:app/events', tag: 'events',
    summary: 'Events in sequence order; poll from the last iterator to catch up on anything missed',
    params: AppParams, querystring: EventListQuery, response: { status: 200, schema: pageOf(EventOut) },
    handler: async (req) => {
      const app = await loadApp(ctx, req.params.app);
      const page = await ctx.store.listEvents(app.id, { ...pageQuery(req), type: req.query.type });
      return { ...page, data: page.data.map(eventOut) };
    },
  });
  r.add({
    method: 'GET', operationId: 'getEvent', access: 'view', url: '/v1/apps/:app/events/:id', tag: 'events', summary: 'Get an event', params: EventParams,
    response: { status: 200, schema: EventDetailOut },
    handler: async (req) => {
      const app = await loadApp(ctx, req.params.app);
      const e = await ctx.store.getEvent(app.id, req.params.id);
      if (!e) throw notFound('event', req.params.id);
      // Its deliveries name the endpoints it was fanned out to (at most the app's endpoints, one each).
      const endpointIds = new Set<string>();
      for (let iterator: string | undefined, n = 0; n < 20; n++) {
        const page = await ctx.store.listDeliveries(app.id, { eventId: e.id }, { limit: 250, iterator });
        for (const d of page.data) endpointIds.add(d.endpointId);
        if (page.done || !page.iterator) break;
        iterator = page.iterator;
      }
      return { ...eventOut(e), endpointIds: [...endpointIds].sort() };
    },
  });
}
