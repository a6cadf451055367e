import type { Logger } from 'pino';
import { TokenBucket } from '../core/token-bucket.js';
import { HeraldError, notFound } from '../errors.js';
import { newId } from '../ids.js';
import type { Metrics } from '../metrics.js';
import { WebhookVerificationError } from '../sdk/receiver/errors.js';
import { headerLookup } from '../sdk/receiver/headers.js';
import type { Handoff } from '../publish/publisher.js';
import type { IngestResult, InboundRequest, Source } from '../store/inbound.js';
import { httpDestinationIds } from '../store/rows.js';
import type { ClaimedDelivery, Store } from '../store/types.js';
import { forwardedHeaders, loggedHeaders } from './headers.js';
import { requestDocument, SourceRouter, type QueryValues } from './routing.js';
import { RequestView } from './selectors.js';
import { createVerifier, type Verifier } from './verification.js';

export const DEFAULT_DEDUP_TTL_SECONDS = 48 * 3600;

/**
 * What a request is deduplicated on. A scheme that signs no timestamp (GitHub, Shopify, an
 * hmac without {timestamp}) accepts a captured request again at any later time, and the
 * delivery-id header it sends isn't signed either: an attacker replays the body with a fresh
 * id. For those the hash of the verified body is the key, for the configured window (48 h
 * when there is no dedup), unless the configured key is taken from the body itself.
 * Timestamped schemes refuse replays past their tolerance and keep the configured dedup.
 */
function dedupOf(source: Source, scheme: string, signedTimestamp: boolean, view: RequestView): { dedupKey: string | null; dedupTtlMs: number } {
  const configured = source.dedup;
  const ttlMs = (configured?.ttlSeconds ?? DEFAULT_DEDUP_TTL_SECONDS) * 1000;
  const signed = (key: string) => key === 'hash' || key.startsWith('body:');
  if (signedTimestamp || scheme === 'none' || (configured && signed(configured.key))) {
    return { dedupKey: configured ? view.selectKey(configured.key) : null, dedupTtlMs: ttlMs };
  }
  return { dedupKey: view.selectKey('hash'), dedupTtlMs: ttlMs };
}

export interface IngestRequest {
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** the ingest URL's query parameters (destination filters may test them) */
  query?: QueryValues;
}

export interface IngestResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

interface Loaded {
  source: Source;
  verifier: Verifier;
  /** HTTP destinations (their state is read at commit: see InboundInput.endpointIds) */
  endpointIds: string[];
  /** the destinations' filters compiled; null when none has one */
  router: SourceRouter | null;
  bucket: TokenBucket | null;
  /** rejected requests are logged one by one up to this rate; past it they are only counted */
  rejections: TokenBucket;
  loadedAt: number;
}

/** Rejected requests logged per source and second at most (a burst as large): a flood of forgeries costs no more writes. */
const REJECTION_LOG_RATE = 50;

/** A gateway process that took none of a source's requests for this long no longer shares its rate limit. */
const PRESENCE_TTL_MS = 5000;

/**
 * The inbound gateway's request path: rate limit, verify the signature, find the dedup,
 * ordering and sequence keys, and commit the request (with its deliveries) in one
 * transaction. The answer goes out only after that commit and never waits for forwarding:
 * an acknowledged request survives any crash, and a slow destination can't make the
 * provider time out and retry.
 */
export class InboundGateway {
  /** Sources with their verifier and destination endpoints, kept for a second (other processes may change them). */
  private readonly cache = new Map<string, Loaded>();
  private readonly loading = new Map<string, Promise<Loaded | null>>();
  /** per source: its rate-limit bucket, the gateway processes it is shared with, and the rejected-request log's bucket */
  private readonly limits = new Map<string, { rate: TokenBucket | null; peers: number; rejections: TokenBucket }>();
  /** edits through this process so far: a load that began before one doesn't cache what it read */
  private edits = 0;
  /** this process, as counted among a source's gateways */
  readonly processId = newId('gwy');

  constructor(
    private readonly store: Store,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    /** the delivery worker of this process, which takes fresh deliveries straight from the commit */
    private readonly worker: Handoff | null,
    /** a request was accepted: wake the delivery worker (`claim`: some deliveries are not handed off) and app forwarder */
    private readonly onAccepted: (source: Source, claim: boolean) => void,
    private readonly cacheMs = 1000,
  ) {}

