import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { SELECTOR_PATTERN } from '../inbound/selectors.js';
import { EVENT_TYPE_PATTERN } from '../core/match.js';
import { PollIn, PollStateOut } from './poll-schemas.js';
import { DeliveryDetailOut, EndpointCreate, FilterReason, HEADER_NAME_PATTERN, hinted, IdIterator, PageQueryOf } from './schemas.js';

/** Request and response schemas of the inbound gateway's API (sources and their request log). */
const strict = { additionalProperties: false } as const;
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Timestamp = Type.String({ format: 'date-time' });
const SELECTOR_HINT = 'a selector: header:<name>, body:$.path (body:$.data.id, body:$.items[0]), hash or id';
const Selector = (description: string) => Type.String({ pattern: hinted(SELECTOR_PATTERN, `must be ${SELECTOR_HINT}`), maxLength: 300, description });
/** A pattern without its anchors, to combine with another. */
const bare = (p: string) => p.replace(/^\^/, '').replace(/\$$/, '');
const HeaderName = Type.String({ pattern: HEADER_NAME_PATTERN, maxLength: 128 });

const Scheme = Type.Union(
  (['standard', 'legacy', 'github', 'stripe', 'slack', 'shopify', 'hmac', 'none'] as const).map((s) => Type.Literal(s)),
  { description: 'signature scheme of the receiver SDK, or none' },
);
const HmacOptions = {
  header: Type.Optional(HeaderName),
  algorithm: Type.Optional(Type.Union([Type.Literal('sha1'), Type.Literal('sha256'), Type.Literal('sha512')])),
  encoding: Type.Optional(Type.Union([Type.Literal('hex'), Type.Literal('base64')])),
  prefix: Type.Optional(Type.String({ maxLength: 64 })),
  signedContent: Type.Optional(Type.String({ maxLength: 256, description: 'template over {id}, {timestamp} and {body}' })),
  timestampHeader: Type.Optional(HeaderName),
  idHeader: Type.Optional(HeaderName),
  secretEncoding: Type.Optional(Type.Union([Type.Literal('utf8'), Type.Literal('base64'), Type.Literal('hex')])),
};
export const VerificationIn = Type.Object(
  {
    scheme: Scheme,
    secrets: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), { maxItems: 10, description: 'any of them verifies (rotation)' })),
    toleranceSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400, description: 'replay window of timestamped schemes' })),
    ...HmacOptions,
  },
  strict,
);
export const VerificationOut = Type.Object({
  scheme: Type.String(), secretCount: Type.Integer(), toleranceSeconds: Type.Optional(Type.Integer()), ...HmacOptions,
});

/** A destination's filter: the payload filters of docs/filters.md, over what the gateway verified. */
const RequestFilter = Type.Record(Type.String(), Type.Unknown(), {
  description: 'Only requests matching it go to this destination. Paths over {headers (lower-case names), body (JSON, form fields, or the text), query}: {"headers.x-github-event": "push", "body.ref": "refs/heads/main"}; operators as in endpoint filters (docs/filters.md). null or absent: every request',
});
const DestinationFilter = { filter: Type.Optional(Nullable(RequestFilter)) };

