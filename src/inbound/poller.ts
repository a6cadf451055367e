import type { Logger } from 'pino';
import { parseRetryAfter } from '../core/retry.js';
import { HeraldError } from '../errors.js';
import { newId } from '../ids.js';
import type { Metrics } from '../metrics.js';
import type { InboundInput, Source } from '../store/inbound.js';
import type { PollResult, PollState, SourcePoll } from '../store/poll.js';
import { httpDestinationIds } from '../store/rows.js';
import type { Store } from '../store/types.js';
import { DEFAULT_DEDUP_TTL_SECONDS } from './gateway.js';
import { itemKey, itemsOf, itemView, nextCursor, nextPollAt, pageUrl, PollResponseError } from './poll-config.js';
import { PollFetchError, type PollFetcher } from './poll-fetch.js';
import { requestDocument, SourceRouter } from './routing.js';

export interface PollerOptions {
  store: Store;
  fetcher: PollFetcher;
  logger: Logger;
  metrics?: Metrics;
  /** a poll accepted requests: wake the delivery worker (and, with app destinations, the forwarder) */
  onAccepted: (source: Source) => void;
  /** the longest Retry-After honoured, in seconds (HERALD_MAX_RETRY_AFTER_SECONDS) */
  maxRetryAfterSeconds: number;
  /** how often due polls are looked for */
  tickMs?: number;
  /** runs under way at once in this process */
  concurrency?: number;
}

/**
 * Past its timeout, a page has this long to commit before its lease may be taken over (a
 * commit takes milliseconds). It is also how long, beyond the timeout, a source waits for
 * another PostgreSQL process to take over the run of one that died mid-poll.
 */
const LEASE_MARGIN_MS = 15_000;

/**
 * Reconciliation by polling, run beside the InboundForwarder in the worker process (and by
 * `POST /v1/sources/{id}/poll` in whichever process takes it). Each run takes the source's
 * lease, reads up to maxPages pages from the stored cursor, and commits each page's new items
 * (as requests via "poll", through the same dedup, ordering and destinations as webhooks) with
 * the page's cursor in one transaction. Errors end the run and back the next one off; the
 * pages before an error stay committed.
 */
export class Poller {
  private timer: NodeJS.Timeout | null = null;
  private readonly running = new Map<string, Promise<unknown>>();
  private ticking: Promise<void> | null = null;
  private readonly stopping = new AbortController();

