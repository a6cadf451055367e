import type { Sealer } from './rows.js';
import type { PollResult, PollState, SourcePoll } from './poll.js';

/** Row ↔ domain conversions of polling, shared by the backends (see rows.ts for the column conventions). */
type Row = Record<string, any>;

const json = <T>(value: unknown, fallback: T): T =>
  value == null ? fallback : typeof value === 'string' ? (JSON.parse(value) as T) : (value as T);

/**
 * A poll configuration as stored: its header values usually carry the provider's API token,
 * so they are sealed like secrets (names in the clear); JSON text, for both backends.
 */
export const sealPoll = (sealer: Sealer, poll: SourcePoll | null | undefined): string | null =>
  poll == null ? null : JSON.stringify({ ...poll, headers: Object.fromEntries(Object.entries(poll.headers).map(([k, v]) => [k, sealer.seal(v)])) });

export function openPoll(sealer: Sealer, stored: unknown): SourcePoll | null {
  const poll = json<SourcePoll | null>(stored, null);
  if (!poll) return null;
  return { ...poll, headers: Object.fromEntries(Object.entries(poll.headers ?? {}).map(([k, v]) => [k, sealer.open(v)])) };
}

export const toPollState = (r: Row): PollState => ({
  sourceId: r.source_id,
  cursor: r.cursor ?? null,
  lastPollAt: r.last_poll_at == null ? null : Number(r.last_poll_at),
  lastResult: json<PollResult | null>(r.last_result, null),
  nextPollAt: r.next_poll_at == null ? null : Number(r.next_poll_at),
  failures: Number(r.failures ?? 0),
});
