/**
 * The inbound half of the storage seam: sources (the gateway's configuration), the request
 * log, deduplication keys and per-key sequence state.
 *
 * A source is backed by an app of Herald's own (kind 'source'): every accepted request is
 * stored as an event of that app holding the raw bytes, and each HTTP destination is an
 * endpoint of it. Forwarding is therefore the outbound delivery engine itself: retries with
 * jitter, attempt logs, health, circuit breaker, throttling and `failed` as the dead letter.
 */
import type { Endpoint, Page, PageQuery, PublishLease } from './types.js';
import type { RequestVia, SourcePoll } from './poll.js';

export type VerificationSchemeName = 'standard' | 'legacy' | 'github' | 'stripe' | 'slack' | 'shopify' | 'hmac' | 'none';

export interface SourceVerification {
  scheme: VerificationSchemeName;
  /** any of them verifies (rotation); empty only for `none` */
  secrets: string[];
  toleranceSeconds?: number;
  /** options of the generic `hmac` scheme (receiver SDK's hmacScheme) */
  header?: string;
  algorithm?: 'sha1' | 'sha256' | 'sha512';
  encoding?: 'hex' | 'base64';
  prefix?: string;
  signedContent?: string;
  timestampHeader?: string;
  idHeader?: string;
  secretEncoding?: 'utf8' | 'base64' | 'hex';
}

export interface SourceDedup {
  /** `header:<name>`, `body:$.path` or `hash` (SHA-256 of the raw body) */
  key: string;
  ttlSeconds: number;
}

export interface SourceOrdering {
  /** `header:<name>` or `body:$.path`: requests with the same key are forwarded one at a time */
  key: string;
  /** `header:<name>` or `body:$.path` holding an integer, consecutive per key */
  sequence: string | null;
  gapTimeoutSeconds: number;
  /** the sequence a key's stream starts at; null: the first request seen for a key starts it */
  firstSequence: number | null;
}

/**
 * An HTTP destination is an endpoint of the source's app; an app destination publishes into
 * another app. A destination with a `filter` (core/filter.ts, over {headers, body, query} of
 * the verified request) gets only the requests it matches: see inbound/routing.ts.
 */
export type SourceDestination =
  | { type: 'http'; endpointId: string; filter?: Record<string, unknown> | null }
  | { type: 'app'; app: string; eventType: string; filter?: Record<string, unknown> | null };

export interface SourceResponse {
  status: number;
  body: string | null;
  contentType: string | null;
}

export interface Source {
  id: string;
  name: string;
  /** the source's own app: its events are the accepted requests, its endpoints the HTTP destinations */
  appId: string;
  verification: SourceVerification;
  dedup: SourceDedup | null;
  ordering: SourceOrdering | null;
  destinations: SourceDestination[];
  /** original request headers forwarded to HTTP destinations; null = the default set */
  forwardHeaders: string[] | null;
  /** accepted requests per second at most; null = unlimited */
  rateLimit: number | null;
  response: SourceResponse | null;
  /** reconciliation by polling the provider (see store/poll.ts); null or absent: webhooks only */
  poll?: SourcePoll | null;
  createdAt: number;
  updatedAt: number;
}

export type NewSource = Omit<Source, 'createdAt' | 'updatedAt'>;
export type SourcePatch = Partial<Omit<NewSource, 'id' | 'appId'>>;

export type InboundStatus = 'accepted' | 'rejected' | 'duplicate' | 'stale';
/** waiting: held for a missing earlier sequence; none: not forwarded (rejected, duplicate, stale) */
export type ForwardState = 'none' | 'waiting' | 'pending' | 'delivered' | 'failed';

export interface InboundRequest {
  id: string;
  sourceId: string;
  status: InboundStatus;
  /** why it was rejected (a verification error code), what it duplicates, why it is stale */
  reason: string | null;
  detail: string | null;
  receivedAt: number;
  /** as received, with credentials redacted */
  headers: Record<string, string>;
  contentType: string | null;
  bodySize: number;
  dedupKey: string | null;
  orderingKey: string | null;
  sequence: number | null;
  /** set when released after a sequence gap timed out: the sequences that never came */
  gap: { from: number; to: number } | null;
  forwardState: ForwardState;
  /** deliveries to the HTTP destinations, by status */
  deliveries: { pending: number; success: number; failed: number };
  /** error from publishing into app destinations, if any */
  appError: string | null;
  /** how it came: posted by the provider, or found by a poll of its changes API */
  via: RequestVia;
  /** the destinations (routeKey) whose filters matched; null: the source filters none, all of them get it */
  routes: string[] | null;
}

