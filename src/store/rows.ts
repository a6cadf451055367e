import type { SecretBox } from '../core/secret-box.js';
import type { App, Attempt, Delivery, Endpoint, EventType, PreviousSecret, StoredEvent, UiSession } from './types.js';
import { ORDER_HELD_AT, PARKED_AT } from './types.js';
import type { ForwardState, InboundRequest, Source, SourceVerification } from './inbound.js';
import { openPoll } from './poll-rows.js';

/**
 * Row → domain object conversions, shared by the backends. Column names are the same in
 * both; JSON columns arrive as TEXT from SQLite and already parsed from PostgreSQL's `json`
 * type (none of them holds a bare JSON string, so a string means text to parse), booleans
 * as 0/1 or true/false, epoch-ms columns as numbers in both.
 */
type Row = Record<string, any>;

const json = <T>(value: unknown, fallback: T): T =>
  value == null ? fallback : typeof value === 'string' ? (JSON.parse(value) as T) : (value as T);

export const toApp = (r: Row): App => ({
  id: r.id,
  uid: r.uid,
  name: r.name,
  metadata: json(r.metadata, {}),
  signatureProfile: json(r.signature_profile, null),
  envelopeProfile: json(r.envelope_profile, null),
  portal: json(r.portal, null),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  sourceId: r.source_id ?? null,
});

export const toEventType = (r: Row): EventType => ({
  name: r.name,
  description: r.description,
  schema: json(r.schema, null),
  examples: json(r.examples, []),
  archived: r.archived === 1 || r.archived === true,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const toUiSession = (r: Row): UiSession => ({
  kind: r.kind,
  appId: r.app_id ?? null,
  capabilities: json(r.capabilities, []),
  label: r.label ?? null,
  expiresAt: Number(r.expires_at),
  createdAt: Number(r.created_at),
});

/**
 * Whether this process's encryption key is the database's: `check` is the stored key check
 * (null before there was one), `sample` a sealed endpoint secret, if any. Null when it is.
 */
export const KEY_CHECK = 'herald-key-check';
export function keyProblem(sealer: Sealer, keyed: boolean, check: string | null, sample: string | null): string | null {
  const opens = (v: string) => {
    try {
      return sealer.open(v);
    } catch {
      return null;
    }
  };
  const sealed = check ?? sample;
  if (!sealed) return null;
  if (!keyed) return "this database's secrets are encrypted, and no encryption key was given: set HERALD_ENCRYPTION_KEY (or restore the data dir's encryption-key file)";
  const opened = opens(sealed);
  if (opened === null || (check !== null && opened !== KEY_CHECK)) {
    return "HERALD_ENCRYPTION_KEY (or the data dir's encryption-key file) is not the key this database's secrets were sealed with: every process on one database needs the same key";
  }
  return null;
}

/** Secrets are stored sealed (AES-256-GCM) when a key is configured. */
export interface Sealer {
  seal(plain: string): string;
  open(stored: string): string;
}
export const plainSealer: Sealer = { seal: (p) => p, open: (s) => s };
/**
 * Opening a sealed secret (AES-256-GCM) costs more than everything else about an endpoint
 * row; with fan-out every publish and every claim batch reads dozens of endpoints. Each
 * sealed value is unique (random nonce), so its plaintext can be remembered by it.
 */
export function sealerFor(box: SecretBox | undefined): Sealer {
  if (!box) return plainSealer;
  const opened = new Map<string, string>();
  return {
    seal: (plain) => box.seal(plain),
    open: (stored) => {
      let plain = opened.get(stored);
      if (plain === undefined) {
        plain = box.open(stored);
        if (opened.size >= 10_000) opened.clear();
        opened.set(stored, plain);
      }
      return plain;
    },
  };
}

export const sealPrevious = (sealer: Sealer, list: PreviousSecret[]): string | null =>
  list.length === 0 ? null : JSON.stringify(list.map((p) => ({ secret: sealer.seal(p.secret), expiresAt: p.expiresAt })));

/**
 * Custom header values often carry the receiver's credentials (`Authorization: Bearer …`):
 * stored sealed like secrets, names in the clear. A value written before this was done reads
 * as it is (SecretBox.open passes unsealed text through) and is sealed at the next write.
 */
export const sealHeaders = (sealer: Sealer, headers: Record<string, string>): string =>
  JSON.stringify(Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k, sealer.seal(v)])));
const openHeaders = (sealer: Sealer, stored: unknown): Record<string, string> =>
  Object.fromEntries(Object.entries(json<Record<string, string>>(stored, {})).map(([k, v]) => [k, sealer.open(v)]));

