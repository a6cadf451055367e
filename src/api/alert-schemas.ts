import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { IdIterator, PageQueryOf } from './schemas.js';

/** Schemas of alert rules: what they watch, when they fire, whom they tell. */
const strict = { additionalProperties: false } as const;
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Timestamp = Type.String({ format: 'date-time' });

export const MAX_CHANNELS = 10;
export const MAX_RECIPIENTS = 10;

export const AlertMetric = Type.Union(
  [
    Type.Literal('failed_deliveries'), Type.Literal('success_rate'), Type.Literal('response_time_p95'), Type.Literal('consecutive_failures'),
    Type.Literal('queue_depth'), Type.Literal('endpoint_disabled'), Type.Literal('source_rejections'), Type.Literal('poll_failures'),
  ],
  {
    description: 'failed_deliveries: failed attempts in the window (each retry counts). success_rate: % of attempts in the window answered 2xx. '
      + 'response_time_p95: ms. consecutive_failures: the longest current run of failures of an endpoint in scope. '
      + 'queue_depth: deliveries waiting to be sent. endpoint_disabled: disabled endpoints in scope. '
      + 'source_rejections: requests a source refused (failed verification) in the window. '
      + 'poll_failures: consecutive failed poll runs of a source (0 after a run that succeeds), the worst source in scope. '
      + 'source_rejections and poll_failures take a sourceId or no scope (every source; for poll_failures every source that polls), on /v1/alert-rules only',
  },
);
export const AlertOp = Type.Union([Type.Literal('>'), Type.Literal('>='), Type.Literal('<'), Type.Literal('<=')], {
  description: 'success_rate takes < or <= (default <); the others > or >= (default >; endpoint_disabled: >=)',
});

export const AlertConditionIn = Type.Object(
  {
    metric: AlertMetric,
    op: Type.Optional(AlertOp),
    threshold: Type.Optional(Type.Number({ minimum: 0, maximum: 1_000_000_000, description: 'required, except for endpoint_disabled (default 1); success_rate: 0 to 100' })),
    windowSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600, description: 'the sliding window of failed_deliveries, success_rate, response_time_p95 and source_rejections: default 300, at most 3600' })),
    minAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'success_rate (default 10) and response_time_p95 (default 1): with fewer attempts in the window the rule judges nothing and keeps its state' })),
    olderThanSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 30 * 86_400, description: 'queue_depth: fire only when the oldest waiting delivery is older than this too' })),
  },
  strict,
);
export const AlertCondition = Type.Object({
  metric: AlertMetric,
  op: AlertOp,
  threshold: Type.Number(),
  windowSeconds: Nullable(Type.Integer()),
  minAttempts: Nullable(Type.Integer()),
  olderThanSeconds: Nullable(Type.Integer()),
});

const Url = Type.String({ minLength: 1, maxLength: 2048 });
export const AlertChannelIn = Type.Union([
  Type.Object(
    {
      type: Type.Literal('email'),
      to: Type.Array(Type.String({ format: 'email', maxLength: 254 }), { minItems: 1, maxItems: MAX_RECIPIENTS, uniqueItems: true }),
    },
    { ...strict, description: 'an email over SMTP (HERALD_SMTP_URL)' },
  ),
  Type.Object({ type: Type.Literal('slack'), url: Url }, { ...strict, description: "POST {text, blocks} to a Slack incoming-webhook URL (Mattermost, Rocket.Chat and Discord's /slack URLs take it too)" }),
  Type.Object(
    {
      type: Type.Literal('webhook'), url: Url,
      endpointId: Type.Optional(Type.String({ maxLength: 64, description: 'on PATCH: keep this existing webhook channel (and its secret)' })),
    },
    { ...strict, description: 'alert.firing / alert.resolved events, signed and retried like any delivery' },
  ),
]);
export const AlertChannelOut = Type.Union([
  Type.Object({ type: Type.Literal('email'), to: Type.Array(Type.String()) }),
  Type.Object({ type: Type.Literal('slack'), url: Type.String() }),
  Type.Object({
    type: Type.Literal('webhook'), url: Type.String(),
    endpointId: Type.String({ description: "the channel's endpoint in Herald's alerts app: its deliveries are the log" }),
    appId: Type.String({ description: "Herald's alerts app" }),
    secret: Type.Optional(Type.String({ description: 'the signing secret, returned only when the channel is created' })),
  }),
]);

const Name = Type.String({ minLength: 1, maxLength: 200 });
const RepeatSeconds = Type.Integer({ minimum: 10, maximum: 7 * 86_400, description: 'while firing, remind every this many seconds; unset: no reminders' });
const Channels = Type.Array(AlertChannelIn, { minItems: 1, maxItems: MAX_CHANNELS });

export const AlertRuleCreate = Type.Object(
  {
    name: Name,
    appId: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'id or uid; no appId, endpointId or sourceId: every app' })),
    endpointId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: "one endpoint (of appId's app)" })),
    sourceId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'one inbound source (source_rejections; poll_failures, of a source with poll configured)' })),
    condition: AlertConditionIn,
    channels: Channels,
    repeatSeconds: Type.Optional(Nullable(RepeatSeconds)),
    enabled: Type.Optional(Type.Boolean({ default: true })),
  },
  strict,
);
export const AppAlertRuleCreate = Type.Omit(AlertRuleCreate, ['appId', 'sourceId'], strict);
export const AlertRulePatch = Type.Object(
  {
    name: Type.Optional(Name),
    condition: Type.Optional(AlertConditionIn),
    channels: Type.Optional(Channels),
    repeatSeconds: Type.Optional(Nullable(RepeatSeconds)),
    enabled: Type.Optional(Type.Boolean()),
  },
  strict,
);

export const AlertRuleOut = Type.Object({
  id: Type.String(),
  name: Type.String(),
  appId: Nullable(Type.String()),
  endpointId: Nullable(Type.String()),
  sourceId: Nullable(Type.String()),
  condition: AlertCondition,
  channels: Type.Array(AlertChannelOut, { description: "empty for a portal session reading a rule the operator set (its channels are the operator's)" }),
  createdBy: Type.Union([Type.Literal('operator'), Type.Literal('portal')], { description: "operator: set with the API key or in the console, read-only in the customer's portal" }),
  repeatSeconds: Nullable(Type.Integer()),
  enabled: Type.Boolean(),
  state: Type.Union([Type.Literal('ok'), Type.Literal('firing')]),
  lastTransitionAt: Nullable(Timestamp),
  lastValue: Nullable(Type.Number({ description: 'the value at the last transition' })),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const AlertHistoryOut = Type.Object({
  data: Type.Array(Type.Object({
    at: Timestamp,
    kind: Type.Union([Type.Literal('firing'), Type.Literal('resolved'), Type.Literal('reminder')]),
    value: Nullable(Type.Number()),
    threshold: Type.Number(),
    summary: Type.String(),
    figures: Type.Record(Type.String(), Type.Unknown(), { description: 'what the value was computed from' }),
  }), { description: 'the last 100 transitions, newest first' }),
});

export const AlertRuleParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
export const AppAlertRuleParams = Type.Object({ app: Type.String({ maxLength: 256 }), id: Type.String({ maxLength: 64 }) });
export const AlertRuleListQuery = PageQueryOf(IdIterator('alr'));

export type AlertRuleCreate = Static<typeof AlertRuleCreate>;
export type AlertRulePatch = Static<typeof AlertRulePatch>;
export type AlertChannelIn = Static<typeof AlertChannelIn>;
export type AlertConditionIn = Static<typeof AlertConditionIn>;
