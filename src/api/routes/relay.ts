import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isRelay } from '../../core/relay.js';
import { HeraldError } from '../../errors.js';
import { RELAY_SUBPROTOCOL } from '../../relay/protocol.js';
import type { Endpoint } from '../../store/types.js';
import { loadEndpoint, type ApiContext } from '../context.js';
import type { Router } from '../router.js';
import { EndpointParams } from '../schemas.js';

/** A listener's frames are responses (4 KiB of body at most, plus headers): 1 MiB is plenty. */
const MAX_FRAME = 1024 * 1024;

/**
 * GET /v1/apps/{app}/endpoints/{ep}/relay: the WebSocket `herald listen` opens to receive a
 * relay endpoint's deliveries (protocol in relay/protocol.ts). The API key is checked by the
 * same onRequest hook as every route, and the endpoint is looked up within the app in the
 * path, before the upgrade: a listener can only ever attach to its own app's relay endpoints.
 */
export function relayRoutes(fastify: FastifyInstance, ctx: ApiContext, specs: Router['specs']): void {
  fastify.register(async (child) => {
    await child.register(websocket, { options: { maxPayload: MAX_FRAME } });
    child.route({
      method: 'GET', url: '/v1/apps/:app/endpoints/:ep/relay', websocket: true,
      schema: { params: EndpointParams },
      config: { auth: true, rateLimited: true },
      preHandler: async (req: FastifyRequest & { params: any }) => {
        const { endpoint } = await loadEndpoint(ctx, req.params.app, req.params.ep);
        if (!isRelay(endpoint)) throw new HeraldError('conflict', `endpoint '${endpoint.id}' delivers over HTTP; listen on an endpoint of type relay`);
        if (!ctx.relay) throw new HeraldError('unavailable', 'this Herald process does not deliver (--api-only); connect to one that runs the worker');
        (req as { endpoint?: Endpoint }).endpoint = endpoint;
      },
      handler: (socket, req) => {
        const endpoint = (req as { endpoint?: Endpoint }).endpoint!;
        ctx.relay!.attach(socket, { type: 'start', endpointId: endpoint.id, appId: endpoint.appId, events: endpoint.events ?? ['*'] });
      },
    });
  });
  specs.push({
    method: 'GET', operationId: 'connectRelay', url: '/v1/apps/:app/endpoints/:ep/relay', tag: 'endpoints',
    summary: `WebSocket (subprotocol ${RELAY_SUBPROTOCOL}) that receives a relay endpoint's deliveries and answers each with the local server's response; used by \`herald listen\`. Both sides ping every HERALD_RELAY_PING_MS (10 s).`,
    params: EndpointParams, response: { status: 101, description: 'Switching Protocols' },
    handler: async () => undefined,
  });
}
