import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { HEADER_NAME_PATTERN } from './schemas.js';

/**
 * Schemas of inbound polling: a source's `poll`, what GET shows of it, and the answer of
 * `POST /v1/sources/{id}/poll`. JSON paths and the URL are checked by the route (pollOf), so
 * that a bad one is a 422 naming the field, with the reason.
 */
const strict = { additionalProperties: false } as const;
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Timestamp = Type.String({ format: 'date-time' });
const Path = (description: string) => Type.String({ minLength: 1, maxLength: 300, description: `${description}; a JSON path: $, $.a.b, $.items[0].id` });
const Param = Type.String({ minLength: 1, maxLength: 128, description: 'the query parameter the cursor is sent in' });

const Cursor = Type.Union([
  Type.Object({ param: Param, from: Path('where the next cursor is in the response') }, strict),
  Type.Object({ param: Param, fromItems: Path('the item field whose largest value is the next cursor (an updated-at, a version)') }, strict),
]);
const PollFields = {
  intervalSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 7 * 86_400, description: 'between runs; default 300' })),
  items: Path('the array of changed objects in the response'),
  key: Path("the value in each item that the source's dedup key yields for a webhook of the same change"),
  cursor: Type.Optional(Nullable(Cursor)),
  maxPages: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'pages read per run at most; default 10' })),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 120_000, description: 'per page; default 30000' })),
};
export const PollIn = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2048, description: "the provider's changes API, read with GET (the outbound SSRF guard applies)" }),
    headers: Type.Optional(Type.Record(Type.String({ pattern: HEADER_NAME_PATTERN, maxLength: 128 }), Type.String({ maxLength: 8192 }), {
      description: 'sent with every request (an API token, say); stored encrypted and never shown again. Omitted on PATCH: the current ones stay',
    })),
    ...PollFields,
  },
  { ...strict, description: "Reconciliation: poll the provider's changes API for what its webhooks missed. null removes it" },
);
export const PollOut = Type.Object({
  url: Type.String(), headerNames: Type.Array(Type.String(), { description: 'the headers sent; their values are never shown' }),
  intervalSeconds: Type.Integer(), items: Type.String(), key: Type.String(),
  cursor: Nullable(Type.Union([Type.Object({ param: Type.String(), from: Type.String() }), Type.Object({ param: Type.String(), fromItems: Type.String() })])),
  maxPages: Type.Integer(), timeoutMs: Type.Integer(),
});
export const PollResultOut = Type.Object({
  fetched: Type.Integer({ description: 'items read over all pages' }),
  new: Type.Integer({ description: 'accepted as requests (via poll) and forwarded' }),
  duplicates: Type.Integer({ description: 'seen already (by a webhook or an earlier poll): counted, not forwarded' }),
  stale: Type.Integer({ description: "older than their key's next expected sequence" }),
  skipped: Type.Integer({ description: 'items without the key: not forwarded, since they could not be deduplicated' }),
  pages: Type.Integer(),
  cursor: Nullable(Type.String({ description: 'the cursor stored after the run' })),
  startedAt: Timestamp, finishedAt: Timestamp,
  error: Nullable(Type.Object({ code: Type.String(), message: Type.String(), status: Type.Optional(Type.Integer()) }, {
    description: 'why the run stopped early (the pages before it are committed): http_error, rate_limited, unavailable, timeout, blocked_address, invalid_json, invalid_response, …',
  })),
  retryAfterSeconds: Type.Optional(Type.Integer({ description: "the provider's Retry-After, honoured: the next run is no sooner" })),
  failures: Type.Integer({ description: 'failed runs in a row: the next run is backed off by 2^failures intervals' }),
});
/** Merged into SourceOut. */
export const PollStateOut = {
  poll: Nullable(PollOut),
  lastPollAt: Nullable(Timestamp),
  lastPollResult: Nullable(PollResultOut),
  nextPollAt: Nullable(Timestamp),
};
export const PollNowBody = Type.Object(
  { cursor: Type.Optional(Nullable(Type.String({ maxLength: 2048, description: 'start from this cursor instead of the stored one; null: from the start (a full sync)' }))) },
  strict,
);

export type PollIn = Static<typeof PollIn>;
