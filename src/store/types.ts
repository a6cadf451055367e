/**
 * The storage seam. The API and the worker call only this; every backend (SQLite now,
 * PostgreSQL next) implements it and passes the same conformance suite. Times are epoch
 * milliseconds; the API edge turns them into ISO strings.
 */
import type { InboundStore } from './inbound.js';
import type { AlertStore } from './alerts.js';
import type { PollStore } from './poll.js';
import type { EnvelopeProfile } from '../core/envelope-profile.js';
import type { TransformStore } from './transforms.js';

/**
 * How an app's deliveries brand the legacy HMAC headers, for products that embed Herald
 * (`x-twig-signature` with bare hex, `x-twenty-signature` with `sha256=`…). The Standard
 * Webhooks headers are sent regardless.
 */
export interface SignatureProfile {
  /** legacy signature header, default x-webhook-signature */
  header: string;
  /** `sha256=<hex>` (default) or bare `<hex>` */
  format: 'sha256=hex' | 'hex';
  /** event type header, default x-webhook-event */
  eventHeader: string;
}

export interface App {
  id: string;
  uid: string | null;
  name: string;
  metadata: Record<string, unknown>;
  signatureProfile: SignatureProfile | null;
  /** the JSON body's field names and timestamp format (core/envelope-profile.ts); null = Herald's envelope */
  envelopeProfile: EnvelopeProfile | null;
  /** how the customer portal looks for this app's customers */
  portal: PortalTheme | null;
  createdAt: number;
  updatedAt: number;
  /** set on the app of an inbound source: its events are the requests the source accepted (read by getApp) */
  sourceId?: string | null;
}

export interface EventType {
  name: string;
  description: string | null;
  schema: Record<string, unknown> | null;
  /** example payloads (the event's data), shown in the catalogue and sent as test events */
  examples: Array<Record<string, unknown>>;
  archived: boolean;
  createdAt: number;
  updatedAt: number;
}

export type EndpointStatus = 'active' | 'disabled';
/**
 * closed: normal. open: failing; nothing is sent, waiting deliveries are held back until
 * circuitUntil, when one is sent as a probe (half_open). recovering: the probe succeeded and
 * held deliveries are released at a rate that doubles every second until none are left.
 */
export type CircuitState = 'closed' | 'open' | 'half_open' | 'recovering';

export interface PreviousSecret {
  secret: string;
  /** epoch ms after which deliveries stop carrying its signature */
  expiresAt: number;
}