export interface InboundInput {
  id: string;
  receivedAt: number;
  /** redacted, for the request log */
  loggedHeaders: Record<string, string>;
  /** forwarded to HTTP destinations with the body */
  forwardHeaders: Record<string, string>;
  contentType: string | null;
  body: Buffer;
  dedupKey: string | null;
  /** how long the dedup key is remembered */
  dedupTtlMs: number;
  orderingKey: string | null;
  sequence: number | null;
  /**
   * the HTTP destinations (endpoint ids) as the gateway knows them: each that still exists
   * gets a delivery. Whether one is disabled is read in the request's transaction, not taken
   * from the gateway's view: a disabled destination's delivery is written held back (as a
   * disabled endpoint's are) and goes out once it is enabled again, so a request accepted
   * meanwhile is not dropped, and one accepted after it is enabled again is not held.
   */
  endpointIds: string[];
  /**
   * The destinations (routeKey) this request goes to, decided by their filters at the gateway
   * and kept with the request: one that waits for an earlier sequence is released to these.
   * null: the source filters none, so all of them. `endpointIds` stays every HTTP destination
   * all the same: the waiting successors a request releases go to theirs.
   */
  routes: string[] | null;
  /** hand fresh deliveries straight to the local worker (see PublishLease); backends may ignore it */
  lease?: PublishLease;
}

export interface RejectedInput {
  id: string;
  receivedAt: number;
  loggedHeaders: Record<string, string>;
  contentType: string | null;
  bodySize: number;
  reason: string;
  detail: string;
}

export interface IngestResult {
  request: InboundRequest;
  /** for a duplicate: the request it repeats */
  duplicateOf: string | null;
  /** deliveries written already leased to `input.lease.owner` */
  leased: Array<{ id: string; endpoint: Endpoint }>;
}

/** A released request to publish into the source's app destinations (the outbox). */
export interface AppForward {
  requestId: string;
  sourceId: string;
  body: Buffer;
  headers: Record<string, string>;
  contentType: string | null;
  orderingKey: string | null;
  receivedAt: number;
  /** the destinations it goes to (see InboundInput.routes); null: all */
  routes: string[] | null;
}

/**
 * One request: every finished delivery of it goes again. A time range: the deliveries in
 * `status` of the requests received in [since, until).
 */
export interface ReplayQuery {
  requestId?: string;
  since?: number;
  until?: number;
  /** deliveries in this state are sent again: failed (default) or success */
  status?: 'failed' | 'success';
}

export interface InboundStore {
  createSource(s: NewSource): Promise<Source>;
  getSource(id: string): Promise<Source | null>;
  listSources(page: PageQuery): Promise<Page<Source>>;
  updateSource(id: string, patch: SourcePatch, now: number): Promise<Source | null>;
  /** deletes the source with its app, requests, deliveries and keys */
  deleteSource(id: string): Promise<boolean>;

  /**
   * Records an authentic request in one transaction: a duplicate of a live dedup key is
   * recorded as such; a sequence older than the key's next expected is stale; one beyond it
   * waits (no deliveries yet) until the gap fills or times out; otherwise it is accepted with
   * a delivery per endpoint, and with it any waiting successors it unblocks, in order.
   */
  ingest(source: Source, input: InboundInput, now: number): Promise<IngestResult>;
  recordRejected(sourceId: string, input: RejectedInput): Promise<void>;
  /**
   * Records that gateway process `processId` is taking requests for these sources and
   * returns, per source, how many processes are (this one included; those not seen for
   * `ttlMs` don't count), so that a source's rate limit is shared out between them. A backend
   * shared by several processes times this by its own clock rather than `now`.
   */
  gatewayPresence(processId: string, sourceIds: string[], now: number, ttlMs: number): Promise<Map<string, number>>;
  listRequests(sourceId: string, q: PageQuery & { status?: InboundStatus; via?: RequestVia }): Promise<Page<InboundRequest>>;
  getRequest(sourceId: string, id: string): Promise<InboundRequest | null>;
  /** The bytes an accepted request carried, as received; null for one not stored (rejected, duplicate, stale, pruned). */
  getRequestBody(sourceId: string, id: string): Promise<{ body: Buffer; contentType: string | null } | null>;
  /** Keys whose gap timed out: their oldest waiting request goes (the gap recorded), with its successors. Returns how many were released. */
  releaseGaps(now: number, limit: number): Promise<number>;
  /**
   * Released requests not yet published into their source's app destinations, in release
   * order. Not claimed: with several workers two may read the same rows, which is harmless
   * because the publish uses the request id as the event id (a repeat is the same event).
   */
  pendingAppForwards(limit: number): Promise<AppForward[]>;
  /** Marks them published; `errors` by request id for those that can never be (bad body, schema). */
  finishAppForwards(forwards: Array<{ sourceId: string; requestId: string }>, errors: Record<string, string>): Promise<void>;
  /** Sends requests' finished deliveries again (one more attempt each). Returns how many. */
  replay(source: Source, q: ReplayQuery, now: number): Promise<number>;
  /** Forgets dedup keys past their TTL and request-log rows before `before`; returns rows deleted. */
  pruneInbound(now: number, before: number | null, limit: number): Promise<number>;
}
