import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { EVENT_TYPE_PATTERN, SUBSCRIPTION_PATTERN } from '../core/match.js';
import type { IdPrefix } from '../ids.js';
import { EnvelopeProfileOut, EnvelopeProfileSchema, PublishFields, PublishPayload, TransformSource } from './payload-schemas.js';

/**
 * Request and response schemas. Fastify validates requests with them and /openapi.json
 * is built from the same objects, so the document can't drift from what the API accepts.
 */
const strict = { additionalProperties: false } as const;
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Metadata = Type.Record(Type.String(), Type.Unknown(), { description: 'Free-form JSON object kept with the resource' });
const Timestamp = Type.String({ format: 'date-time' });

/** What a pattern asks for, in words: the message for a value that doesn't match it (see explain in app.ts). */
export const PATTERN_HINTS = new Map<string, string>();
export const hinted = (pattern: string, hint: string): string => {
  PATTERN_HINTS.set(pattern, hint);
  return pattern;
};

export const ErrorBody = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }),
});

/** A list's iterator is the id (or name, or sequence) of the previous page's last item: anything else never came from a page. */
export const PageQueryOf = <T extends TSchema>(iterator: T) => Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 250, default: 50 })), iterator: Type.Optional(iterator) },
  strict,
);
/** A page query as the typed client sees it (see sdk/client/types.ts). */
export const PageQuery = PageQueryOf(Type.String());
export const IdIterator = (prefix: IdPrefix) => Type.String({ pattern: `^${prefix}_[0-9A-HJKMNP-TV-Z]{26}$` });
export const pageOf = <T extends TSchema>(item: T) =>
  Type.Object({ data: Type.Array(item), iterator: Nullable(Type.String()), done: Type.Boolean() });

// ── apps ─────────────────────────────────────────────────────────────────
const UID_PATTERN = hinted('^[A-Za-z0-9._~:-]+$', 'may contain only letters, digits and . _ ~ : -');
const Uid = Type.String({ minLength: 1, maxLength: 256, pattern: UID_PATTERN });
export const HEADER_NAME_PATTERN = hinted('^[A-Za-z0-9!#$%&\'*+.^_`|~-]+$', "must be an HTTP header name: letters, digits and !#$%&'*+.^_`|~-");
export const SignatureProfile = Type.Object(
  {
    header: Type.Optional(Type.String({ pattern: HEADER_NAME_PATTERN, maxLength: 128, description: 'legacy signature header (default x-webhook-signature)' })),
    format: Type.Optional(Type.Union([Type.Literal('sha256=hex'), Type.Literal('hex')], { description: '`sha256=<hex>` (default) or bare `<hex>`' })),
    eventHeader: Type.Optional(Type.String({ pattern: HEADER_NAME_PATTERN, maxLength: 128, description: 'event type header (default x-webhook-event)' })),
  },
  { ...strict, description: "Branding of the legacy headers for this app's deliveries; Standard Webhooks headers are always sent" },
);
/** Colours as #rgb or #rrggbb only, logos over https only: the portal puts them into its CSS and an <img>. */
export const PortalTheme = Type.Object(
  {
    productName: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    primaryColor: Type.Optional(Type.String({ pattern: hinted('^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$', 'must be a colour like #4f46e5'), description: '#rgb or #rrggbb' })),
    logoUrl: Type.Optional(Type.String({ maxLength: 2048, pattern: hinted('^https://[^\\s"\'<>]+$', 'must be an https:// URL'), description: 'https URL of an image' })),
    darkMode: Type.Optional(Type.Boolean()),
  },
  { ...strict, description: "How the customer portal looks for this app's customers (the portal URL's query can override it)" },
);
export const AppCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 256 }), uid: Type.Optional(Nullable(Uid)), metadata: Type.Optional(Metadata),
    signatureProfile: Type.Optional(Nullable(SignatureProfile)), envelopeProfile: Type.Optional(Nullable(EnvelopeProfileSchema)),
    portal: Type.Optional(Nullable(PortalTheme)),
  },
  strict,
);
export const AppPatch = Type.Partial(AppCreate, strict);
export const AppOut = Type.Object({
  id: Type.String(), uid: Nullable(Type.String()), name: Type.String(), metadata: Metadata,
  signatureProfile: Nullable(SignatureProfile), envelopeProfile: Nullable(EnvelopeProfileOut), portal: Nullable(PortalTheme),
  createdAt: Timestamp, updatedAt: Timestamp,
});
export const AppListQuery = PageQueryOf(IdIterator('app'));
export const AppParams = Type.Object({ app: Type.String({ maxLength: 256 }) });