export interface Endpoint {
  id: string;
  appId: string;
  url: string;
  description: string | null;
  /** null = every event type */
  events: string[] | null;
  /** payload filter over the envelope (see core/filter.ts); null = every subscribed event */
  filter: Record<string, unknown> | null;
  /** null = not limited by channels; else only events sharing at least one */
  channels: string[] | null;
  /** JavaScript defining `function transform(webhook)`, run in a sandbox before each first send (transform/); null = none */
  transform: string | null;
  status: EndpointStatus;
  disabledReason: string | null;
  disabledAt: number | null;
  secret: string;
  /** secrets replaced by a rotation, still signing until they expire */
  previousSecrets: PreviousSecret[];
  headers: Record<string, string>;
  /** null = the server's default schedule / timeout */
  retrySchedule: number[] | null;
  timeoutMs: number | null;
  /** deliveries per second at most; null = unlimited */
  rateLimit: number | null;
  /** concurrent requests at most; null = the server default */
  maxInFlight: number | null;
  /** auto-disable thresholds; null = the server defaults */
  disableAfterFailures: number | null;
  disableAfterSeconds: number | null;
  metadata: Record<string, unknown>;
  consecutiveFailures: number;
  /** start of the current run of consecutive failures */
  failingSince: number | null;
  circuitState: CircuitState;
  /** open: when the next probe may go; recovering: the next release step */
  circuitUntil: number | null;
  /** when the circuit entered its current state */
  circuitSince: number | null;
  lastAttemptAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface StoredEvent {
  id: string;
  appId: string;
  type: string;
  timestamp: number;
  sequence: number;
  orderingKey: string | null;
  /** the channels it was published to (empty: none) */
  channels: string[];
  body: string;
  deliveries: number;
  createdAt: number;
}

export type DeliveryStatus = 'pending' | 'success' | 'failed';

export interface Delivery {
  id: string;
  appId: string;
  eventId: string;
  endpointId: string;
  eventType: string;
  orderingKey: string | null;
  status: DeliveryStatus;
  attemptCount: number;
  lastStatusCode: number | null;
  lastError: string | null;
  /** null when not waiting for a scheduled attempt (done, in flight, or held back) */
  nextAttemptAt: number | null;
  /**
   * Why a pending delivery has no scheduled attempt: `parked` while its endpoint can't take
   * it (disabled, circuit open, a relay endpoint without a listener), `ordering` while an
   * earlier delivery of its ordering key is unfinished. null otherwise.
   */
  held: 'parked' | 'ordering' | null;
  createdAt: number;
  deliveredAt: number | null;
}

export interface Attempt {
  id: string;
  deliveryId: string;
  endpointId: string;
  number: number;
  startedAt: number;
  durationMs: number;
  statusCode: number | null;
  responseBody: string | null;
  error: string | null;
}

export interface Page<T> {
  data: T[];
  iterator: string | null;
  done: boolean;
}

export interface PageQuery {
  limit: number;
  iterator?: string;
}

export interface NewEvent {
  id: string;
  type: string;
  timestamp: number;
  /** the delivered bytes, given the sequence number the store assigns */
  render: (sequence: number) => string;
  orderingKey: string | null;
  idempotencyKey: string | null;
  /** channels it was published to; absent or empty: none */
  channels?: string[];
  /** the id was made by Herald (newId), so it can't already exist: skip the duplicate lookup */
  idGenerated?: boolean;
  /** endpoints that get a delivery, chosen by the caller from the app's subscriptions */
  endpointIds: string[];
}

export interface PublishResult {
  event: StoredEvent;
  created: boolean;
  /** ids of the deliveries made by this call (empty for a duplicate), in endpointIds order */
  deliveryIds: string[];
  /** indexes into deliveryIds of those written already leased (see PublishLease) */
  leased: number[];
}

/**
 * A worker in the publishing process can take fresh deliveries straight from the publish:
 * they are written already leased to it, so no claim statement has to find them again.
 * If the process dies, the lease runs out (or is released at start) like any claim's.
 */
export interface PublishLease {
  owner: string;
  until: number;
  /** at most this many deliveries, taken in publish order */
  limit: number;
}

export interface DeliveryFilter {
  endpointId?: string;
  eventId?: string;
  eventType?: string;
  status?: DeliveryStatus;
}

/** A delivery handed to a worker, with everything needed to send it. */
export interface ClaimedDelivery {
  id: string;
  appId: string;
  eventId: string;
  eventType: string;
  orderingKey: string | null;
  attemptCount: number;
  oneShot: boolean;
  /** the envelope, or for a source's request the raw bytes as received */
  body: string | Buffer;
  /** a source's request: the original headers forwarded with it; null for events */
  headers: Record<string, string> | null;
  endpoint: Endpoint;
  /** the app's header branding; null = defaults */
  profile: SignatureProfile | null;
}

export interface AttemptOutcome {
  deliveryId: string;
  endpointId: string;
  attempt: Attempt;
  status: DeliveryStatus;
  nextAttemptAt: number | null;
  /** set when the receiver asked to be disabled (410 Gone) */
  disableEndpoint?: string;
  /** the attempt was a circuit probe: its result closes (recovering) or re-opens the circuit */
  probe?: boolean;
  /** the delivery's ordering key: when it finishes for good, the next of its key is released */
  orderingKey?: string | null;
  /** what the endpoint's transform made of it on this (first) run: stored with the delivery, sent by every retry */
  transformed?: TransformedRequest;
}

/** An endpoint transform's output for one delivery (see delivery/transform.ts). */
export interface TransformedRequest {
  url: string;
  /** the endpoint's custom headers as the transform left them (Herald's own are added at send) */
  headers: Record<string, string>;
  body: string;
}

/** Endpoint health transitions made while recording outcomes, for operational webhooks. */
export interface HealthChange {
  kind: 'disabled' | 'failing' | 'circuit_opened' | 'circuit_recovering';
  endpointId: string;
  appId: string;
  consecutiveFailures: number;
  failingSince: number | null;
  reason?: string;
}

/** Server-wide health thresholds the store applies while recording outcomes. */
export interface HealthPolicy {
  disableAfterFailures: number;
  disableAfterSeconds: number;
  /** consecutive failures at which an endpoint.failing notice is raised */
  failingThreshold: number;
  /** consecutive failures that open the circuit */
  circuitThreshold: number;
  /** first wait before a probe; doubles with each failed probe up to circuitMaxMs */
  circuitBaseMs: number;
  circuitMaxMs: number;
}

export interface EndpointStats {
  total: number;
  succeeded: number;
  failed: number;
  pending: number;
  successRate: number | null;
  avgResponseMs: number | null;
  p95ResponseMs: number | null;
  failedLast24h: number;
  consecutiveFailures: number;
  lastDeliveryAt: number | null;
}

/** One bucket of an endpoint's attempts: [start, start + bucketMs). */
export interface SeriesPoint {
  start: number;
  succeeded: number;
  failed: number;
  p50Ms: number | null;
  p95Ms: number | null;
}

export type NewApp = Pick<App, 'name' | 'uid' | 'metadata' | 'signatureProfile'> & Partial<Pick<App, 'portal' | 'envelopeProfile'>>;
export type AppPatch = Partial<NewApp>;
export type NewEndpoint = Omit<
  Endpoint,
  | 'id' | 'createdAt' | 'updatedAt' | 'consecutiveFailures' | 'lastAttemptAt' | 'disabledReason' | 'disabledAt'
  | 'previousSecrets' | 'failingSince' | 'circuitState' | 'circuitUntil' | 'circuitSince' | 'filter' | 'channels' | 'transform'
> & Partial<Pick<Endpoint, 'filter' | 'channels' | 'transform'>>;
export type EndpointPatch = Partial<Omit<NewEndpoint, 'appId' | 'secret'>>;
export type NewEventType = Pick<EventType, 'name' | 'description' | 'schema'> & Partial<Pick<EventType, 'examples'>>;
export type EventTypePatch = Partial<Pick<EventType, 'description' | 'schema' | 'examples' | 'archived'>>;

export interface PortalTheme {
  productName?: string;
  primaryColor?: string;
  logoUrl?: string;
  darkMode?: boolean;
}

/** What a portal session may do besides viewing its app; checked on the server for every request. */
export type Capability = 'view' | 'manage_endpoints' | 'reveal_secrets' | 'rotate_secrets' | 'send';
export const CAPABILITIES: readonly Capability[] = ['view', 'manage_endpoints', 'reveal_secrets', 'rotate_secrets', 'send'];

/** A signed-in browser: the operator (every app and route) or one app's customer (the portal). */
export interface UiSession {
  kind: 'operator' | 'portal';
  appId: string | null;
  capabilities: Capability[];
  /** the product's own session id, given at portal-access, to end its sessions together */
  label: string | null;
  expiresAt: number;
  createdAt: number;
}

/**
 * Browser sessions and the one-time portal tokens they start from. Both are stored only as
 * SHA-256 hashes of what the browser holds, so a copy of the database opens no session.
 */
export interface SessionStore {
  createPortalToken(tokenHash: string, grant: Omit<UiSession, 'kind' | 'createdAt'> & { appId: string }, now: number): Promise<void>;
  /** Marks the token used and opens its session, in one transaction; null if unknown, used or expired. */
  exchangePortalToken(tokenHash: string, sessionHash: string, now: number): Promise<UiSession | null>;
  createSession(sessionHash: string, session: UiSession): Promise<void>;
  /** null when unknown or expired */
  getSession(sessionHash: string, now: number): Promise<UiSession | null>;
  deleteSession(sessionHash: string): Promise<void>;
  /** Ends an app's portal sessions and unused tokens (only those with `label`, if given); returns how many sessions. */
  expirePortalSessions(appId: string, label: string | null, now: number): Promise<number>;
}

export interface Store extends InboundStore, PollStore, SessionStore, AlertStore, TransformStore {
  readonly kind: 'sqlite' | 'postgres';
  /**
   * Whether a claim's lease ends by itself at leaseUntil (several worker processes: one that
   * dies loses nothing once its leases run out), or lasts until released (one worker process,
   * which calls releaseAllLeases when it starts).
   */
  readonly leasesExpire: boolean;
  migrate(): Promise<void>;
  /**
   * Null when this process's encryption key (none if !keyed) is the one the database's secrets
   * are sealed with, recording it (as a sealed check value) the first time; else what is wrong.
   */
  checkSealingKey(keyed: boolean): Promise<string | null>;
  close(): Promise<void>;
  /** Whether writes can commit now (SQLite: another process may hold the lock); absent = a query answering is enough. */
  health?(): Promise<{ status: 'ok' | 'degraded'; detail?: string }>;