  /** Forgets a source's cached configuration (it was changed or deleted through this process). */
  invalidate(id: string): void {
    this.cache.delete(id);
    this.loading.delete(id);
    this.edits++;
  }

  /**
   * The source as the request path needs it. One load at a time per source: concurrent
   * requests to a cold entry wait for the same load rather than each building its own (with
   * its own full rate-limit bucket). An entry up to twice the cache time old keeps answering
   * while it is reloaded, so under steady traffic the reload's round trips never sit on the
   * request path; an older one (a quiet source) is waited for, so a change made through
   * another process, a rotated secret say, never goes unseen for longer than that.
   */
  private load(id: string, now: number): Loaded | null | Promise<Loaded | null> {
    let cached = this.cache.get(id);
    if (cached && now - cached.loadedAt < this.cacheMs) return cached;
    if (cached && now - cached.loadedAt >= 2 * this.cacheMs) cached = undefined;
    let loading = this.loading.get(id);
    if (!loading) {
      const started: Promise<Loaded | null> = this.fetch(id, now).finally(() => {
        if (this.loading.get(id) === started) this.loading.delete(id);
      });
      loading = started;
      this.loading.set(id, loading);
      if (cached) loading.catch((err) => this.logger.warn({ err, sourceId: id }, 'reloading a source failed; its last configuration stays'));
    }
    return cached ?? loading;
  }

  private async fetch(id: string, now: number): Promise<Loaded | null> {
    const edits = this.edits;
    const source = await this.store.getSource(id);
    if (!source) {
      this.cache.delete(id);
      this.limits.delete(id);
      return null;
    }
    // The buckets outlive reloads and edits; the rate limit's is resized when the limit or the
    // number of processes sharing it changes.
    let limits = this.limits.get(id);
    if (!limits) {
      if (this.limits.size > 10_000) this.limits.clear();
      limits = { rate: null, peers: 1, rejections: new TokenBucket(REJECTION_LOG_RATE, REJECTION_LOG_RATE, now) };
      this.limits.set(id, limits);
    }
    const peers = source.rateLimit === null ? 1 : await this.peers(id, limits.peers, now);
    // A load that began before an edit leaves the buckets to the loads after it.
    if (edits === this.edits) {
      limits.peers = peers;
      if (source.rateLimit === null) limits.rate = null;
      else {
        const perSecond = source.rateLimit / peers;
        const capacity = Math.max(1, perSecond);
        if (!limits.rate) limits.rate = new TokenBucket(perSecond, capacity, now);
        else if (limits.rate.perSecond !== perSecond) limits.rate = limits.rate.resized(perSecond, capacity, now);
      }
    }
    const loaded: Loaded = {
      source, verifier: createVerifier(source.verification), bucket: limits.rate, rejections: limits.rejections, loadedAt: now,
      // Every HTTP destination, disabled ones included (held for, not dropped): the store
      // reads their state in the request's transaction.
      endpointIds: httpDestinationIds(source),
      router: SourceRouter.of(source),
    };
    if (this.cache.size > 10_000) this.cache.clear();
    if (edits === this.edits) this.cache.set(id, loaded);
    return loaded;
  }

  /**
   * How many gateway processes take this source's requests, this one included: each enforces
   * its share of the rate limit. Refreshed with every reload (about once a second while
   * requests come in); a process that got none for PRESENCE_TTL_MS stops counting.
   */
  private async peers(sourceId: string, last: number, now: number): Promise<number> {
    try {
      const n = (await this.store.gatewayPresence(this.processId, [sourceId], now, PRESENCE_TTL_MS)).get(sourceId);
      return Math.max(1, n ?? 1);
    } catch (err) {
      this.logger.warn({ err, sourceId }, 'counting the gateway processes of a source failed; keeping the last count');
      return last;
    }
  }