export const toEndpoint = (r: Row, sealer: Sealer = plainSealer): Endpoint => ({
  id: r.id,
  appId: r.app_id,
  url: r.url,
  description: r.description,
  events: json(r.events, null),
  filter: json(r.filter, null),
  channels: json(r.channels, null),
  transform: r.transform ?? null,
  status: r.status,
  disabledReason: r.disabled_reason,
  disabledAt: r.disabled_at,
  secret: sealer.open(r.secret),
  previousSecrets: json<PreviousSecret[]>(r.previous_secrets, []).map((p) => ({ secret: sealer.open(p.secret), expiresAt: p.expiresAt })),
  headers: openHeaders(sealer, r.headers),
  retrySchedule: json(r.retry_schedule, null),
  timeoutMs: r.timeout_ms,
  rateLimit: r.rate_limit,
  maxInFlight: r.max_in_flight,
  disableAfterFailures: r.disable_after_failures,
  disableAfterSeconds: r.disable_after_seconds,
  metadata: json(r.metadata, {}),
  consecutiveFailures: r.consecutive_failures,
  failingSince: r.failing_since,
  circuitState: r.circuit_state,
  circuitUntil: r.circuit_until,
  circuitSince: r.circuit_since,
  lastAttemptAt: r.last_attempt_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** An endpoint with the columns that change without updated_at moving (health, circuit) as `r` has them. */
export const withState = (e: Endpoint, r: Row): Endpoint => ({
  ...e, status: r.status, disabledReason: r.disabled_reason, disabledAt: r.disabled_at, circuitState: r.circuit_state,
  circuitUntil: r.circuit_until, circuitSince: r.circuit_since, consecutiveFailures: r.consecutive_failures,
  failingSince: r.failing_since, lastAttemptAt: r.last_attempt_at,
});

/**
 * Endpoints' configuration (secrets and headers opened, JSON parsed) kept while updated_at
 * stays the same, as every change of configuration moves it: a publish reads its app's
 * endpoints and a claim its deliveries', and opening each one's secrets every time is
 * measurable (one AES-GCM open per secret and header, 50 endpoints per fan-out).
 */
/** SQL that writes rows of endpoints: such statements forget the cached active endpoints (both backends' connection.ts). */
export const writesEndpoints = (sql: string): boolean => /\b(UPDATE|INSERT INTO|DELETE FROM)\s+endpoints\b/i.test(sql);

export class EndpointCache {
  private readonly byId = new Map<string, Endpoint>();
  constructor(private readonly sealer: Sealer) {}

  /** The endpoint of a full endpoints row. */
  fromRow(r: Row): Endpoint {
    const cached = this.get(r.id, r.updated_at);
    if (cached) return withState(cached, r);
    const e = toEndpoint(r, this.sealer);
    this.put(e);
    return e;
  }

  /** The cached configuration of this version, if any (state fields as they were: see withState). */
  get(id: string, updatedAt: number | string): Endpoint | undefined {
    const cached = this.byId.get(id);
    return cached && Number(cached.updatedAt) === Number(updatedAt) ? cached : undefined;
  }

  put(e: Endpoint): void {
    // Deleted endpoints leave entries behind: start over rather than grow without bound.
    if (this.byId.size >= 10_000) this.byId.clear();
    this.byId.set(e.id, e);
  }
}

export const toEvent = (r: Row): StoredEvent => ({
  id: r.id,
  appId: r.app_id,
  type: r.type,
  timestamp: r.timestamp,
  sequence: r.sequence,
  orderingKey: r.ordering_key,
  channels: json(r.channels, []),
  body: r.body,
  deliveries: r.deliveries,
  createdAt: r.created_at,
});

export const toDelivery = (r: Row): Delivery => ({
  id: r.id,
  appId: r.app_id,
  eventId: r.event_id,
  endpointId: r.endpoint_id,
  eventType: r.event_type,
  orderingKey: r.ordering_key,
  status: r.status,
  attemptCount: r.attempt_count,
  lastStatusCode: r.last_status_code,
  lastError: r.last_error,
  // In flight (leased) or parked deliveries have no meaningful next attempt time to show.
  nextAttemptAt: r.status === 'pending' && r.lease_owner == null && r.next_attempt_at < PARKED_AT ? r.next_attempt_at : null,
  held: r.status !== 'pending' || r.lease_owner != null ? null : r.next_attempt_at >= ORDER_HELD_AT ? 'ordering' : r.next_attempt_at >= PARKED_AT ? 'parked' : null,
  createdAt: r.created_at,
  deliveredAt: r.delivered_at,
});

export const toAttempt = (r: Row): Attempt => ({
  id: r.id,
  deliveryId: r.delivery_id,
  endpointId: r.endpoint_id,
  number: r.number,
  startedAt: r.started_at,
  durationMs: r.duration_ms,
  statusCode: r.status_code,
  responseBody: r.response_body,
  error: r.error,
});

/** JSON for a column: as text (SQLite TEXT; for PostgreSQL `json` it also keeps arrays from becoming PostgreSQL arrays). */
export const jsonOrNull = (v: unknown): string | null => (v == null ? null : JSON.stringify(v));

// ── inbound ──────────────────────────────────────────────────────────────
/** Verification config as stored: the provider secrets sealed like endpoint secrets. */
export const sealVerification = (sealer: Sealer, v: SourceVerification): string =>
  JSON.stringify({ ...v, secrets: v.secrets.map((s) => sealer.seal(s)) });

export const toSource = (r: Row, sealer: Sealer = plainSealer): Source => {
  const v = json<SourceVerification>(r.verification, { scheme: 'none', secrets: [] });
  return {
    id: r.id,
    name: r.name,
    appId: r.app_id,
    verification: { ...v, secrets: v.secrets.map((s) => sealer.open(s)) },
    dedup: json(r.dedup, null),
    ordering: json(r.ordering, null),
    destinations: json(r.destinations, []),
    forwardHeaders: json(r.forward_headers, null),
    rateLimit: r.rate_limit,
    response: json(r.response, null),
    poll: openPoll(sealer, r.poll),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
};

/** What releasing a source's request needs to know: where its deliveries go, and whether it has app destinations. */
export interface ReleaseTarget {
  sourceId: string;
  appId: string;
  endpointIds: string[];
  /** disabled destinations: deliveries written held back */
  parked: Set<string>;
  hasApps: boolean;
}

export const releaseTarget = (s: Source, t: { endpointIds: string[]; parked: Set<string> }): ReleaseTarget => ({
  sourceId: s.id, appId: s.appId, endpointIds: t.endpointIds, parked: t.parked, hasApps: s.destinations.some((d) => d.type === 'app'),
});

/**
 * A release's target narrowed to the destinations whose filters matched the request (routes,
 * as stored with it; null: the source filters none, so every destination).
 */
export function routed<T extends ReleaseTarget>(t: T, routes: string[] | null): T {
  if (routes === null) return t;
  const keys = new Set(routes);
  return { ...t, endpointIds: t.endpointIds.filter((id) => keys.has(id)), hasApps: t.hasApps && routes.some((k) => k.startsWith(APP_ROUTE)) };
}

/** Route keys of app destinations start with this (inbound/routing.ts); HTTP destinations' are their endpoint ids. */
export const APP_ROUTE = 'app:';

/** A request row's routes column (JSON text on SQLite, json on PostgreSQL). */
export const routesOf = (r: Row): string[] | null => json<string[] | null>(r.routes, null);

/** The endpoint ids of a source's HTTP destinations, each once. */
export const httpDestinationIds = (s: Source): string[] =>
  [...new Set(s.destinations.flatMap((d) => (d.type === 'http' ? [d.endpointId] : [])))];

/**
 * Of these destinations, those that still exist (`statuses`: endpoint id → status, as read
 * now), and the disabled ones among them: their deliveries are written held back.
 */
export function liveTargets(ids: string[], statuses: Map<string, string>): { endpointIds: string[]; parked: Set<string> } {
  const endpointIds = [...new Set(ids)].filter((id) => statuses.has(id));
  return { endpointIds, parked: new Set(endpointIds.filter((id) => statuses.get(id) !== 'active')) };
}

/** The source's HTTP destinations among the endpoints of its app (see liveTargets). */
export const destinationTargets = (s: Source, endpoints: Array<{ id: string; status: string }>): { endpointIds: string[]; parked: Set<string> } =>
  liveTargets(httpDestinationIds(s), new Map(endpoints.map((e) => [e.id, e.status])));

export type DeliveryCounts = InboundRequest['deliveries'];
export const noDeliveries = (): DeliveryCounts => ({ pending: 0, success: 0, failed: 0 });

export function forwardStateOf(r: Row, counts: DeliveryCounts): ForwardState {
  if (r.status !== 'accepted') return 'none';
  if (r.waiting === 1 || r.waiting === true) return 'waiting';
  if (counts.pending > 0 || r.app_pending === 1 || r.app_pending === true) return 'pending';
  if (counts.failed > 0 || r.app_error) return 'failed';
  return 'delivered';
}

export const toRequest = (r: Row, counts: DeliveryCounts = noDeliveries()): InboundRequest => {
  const routes = r.status === 'accepted' ? routesOf(r) : null;
  // Accepted, but no destination's filter matched it: not forwarded, as a duplicate isn't.
  const unrouted = routes !== null && routes.length === 0 && !(r.waiting === 1 || r.waiting === true);
  return {
    id: r.id,
    sourceId: r.source_id,
    status: r.status,
    reason: r.reason,
    detail: r.detail,
    receivedAt: Number(r.received_at),
    headers: json(r.headers, {}),
    contentType: r.content_type,
    bodySize: r.body_size,
    dedupKey: r.dedup_key,
    orderingKey: r.ordering_key,
    sequence: r.sequence == null ? null : Number(r.sequence),
    gap: r.gap_from == null ? null : { from: Number(r.gap_from), to: Number(r.gap_to) },
    forwardState: unrouted ? 'none' : forwardStateOf(r, counts),
    deliveries: counts,
    appError: r.app_error,
    routes,
    via: r.via ?? 'webhook',
  };
};

/** Rows of (event_pk, status, n) → counts per event pk. */
export function countsByEvent(rows: Array<{ event_pk: number | string; status: string; n: number | string }>): Map<number, DeliveryCounts> {
  const out = new Map<number, DeliveryCounts>();
  for (const row of rows) {
    const pk = Number(row.event_pk);
    const c = out.get(pk) ?? noDeliveries();
    if (row.status === 'pending' || row.status === 'success' || row.status === 'failed') c[row.status] += Number(row.n);
    out.set(pk, c);
  }
  return out;
}
