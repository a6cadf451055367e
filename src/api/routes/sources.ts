import type { FastifyRequest } from 'fastify';
import { isRelay, RELAY_URL } from '../../core/relay.js';
import { generateSecret } from '../../core/signing.js';
import { HeraldError, notFound } from '../../errors.js';
import { newId } from '../../ids.js';
import { DEFAULT_DEDUP_TTL_SECONDS } from '../../inbound/gateway.js';
import { explainRouting, requestDocument, type RequestDocument } from '../../inbound/routing.js';
import { RequestView } from '../../inbound/selectors.js';
import { verificationProblem } from '../../inbound/verification.js';
import { compileFilter } from '../../core/filter.js';
import type { Source, SourceDestination, SourcePatch as StoredPatch, SourceVerification } from '../../store/inbound.js';
import type { Endpoint } from '../../store/types.js';
import { baseUrlOf, pageQuery, parseTime, type ApiContext } from '../context.js';
import type { Router } from '../router.js';
import { checkEndpoint, normaliseHeaders } from './endpoints.js';
import { pollOf, pollStateOut } from './source-poll.js';
import {
  ReplayBody, ReplayOut, RequestDetailOut, RequestListQuery, RequestOut, RequestParams, RoutingTestIn, RoutingTestOut, SourceCreate, SourceListQuery,
  SourceOut, SourceParams, SourcePatch,
  type AppDestinationIn, type HttpDestinationIn,
} from '../source-schemas.js';
import { pageOf } from '../schemas.js';
import { heldReasons } from '../held.js';
import { attemptOut, deliveryOut, requestOut, sourceOut } from '../wire.js';
import type { Static } from '@sinclair/typebox';

const invalid = (message: string, details?: unknown) => new HeraldError('invalid_source', message, details);

/** The verification as stored: secrets kept from `current` when a PATCH changes only options. */
async function verificationOf(v: SourceCreate['verification'], current?: SourceVerification): Promise<SourceVerification> {
  const secrets = v.secrets ?? (current && current.scheme === v.scheme ? current.secrets : []);
  const out = { ...v, secrets } as SourceVerification;
  const problem = await verificationProblem(out);
  if (problem) throw invalid(`verification: ${problem}`);
  return out;
}

const isHttp = (d: HttpDestinationIn | AppDestinationIn): d is HttpDestinationIn => !('app' in d);

/** A relay destination is an endpoint of type relay: what the source forwards reaches `herald listen --source`. */
const endpointFields = (d: HttpDestinationIn) => ({
  url: d.type === 'relay' ? RELAY_URL : d.url!, description: d.description ?? null, headers: normaliseHeaders(d.headers) ?? {},
  retrySchedule: d.retrySchedule ?? null, timeoutMs: d.timeoutMs ?? null, rateLimit: d.rateLimit ?? null,
  maxInFlight: d.maxInFlight ?? null, disableAfterFailures: d.disableAfterFailures ?? null, disableAfterSeconds: d.disableAfterSeconds ?? null,
});

