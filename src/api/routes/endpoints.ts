import type { Static } from '@sinclair/typebox';
import { endpointUrlProblem } from '../../core/endpoint-url.js';
import { isRelay, RELAY_URL } from '../../core/relay.js';
import { compileFilter } from '../../core/filter.js';
import { RelayHub, type RelayStatus } from '../../relay/hub.js';
import type { Endpoint } from '../../store/types.js';
import { generateSecret, isValidSecret } from '../../core/signing.js';
import { HeraldError, notFound } from '../../errors.js';
import { isReservedHeader } from '../../delivery/headers.js';
import { loadApp, loadEndpoint, pageQuery, parseTime, type ApiContext } from '../context.js';
import type { Router } from '../router.js';
import {
  DeliveryListQuery, DeliveryOut, EndpointCreate as EndpointCreateSchema, EndpointListQuery, EndpointOut, EndpointParams, EndpointPatch as EndpointPatchSchema,
  RecoverBody, RecoverOut, RotateBody, SecretOut, StatsOut, TestBody, TestOut, pageOf,
} from '../schemas.js';
import { heldReasons } from '../held.js';
import { readsHeaderValues } from '../sessions.js';
import { TimeseriesOut, TimeseriesQuery } from '../portal-schemas.js';
import { deliveryOut, endpointOut, statsOut } from '../wire.js';
import { Type } from '@sinclair/typebox';
import { checkTransform } from './transforms.js';

/** What a header value may hold (no control characters, nothing past ASCII): the rest fails every delivery in undici. */
const SENDABLE = /^[\t\x20-\x7e]*$/;

/**
 * Semantic checks the JSON Schema can't express; 422 with a message that says what to change.
 * `where` names the object in the request (a source's `destinations[2].`, say).
 */
export function checkEndpoint(ctx: ApiContext, b: Partial<EndpointCreate>, where = ''): void {
  if (b.url === RELAY_URL) throw new HeraldError('invalid_endpoint_url', `${where}url: create a relay endpoint with "type": "relay" and no url`);
  if (b.url !== undefined) {
    const problem = endpointUrlProblem(b.url, ctx.addressPolicy);
    if (problem) throw new HeraldError('invalid_endpoint_url', `${where}url ${problem}`, { url: b.url });
  }
  for (const [name, value] of Object.entries(b.headers ?? {})) {
    if (isReservedHeader(name)) throw new HeraldError('invalid_header', `${where}header '${name}' is set by Herald and can't be overridden`);
    if (!SENDABLE.test(value)) {
      throw new HeraldError('invalid_header', `${where}header '${name}' has a value HTTP can't carry: use visible ASCII characters, spaces and tabs (encode anything else, e.g. percent-encoding)`);
    }
  }
  // Compiled here only to refuse what can't run (422 invalid_filter with a JSON pointer); the
  // publisher compiles it again once per endpoint version.
  if (b.filter) compileFilter(b.filter, '/' + `${where}filter`.replace(/\[(\d+)\]\./g, '/$1/').replace(/\./g, '/'));
  if (b.secret !== undefined && !isValidSecret(b.secret)) {
    throw new HeraldError('invalid_secret', `${where}secret must be whsec_ followed by base64 of 24 to 64 bytes`);
  }
}

/**
 * Whether relay endpoints have a listener: in this process (its hub), or in another that
 * reported one within the last three reports (PostgreSQL, several processes).
 */
async function relayStatuses(ctx: ApiContext, endpoints: Endpoint[]): Promise<Map<string, RelayStatus>> {
  const relays = endpoints.filter(isRelay);
  const out = new Map<string, RelayStatus>();
  if (relays.length === 0) return out;
  const now = Date.now();
  const shared = ctx.store.relayStatus ? await ctx.store.relayStatus(relays.map((e) => e.id), now - 3 * RelayHub.REPORT_MS) : new Map();
  for (const e of relays) {
    const local = ctx.relay?.status(e.id);
    const remote = shared.get(e.id);
    const listeners = Math.max(local?.listeners ?? 0, remote?.listeners ?? 0);
    const since = Math.max(local?.since ?? 0, remote?.since ?? 0);
    out.set(e.id, { connected: listeners > 0, listeners, since: since || null });
  }
  return out;
}