  createApp(app: NewApp): Promise<App>;
  /** by id or uid */
  getApp(idOrUid: string): Promise<App | null>;
  listApps(page: PageQuery): Promise<Page<App>>;
  updateApp(id: string, patch: AppPatch): Promise<App | null>;
  deleteApp(id: string): Promise<boolean>;

  createEventType(t: NewEventType): Promise<EventType>;
  getEventType(name: string): Promise<EventType | null>;
  listEventTypes(page: PageQuery & { includeArchived: boolean }): Promise<Page<EventType>>;
  updateEventType(name: string, patch: EventTypePatch): Promise<EventType | null>;

  createEndpoint(e: NewEndpoint): Promise<Endpoint>;
  getEndpoint(appId: string, id: string): Promise<Endpoint | null>;
  listEndpoints(appId: string, q: PageQuery & { status?: EndpointStatus }): Promise<Page<Endpoint>>;
  /** active endpoints of an app, for fan-out; a backend may hand the same list to every publish, so it is read-only */
  activeEndpoints(appId: string): Promise<readonly Endpoint[]>;
  updateEndpoint(appId: string, id: string, patch: EndpointPatch, now: number): Promise<Endpoint | null>;
  deleteEndpoint(appId: string, id: string): Promise<boolean>;

  /** Persists events and their deliveries atomically; duplicates (by id or idempotency key) are returned, not re-created. */
  publish(appId: string, events: NewEvent[], now: number, lease?: PublishLease): Promise<PublishResult[]>;
  getEvent(appId: string, id: string): Promise<StoredEvent | null>;
  /** in sequence order, after the sequence in `iterator` */
  listEvents(appId: string, q: PageQuery & { type?: string }): Promise<Page<StoredEvent>>;

