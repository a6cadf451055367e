/**
 * The polling half of the inbound storage seam: reconciliation of a source by reading the
 * provider's changes API (inbound/poller.ts). A source's `poll` configuration lives on the
 * source; what a poll learned lives in a row of its own (source_polls): the cursor, the
 * schedule, the last outcome and the lease that lets exactly one process poll a source at a
 * time.
 */
import type { InboundInput, IngestResult, Source } from './inbound.js';

export type RequestVia = 'webhook' | 'poll';

/** Where the next page's cursor comes from: a field of the response, or the largest value of an item field. */
export type PollCursor = { param: string; from: string } | { param: string; fromItems: string };

export interface SourcePoll {
  /** the changes API: GET, with `cursor.param` set to the cursor once there is one */
  url: string;
  intervalSeconds: number;
  /** sent with every request (credentials, usually): stored sealed like secrets */
  headers: Record<string, string>;
  /** `$.path` of the array of changed objects in the response */
  items: string;
  /** `$.path` of the value in each item that the source's dedup key yields for a webhook of the same change */
  key: string;
  cursor: PollCursor | null;
  /** pages read per run at most */
  maxPages: number;
  timeoutMs: number;
}

/** What one run found (`POST /v1/sources/{id}/poll` answers it; `lastPollResult` keeps it). */
export interface PollResult {
  /** items read over all pages */
  fetched: number;
  /** of them, accepted as requests and forwarded */
  new: number;
  /** already seen (by a webhook or an earlier poll): counted, not forwarded */
  duplicates: number;
  /** older than the key's next expected sequence (a later one was forwarded already) */
  stale: number;
  /** items without the key: they can't be deduplicated, so they are not forwarded */
  skipped: number;
  pages: number;
  /** the cursor stored after the run */
  cursor: string | null;
  startedAt: number;
  finishedAt: number;
  /** why the run stopped early; the pages before it are committed */
  error: { code: string; message: string; status?: number } | null;
  /** the provider's Retry-After (429, 503), as honoured: the next run is no sooner */
  retryAfterSeconds?: number;
  /** consecutive failed runs, this one included: the backoff's exponent */
  failures: number;
}

export interface PollState {
  sourceId: string;
  cursor: string | null;
  lastPollAt: number | null;
  lastResult: PollResult | null;
  /** null: due now (never polled, or a run was cut short by a crash) */
  nextPollAt: number | null;
  failures: number;
}

/** A page of items as requests (via "poll"), and the cursor to store with them. */
export interface PollPage {
  inputs: InboundInput[];
  cursor: string | null;
}

/** Per input of a page: its ingest result, or 'seen' when its dedup key was live already (counted, not logged). */
export type PollOutcome = IngestResult | 'seen';

export interface PollStore {
  /** Sources with a poll configuration that are due and that no live lease holds, soonest first. */
  duePolls(now: number, limit: number): Promise<string[]>;
  /**
   * Takes the source's poll lease for `owner` (one run) unless another live lease holds it,
   * and returns the state; null when held (or, with `due`, not due now). A backend shared by
   * several processes times leases by its own clock.
   */
  claimPoll(sourceId: string, owner: string, leaseMs: number, now: number, due: boolean): Promise<PollState | null>;
  /**
   * Records a page in one transaction: each input as `ingest` would (same dedup, sequences,
   * destinations), marked via "poll", and the cursor; the lease is renewed. Inputs whose dedup
   * key is live are 'seen' and leave no row. Null when `owner` no longer holds the lease
   * (another process took it over): nothing is written, the run must stop.
   */
  commitPollPage(source: Source, owner: string, page: PollPage, leaseMs: number, now: number): Promise<PollOutcome[] | null>;
  /** Ends a run: its result and the next time, and the lease let go. False when the lease was lost. */
  finishPoll(sourceId: string, owner: string, result: PollResult, nextPollAt: number): Promise<boolean>;
  getPollState(sourceId: string): Promise<PollState | null>;
  /** A backend with one worker process: leases of runs a crash cut short are free at its start. */
  releasePollLeases(): Promise<number>;
}