async function out(ctx: ApiContext, e: Endpoint, withSecret = false, hideHeaders = false) {
  return endpointOut(e, withSecret, (await relayStatuses(ctx, [e])).get(e.id) ?? null, hideHeaders);
}

/** Header names are case-insensitive: stored lower-case so Herald's own always override. */
export const normaliseHeaders = (h: Record<string, string> | undefined) =>
  h === undefined ? undefined : Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));

/** `{}` filters nothing and `[]` channels limit nothing: both stored as null, so fan-out skips them. */
export const normaliseFilter = (f: Record<string, unknown> | null | undefined) => (f === undefined ? undefined : f === null || Object.keys(f).length === 0 ? null : f);
export const normaliseChannels = (c: string[] | null | undefined) => (c === undefined ? undefined : c === null || c.length === 0 ? null : [...new Set(c)]);

/** "*" means every type; stored as null. An empty list would read as "none" but has always meant "all": refused. */
function normaliseEvents(events: string[] | null | undefined): string[] | null | undefined {
  if (events?.length === 0) throw new HeraldError('validation_failed', 'events must not be empty: list the event types to deliver, or ["*"] (or leave events out) for every type');
  return events === undefined ? undefined : events === null || events.includes('*') ? null : [...new Set(events)];
}

export function endpointRoutes(r: Router, ctx: ApiContext): void {
  const base = '/v1/apps/:app/endpoints';
  r.add({
    method: 'POST', operationId: 'createEndpoint', access: 'manage_endpoints', url: base, tag: 'endpoints', summary: 'Create an endpoint (the secret is returned only here and by GET …/secret)',
    params: Type.Pick(EndpointParams, ['app']), body: EndpointCreateSchema, response: { status: 201, schema: EndpointOut },
    handler: async (req, reply) => {
      const b = req.body as EndpointCreate;
      checkEndpoint(ctx, b);
      if (b.type === 'relay' && b.url !== undefined) throw new HeraldError('invalid_endpoint_url', 'a relay endpoint has no url: its deliveries go to `herald listen`');
      if (b.type !== 'relay' && b.url === undefined) throw new HeraldError('invalid_endpoint_url', 'url is required (or "type": "relay" for an endpoint that `herald listen` receives)');
      const app = await loadApp(ctx, req.params.app);
      const ep = await ctx.store.createEndpoint({
        appId: app.id, url: b.type === 'relay' ? RELAY_URL : b.url!, description: b.description ?? null, events: normaliseEvents(b.events) ?? null,
        filter: normaliseFilter(b.filter) ?? null, channels: normaliseChannels(b.channels) ?? null,
        transform: (await checkTransform(b.transform)) ?? null,
        status: b.status ?? 'active', secret: b.secret ?? generateSecret(), headers: normaliseHeaders(b.headers) ?? {},
        retrySchedule: b.retrySchedule ?? null, timeoutMs: b.timeoutMs ?? null, rateLimit: b.rateLimit ?? null,
        maxInFlight: b.maxInFlight ?? null, disableAfterFailures: b.disableAfterFailures ?? null,
        disableAfterSeconds: b.disableAfterSeconds ?? null, metadata: b.metadata ?? {},
      });
      return reply.status(201).send(await out(ctx, ep, true));
    },
  });
  r.add({
    method: 'GET', operationId: 'listEndpoints', access: 'view', url: base, tag: 'endpoints', summary: 'List endpoints', params: Type.Pick(EndpointParams, ['app']),
    querystring: EndpointListQuery, response: { status: 200, schema: pageOf(EndpointOut) },
    handler: async (req) => {
      const app = await loadApp(ctx, req.params.app);
      const page = await ctx.store.listEndpoints(app.id, { ...pageQuery(req), status: req.query.status });
      const relays = await relayStatuses(ctx, page.data);
      return { ...page, data: page.data.map((e) => endpointOut(e, false, relays.get(e.id) ?? null, !readsHeaderValues(req))) };
    },
  });
  r.add({
    method: 'GET', operationId: 'getEndpoint', access: 'view', url: `${base}/:ep`, tag: 'endpoints', summary: 'Get an endpoint', params: EndpointParams,
    response: { status: 200, schema: EndpointOut },
    handler: async (req) => {
      const { endpoint } = await loadEndpoint(ctx, req.params.app, req.params.ep);
      return out(ctx, endpoint, false, !readsHeaderValues(req));
    },
  });
  r.add({
    method: 'PATCH', operationId: 'updateEndpoint', access: 'manage_endpoints', url: `${base}/:ep`, tag: 'endpoints',
    summary: 'Update an endpoint; status active re-enables it and resumes its pending deliveries',
    params: EndpointParams, body: EndpointPatchSchema, response: { status: 200, schema: EndpointOut },
    handler: async (req) => {
      const b = req.body as EndpointPatch;
      checkEndpoint(ctx, b);
      const { app, endpoint: before } = await loadEndpoint(ctx, req.params.app, req.params.ep);
      if (isRelay(before) && b.url !== undefined) throw new HeraldError('invalid_endpoint_url', 'a relay endpoint has no url; create an http endpoint instead');
      const ep = await ctx.store.updateEndpoint(
        app.id, req.params.ep, {
          ...b, events: normaliseEvents(b.events), filter: normaliseFilter(b.filter), channels: normaliseChannels(b.channels), headers: normaliseHeaders(b.headers),
          transform: await checkTransform(b.transform),
        }, Date.now(),
      );
      if (!ep) throw notFound('endpoint', req.params.ep);
      if (before.status === 'disabled' && ep.status === 'active') {
        ctx.ops?.endpointEnabled(ep);
        ctx.notifyWorker();
      }
      return out(ctx, ep);
    },
  });
  r.add({
    method: 'DELETE', operationId: 'deleteEndpoint', access: 'manage_endpoints', url: `${base}/:ep`, tag: 'endpoints', summary: 'Delete an endpoint and its deliveries',
    params: EndpointParams, response: { status: 204 },
    handler: async (req, reply) => {
      const { app } = await loadEndpoint(ctx, req.params.app, req.params.ep);
      await ctx.store.deleteEndpoint(app.id, req.params.ep);
      return reply.status(204).send();
    },
  });
  r.add({
    method: 'GET', operationId: 'getEndpointSecret', access: 'reveal_secrets', url: `${base}/:ep/secret`, tag: 'endpoints', summary: 'Get the signing secret', params: EndpointParams,
    response: { status: 200, schema: SecretOut },
    handler: async (req) => ({ secret: (await loadEndpoint(ctx, req.params.app, req.params.ep)).endpoint.secret }),
  });
  r.add({
    method: 'POST', operationId: 'rotateEndpointSecret', access: 'rotate_secrets', url: `${base}/:ep/secret/rotate`, tag: 'endpoints',
    summary: 'Rotate the signing secret; the old one keeps signing alongside for graceSeconds (default 24 h)',
    params: EndpointParams, body: RotateBody, response: { status: 200, schema: SecretOut },
    handler: async (req) => {
      const b = req.body as Static<typeof RotateBody>;
      if (b.secret !== undefined && !isValidSecret(b.secret)) {
        throw new HeraldError('invalid_secret', 'secret must be whsec_ followed by base64 of 24 to 64 bytes');
      }
      const { app } = await loadEndpoint(ctx, req.params.app, req.params.ep);
      const now = Date.now();
      const secret = b.secret ?? generateSecret();
      const ep = await ctx.store.rotateSecret(app.id, req.params.ep, secret, now + (b.graceSeconds ?? 86_400) * 1000, now);
      if (!ep) throw notFound('endpoint', req.params.ep);
      return { secret: ep.secret };
    },
  });
  r.add({
    method: 'POST', operationId: 'sendTestEvent', access: 'send', url: `${base}/:ep/test`, tag: 'endpoints', summary: 'Send a test event to this endpoint only: webhook.test, or an event type with its example or the data given',
    params: EndpointParams, body: Type.Optional(TestBody), response: { status: 202, schema: TestOut },
    handler: async (req, reply) => {
      const { app, endpoint } = await loadEndpoint(ctx, req.params.app, req.params.ep);
      // It would wait, held back with the endpoint's other deliveries, and look like a test that never ran.
      if (endpoint.status !== 'active') throw new HeraldError('conflict', `endpoint '${endpoint.id}' is disabled: enable it (PATCH status active) to send a test`, { status: endpoint.status, disabledReason: endpoint.disabledReason });
      const result = await ctx.publisher.sendTest(app, endpoint, (req.body ?? {}) as Static<typeof TestBody>);
      return reply.status(202).send({ eventId: result.event.id, deliveryId: result.deliveryIds[0] });
    },
  });
  r.add({
    method: 'POST', operationId: 'recoverEndpoint', access: 'send', url: `${base}/:ep/recover`, tag: 'endpoints',
    summary: 'Re-send every failed delivery of this endpoint created in [since, until)', params: EndpointParams,
    body: RecoverBody, response: { status: 202, schema: RecoverOut },
    handler: async (req, reply) => {
      const b = req.body as Static<typeof RecoverBody>;
      const now = Date.now();
      const since = parseTime(b.since, 'since');
      const until = b.until ? parseTime(b.until, 'until') : now + 1;
      if (until <= since) throw new HeraldError('validation_failed', 'until must be after since');
      const { endpoint } = await loadEndpoint(ctx, req.params.app, req.params.ep);
      const requeued = await ctx.store.recoverEndpoint(endpoint.id, since, until, now);
      if (requeued > 0) ctx.notifyWorker();
      return reply.status(202).send({ requeued });
    },
  });
  r.add({
    method: 'GET', operationId: 'getEndpointStats', access: 'view', url: `${base}/:ep/stats`, tag: 'endpoints', summary: "This endpoint's last 24 h: attempts by outcome, success rate, response times; deliveries waiting now; consecutive failures",
    params: EndpointParams, response: { status: 200, schema: StatsOut },
    handler: async (req) => {
      const { endpoint } = await loadEndpoint(ctx, req.params.app, req.params.ep);
      return statsOut(await ctx.store.endpointStats(endpoint.id, Date.now()));
    },
  });
  r.add({
    method: 'GET', operationId: 'getEndpointTimeseries', access: 'view', url: `${base}/:ep/stats/timeseries`, tag: 'endpoints',
    summary: "This endpoint's attempts over time: per bucket, succeeded and failed counts with p50/p95 response times (default: the last 24 h by minute)",
    params: EndpointParams, querystring: TimeseriesQuery, response: { status: 200, schema: TimeseriesOut },
    handler: async (req) => {
      const q = req.query as Static<typeof TimeseriesQuery>;
      const bucketSeconds = q.bucketSeconds ?? 60;
      const until = q.until ? parseTime(q.until, 'until') : Date.now();
      const bucketMs = bucketSeconds * 1000;
      // By default the day before `until`, from a bucket boundary: points fall on whole minutes (or buckets).
      const since = q.since ? parseTime(q.since, 'since') : Math.floor((until - 86_400_000) / bucketMs) * bucketMs;
      if (until <= since) throw new HeraldError('validation_failed', 'until must be after since');
      // A chart has a few thousand points at most; more is a mistake (a week by the second).
      if ((until - since) / bucketMs > 10_000) {
        throw new HeraldError('validation_failed', 'at most 10,000 buckets: widen bucketSeconds or narrow since/until', { buckets: Math.ceil((until - since) / bucketMs) });
      }
      const { endpoint } = await loadEndpoint(ctx, req.params.app, req.params.ep);
      const points = await ctx.store.endpointSeries(endpoint.id, since, until, bucketMs);
      return {
        bucketSeconds, since: new Date(since).toISOString(), until: new Date(until).toISOString(),
        points: points.map((p) => ({ t: new Date(p.start).toISOString(), succeeded: p.succeeded, failed: p.failed, p50Ms: p.p50Ms, p95Ms: p.p95Ms })),
      };
    },
  });
  r.add({
    method: 'GET', operationId: 'listEndpointDeliveries', access: 'view', url: `${base}/:ep/deliveries`, tag: 'deliveries', summary: "List this endpoint's deliveries, newest first",
    params: EndpointParams, querystring: Type.Omit(DeliveryListQuery, ['endpointId']),
    response: { status: 200, schema: pageOf(DeliveryOut) },
    handler: async (req) => {
      const { app, endpoint } = await loadEndpoint(ctx, req.params.app, req.params.ep);
      const q = req.query as Static<typeof DeliveryListQuery>;
      const page = await ctx.store.listDeliveries(app.id, { ...q, endpointId: endpoint.id }, pageQuery(req));
      const held = await heldReasons(ctx, app.id, page.data);
      return { ...page, data: page.data.map((d) => deliveryOut(d, held(d))) };
    },
  });
}

type EndpointCreate = Static<typeof EndpointCreateSchema>;
type EndpointPatch = Static<typeof EndpointPatchSchema>;