// ── event types ──────────────────────────────────────────────────────────
const EventTypeName = Type.String({
  minLength: 1, maxLength: 256,
  pattern: hinted(EVENT_TYPE_PATTERN, 'must be an event type name like person.created: letters, digits, _ and -, in dot-separated parts'),
});
const JsonSchemaObject = Type.Record(Type.String(), Type.Unknown(), { description: 'JSON Schema (draft 2020-12 subset supported by Ajv) for `data`' });
const Examples = Type.Array(Type.Record(Type.String(), Type.Unknown()), {
  maxItems: 10, description: "Example payloads (an event's `data`), shown in the catalogue and sent by Send test event; each must match the schema",
});
export const EventTypeCreate = Type.Object(
  {
    name: EventTypeName, description: Type.Optional(Nullable(Type.String({ maxLength: 4096 }))), schema: Type.Optional(Nullable(JsonSchemaObject)),
    examples: Type.Optional(Examples),
  },
  strict,
);
export const EventTypePatch = Type.Object(
  {
    description: Type.Optional(Nullable(Type.String({ maxLength: 4096 }))),
    schema: Type.Optional(Nullable(JsonSchemaObject)),
    examples: Type.Optional(Examples),
    archived: Type.Optional(Type.Boolean()),
  },
  strict,
);
export const EventTypeOut = Type.Object({
  name: Type.String(), description: Nullable(Type.String()), schema: Nullable(JsonSchemaObject), examples: Examples, archived: Type.Boolean(),
  createdAt: Timestamp, updatedAt: Timestamp,
});
export const EventTypeParams = Type.Object({ name: EventTypeName });
export const EventTypeListQuery = Type.Composite([PageQueryOf(EventTypeName), Type.Object({ includeArchived: Type.Optional(Type.Boolean()) })], strict);

