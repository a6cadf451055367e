import type { Static } from '@sinclair/typebox';
import { runTransform } from '../../delivery/transform.js';
import { HeraldError, notFound } from '../../errors.js';
import { sharedSandbox } from '../../transform/sandbox.js';
import { loadEndpoint, type ApiContext } from '../context.js';
import { TransformTestIn, TransformTestOut } from '../payload-schemas.js';
import type { Router } from '../router.js';
import { EndpointParams } from '../schemas.js';

/**
 * A transform is compiled in the sandbox when saved: one that doesn't compile, or doesn't
 * define `transform`, is refused (422 invalid_transform with the engine's message and line)
 * instead of failing every delivery. `''` is stored as null (no transform).
 */
export async function checkTransform(source: string | null | undefined): Promise<string | null | undefined> {
  if (source === undefined || source === null) return source;
  if (source.trim() === '') return null;
  const problem = await sharedSandbox().check(source);
  if (problem) throw new HeraldError('invalid_transform', `transform: ${problem}`, { path: '/transform' });
  return source;
}

export function transformRoutes(r: Router, ctx: ApiContext): void {
  r.add({
    method: 'POST', operationId: 'testEndpointTransform', access: 'manage_endpoints', url: '/v1/apps/:app/endpoints/:ep/transform/test', tag: 'endpoints',
    summary: "What the endpoint would be sent for an event: its transform (or one given here) run over the body as delivered (event) or a stored event's (eventId); 422 transform_failed with the transform's error",
    params: EndpointParams, body: TransformTestIn, response: { status: 200, schema: TransformTestOut },
    handler: async (req) => {
      const b = req.body as Static<typeof TransformTestIn>;
      if ((b.event === undefined) === (b.eventId === undefined)) throw new HeraldError('validation_failed', 'give exactly one of event (a body as delivered) or eventId (a stored event)');
      const { app, endpoint } = await loadEndpoint(ctx, req.params.app, req.params.ep);
      let body: string;
      let type: string;
      if (b.eventId !== undefined) {
        const stored = await ctx.store.getEvent(app.id, b.eventId);
        if (!stored || stored.body === '') throw notFound('event', b.eventId);
        body = stored.body;
        type = b.type ?? stored.type;
      } else {
        body = JSON.stringify(b.event);
        const named = (b.event as Record<string, unknown> | null)?.[app.envelopeProfile?.fields.type ?? 'type'];
        type = b.type ?? (typeof named === 'string' ? named : 'webhook.test');
      }
      const source = b.transform !== undefined ? await checkTransform(b.transform) : endpoint.transform;
      if (!source) return { skip: false, request: { url: endpoint.url, headers: endpoint.headers, body } };
      const out = await runTransform(sharedSandbox(), source, endpoint, type, body);
      if (out.kind === 'failed') throw new HeraldError('transform_failed', `the transform failed: ${out.error}`, { error: out.error });
      return out.kind === 'skip' ? { skip: true, request: null } : { skip: false, request: out.request };
    },
  });
}