  constructor(private readonly o: PollerOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.kick(), this.o.tickMs ?? 1000);
    this.timer.unref();
    this.kick();
  }

  kick(): void {
    if (this.ticking || this.stopping.signal.aborted) return;
    this.ticking = this.tick()
      .catch((err) => this.o.logger.error({ err }, 'looking for due polls failed; retrying'))
      .finally(() => (this.ticking = null));
  }

  /** Stops claiming; a run under way stops at its next page, or now if it waits on the provider. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.stopping.abort();
    await this.ticking;
    await Promise.allSettled([...this.running.values()]);
  }

  /** Starts the due runs there is room for (not awaited: a slow provider holds up only its own source). */
  async tick(now = Date.now()): Promise<void> {
    const room = (this.o.concurrency ?? 4) - this.running.size;
    if (room <= 0) return;
    for (const id of await this.o.store.duePolls(now, room)) {
      if (this.running.has(id)) continue;
      const source = await this.o.store.getSource(id);
      if (!source?.poll) continue;
      const owner = newId('pol');
      const state = await this.o.store.claimPoll(id, owner, leaseMs(source.poll), Date.now(), true);
      if (!state) continue; // another process took it meanwhile
      const run = this.run(source, state, owner, state.cursor)
        .catch((err) => this.o.logger.error({ err, sourceId: id }, 'a poll failed'))
        .finally(() => this.running.delete(id));
      this.running.set(id, run);
    }
  }

  /**
   * One run now, whatever the schedule (the API's "full sync"); from `cursor` when given (null:
   * from the start), else from the stored one. 409 while another run of the source is under way.
   */
  async pollNow(source: Source, cursor?: string | null): Promise<PollResult> {
    if (!source.poll) throw new HeraldError('conflict', `source '${source.id}' has no poll configuration`);
    const owner = newId('pol');
    const state = await this.o.store.claimPoll(source.id, owner, leaseMs(source.poll), Date.now(), false);
    if (!state) throw new HeraldError('conflict', `a poll of source '${source.id}' is under way; try again when it has finished`);
    return this.run(source, state, owner, cursor === undefined ? state.cursor : cursor);
  }

  private async run(source: Source, state: PollState, owner: string, from: string | null): Promise<PollResult> {
    const poll = source.poll!;
    const startedAt = Date.now();
    const result: PollResult = {
      fetched: 0, new: 0, duplicates: 0, stale: 0, skipped: 0, pages: 0, cursor: from, startedAt, finishedAt: startedAt, error: null,
      failures: 0,
    };
    let lost = false;
    let cursor = from;
    try {
      for (let page = 0; page < poll.maxPages; page++) {
        if (this.stopping.signal.aborted) throw new PollFetchError('stopped', 'Herald is stopping');
        const res = await this.o.fetcher.get(pageUrl(poll, cursor), poll.headers, poll.timeoutMs, this.stopping.signal);
        if (res.status === 429 || res.status === 503) {
          const seconds = Math.min(parseRetryAfter(res.retryAfter) ?? 0, this.o.maxRetryAfterSeconds);
          if (seconds > 0) result.retryAfterSeconds = seconds;
          result.error = { code: res.status === 429 ? 'rate_limited' : 'unavailable', message: `the provider answered ${res.status}`, status: res.status };
          break;
        }
        if (res.status < 200 || res.status >= 300) {
          result.error = { code: 'http_error', message: `the provider answered ${res.status}`, status: res.status };
          break;
        }
        let body: unknown;
        try {
          body = JSON.parse(res.body.toString('utf8'));
        } catch {
          throw new PollResponseError('invalid_json', 'the response is not JSON');
        }
        const items = itemsOf(body, poll.items);
        const next = poll.cursor ? nextCursor(poll.cursor, body, items) ?? cursor : null;
        const inputs = this.inputs(source, poll, items, result);
        const outcomes = await this.o.store.commitPollPage(source, owner, { inputs, cursor: next }, leaseMs(poll), Date.now());
        if (outcomes === null) {
          lost = true;
          result.error = { code: 'lease_lost', message: 'another process took this source\'s poll over' };
          break;
        }
        result.pages++;
        result.fetched += items.length;
        for (const o of outcomes) {
          const status = o === 'seen' ? 'duplicate' : o.request.status;
          if (status === 'accepted') result.new++;
          else if (status === 'stale') result.stale++;
          else result.duplicates++;
          if (o !== 'seen') this.o.metrics?.inboundRequests.labels(status).inc();
        }
        if (outcomes.some((o) => o !== 'seen' && o.request.status === 'accepted')) this.o.onAccepted(source);
        const advanced = next !== null && next !== cursor;
        cursor = next;
        result.cursor = cursor;
        if (!poll.cursor || items.length === 0 || !advanced) break;
      }
    } catch (err) {
      if (err instanceof PollFetchError || err instanceof PollResponseError) result.error = { code: err.code, message: err.message };
      else {
        this.o.logger.error({ err, sourceId: source.id }, 'a poll page could not be recorded');
        result.error = { code: 'storage_error', message: 'the page could not be recorded; it is read again next time' };
      }
    }
    result.finishedAt = Date.now();
    const stopped = result.error?.code === 'stopped';
    result.failures = result.error === null ? 0 : stopped ? state.failures : state.failures + 1;
    if (!lost) {
      // A run cut short by a stop is due again at once, in whichever process is next.
      const at = stopped ? result.finishedAt : nextPollAt(result.finishedAt, poll.intervalSeconds, result.failures, result.retryAfterSeconds);
      await this.o.store.finishPoll(source.id, owner, result, at);
    }
    if (result.error && !stopped) this.o.logger.warn({ sourceId: source.id, error: result.error, failures: result.failures }, 'a poll ended with an error');
    return result;
  }

  /** A page's items as requests, as the gateway would build them from webhooks with these bodies. */
  private inputs(source: Source, poll: SourcePoll, items: unknown[], result: PollResult): InboundInput[] {
    const router = SourceRouter.of(source);
    const now = Date.now();
    const out: InboundInput[] = [];
    for (const item of items) {
      const view = itemView(item);
      let dedupKey: string | null;
      let orderingKey: string | null = null;
      let sequence: number | null = null;
      try {
        dedupKey = itemKey(view, poll.key);
        if (source.ordering) orderingKey = view.selectKey(source.ordering.key);
        if (source.ordering?.sequence && orderingKey !== null) sequence = view.selectInteger(source.ordering.sequence);
      } catch {
        dedupKey = null; // nested too deep to key
      }
      if (dedupKey === null) {
        result.skipped++;
        continue;
      }
      const routing = router?.route(requestDocument(view)) ?? null;
      const headers = { 'content-type': 'application/json', 'x-herald-via': 'poll' };
      out.push({
        id: newId('req', now), receivedAt: now, loggedHeaders: headers, forwardHeaders: headers, contentType: 'application/json',
        body: view.body, dedupKey, dedupTtlMs: (source.dedup?.ttlSeconds ?? DEFAULT_DEDUP_TTL_SECONDS) * 1000, orderingKey, sequence,
        // Every HTTP destination, narrowed by routes (see InboundInput): successors it releases go to theirs.
        endpointIds: httpDestinationIds(source), routes: routing?.routes ?? null,
      });
    }
    return out;
  }
}

const leaseMs = (poll: SourcePoll): number => poll.timeoutMs + LEASE_MARGIN_MS;