  listDeliveries(appId: string, filter: DeliveryFilter, page: PageQuery): Promise<Page<Delivery>>;
  getDelivery(appId: string, id: string): Promise<{ delivery: Delivery; attempts: Attempt[] } | null>;
  /** schedule an attempt now; a finished delivery gets exactly one more attempt */
  retryDelivery(appId: string, id: string, now: number): Promise<'ok' | 'in_flight' | 'not_found'>;
  recoverEndpoint(endpointId: string, since: number, until: number, now: number): Promise<number>;
  endpointStats(endpointId: string, now: number): Promise<EndpointStats>;
  /** the endpoint's attempts in [since, until) per bucket of `bucketMs`, empty buckets left out */
  endpointSeries(endpointId: string, since: number, until: number, bucketMs: number): Promise<SeriesPoint[]>;

  /** Claims up to `limit` due deliveries for `owner` until `leaseUntil`, in one statement. */
  claimDue(owner: string, now: number, leaseUntil: number, limit: number): Promise<ClaimedDelivery[]>;
  /** Earliest next_attempt_at among waiting deliveries, for the idle worker's sleep. */
  nextDueAt(): Promise<number | null>;
  /** Writes attempts and delivery states, releases the next delivery of finished ordering keys, and applies the health policy. */
  recordOutcomes(outcomes: AttemptOutcome[], now: number, policy: HealthPolicy): Promise<HealthChange[]>;
  /** Hands claimed deliveries back, each due at `at` (now at shutdown, PARKED_AT to hold back, later to defer). */
  releaseClaims(items: Array<{ id: string; at: number }>): Promise<void>;
  /** Makes every lease held by anyone due now: for a single-process backend at start. */
  releaseAllLeases(now: number): Promise<number>;
  queueDepth(): Promise<number>;