// ── endpoints ────────────────────────────────────────────────────────────
const Status = Type.Union([Type.Literal('active'), Type.Literal('disabled')]);
// A record's key pattern only selects which keys its value schema applies to: without
// additionalProperties false, a name that isn't one ("a b") passed unchecked. Values are
// checked by checkEndpoint (422 invalid_header naming the header), not by a pattern here.
const Headers = Type.Record(Type.String({ pattern: HEADER_NAME_PATTERN, maxLength: 256 }), Type.String({ maxLength: 4096 }), {
  description: 'Extra headers sent with every delivery; values are visible ASCII, spaces and tabs',
  maxProperties: 50,
  additionalProperties: false,
});
const RetrySchedule = Type.Array(Type.Number({ minimum: 0, maximum: 604_800 }), {
  maxItems: 50,
  description: 'Delays in seconds before retry 1, 2, …; null = server default',
});
const EndpointType = Type.Union([Type.Literal('http'), Type.Literal('relay')], {
  description: 'http (default): POSTed to `url`. relay: no URL; deliveries go to a `herald listen` connected to this server, and wait while none is',
});
/** A payload filter (docs/filters.md); checked and compiled by compileFilter, which says what is wrong where. */
export const Filter = Type.Record(Type.String(), Type.Unknown(), {
  description: 'Payload filter over the envelope {id, type, timestamp, data, channels}: paths (dotted or nested) → a value or operators ($eq $neq $gt $gte $lt $lte $in $nin $exists $startsWith $endsWith $contains $regex), combined with $and $or $not. See docs/filters.md',
});
export const Channel = Type.String({ minLength: 1, maxLength: 128, pattern: hinted('^[A-Za-z0-9_.:-]+$', 'must be letters, digits and _ . : -') });
export const EndpointCreate = Type.Object(
  {
    type: Type.Optional(EndpointType),
    url: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, description: 'required for type http' })),
    description: Type.Optional(Nullable(Type.String({ maxLength: 4096 }))),
    events: Type.Optional(Nullable(Type.Array(
      Type.String({ maxLength: 256, pattern: hinted(SUBSCRIPTION_PATTERN, 'must be an event type name like person.created, a prefix like person.*, or * for every type') }),
      { maxItems: 500, description: 'the event types delivered; null, absent or ["*"]: every type ([] is refused)' },
    ))),
    filter: Type.Optional(Nullable(Filter)),
    channels: Type.Optional(Nullable(Type.Array(Channel, { maxItems: 100, description: 'only events published to at least one of these channels; null, absent or []: not limited by channels' }))),
    transform: Type.Optional(Nullable(TransformSource)),
    status: Type.Optional(Status),
    secret: Type.Optional(Type.String({ description: '`whsec_` + base64 of 24..64 bytes; generated when absent' })),
    headers: Type.Optional(Headers),
    retrySchedule: Type.Optional(Nullable(RetrySchedule)),
    timeoutMs: Type.Optional(Nullable(Type.Integer({ minimum: 100, maximum: 300_000 }))),
    rateLimit: Type.Optional(Nullable(Type.Number({ minimum: 0.01, maximum: 100_000, description: 'deliveries per second at most' }))),
    maxInFlight: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 10_000, description: 'concurrent requests at most' }))),
    disableAfterFailures: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'auto-disable after this many consecutive failures…' }))),
    disableAfterSeconds: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 31_536_000, description: '…spanning at least this many seconds' }))),
    metadata: Type.Optional(Metadata),
  },
  strict,
);
export const EndpointPatch = Type.Partial(Type.Omit(EndpointCreate, ['secret', 'type']), strict);
export const RelayOut = Type.Object({
  connected: Type.Boolean({ description: 'a listener is connected (to this server process)' }),
  listeners: Type.Integer(),
  since: Nullable(Timestamp),
});
export const EndpointOut = Type.Object({
  id: Type.String(), appId: Type.String(), type: EndpointType, url: Type.String(), description: Nullable(Type.String()),
  relay: Nullable(RelayOut),
  events: Type.Array(Type.String()), filter: Nullable(Filter), channels: Nullable(Type.Array(Type.String())),
  transform: Nullable(Type.String()),
  status: Status, disabledReason: Nullable(Type.String()),
  disabledAt: Nullable(Timestamp), secret: Type.Optional(Type.String()), headers: Headers,
  retrySchedule: Nullable(RetrySchedule), timeoutMs: Nullable(Type.Integer()), rateLimit: Nullable(Type.Number()),
  maxInFlight: Nullable(Type.Integer()), disableAfterFailures: Nullable(Type.Integer()), disableAfterSeconds: Nullable(Type.Integer()),
  metadata: Metadata, consecutiveFailures: Type.Integer(), failingSince: Nullable(Timestamp),
  circuitState: Type.Union([Type.Literal('closed'), Type.Literal('open'), Type.Literal('half_open'), Type.Literal('recovering')]),
  createdAt: Timestamp, updatedAt: Timestamp,
});
export const RotateBody = Type.Object(
  {
    secret: Type.Optional(Type.String({ description: 'the new secret; generated when absent' })),
    graceSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 604_800, default: 86_400, description: 'how long the old secret keeps signing; 0 revokes every earlier secret at once' })),
  },
  strict,
);
export const EndpointParams = Type.Object({ app: Type.String({ maxLength: 256 }), ep: Type.String({ maxLength: 64 }) });
export const EndpointListQuery = Type.Composite([PageQueryOf(IdIterator('ep')), Type.Object({ status: Type.Optional(Status) })], strict);
export const RecoverBody = Type.Object({ since: Timestamp, until: Type.Optional(Timestamp) }, strict);
export const SecretOut = Type.Object({ secret: Type.String() });
export const TestBody = Type.Object(
  {
    eventType: Type.Optional(EventTypeName),
    data: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: "the event's data; default: the event type's first example, else one made from its schema" })),
  },
  { ...strict, description: 'Without eventType, a webhook.test event' },
);
export const TestOut = Type.Object({ eventId: Type.String(), deliveryId: Type.String() });
export const RecoverOut = Type.Object({ requeued: Type.Integer() });
export const StatsOut = Type.Object({
  total: Type.Integer({ description: 'attempts in the last 24 h' }), succeeded: Type.Integer({ description: 'of them, answered 2xx' }),
  failed: Type.Integer({ description: 'of them, failed (non-2xx, timeout, network error)' }), pending: Type.Integer({ description: 'deliveries waiting now' }),
  successRate: Nullable(Type.Number({ description: 'succeeded / total, null without attempts' })), avgResponseMs: Nullable(Type.Number()),
  p95ResponseMs: Nullable(Type.Number({ description: 'to within 10 % (exact below 100 ms)' })),
  failedLast24h: Type.Integer({ description: 'same as failed (kept for older clients)' }), consecutiveFailures: Type.Integer(), lastDeliveryAt: Nullable(Timestamp),
}, { description: "An endpoint's dashboard figures" });

