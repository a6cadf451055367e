import type { Source } from '../inbound.js';
import type { PollOutcome, PollPage, PollResult, PollState, PollStore } from '../poll.js';
import { toPollState } from '../poll-rows.js';
import { SqliteInbound } from './inbound.js';

type Row = Record<string, any>;

/**
 * Inbound polling on SQLite (PollStore). A page is one IMMEDIATE transaction: its items go
 * through ingestOne exactly as webhooks do (dedup keys, sequences, deliveries), and the cursor
 * is written with them, so a kill -9 leaves either the whole page with its cursor or neither;
 * the next run reads the page again and finds nothing it forwarded missing or twice.
 */
export class SqlitePoll extends SqliteInbound implements PollStore {
  async duePolls(now: number, limit: number): Promise<string[]> {
    return (this.s.duePolls.all({ now, limit }) as Array<{ id: string }>).map((r) => r.id);
  }

  async claimPoll(sourceId: string, owner: string, leaseMs: number, now: number, due: boolean): Promise<PollState | null> {
    const row = this.s.claimPoll.get({ source_id: sourceId, owner, lease_until: now + leaseMs, now, due: due ? 1 : 0 }) as Row | undefined;
    return row ? toPollState(row) : null;
  }

  async commitPollPage(source: Source, owner: string, page: PollPage, leaseMs: number, now: number): Promise<PollOutcome[] | null> {
    return this.db.transaction((): PollOutcome[] | null => {
      if (!this.s.pollLease.get({ source_id: source.id, owner })) return null;
      const keys = page.inputs.flatMap((i) => (i.dedupKey === null ? [] : [i.dedupKey]));
      // Taken already, or earlier in this page (a changes API may list a change twice).
      const taken = new Set((this.s.liveDedupKeys.all({ source_id: source.id, now, keys: JSON.stringify(keys) }) as Array<{ key: string }>).map((r) => r.key));
      const out = page.inputs.map((input): PollOutcome => {
        if (input.dedupKey !== null && taken.has(input.dedupKey)) return 'seen';
        if (input.dedupKey !== null) taken.add(input.dedupKey);
        const result = this.ingestOne(source, input, now);
        this.s.markPolled.run({ source_id: source.id, id: input.id });
        result.request.via = 'poll';
        return result;
      });
      this.s.savePollCursor.run({ source_id: source.id, owner, cursor: page.cursor, lease_until: now + leaseMs });
      return out;
    }).immediate();
  }

  async finishPoll(sourceId: string, owner: string, result: PollResult, nextPollAt: number): Promise<boolean> {
    return this.s.finishPoll.run({
      source_id: sourceId, owner, last_poll_at: result.startedAt, last_result: JSON.stringify(result), next_poll_at: nextPollAt,
      failures: result.failures,
    }).changes > 0;
  }

  async getPollState(sourceId: string): Promise<PollState | null> {
    const row = this.s.pollState.get({ source_id: sourceId }) as Row | undefined;
    return row ? toPollState(row) : null;
  }

  async releasePollLeases(): Promise<number> {
    return this.s.releasePollLeases.run().changes;
  }
}
