import { envelopeRenderer, type Renderer } from '../core/envelope.js';
import { checkPublishFields, pointerOf, profileRenderer, rawRenderer, type EnvelopeProfile } from '../core/envelope-profile.js';
import { HeraldError } from '../errors.js';

/** What a publish may carry besides its type: `data` (in an envelope) or `payload` (the whole body), and `fields`. */
export interface ShapeInput {
  data?: unknown;
  payload?: unknown;
  fields?: Record<string, unknown>;
}

/**
 * The event's content as schemas and filters see it: `data`, or for a raw payload the payload
 * itself (filters then match `data.…` against the payload's top level). Exactly one of the two.
 */
export function eventData(profile: EnvelopeProfile | null, input: ShapeInput, where: string): unknown {
  const hasData = input.data !== undefined;
  const hasPayload = input.payload !== undefined;
  if (hasData === hasPayload) {
    throw new HeraldError('invalid_payload', hasData
      ? `${where}: give data (sent in the app's envelope) or payload (sent as the whole body), not both`
      : `${where}: data or payload is required`, { path: pointerOf(where) || '/' });
  }
  if (hasPayload && input.fields) {
    throw new HeraldError('invalid_payload', `${where}.fields: a raw payload is the whole body; put the fields in it`, { path: `${pointerOf(where)}/fields` });
  }
  checkPublishFields(profile, input.fields, where);
  return hasData ? input.data : input.payload;
}

/** The bytes receivers get, rendered once per event: the raw payload, the app's profile, or Herald's envelope. */
export function renderEvent(profile: EnvelopeProfile | null, input: ShapeInput, e: { id: string; type: string; timestamp: number; data: unknown }): Renderer {
  if (input.payload !== undefined) return rawRenderer(input.payload);
  if (profile) return profileRenderer(profile, { ...e, fields: input.fields });
  return envelopeRenderer({ id: e.id, type: e.type, timestamp: new Date(e.timestamp).toISOString(), data: e.data });
}