const HttpDestinationFields = Type.Pick(EndpointCreate, ['type', 'url', 'description', 'secret', 'headers', 'retrySchedule', 'timeoutMs', 'rateLimit', 'maxInFlight', 'disableAfterFailures', 'disableAfterSeconds']);
export const HttpDestinationIn = Type.Composite(
  [Type.Object({ id: Type.Optional(Type.String({ maxLength: 64, description: 'an existing destination to keep (PATCH)' })), ...DestinationFilter }), HttpDestinationFields],
  strict,
);
export const AppDestinationIn = Type.Object(
  {
    app: Type.String({ maxLength: 256, description: 'id or uid of an app whose endpoints get the event' }),
    eventType: Type.String({
      maxLength: 300,
      pattern: hinted(`^(?:${bare(SELECTOR_PATTERN)}|${bare(EVENT_TYPE_PATTERN)})$`, `must be an event type name like person.created, or ${SELECTOR_HINT}`),
      description: 'an event type, or a selector (header:…, body:$.…) to take it from the request',
    }),
    ...DestinationFilter,
  },
  strict,
);
export const DedupIn = Type.Object(
  {
    key: Selector('header:<name>, body:$.path, hash (of the raw body) or id (the scheme\'s delivery id)'),
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 * 86_400, description: 'how long a key is remembered; default 172800 (48 h)' })),
  },
  strict,
);
export const OrderingIn = Type.Object(
  {
    key: Selector('requests with the same key are forwarded one at a time'),
    sequence: Type.Optional(Nullable(Selector('an integer, consecutive per key: forwarded in its order'))),
    gapTimeoutSeconds: Type.Optional(Type.Number({ minimum: 0, maximum: 86_400, description: 'how long a gap waits for the missing request; default 60' })),
    firstSequence: Type.Optional(Nullable(Type.Integer({ description: 'the sequence a new key starts at; absent: its first request starts it' }))),
  },
  strict,
);
export const ResponseIn = Type.Object(
  {
    status: Type.Optional(Type.Union([200, 201, 202, 204].map((s) => Type.Literal(s)), { description: 'default 202' })),
    body: Type.Optional(Nullable(Type.String({ maxLength: 4096 }))),
    contentType: Type.Optional(Nullable(Type.String({ maxLength: 256 }))),
  },
  strict,
);
export const SourceCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 256 }),
    verification: VerificationIn,
    dedup: Type.Optional(Nullable(DedupIn)),
    destinations: Type.Array(Type.Union([HttpDestinationIn, AppDestinationIn]), { minItems: 1, maxItems: 20 }),
    ordering: Type.Optional(Nullable(OrderingIn)),
    forwardHeaders: Type.Optional(Nullable(Type.Array(HeaderName, { maxItems: 100, description: 'original headers forwarded; default all but credentials and hop-by-hop' }))),
    rateLimit: Type.Optional(Nullable(Type.Number({ minimum: 0.01, maximum: 1_000_000, description: 'requests per second accepted at most; above it 429' }))),
    response: Type.Optional(Nullable(ResponseIn)),
    poll: Type.Optional(Nullable(PollIn)),
  },
  strict,
);
export const SourcePatch = Type.Partial(SourceCreate, strict);

export const DestinationOut = Type.Union([
  Type.Object({
    type: Type.Literal('http'), id: Type.String(), url: Type.String(), status: Type.String(), circuitState: Type.String(),
    secret: Type.Optional(Type.String({ description: 'signs what Herald forwards (Standard Webhooks); shown on create' })),
    rateLimit: Nullable(Type.Number()), maxInFlight: Nullable(Type.Integer()), timeoutMs: Nullable(Type.Integer()),
    filter: Nullable(RequestFilter),
  }),
  Type.Object({ type: Type.Literal('app'), app: Type.String(), eventType: Type.String(), filter: Nullable(RequestFilter) }),
]);
export const SourceOut = Type.Object({
  id: Type.String(), name: Type.String(), ingestUrl: Type.String(), appId: Type.String(), verification: VerificationOut,
  dedup: Nullable(Type.Object({ key: Type.String(), ttlSeconds: Type.Integer() })),
  ordering: Nullable(Type.Object({ key: Type.String(), sequence: Nullable(Type.String()), gapTimeoutSeconds: Type.Number(), firstSequence: Nullable(Type.Integer()) })),
  destinations: Type.Array(DestinationOut), forwardHeaders: Nullable(Type.Array(Type.String())),
  rateLimit: Nullable(Type.Number()), response: Nullable(Type.Object({ status: Type.Integer(), body: Nullable(Type.String()), contentType: Nullable(Type.String()) })),
  ...PollStateOut,
  createdAt: Timestamp, updatedAt: Timestamp,
});

