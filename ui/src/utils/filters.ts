/** The filter editor's pure parts: the text a person types, as the API's filter and channels (docs/filters.md). */

/** At most this many channels on an endpoint, as the server has it (an event is published to at most 10; an endpoint may follow many). */
export const MAX_CHANNELS = 100;
/** The API's channel names: letters, digits and _ . : - (at most 128). */
export const CHANNEL = /^[A-Za-z0-9_.:-]{1,128}$/;

export type JsonObject = Record<string, unknown>;

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A JSON object typed in a box: '' is none (null); else the object, or what is wrong with
 * the text, in a person's words.
 */
export function parseJsonObject(text: string, what: string, example: string): { value: JsonObject | null } | { problem: string } {
  if (!text.trim()) return { value: null };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return { problem: `Not valid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (!isObject(v)) return { problem: `${what} is a JSON object, like ${example}.` };
  return { value: v };
}

export const FILTER_EXAMPLE = '{"data.amount": {"$gte": 100}}';

/** The filter box's text as the API's filter: '' and {} are no filter (null). */
export function parseFilter(text: string): { filter: JsonObject | null } | { problem: string } {
  const r = parseJsonObject(text, 'A filter', FILTER_EXAMPLE);
  if ('problem' in r) return r;
  return { filter: r.value && Object.keys(r.value).length > 0 ? r.value : null };
}

/** A stored filter as the box shows it. */
export function filterText(filter: unknown): string {
  return isObject(filter) && Object.keys(filter).length > 0 ? JSON.stringify(filter, null, 2) : '';
}

/** What a person typed into the channels box ("team_42, team_43"), as names. */
export function splitChannels(text: string): string[] {
  return text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
}

/** What is wrong with a list of channels, if anything. */
export function channelProblem(list: string[]): string | undefined {
  const bad = list.find((c) => !CHANNEL.test(c));
  if (bad !== undefined) return `"${bad}" is not a channel name: use letters, digits and _ . : - (at most 128).`;
  if (list.length > MAX_CHANNELS) return `At most ${MAX_CHANNELS} channels.`;
  return undefined;
}

/** Channels added to a list: trimmed, without repeats. */
export function addChannels(list: string[], added: string[]): string[] {
  return [...new Set([...list, ...added])];
}

/** The envelope a receiver would get for an event of `type` carrying `data`, to test a filter on. */
export function exampleEnvelope(type: string, data: unknown, now = new Date()): JsonObject {
  return { id: 'evt_example', type, timestamp: now.toISOString(), data, channels: [] };
}

/** A filter refused by the server: its message and where (a JSON pointer), from `invalid_filter` or a validation error. */
export interface FieldProblem {
  message: string;
  path?: string;
}

/** The server's message without the pointer it starts with, when it does ("/filter/x: …" → "…"). */
export function withoutPath(message: string, path: string | undefined): string {
  return path && message.startsWith(`${path}: `) ? message.slice(path.length + 2) : message;
}