  async handle(sourceId: string, req: IngestRequest): Promise<IngestResponse> {
    const receivedAt = Date.now();
    const loaded = await this.load(sourceId, receivedAt);
    if (!loaded) throw notFound('source', sourceId);
    const { source, verifier } = loaded;

    const wait = loaded.bucket?.take(receivedAt) ?? 0;
    if (wait > 0) {
      this.metrics.inboundRequests.labels('rate_limited').inc();
      const retryAfter = Math.max(1, Math.ceil(wait));
      const err = new HeraldError('rate_limited', `source accepts at most ${source.rateLimit} requests per second; retry after ${retryAfter} s`);
      return json(err.status, err.toJSON(), { 'retry-after': String(retryAfter) });
    }

    const headers = flatten(req.headers);
    const contentType = headers['content-type'] ?? null;
    const view = new RequestView(headers, req.body, contentType);
    const id = newId('req', receivedAt);
    let signedTimestamp = false;
    try {
      const verified = await verifier.verify(req.body, headerLookup(headers), Math.floor(receivedAt / 1000));
      view.schemeId = () => verified.id ?? verifier.idFromEvent(view.json());
      signedTimestamp = verified.timestamp !== undefined;
    } catch (err) {
      if (!(err instanceof WebhookVerificationError)) throw err;
      this.metrics.inboundRequests.labels('rejected').inc();
      if (loaded.rejections.take(receivedAt) === 0) {
        await this.store.recordRejected(source.id, {
          id, receivedAt, loggedHeaders: loggedHeaders(headers), contentType, bodySize: req.body.length, reason: err.code, detail: err.message,
        }).catch((logErr: unknown) => {
          // The answer is 401 all the same (a source deleted meanwhile can't log it, say).
          this.logger.warn({ err: logErr, sourceId: source.id }, 'could not record a rejected request');
        });
      }
      const rejected = new HeraldError('verification_failed', err.message, { reason: err.code, requestId: id });
      return json(rejected.status, rejected.toJSON());
    }

    // Slack checks a new Events API URL with a signed challenge it wants echoed.
    if (source.verification.scheme === 'slack') {
      const body = view.json() as { type?: unknown; challenge?: unknown } | undefined;
      if (body?.type === 'url_verification' && typeof body.challenge === 'string') return json(200, { challenge: body.challenge });
    }

    const ordering = source.ordering;
    const orderingKey = ordering ? view.selectKey(ordering.key) : null;
    const forward = forwardedHeaders(headers, source.forwardHeaders);
    // Decided once, here, and stored with the request (see routing.ts).
    const routing = loaded.router?.route(requestDocument(view, req.query)) ?? null;
    const endpointIds = routing?.endpointIds ?? loaded.endpointIds;
    const lease = endpointIds.length > 0 ? this.worker?.reserve(endpointIds.length) ?? null : null;
    let result: IngestResult;
    try {
      result = await this.store.ingest(source, {
        id, receivedAt, contentType, body: req.body,
        loggedHeaders: loggedHeaders(headers),
        forwardHeaders: forward,
        ...dedupOf(source, verifier.scheme, signedTimestamp, view),
        orderingKey,
        sequence: ordering?.sequence && orderingKey !== null ? view.selectInteger(ordering.sequence) : null,
        // All of them (successors this request releases go to theirs), narrowed by routes.
        endpointIds: loaded.endpointIds,
        routes: routing?.routes ?? null,
        lease: lease ?? undefined,
      }, receivedAt);
    } catch (err) {
      if (lease) this.worker!.accept(lease.limit, []);
      throw err;
    }
    const r = result.request;
    if (lease) {
      this.worker!.accept(lease.limit, result.leased.map((d): ClaimedDelivery => ({
        id: d.id, appId: source.appId, eventId: r.id, eventType: 'inbound.request', orderingKey: r.orderingKey, attemptCount: 0,
        oneShot: false, body: req.body, headers: forward, endpoint: d.endpoint, profile: null,
      })));
    }
    this.metrics.inboundRequests.labels(r.status).inc();
    this.metrics.inboundAck.observe((Date.now() - receivedAt) / 1000);
    // Waiting successors released by this request, or deliveries beyond the hand-off, are due in the database.
    if (r.status === 'accepted') this.onAccepted(source, result.leased.length < endpointIds.length || r.sequence !== null);
    return this.answer(source, r, result.duplicateOf);
  }

  private answer(source: Source, r: InboundRequest, duplicateOf: string | null): IngestResponse {
    if (r.status === 'accepted' && source.response) {
      const { status, body, contentType } = source.response;
      return { status, headers: { 'content-type': contentType ?? 'text/plain; charset=utf-8' }, body: body ?? '' };
    }
    // A duplicate or a stale sequence is answered 200: the provider must not retry it.
    const status = r.status === 'accepted' ? 202 : 200;
    return json(status, {
      id: r.id, status: r.status, forwarding: r.forwardState,
      ...(duplicateOf ? { duplicateOf } : {}), ...(r.status === 'stale' ? { reason: r.detail } : {}),
    });
  }
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): IngestResponse {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(body) };
}

/** Node's header object (lower-case names, arrays for repeats) → one string per name. */
function flatten(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}
