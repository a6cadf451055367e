import type { Static } from '@sinclair/typebox';
import { compileFilter, type FilterReason } from '../../core/filter.js';
import { subscribes } from '../../core/match.js';
import { HeraldError, notFound } from '../../errors.js';
import type { Endpoint, StoredEvent } from '../../store/types.js';
import { loadEndpoint, type ApiContext } from '../context.js';
import { sharesChannel, type FilterEnvelope } from '../../publish/publisher.js';
import type { Router } from '../router.js';
import { EndpointFilterTestIn, EndpointParams, FilterTestIn, FilterTestOut } from '../schemas.js';

/** A stored event as its endpoints' filters saw it at fan-out. */
function envelopeOf(e: StoredEvent): FilterEnvelope {
  const body = e.body === '' ? null : (JSON.parse(e.body) as { data: unknown });
  return { id: e.id, type: e.type, timestamp: new Date(e.timestamp).toISOString(), data: body?.data ?? null, channels: e.channels };
}

/** Why an endpoint would (not) get an event: event types, then channels, then its filter, as fan-out decides. */
function explainEndpoint(ctx: ApiContext, ep: Endpoint, event: Record<string, unknown>): { matches: boolean; reasons: FilterReason[] } {
  const type = typeof event.type === 'string' ? event.type : '';
  if (!subscribes(ep.events, type)) {
    return { matches: false, reasons: [{ path: '/events', field: 'type', operator: 'events', expected: ep.events, actual: [type], message: `the endpoint is not subscribed to '${type}'` }] };
  }
  const channels = Array.isArray(event.channels) ? (event.channels as string[]) : [];
  if (!sharesChannel(ep.channels, channels)) {
    return { matches: false, reasons: [{ path: '/channels', field: 'channels', operator: 'channels', expected: ep.channels, actual: channels, message: 'the event shares none of the endpoint\'s channels' }] };
  }
  if (!ep.filter) return { matches: true, reasons: [] };
  return ctx.publisher.filterOf(ep).explain({ ...event, channels });
}

export function filterRoutes(r: Router, ctx: ApiContext): void {
  r.add({
    method: 'POST', operationId: 'testEndpointFilter', access: 'view', url: '/v1/apps/:app/endpoints/:ep/filter/test', tag: 'endpoints',
    summary: "Would this endpoint get the event? Its event types, channels and filter against an envelope (event) or a stored event (eventId); reasons names the first condition that failed",
    params: EndpointParams, body: EndpointFilterTestIn, response: { status: 200, schema: FilterTestOut },
    handler: async (req) => {
      const b = req.body as Static<typeof EndpointFilterTestIn>;
      if ((b.event === undefined) === (b.eventId === undefined)) throw new HeraldError('validation_failed', 'give exactly one of event (an envelope) or eventId (a stored event)');
      const { app, endpoint } = await loadEndpoint(ctx, req.params.app, req.params.ep);
      let event = b.event as Record<string, unknown> | undefined;
      if (b.eventId !== undefined) {
        const stored = await ctx.store.getEvent(app.id, b.eventId);
        if (!stored) throw notFound('event', b.eventId);
        event = envelopeOf(stored) as unknown as Record<string, unknown>;
      }
      return explainEndpoint(ctx, endpoint, event!);
    },
  });
  r.add({
    method: 'POST', operationId: 'testFilter', access: 'session', url: '/v1/filters/test', tag: 'endpoints',
    summary: 'Match a filter not yet saved against an envelope (the filter editor): {matches, reasons}; 422 invalid_filter says what is wrong where',
    body: FilterTestIn, response: { status: 200, schema: FilterTestOut },
    handler: async (req) => {
      const b = req.body as Static<typeof FilterTestIn>;
      return compileFilter(b.filter).explain(b.event);
    },
  });
}
