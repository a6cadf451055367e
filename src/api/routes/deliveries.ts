import type { Static } from '@sinclair/typebox';
import { shownHeaders } from '../../delivery/headers.js';
import { HeraldError, notFound } from '../../errors.js';
import { loadApp, pageQuery, type ApiContext } from '../context.js';
import type { Router } from '../router.js';
import { AppParams, DeliveryDetailOut, DeliveryListQuery, DeliveryOut, DeliveryParams, RetryOut, pageOf } from '../schemas.js';
import { heldReasons } from '../held.js';
import { HIDDEN_VALUE, readsHeaderValues } from '../sessions.js';
import { attemptOut, deliveryOut } from '../wire.js';

/** The delivery log: one delivery per event × endpoint, with every attempt. */
export function deliveryRoutes(r: Router, ctx: ApiContext): void {
  r.add({
    method: 'GET', operationId: 'listDeliveries', access: 'view', url: '/v1/apps/:app/deliveries', tag: 'deliveries', summary: 'List deliveries, newest first',
    params: AppParams, querystring: DeliveryListQuery, response: { status: 200, schema: pageOf(DeliveryOut) },
    handler: async (req) => {
      const app = await loadApp(ctx, req.params.app);
      const page = await ctx.store.listDeliveries(app.id, req.query as Static<typeof DeliveryListQuery>, pageQuery(req));
      const held = await heldReasons(ctx, app.id, page.data);
      return { ...page, data: page.data.map((d) => deliveryOut(d, held(d))) };
    },
  });
  r.add({
    method: 'GET', operationId: 'getDelivery', access: 'view', url: '/v1/apps/:app/deliveries/:id', tag: 'deliveries', summary: 'Get a delivery with its attempts',
    params: DeliveryParams, response: { status: 200, schema: DeliveryDetailOut },
    handler: async (req) => {
      const app = await loadApp(ctx, req.params.app);
      const found = await ctx.store.getDelivery(app.id, req.params.id);
      if (!found) throw notFound('delivery', req.params.id);
      const d = found.delivery;
      const held = await heldReasons(ctx, app.id, [d]);
      const [event, endpoint] = await Promise.all([ctx.store.getEvent(app.id, d.eventId), ctx.store.getEndpoint(app.id, d.endpointId)]);
      let request = null;
      // A source's request is shown by the source's request log, with its raw bytes.
      if (event && endpoint && !app.sourceId) {
        const last = found.attempts.at(-1);
        // What the endpoint's transform made of it, when it ran: that is what was sent.
        const t = await ctx.store.getTransformed(d.id);
        const sent = t ? { ...endpoint, url: t.url, headers: t.headers } : endpoint;
        const claimed = { ...d, oneShot: false, body: t?.body ?? event.body, headers: null, endpoint: sent, profile: app.signatureProfile };
        const headers = shownHeaders(claimed, last?.number ?? 1, Math.floor((last?.startedAt ?? Date.now()) / 1000));
        if (!readsHeaderValues(req)) for (const name of Object.keys(sent.headers)) headers[name] = HIDDEN_VALUE;
        request = { url: sent.url, headers, body: t?.body ?? event.body };
      }
      return { ...deliveryOut(d, held(d)), attempts: found.attempts.map(attemptOut), request };
    },
  });
  r.add({
    method: 'POST', operationId: 'retryDelivery', access: 'send', url: '/v1/apps/:app/deliveries/:id/retry', tag: 'deliveries',
    summary: 'Attempt now; a finished (failed or successful) delivery gets exactly one more attempt',
    params: DeliveryParams, response: { status: 202, schema: RetryOut },
    handler: async (req, reply) => {
      const app = await loadApp(ctx, req.params.app);
      const result = await ctx.store.retryDelivery(app.id, req.params.id, Date.now());
      if (result === 'not_found') throw notFound('delivery', req.params.id);
      if (result === 'in_flight') throw new HeraldError('delivery_in_flight', 'an attempt of this delivery is in flight; retry when it has finished');
      ctx.notifyWorker();
      return reply.status(202).send({ id: req.params.id, status: 'pending' });
    },
  });
}