// ── events ───────────────────────────────────────────────────────────────
export const EventIn = Type.Object(
  {
    type: EventTypeName,
    data: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: "The event payload (a JSON object), sent in the app's envelope; exactly one of data and payload" })),
    payload: Type.Optional(PublishPayload),
    fields: Type.Optional(PublishFields),
    id: Type.Optional(Type.String({ minLength: 1, maxLength: 256, pattern: UID_PATTERN, description: 'Your id for the event; publishing the same id again returns the original' })),
    timestamp: Type.Optional(Timestamp),
    orderingKey: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'deliveries with the same key reach each endpoint one at a time, in publish order' })),
    channels: Type.Optional(Type.Array(Channel, { maxItems: 10, description: 'delivered only to endpoints without channels or sharing one of these' })),
  },
  strict,
);
export const EventBatchIn = Type.Object({ events: Type.Array(EventIn, { minItems: 1, maxItems: 1000 }) }, strict);
export const PublishOut = Type.Object({
  id: Type.String(), type: Type.String(), timestamp: Timestamp, sequence: Type.Integer(), orderingKey: Nullable(Type.String()),
  deliveries: Type.Integer(),
});
export const BatchPublishOut = Type.Object({ data: Type.Array(Type.Composite([PublishOut, Type.Object({ duplicate: Type.Boolean() })])) });
export const EventOut = Type.Composite([PublishOut, Type.Object({ channels: Type.Array(Type.String()), data: Type.Unknown(), createdAt: Timestamp })]);
export const EventDetailOut = Type.Composite([EventOut, Type.Object({
  endpointIds: Type.Array(Type.String(), { description: 'the endpoints it was fanned out to (its deliveries), so "why didn\'t I get it" has an answer; POST …/endpoints/{ep}/filter/test {eventId} explains a filter that did not match' }),
})]);
export const FilterReason = Type.Object({
  path: Type.String({ description: 'JSON pointer of the condition in the filter' }), field: Type.String(), operator: Type.String(),
  expected: Type.Optional(Type.Unknown()), actual: Type.Optional(Type.Array(Type.Unknown())), message: Type.String(),
});
export const FilterTestOut = Type.Object({
  matches: Type.Boolean({ description: 'the event would be delivered to it (event types, channels and filter)' }),
  reasons: Type.Array(FilterReason, { description: 'empty when it matches; else the first condition that failed (for $or, the first of each branch)' }),
});
const FilterEnvelope = Type.Object({
  id: Type.Optional(Type.String({ maxLength: 256 })), type: Type.Optional(Type.String({ maxLength: 256 })), timestamp: Type.Optional(Type.String({ maxLength: 64 })),
  channels: Type.Optional(Type.Array(Type.String({ maxLength: 128 }), { maxItems: 10 })), data: Type.Optional(Type.Unknown()),
}, { additionalProperties: true, description: 'an envelope as a receiver would get it, plus channels' });
export const EndpointFilterTestIn = Type.Object({
  event: Type.Optional(FilterEnvelope),
  eventId: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'a stored event of the app' })),
}, { ...strict, description: 'exactly one of event or eventId' });
export const FilterTestIn = Type.Object({ filter: Filter, event: FilterEnvelope }, strict);
export const EventParams = Type.Object({ app: Type.String({ maxLength: 256 }), id: Type.String({ maxLength: 256 }) });
export const EventListQuery = Type.Composite([PageQueryOf(Type.String({ pattern: '^\\d{1,15}$' })), Type.Object({ type: Type.Optional(EventTypeName) })], strict);

