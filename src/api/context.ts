
import type { FastifyRequest } from 'fastify';
import type { HeraldConfig } from '../config.js';
import type { AddressPolicy } from '../core/address-policy.js';
import type { OperatorNotifier } from '../ops.js';
import { HeraldError, notFound } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { App, Endpoint, Store } from '../store/types.js';
import type { Publisher } from '../publish/publisher.js';
import type { InboundGateway } from '../inbound/gateway.js';
import type { Poller } from '../inbound/poller.js';
import type { RelayHub } from '../relay/hub.js';

/** What route handlers get: the store seam and a few services, never SQL. */
export interface ApiContext {
  store: Store;
  config: HeraldConfig;
  metrics: Metrics;
  publisher: Publisher;
  /** tells the delivery worker that work may be due now */
  notifyWorker: () => void;
  /** where endpoints may point */
  addressPolicy: AddressPolicy;
  /** the inbound gateway's request path (POST /in/{source}) */
  gateway: InboundGateway;
  /** operational webhooks, when HERALD_OPERATOR_APP is set */
  ops: OperatorNotifier | null;
  /** relay listeners of this process; null without the worker role (nothing would send to them) */
  relay: RelayHub | null;
  /** runs a source's poll on demand (POST /v1/sources/{id}/poll); its timer runs with the worker role only */
  poller: Poller;
}

export async function loadApp(ctx: ApiContext, key: string): Promise<App> {
  const app = await ctx.store.getApp(key);
  if (!app) throw notFound('app', key);
  return app;
}

export async function loadEndpoint(ctx: ApiContext, appKey: string, id: string): Promise<{ app: App; endpoint: Endpoint }> {
  const app = await loadApp(ctx, appKey);
  const endpoint = await ctx.store.getEndpoint(app.id, id);
  if (!endpoint) throw notFound('endpoint', id);
  return { app, endpoint };
}

/**
 * Herald's own base URL, for the links it hands out (sources' ingestUrl, portal links). Never
 * the request's Host header: anyone can send `Host: attacker.example`, and the URL would then
 * be handed to providers or customers. Without HERALD_PUBLIC_URL, the address the request
 * reached (the socket's own, not something the client says).
 */
export function baseUrlOf(ctx: ApiContext, req: FastifyRequest): string {
  if (ctx.config.publicUrl) return ctx.config.publicUrl;
  const local = (req.socket.localAddress ?? ctx.config.host).replace(/^::ffff:(?=\d+\.)/, '');
  return `http://${local.includes(':') ? `[${local}]` : local}:${req.socket.localPort ?? ctx.config.port}`;
}

/** limit/iterator from a validated querystring. */
export function pageQuery(req: { query: any }): { limit: number; iterator?: string } {
  return { limit: req.query.limit ?? 50, iterator: req.query.iterator };
}

export { parseTime } from '../core/time.js';