  /** Replaces the secret; the old one keeps signing until `graceUntil`. */
  rotateSecret(appId: string, id: string, secret: string, graceUntil: number, now: number): Promise<Endpoint | null>;
  /**
   * Circuits with something to do now: open ones due for a probe, recovering ones due for
   * their next release step. Each is taken atomically (by moving circuitUntil to `leaseUntil`),
   * so with several workers only one acts on an endpoint.
   */
  takeDueCircuits(now: number, leaseUntil: number, limit: number): Promise<Endpoint[]>;
  /** Claims one held-back delivery of the endpoint to send as a probe, and marks the circuit half-open. */
  claimProbe(endpoint: Endpoint, owner: string, leaseUntil: number, now: number): Promise<ClaimedDelivery | null>;
  /**
   * Claims up to `limit` of a relay endpoint's held-back deliveries for `owner`, the process
   * holding its listener's socket, in creation order; none while the endpoint is disabled or
   * its circuit isn't closed (those wait for the circuit's own probe and release).
   */
  claimHeld(endpointId: string, owner: string, leaseUntil: number, limit: number): Promise<ClaimedDelivery[]>;
  /**
   * A probe that couldn't be sent (a relay endpoint whose listener isn't connected to the
   * process that took it): the circuit goes back from half-open to open, due for a probe again
   * at `retryAt`. The probe delivery itself is handed back with releaseClaims.
   */
  reopenCircuit(endpointId: string, retryAt: number, now: number): Promise<void>;
  /** Releases up to `limit` held-back deliveries; when none are left the circuit closes. Returns how many. */
  releaseHeld(endpointId: string, limit: number, nextStepAt: number, now: number): Promise<number>;

  /**
   * Records that worker `id` is alive and returns how many workers are (this one included):
   * per-endpoint limits are shared out between them. Workers not seen for `ttlMs` don't count.
   */
  heartbeat(id: string, now: number, ttlMs: number): Promise<number>;
  /**
   * Several processes (PostgreSQL): records which relay endpoints this process holds
   * listeners for (all of them; endpoints left out are no longer held), so any process can
   * tell the API whether a relay endpoint is connected. Single-process backends leave it out.
   */
  reportRelays?(processId: string, listeners: RelayPresence[], now: number): Promise<void>;
  /** relay endpoints with a listener in a process that reported since `aliveSince` */
  relayStatus?(endpointIds: string[], aliveSince: number): Promise<Map<string, { listeners: number; since: number }>>;
  /**
   * Calls `onWake` whenever another process committed work that may be due now (a publish,
   * a retry request). Backends with a single process don't need it and leave it out.
   */
  listen?(onWake: () => void): Promise<() => Promise<void>>;
  /**
   * Retention: deletes up to `limit` events created before `before` whose deliveries are all
   * finished, with their deliveries and attempts. Returns how many events it deleted; call
   * again until 0. Each call is one short transaction.
   */
  prune(before: number, limit: number): Promise<number>;
}

export interface RelayPresence {
  endpointId: string;
  listeners: number;
  /** when the newest of them connected */
  since: number;
}

/** next_attempt_at of deliveries held back while their endpoint is disabled or its circuit open. */
export const PARKED_AT = 8_000_000_000_000_000;
/** next_attempt_at of deliveries waiting for an earlier delivery with the same ordering key. */
export const ORDER_HELD_AT = 9_000_000_000_000_000;