// ── deliveries ───────────────────────────────────────────────────────────
const DeliveryStatus = Type.Union([Type.Literal('pending'), Type.Literal('success'), Type.Literal('failed')]);
export const DeliveryOut = Type.Object({
  id: Type.String(), eventId: Type.String(), endpointId: Type.String(), eventType: Type.String(),
  orderingKey: Nullable(Type.String()), status: DeliveryStatus,
  attemptCount: Type.Integer(), lastStatusCode: Nullable(Type.Integer()), lastError: Nullable(Type.String()),
  nextAttemptAt: Nullable(Timestamp),
  heldReason: Nullable(Type.Union(
    ['endpoint_disabled', 'circuit_open', 'circuit_recovering', 'relay_not_connected', 'ordering_key'].map((r) => Type.Literal(r)),
    { description: 'why a pending delivery has no scheduled attempt: its endpoint is disabled, its circuit open or recovering, it is a relay endpoint without a listener, or an earlier delivery of its ordering key is unfinished' },
  )),
  nextProbeAt: Nullable(Timestamp),
  createdAt: Timestamp, deliveredAt: Nullable(Timestamp),
});
export const AttemptOut = Type.Object({
  id: Type.String(), number: Type.Integer(), startedAt: Timestamp, durationMs: Type.Integer(),
  statusCode: Nullable(Type.Integer()), responseBody: Nullable(Type.String()), error: Nullable(Type.String()),
});
export const SentRequest = Type.Object({
  url: Type.String(), headers: Type.Record(Type.String(), Type.String()), body: Type.String({ description: 'the payload as sent (the envelope)' }),
}, { description: "What the last attempt sent (the first, before any): the endpoint's URL, the headers (signatures left out), the body; null when the event or endpoint is gone" });
export const DeliveryDetailOut = Type.Composite([DeliveryOut, Type.Object({ attempts: Type.Array(AttemptOut), request: Nullable(SentRequest) })]);
export const RetryOut = Type.Object({ id: Type.String(), status: Type.Literal('pending') });
export const DeliveryParams = Type.Object({ app: Type.String({ maxLength: 256 }), id: Type.String({ maxLength: 64 }) });
export const DeliveryListQuery = Type.Composite(
  [
    PageQueryOf(IdIterator('dlv')),
    Type.Object({
      endpointId: Type.Optional(Type.String({ maxLength: 64 })),
      eventId: Type.Optional(Type.String({ maxLength: 256 })),
      eventType: Type.Optional(EventTypeName),
      status: Type.Optional(DeliveryStatus),
    }),
  ],
  strict,
);

export type AppCreate = Static<typeof AppCreate>;
export type EndpointCreate = Static<typeof EndpointCreate>;
export type EndpointPatch = Static<typeof EndpointPatch>;
export type EventIn = Static<typeof EventIn>;