const RequestVia = Type.Union([Type.Literal('webhook'), Type.Literal('poll')]);
const InboundStatus = Type.Union(['accepted', 'rejected', 'duplicate', 'stale'].map((s) => Type.Literal(s)));
export const RequestOut = Type.Object({
  id: Type.String(), sourceId: Type.String(), status: InboundStatus, reason: Nullable(Type.String()), detail: Nullable(Type.String()),
  receivedAt: Timestamp, headers: Type.Record(Type.String(), Type.String()), contentType: Nullable(Type.String()), bodySize: Type.Integer(),
  dedupKey: Nullable(Type.String()), orderingKey: Nullable(Type.String()), sequence: Nullable(Type.Integer()),
  gap: Nullable(Type.Object({ from: Type.Integer(), to: Type.Integer() })),
  forwarding: Type.Union(['none', 'waiting', 'pending', 'delivered', 'failed'].map((s) => Type.Literal(s))),
  deliveries: Type.Object({ pending: Type.Integer(), success: Type.Integer(), failed: Type.Integer() }),
  appError: Nullable(Type.String()),
  via: Type.Union([Type.Literal('webhook'), Type.Literal('poll')], { description: 'posted by the provider, or found by polling its changes API' }),
  routes: Nullable(Type.Array(Type.String(), {
    description: 'the destinations whose filters it matched: HTTP destinations by id, app destinations as app:<app>:<eventType>; [] when none did (forwarding is then none); null when the source filters none (all got it)',
  })),
});
export const RequestDetailOut = Type.Composite([RequestOut, Type.Object({ deliveryLog: Type.Array(DeliveryDetailOut, { description: 'its deliveries to HTTP destinations, with attempts' }) })]);
export const SourceListQuery = PageQueryOf(IdIterator('src'));
export const RequestListQuery = Type.Composite([PageQueryOf(IdIterator('req')), Type.Object({ status: Type.Optional(InboundStatus), via: Type.Optional(RequestVia) })], strict);
export const SourceParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
export const RequestParams = Type.Object({ id: Type.String({ maxLength: 64 }), req: Type.String({ maxLength: 64 }) });
export const ReplayBody = Type.Object(
  {
    since: Timestamp,
    until: Type.Optional(Timestamp),
    status: Type.Optional(Type.Union([Type.Literal('failed'), Type.Literal('success')], { description: 'deliveries in this state are sent again; default failed' })),
  },
  strict,
);

export const ReplayOut = Type.Object({ replayed: Type.Integer() });

const RequestDocument = Type.Object({
  headers: Type.Optional(Type.Record(Type.String(), Type.String({ maxLength: 8192 }), { description: 'lower-case names, as the gateway sees them' })),
  body: Type.Optional(Type.Unknown({ description: 'the body as parsed JSON (or form fields, or text)' })),
  query: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String(), Type.Array(Type.String())]))),
}, strict);
export const RoutingTestIn = Type.Object({
  request: Type.Optional(RequestDocument),
  requestId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'a logged request of the source (its logged headers and stored body; the query is not kept)' })),
}, { ...strict, description: 'exactly one of request or requestId' });
export const RoutingTestOut = Type.Object({
  routes: Type.Array(Type.String(), { description: 'the destinations the request goes to (see RequestOut.routes)' }),
  destinations: Type.Array(Type.Object({
    destination: Type.String(), matches: Type.Boolean(),
    reasons: Type.Array(FilterReason, { description: 'empty when it matches; else the first condition that failed' }),
  })),
});

export type SourceCreate = Static<typeof SourceCreate>;
export type SourcePatch = Static<typeof SourcePatch>;
export type HttpDestinationIn = Static<typeof HttpDestinationIn>;
export type AppDestinationIn = Static<typeof AppDestinationIn>;
