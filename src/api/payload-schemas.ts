import { Type } from '@sinclair/typebox';
import { FIELD_NAME_PATTERN, MAX_EXTRA_FIELDS } from '../core/envelope-profile.js';

/**
 * Schemas of the payload shapes (envelope profiles, raw payloads, transforms), used by
 * schemas.ts in apps, events and endpoints. Semantic checks (names used twice, a transform
 * that doesn't compile) are the routes' (422 naming the part).
 */
const strict = { additionalProperties: false } as const;
const FieldName = (description = 'a top-level JSON member name: letters, digits and _, not starting with a digit') => Type.String({ pattern: FIELD_NAME_PATTERN, description });

export const EnvelopeProfileSchema = Type.Object(
  {
    fields: Type.Optional(Type.Object({
      id: Type.Optional(FieldName('name of the event id field (default id)')),
      type: Type.Optional(FieldName('name of the event type field (default type; Twenty: event)')),
      timestamp: Type.Optional(FieldName('name of the timestamp field (default timestamp; e.g. created_at, created)')),
    }, strict)),
    timestampFormat: Type.Optional(Type.Union([Type.Literal('iso'), Type.Literal('unix')], { description: 'iso (default): 2026-03-01T10:00:00.000Z; unix: integer seconds' })),
    sequence: Type.Optional(Type.Boolean({ description: "include the app's publish counter as `sequence` (default true)" })),
    extra: Type.Optional(Type.Array(FieldName(), {
      maxItems: MAX_EXTRA_FIELDS,
      description: "top-level fields taken from the publish request's `fields` (e.g. workspaceId), placed before `data`; one not given is left out",
    })),
  },
  { ...strict, description: "The JSON body's field names and timestamp format for this app's events; `data` keeps its name. Applied once, when an event is published. null: Herald's {id, type, timestamp, sequence, data}" },
);

/** As stored and returned: every part filled in. */
export const EnvelopeProfileOut = Type.Object({
  fields: Type.Object({ id: Type.String(), type: Type.String(), timestamp: Type.String() }),
  timestampFormat: Type.Union([Type.Literal('iso'), Type.Literal('unix')]),
  sequence: Type.Boolean(),
  extra: Type.Array(Type.String()),
});

export const PublishPayload = Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Array(Type.Unknown())], {
  description: "Instead of data: the exact JSON body receivers get (an object or array, serialized compactly), bypassing the app's envelope. Event-type schemas and endpoint filters apply to it as they do to data",
});

export const PublishFields = Type.Record(Type.String(), Type.Unknown(), {
  maxProperties: MAX_EXTRA_FIELDS,
  description: "Values of the app's envelopeProfile.extra fields (e.g. {\"workspaceId\": \"ws_1\"}); other names are refused",
});

export const TransformSource = Type.String({
  maxLength: 65_536,
  description: 'JavaScript defining function transform(webhook): it gets {type, payload, url, headers} and returns it changed (payload, url, headers), or null to skip the delivery. Runs once per delivery in a sandbox (no I/O, 50 ms, 16 MiB, output ≤ 1 MiB); its output is what every attempt of that delivery sends. null or "": none',
});

export const TransformTestIn = Type.Object(
  {
    event: Type.Optional(Type.Unknown({ description: 'the JSON body as a receiver would get it (the payload the transform receives)' })),
    eventId: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: "a stored event of the app: its body as delivered" })),
    type: Type.Optional(Type.String({ maxLength: 256, description: 'the event type passed to the transform; default the event\'s (for `event`: its type field, else webhook.test)' })),
    transform: Type.Optional(TransformSource),
  },
  { ...strict, description: "exactly one of event or eventId; transform: a source to try instead of the endpoint's" },
);

export const TransformTestOut = Type.Object({
  skip: Type.Boolean({ description: 'the transform returned null: nothing would be sent' }),
  request: Type.Union([Type.Object({
    url: Type.String(), headers: Type.Record(Type.String(), Type.String(), { description: "the endpoint's custom headers as the transform left them (Herald adds its own, the signatures among them, at send)" }),
    body: Type.String({ description: 'the body as it would be sent' }),
  }), Type.Null()]),
}, { description: 'What the endpoint would be sent for this event (a failing transform answers 422 transform_failed with its error)' });
