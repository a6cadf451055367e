import { HeraldError } from '../errors.js';
import type { Renderer } from './envelope.js';

/**
 * The shape of the JSON body an app's receivers get, for products whose documented webhook
 * format isn't Herald's `{id, type, timestamp, sequence, data}`: Twenty's
 * `{id, event, timestamp, workspaceId, data}`, `{id, type, created_at, data}`,
 * `{id, type, created, data}`. Field names and the timestamp's format are the app's; `data`
 * is always `data`. Applied once, when the event's bytes are rendered at publish, so every
 * attempt (and every retry) sends the same bytes.
 */
export interface EnvelopeProfile {
  fields: { id: string; type: string; timestamp: string };
  /** ISO 8601 UTC with milliseconds (`2026-03-01T10:00:00.000Z`) or unix seconds (an integer) */
  timestampFormat: 'iso' | 'unix';
  /** whether the app's publish counter is sent (as `sequence`) */
  sequence: boolean;
  /** top-level fields taken from the publish request's `fields`, in this order, before `data` */
  extra: string[];
}

export const DEFAULT_FIELDS = { id: 'id', type: 'type', timestamp: 'timestamp' } as const;

/** What the API accepts: every part optional, defaults as Herald's own envelope. */
export interface EnvelopeProfileIn {
  fields?: { id?: string; type?: string; timestamp?: string };
  timestampFormat?: 'iso' | 'unix';
  sequence?: boolean;
  extra?: string[];
}

/** A top-level JSON member name a receiver can read as `event.name` or `event['name']`. */
export const FIELD_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]{0,63}$';
const FIELD_NAME = new RegExp(FIELD_NAME_PATTERN);
export const MAX_EXTRA_FIELDS = 16;

/**
 * Checks a profile as given to POST/PATCH /v1/apps and fills in the defaults; a problem is a
 * 422 `invalid_envelope_profile` whose message and `details.path` (a JSON pointer into the
 * request) name the part to change. Null stays null (Herald's envelope).
 */
export function normaliseEnvelopeProfile(p: EnvelopeProfileIn | null | undefined): EnvelopeProfile | null {
  if (p == null) return null;
  const bad = (path: string, message: string): never => {
    throw new HeraldError('invalid_envelope_profile', `envelopeProfile${path.replace(/\/(\w+)/g, '.$1').replace(/\.(\d+)/g, '[$1]')}: ${message}`, {
      path: `/envelopeProfile${path}`,
    });
  };
  const fields = { ...DEFAULT_FIELDS, ...(p.fields ?? {}) };
  const sequence = p.sequence ?? true;
  const extra = p.extra ?? [];
  // Every name at the top level once: `data` is the event's data, `sequence` the counter.
  const taken = new Map<string, string>([['data', "the event's data"]]);
  if (sequence) taken.set('sequence', 'the sequence number');
  const claim = (path: string, name: string, what: string) => {
    if (!FIELD_NAME.test(name)) bad(path, `'${name}' is not a field name: letters, digits and _, not starting with a digit, at most 64`);
    const holder = taken.get(name);
    if (holder) bad(path, `'${name}' is already ${holder}`);
    taken.set(name, what);
  };
  for (const k of ['id', 'type', 'timestamp'] as const) claim(`/fields/${k}`, fields[k], `the event's ${k}`);
  if (extra.length > MAX_EXTRA_FIELDS) bad('/extra', `at most ${MAX_EXTRA_FIELDS} extra fields`);
  extra.forEach((name, i) => claim(`/extra/${i}`, name, `extra field ${i}`));
  return { fields, timestampFormat: p.timestampFormat ?? 'iso', sequence, extra: [...extra] };
}

export interface RenderInput {
  id: string;
  type: string;
  /** epoch ms */
  timestamp: number;
  data: unknown;
  /** values for the profile's `extra` fields; those not given are left out */
  fields?: Record<string, unknown>;
}

/**
 * The bytes of an event under a profile. Like envelopeRenderer, everything but the sequence
 * is serialized once; with `sequence: false` the bytes don't depend on it at all.
 */
export function profileRenderer(profile: EnvelopeProfile, e: RenderInput): Renderer {
  const f = profile.fields;
  const ts = profile.timestampFormat === 'unix' ? String(Math.floor(e.timestamp / 1000)) : JSON.stringify(new Date(e.timestamp).toISOString());
  const head = `{${JSON.stringify(f.id)}:${JSON.stringify(e.id)},${JSON.stringify(f.type)}:${JSON.stringify(e.type)},${JSON.stringify(f.timestamp)}:${ts}`;
  let tail = '';
  for (const name of profile.extra) {
    const value = e.fields?.[name];
    if (value !== undefined) tail += `,${JSON.stringify(name)}:${JSON.stringify(value)}`;
  }
  tail += `,"data":${JSON.stringify(e.data)}}`;
  const render = (profile.sequence ? (sequence: number) => `${head},"sequence":${sequence}${tail}` : () => head + tail) as Renderer;
  render.maxBytes = Buffer.byteLength(head) + Buffer.byteLength(tail) + 40;
  return render;
}

/** A raw payload: the publisher's JSON, sent as it is (compact), whatever the sequence. */
export function rawRenderer(payload: unknown): Renderer {
  const body = JSON.stringify(payload);
  const render = (() => body) as unknown as Renderer;
  render.maxBytes = Buffer.byteLength(body);
  return render;
}

/**
 * `fields` on publish: only names the app's profile lists in `extra` (a typo would otherwise
 * vanish silently from every delivery).
 */
export function checkPublishFields(profile: EnvelopeProfile | null, fields: Record<string, unknown> | undefined, where: string): void {
  if (!fields) return;
  const allowed = profile?.extra ?? [];
  for (const name of Object.keys(fields)) {
    if (!allowed.includes(name)) {
      throw new HeraldError('invalid_payload', allowed.length === 0
        ? `${where}.fields: this app's envelopeProfile lists no extra fields ('${name}' given); add it to envelopeProfile.extra first`
        : `${where}.fields.${name} is not one of the app's envelopeProfile.extra fields (${allowed.join(', ')})`, { path: `${pointerOf(where)}/fields/${name}` });
    }
  }
}

/** `event` (a single publish, the body itself) or `events[3]` → the JSON pointer of that object in the request. */
export const pointerOf = (where: string): string => (where === 'event' ? '' : `/${where.replace(/\[(\d+)\]/g, '/$1')}`);