/** The inbound gateway's management API: sources, their request log, and replay. */
export function sourceRoutes(r: Router, ctx: ApiContext): void {
  const baseUrl = (req: FastifyRequest) => baseUrlOf(ctx, req);

  async function loadSource(id: string): Promise<Source> {
    const source = await ctx.store.getSource(id);
    if (!source) throw notFound('source', id);
    return source;
  }

  /** A source as the API shows it, with its polling (configuration without header values, and state). */
  async function sourceWithPoll(source: Source, base: string, secrets?: Map<string, string>) {
    return { ...sourceOut(source, await endpointsOf(source), base, secrets), ...pollStateOut(source, await ctx.store.getPollState(source.id)) };
  }

  async function endpointsOf(source: Source): Promise<Map<string, Endpoint>> {
    const page = await ctx.store.listEndpoints(source.appId, { limit: 250 });
    return new Map(page.data.map((e) => [e.id, e]));
  }

  async function checkApps(list: Array<HttpDestinationIn | AppDestinationIn>): Promise<void> {
    const ids = new Set<string>();
    for (const [i, d] of list.entries()) {
      if (isHttp(d)) {
        checkEndpoint(ctx, d, `destinations[${i}].`);
        if (d.type === 'relay' && d.url !== undefined) throw invalid(`destinations[${i}]: a relay destination has no url`);
        if (!d.id && d.type !== 'relay' && d.url === undefined) throw invalid(`destinations[${i}].url is required (or "type": "relay")`);
        if (d.id && ids.has(d.id)) throw invalid(`destinations[${i}]: destination '${d.id}' is listed twice`);
        if (d.id) ids.add(d.id);
        continue;
      }
      // checkEndpoint compiles an HTTP destination's filter; an app destination's is compiled here (422 invalid_filter, with where).
      if (d.filter) compileFilter(d.filter, `/destinations/${i}/filter`);
      const app = await ctx.store.getApp(d.app);
      if (!app) throw invalid(`destinations[${i}].app '${d.app}' not found`);
      // Its events are that source's requests: it takes no publishes (see Publisher.publish).
      if (app.sourceId) throw invalid(`destinations[${i}].app '${d.app}' is the app of source '${app.sourceId}'`);
    }
  }

  /** Creates, updates and deletes the source's endpoints to match `list`; returns the stored destinations. */
  async function applyDestinations(source: Source, list: Array<HttpDestinationIn | AppDestinationIn>): Promise<{ destinations: SourceDestination[]; secrets: Map<string, string> }> {
    const existing = await endpointsOf(source);
    const keep = new Set(list.flatMap((d) => (isHttp(d) && d.id ? [d.id] : [])));
    for (const id of keep) if (!existing.has(id)) throw invalid(`destination '${id}' is not one of this source's`);
    // A relay destination stays one and an HTTP one stays HTTP: deliveries waiting for a
    // listener would otherwise wait for good (nothing releases them on an HTTP endpoint).
    for (const d of list) {
      if (!isHttp(d) || !d.id) continue;
      const wasRelay = isRelay(existing.get(d.id)!);
      const wantsRelay = d.type === 'relay' || (d.type === undefined && d.url === undefined && wasRelay);
      if (wasRelay !== wantsRelay) throw invalid(`destination '${d.id}' is ${wasRelay ? 'a relay' : 'an HTTP'} destination and stays one: add a new destination instead`);
    }
    const destinations: SourceDestination[] = [];
    const secrets = new Map<string, string>();
    // A kept destination keeps its filter unless the request gives one (null removes it).
    const filters = new Map(source.destinations.flatMap((d) => (d.type === 'http' && d.filter ? [[d.endpointId, d.filter] as const] : [])));
    const withFilter = <T extends SourceDestination>(dest: T, filter: Record<string, unknown> | null | undefined): T => (filter ? { ...dest, filter } : dest);
    for (const d of list) {
      if (!isHttp(d)) {
        destinations.push(withFilter({ type: 'app', app: d.app, eventType: d.eventType }, d.filter));
      } else if (d.id) {
        // A kept destination changes only in what the request gives: `{"id"}` alone keeps it as it is.
        const given = Object.fromEntries(Object.entries(endpointFields(d)).filter(([k]) => (k === 'url' ? d.url !== undefined || d.type === 'relay' : (d as Record<string, unknown>)[k] !== undefined)));
        await ctx.store.updateEndpoint(source.appId, d.id, given, Date.now());
        destinations.push(withFilter({ type: 'http', endpointId: d.id }, d.filter === undefined ? filters.get(d.id) : d.filter));
      } else {
        const ep = await ctx.store.createEndpoint({
          appId: source.appId, ...endpointFields(d), events: null, status: 'active', secret: d.secret ?? generateSecret(), metadata: {},
        });
        secrets.set(ep.id, ep.secret);
        destinations.push(withFilter({ type: 'http', endpointId: ep.id }, d.filter));
      }
    }
    for (const id of existing.keys()) if (!keep.has(id)) await ctx.store.deleteEndpoint(source.appId, id);
    return { destinations, secrets };
  }

  const ordering = (o: SourceCreate['ordering']) => o ? {
    key: o.key, sequence: o.sequence ?? null, gapTimeoutSeconds: o.gapTimeoutSeconds ?? 60, firstSequence: o.firstSequence ?? null,
  } : null;
  const response = (o: SourceCreate['response']) => o ? { status: o.status ?? 202, body: o.body ?? null, contentType: o.contentType ?? null } : null;
  const dedup = (o: SourceCreate['dedup']) => o ? { key: o.key, ttlSeconds: o.ttlSeconds ?? DEFAULT_DEDUP_TTL_SECONDS } : null;

  r.add({
    method: 'POST', operationId: 'createSource', url: '/v1/sources', tag: 'sources',
    summary: 'Create a source: an ingest URL that verifies, deduplicates, orders and forwards webhooks from a provider',
    body: SourceCreate, response: { status: 201, schema: SourceOut },
    handler: async (req, reply) => {
      const b = req.body as SourceCreate;
      const verification = await verificationOf(b.verification);
      await checkApps(b.destinations);
      const created = await ctx.store.createSource({
        id: newId('src'), appId: newId('app'), name: b.name, verification, dedup: dedup(b.dedup), ordering: ordering(b.ordering),
        destinations: [], forwardHeaders: b.forwardHeaders ?? null, rateLimit: b.rateLimit ?? null, response: response(b.response),
        poll: pollOf(ctx, b.poll, null, { verification, dedup: dedup(b.dedup) }),
      });
      try {
        const { destinations, secrets } = await applyDestinations(created, b.destinations);
        const source = (await ctx.store.updateSource(created.id, { destinations }, Date.now()))!;
        return reply.status(201).send(await sourceWithPoll(source, baseUrl(req), secrets));
      } catch (err) {
        await ctx.store.deleteSource(created.id);
        throw err;
      }
    },
  });
  r.add({
    method: 'GET', operationId: 'listSources', url: '/v1/sources', tag: 'sources', summary: 'List sources', querystring: SourceListQuery,
    response: { status: 200, schema: pageOf(SourceOut) },
    handler: async (req) => {
      const page = await ctx.store.listSources(pageQuery(req));
      const data = [];
      for (const s of page.data) data.push(await sourceWithPoll(s, baseUrl(req)));
      return { ...page, data };
    },
  });
  r.add({
    method: 'GET', operationId: 'getSource', url: '/v1/sources/:id', tag: 'sources', summary: 'Get a source', params: SourceParams,
    response: { status: 200, schema: SourceOut },
    handler: async (req) => {
      const source = await loadSource(req.params.id);
      return sourceWithPoll(source, baseUrl(req));
    },
  });
  r.add({
    method: 'PATCH', operationId: 'updateSource', url: '/v1/sources/:id', tag: 'sources',
    summary: 'Update a source; `destinations` replaces the list (give an HTTP destination\'s id to keep it, with its secret and history; its fields not given stay as they are)',
    params: SourceParams, body: SourcePatch, response: { status: 200, schema: SourceOut },
    handler: async (req) => {
      const b = req.body as Static<typeof SourcePatch>;
      const current = await loadSource(req.params.id);
      const patch: StoredPatch = {
        name: b.name, forwardHeaders: b.forwardHeaders, rateLimit: b.rateLimit,
        verification: b.verification ? await verificationOf(b.verification, current.verification) : undefined,
        dedup: b.dedup !== undefined ? dedup(b.dedup) : undefined,
        ordering: b.ordering !== undefined ? ordering(b.ordering) : undefined,
        response: b.response !== undefined ? response(b.response) : undefined,
      };
      // Checked against the source as it will be: a dedup change can make its polling unusable.
      patch.poll = pollOf(ctx, b.poll, current.poll ?? null, {
        verification: patch.verification ?? current.verification, dedup: patch.dedup !== undefined ? patch.dedup : current.dedup,
      });
      let secrets = new Map<string, string>();
      if (b.destinations) {
        await checkApps(b.destinations);
        const applied = await applyDestinations(current, b.destinations);
        patch.destinations = applied.destinations;
        secrets = applied.secrets;
      }
      const source = await ctx.store.updateSource(current.id, patch, Date.now());
      if (!source) throw notFound('source', req.params.id);
      ctx.gateway.invalidate(source.id);
      return sourceWithPoll(source, baseUrl(req), secrets);
    },
  });
  r.add({
    method: 'DELETE', operationId: 'deleteSource', url: '/v1/sources/:id', tag: 'sources', summary: 'Delete a source with its request log and pending forwards',
    params: SourceParams, response: { status: 204 },
    handler: async (req, reply) => {
      if (!(await ctx.store.deleteSource(req.params.id))) throw notFound('source', req.params.id);
      ctx.gateway.invalidate(req.params.id);
      return reply.status(204).send();
    },
  });

  r.add({
    method: 'GET', operationId: 'listSourceRequests', url: '/v1/sources/:id/requests', tag: 'sources',
    summary: 'The request log, newest first: every request received, with its verification outcome and forwarding state',
    params: SourceParams, querystring: RequestListQuery, response: { status: 200, schema: pageOf(RequestOut) },
    handler: async (req) => {
      const source = await loadSource(req.params.id);
      const page = await ctx.store.listRequests(source.id, { ...pageQuery(req), status: req.query.status, via: req.query.via });
      return { ...page, data: page.data.map(requestOut) };
    },
  });
  r.add({
    method: 'GET', operationId: 'getSourceRequest', url: '/v1/sources/:id/requests/:req', tag: 'sources', summary: 'Get a request with its deliveries and their attempts',
    params: RequestParams, response: { status: 200, schema: RequestDetailOut },
    handler: async (req) => {
      const source = await loadSource(req.params.id);
      const request = await ctx.store.getRequest(source.id, req.params.req);
      if (!request) throw notFound('request', req.params.req);
      const deliveries = await ctx.store.listDeliveries(source.appId, { eventId: request.id }, { limit: 50 });
      const held = await heldReasons(ctx, source.appId, deliveries.data);
      const deliveryLog = [];
      for (const d of deliveries.data) {
        const found = await ctx.store.getDelivery(source.appId, d.id);
        if (found) deliveryLog.push({ ...deliveryOut(found.delivery, held(found.delivery)), attempts: found.attempts.map(attemptOut), request: null });
      }
      return { ...requestOut(request), deliveryLog };
    },
  });
  r.add({
    method: 'GET', operationId: 'getSourceRequestBody', url: '/v1/sources/:id/requests/:req/body', tag: 'sources',
    summary: 'The bytes an accepted request carried, exactly as received, with its original content type',
    params: RequestParams, response: { status: 200, description: 'the raw body' },
    handler: async (req, reply) => {
      const source = await loadSource(req.params.id);
      const found = await ctx.store.getRequestBody(source.id, req.params.req);
      if (!found) throw notFound('stored body of request', req.params.req);
      // Someone else's bytes: never rendered or sniffed as a page of this origin.
      return reply.type(found.contentType ?? 'application/octet-stream').header('x-content-type-options', 'nosniff')
        .header('content-disposition', 'attachment').send(found.body);
    },
  });
  r.add({
    method: 'POST', operationId: 'testSourceRouting', url: '/v1/sources/:id/routing/test', tag: 'sources',
    summary: "Which destinations would get this request? Each destination's filter against {headers, body, query} (request) or a logged request (requestId); reasons names the first condition that failed",
    params: SourceParams, body: RoutingTestIn, response: { status: 200, schema: RoutingTestOut },
    handler: async (req) => {
      const b = req.body as Static<typeof RoutingTestIn>;
      if ((b.request === undefined) === (b.requestId === undefined)) throw new HeraldError('validation_failed', 'give exactly one of request ({headers, body, query}) or requestId');
      const source = await loadSource(req.params.id);
      let doc: RequestDocument;
      if (b.request) {
        doc = { headers: b.request.headers ?? {}, body: b.request.body ?? null, query: b.request.query ?? {} };
      } else {
        const logged = await ctx.store.getRequest(source.id, b.requestId!);
        if (!logged) throw notFound('request', b.requestId!);
        const stored = await ctx.store.getRequestBody(source.id, logged.id);
        if (!stored) throw new HeraldError('conflict', `request '${logged.id}' was ${logged.status}: its body was not kept`);
        doc = requestDocument(new RequestView(logged.headers, stored.body, stored.contentType));
      }
      const destinations = explainRouting(source, doc);
      return { routes: [...new Set(destinations.filter((d) => d.matches).map((d) => d.destination))], destinations };
    },
  });
  r.add({
    method: 'POST', operationId: 'replaySourceRequest', url: '/v1/sources/:id/requests/:req/replay', tag: 'sources',
    summary: 'Forward a request again: each of its finished deliveries gets one more attempt',
    params: RequestParams, response: { status: 202, schema: ReplayOut },
    handler: async (req, reply) => {
      const source = await loadSource(req.params.id);
      const request = await ctx.store.getRequest(source.id, req.params.req);
      if (!request) throw notFound('request', req.params.req);
      if (request.status !== 'accepted') throw new HeraldError('conflict', `request '${request.id}' was ${request.status}, never forwarded`);
      const replayed = await ctx.store.replay(source, { requestId: request.id }, Date.now());
      if (replayed > 0) ctx.notifyWorker();
      return reply.status(202).send({ replayed });
    },
  });
  r.add({
    method: 'POST', operationId: 'replaySource', url: '/v1/sources/:id/replay', tag: 'sources',
    summary: 'Forward again the deliveries of requests received in [since, until) that ended in `status` (default failed)',
    params: SourceParams, body: ReplayBody, response: { status: 202, schema: ReplayOut },
    handler: async (req, reply) => {
      const b = req.body as Static<typeof ReplayBody>;
      const source = await loadSource(req.params.id);
      const since = parseTime(b.since, 'since');
      const until = b.until ? parseTime(b.until, 'until') : Date.now() + 1;
      if (until <= since) throw new HeraldError('validation_failed', 'until must be after since');
      const replayed = await ctx.store.replay(source, { since, until, status: b.status ?? 'failed' }, Date.now());
      if (replayed > 0) ctx.notifyWorker();
      return reply.status(202).send({ replayed });
    },
  });
}
