/**
 * The storage seam. The API and the worker call only this; every backend (SQLite now,
 * PostgreSQL next) implements it and passes the same conformance suite. Times are epoch
 * milliseconds; the API edge turns them into ISO strings.
 */
export interface App {
  id: string;
  uid: string | null;
  name: string;
  metadata: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

export interface EventType {
  name: string;
  description: string | null;
  schema: Record<string, unknown> | null;
  archived: boolean;
  createdAt: number;
  updatedAt: number;
}

export type EndpointStatus = 'active' | 'disabled';

export interface Endpoint {
  id: string;
  appId: string;
  url: string;
  description: string | null;
  /** null = every event type */
  events: string[] | null;
  status: EndpointStatus;
  disabledReason: string | null;
  disabledAt: number | null;
  secret: string;
  headers: Record<string, string>;
  /** null = the server's default schedule / timeout */
  retrySchedule: number[] | null;
  timeoutMs: number | null;
  metadata: Record<string, unknown>;
  consecutiveFailures: number;
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
  status: DeliveryStatus;
  attemptCount: number;
  lastStatusCode: number | null;
  lastError: string | null;
  /** null when not waiting for a scheduled attempt (done, in flight, or parked on a disabled endpoint) */
  nextAttemptAt: number | null;
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
  body: string;
  idempotencyKey: string | null;
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
  /** how many of deliveryIds, from the start, were written already leased (see PublishLease) */
  leased: number;
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
  attemptCount: number;
  oneShot: boolean;
  body: string;
  endpoint: Endpoint;
}

export interface AttemptOutcome {
  deliveryId: string;
  endpointId: string;
  attempt: Attempt;
  status: DeliveryStatus;
  nextAttemptAt: number | null;
  /** set when the receiver asked to be disabled (410 Gone) */
  disableEndpoint?: string;
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

export type NewApp = Pick<App, 'name' | 'uid' | 'metadata'>;
export type AppPatch = Partial<NewApp>;
export type NewEndpoint = Omit<
  Endpoint,
  'id' | 'createdAt' | 'updatedAt' | 'consecutiveFailures' | 'lastAttemptAt' | 'disabledReason' | 'disabledAt'
>;
export type EndpointPatch = Partial<Omit<NewEndpoint, 'appId' | 'secret'>>;
export type NewEventType = Pick<EventType, 'name' | 'description' | 'schema'>;
export type EventTypePatch = Partial<Pick<EventType, 'description' | 'schema' | 'archived'>>;

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /**
   * Whether a claim's lease ends by itself at leaseUntil (several worker processes: one that
   * dies loses nothing once its leases run out), or lasts until released (one worker process,
   * which calls releaseAllLeases when it starts).
   */
  readonly leasesExpire: boolean;
  migrate(): Promise<void>;
  close(): Promise<void>;

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
  /** active endpoints of an app, for fan-out */
  activeEndpoints(appId: string): Promise<Endpoint[]>;
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

  /** Claims up to `limit` due deliveries for `owner` until `leaseUntil`, in one statement. */
  claimDue(owner: string, now: number, leaseUntil: number, limit: number): Promise<ClaimedDelivery[]>;
  /** Earliest next_attempt_at among waiting deliveries, for the idle worker's sleep. */
  nextDueAt(): Promise<number | null>;
  recordOutcomes(outcomes: AttemptOutcome[], now: number): Promise<void>;
  /** Hands claimed deliveries back (shutdown, or disabled endpoint → parked). */
  releaseClaims(ids: string[], nextAttemptAt: number): Promise<void>;
  /** Makes every lease held by anyone due now: for a single-process backend at start. */
  releaseAllLeases(now: number): Promise<number>;
  queueDepth(): Promise<number>;
}

/** next_attempt_at of deliveries waiting for their endpoint to be re-enabled. */
export const PARKED_AT = 8_000_000_000_000_000;
