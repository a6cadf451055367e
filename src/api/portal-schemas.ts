import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { AppOut, PortalTheme } from './schemas.js';

/** Schemas of browser sessions, customer-portal links and the endpoint time series. */
const strict = { additionalProperties: false } as const;
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Timestamp = Type.String({ format: 'date-time' });

export const Capability = Type.Union(
  [Type.Literal('view'), Type.Literal('manage_endpoints'), Type.Literal('reveal_secrets'), Type.Literal('rotate_secrets'), Type.Literal('send')],
  { description: 'view: always. manage_endpoints: create, edit, disable, delete. reveal_secrets: GET …/secret. rotate_secrets. send: test events, retry, recover' },
);

export const SessionCreate = Type.Union([
  Type.Object({ apiKey: Type.String({ minLength: 1, maxLength: 1024, description: 'the API key: opens an operator console session' }) }, strict),
  Type.Object({ portalToken: Type.String({ minLength: 1, maxLength: 256, description: 'the token of a portal-access link: one use' }) }, strict),
]);
export const SessionOut = Type.Object({
  kind: Type.Union([Type.Literal('operator'), Type.Literal('portal')]),
  app: Nullable(AppOut),
  capabilities: Type.Array(Capability),
  expiresAt: Nullable(Timestamp),
  csrfToken: Nullable(Type.String({ description: 'send as x-herald-csrf with every change made with the session cookie' })),
  theme: Nullable(PortalTheme),
});

export const PortalAccessBody = Type.Object(
  {
    capabilities: Type.Optional(Type.Array(Capability, { uniqueItems: true, maxItems: 5, description: 'default: all of them; view is always included' })),
    expiresInSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 7 * 86_400, default: 3600, description: 'how long the link and the session it opens last: 1 h by default, at most 7 days' })),
    sessionId: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: "your own session's id, to end its portal sessions with expire-all" })),
  },
  strict,
);
export const PortalAccessOut = Type.Object({
  url: Type.String({ description: 'send the customer here, or embed it in an <iframe>; the token is in the fragment, which browsers never send to a server' }),
  token: Type.String(),
  expiresAt: Timestamp,
});
export const ExpireAllBody = Type.Object({ sessionId: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })) }, strict);
export const ExpireAllOut = Type.Object({ expired: Type.Integer({ description: 'sessions ended (unused links are voided too)' }) });

export const TimeseriesQuery = Type.Object(
  {
    since: Type.Optional(Timestamp),
    until: Type.Optional(Timestamp),
    bucketSeconds: Type.Optional(Type.Integer({ minimum: 10, maximum: 86_400, default: 60 })),
  },
  strict,
);
export const TimeseriesOut = Type.Object({
  bucketSeconds: Type.Integer(),
  since: Timestamp,
  until: Timestamp,
  points: Type.Array(Type.Object({
    t: Timestamp, succeeded: Type.Integer(), failed: Type.Integer(), p50Ms: Nullable(Type.Number()), p95Ms: Nullable(Type.Number()),
  }), { description: 'attempts per bucket by outcome, with response-time percentiles; empty buckets are left out' }),
});

export type SessionCreate = Static<typeof SessionCreate>;
export type PortalAccessBody = Static<typeof PortalAccessBody>;
