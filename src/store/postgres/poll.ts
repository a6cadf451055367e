import type { InboundInput, IngestResult, Source } from '../inbound.js';
import type { PollOutcome, PollPage, PollResult, PollState, PollStore } from '../poll.js';
import { toPollState } from '../poll-rows.js';
import { ingestGroup, type Queued } from './inbound-group.js';
import { PostgresInbound } from './inbound.js';

/**
 * Inbound polling on PostgreSQL (PollStore). Several processes may run the poller: the lease
 * (claimPoll) lets one run per source at a time, and each page's transaction re-checks it
 * under a row lock (pollLeaseForUpdate), so a process that stalled past its lease and lost it
 * writes nothing. A page is one transaction: its items go through the same code as webhooks
 * (ingestGroup for unsequenced ones, ingestSequencedIn under the key's lock), with its cursor.
 *
 * Lock order, as in sql.ts: the source's shared advisory lock first (so deleteSource waits for
 * the page instead of deadlocking with it), then the poll row, then what ingest takes. A page
 * that takes several sequence keys can still meet a webhook in a deadlock (it holds key A and
 * wants a dedup key the webhook claimed before waiting for A); PostgreSQL aborts one and tx
 * runs it again, and a page that keeps failing is simply read again by the next run.
 */
export class PostgresPoll extends PostgresInbound implements PollStore {
  async duePolls(now: number, limit: number): Promise<string[]> {
    return (await this.run<{ id: string }>('duePolls', { now, limit })).rows.map((r) => r.id);
  }

  async claimPoll(sourceId: string, owner: string, leaseMs: number, now: number, due: boolean): Promise<PollState | null> {
    const { rows } = await this.run('claimPoll', { source_id: sourceId, owner, lease_ms: leaseMs, now, due });
    return rows[0] ? toPollState(rows[0]) : null;
  }

  async commitPollPage(source: Source, owner: string, page: PollPage, leaseMs: number, now: number): Promise<PollOutcome[] | null> {
    return this.tx(async (run): Promise<PollOutcome[] | null> => {
      await run('lockSource', { source_id: source.id });
      if ((await run('pollLeaseForUpdate', { source_id: source.id, owner })).rows.length === 0) return null;
      const keys = page.inputs.flatMap((i) => (i.dedupKey === null ? [] : [i.dedupKey]));
      const taken = new Set((await run<{ key: string }>('liveDedupKeys', { source_id: source.id, now, keys })).rows.map((r) => r.key));
      const out: PollOutcome[] = [];
      // Consecutive unsequenced items go as one group; a sequenced one alone, in page order.
      let group: InboundInput[] = [];
      const flush = async () => {
        if (group.length === 0) return;
        const queued = group.map((input): Queued => ({ source, input, now, resolve: () => {}, reject: () => {} }));
        out.push(...(await ingestGroup(run, queued, (r) => this.wake(r))));
        group = [];
      };
      for (const input of page.inputs) {
        if (input.dedupKey !== null && taken.has(input.dedupKey)) {
          await flush();
          out.push('seen');
          continue;
        }
        if (input.dedupKey !== null) taken.add(input.dedupKey);
        const sequenced = source.ordering?.sequence != null && input.orderingKey !== null && input.sequence !== null;
        if (!sequenced) {
          group.push(input);
          continue;
        }
        await flush();
        out.push(await this.ingestSequencedIn(run, source, input, now));
      }
      await flush();
      const ingested = out.filter((o): o is IngestResult => o !== 'seen');
      for (const r of ingested) r.request.via = 'poll';
      if (ingested.length > 0) await run('markPolled', { source_id: source.id, ids: ingested.map((r) => r.request.id) });
      await run('savePollCursor', { source_id: source.id, owner, cursor: page.cursor, lease_ms: leaseMs });
      return out;
    });
  }

  async finishPoll(sourceId: string, owner: string, result: PollResult, nextPollAt: number): Promise<boolean> {
    const { rowCount } = await this.run('finishPoll', {
      source_id: sourceId, owner, last_poll_at: result.startedAt, last_result: JSON.stringify(result), next_poll_at: nextPollAt,
      failures: result.failures,
    });
    return (rowCount ?? 0) > 0;
  }

  async getPollState(sourceId: string): Promise<PollState | null> {
    const { rows } = await this.run('pollState', { source_id: sourceId });
    return rows[0] ? toPollState(rows[0]) : null;
  }

  /** Leases expire by themselves here (several processes); kept for the interface. */
  async releasePollLeases(): Promise<number> {
    return (await this.run('releasePollLeases')).rowCount ?? 0;
  }
}
