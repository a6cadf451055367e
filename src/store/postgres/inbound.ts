import { HeraldError } from '../../errors.js';
import { idAtTime, newId } from '../../ids.js';
import type {
  AppForward, InboundInput, InboundRequest, InboundStatus, IngestResult, NewSource, RejectedInput, ReplayQuery, Source,
  SourcePatch,
} from '../inbound.js';
import { toPage } from '../page.js';
import type { RequestVia } from '../poll.js';
import { sealPoll } from '../poll-rows.js';
import {
  countsByEvent, destinationTargets, jsonOrNull, liveTargets, noDeliveries, releaseTarget, routed, routesOf, sealVerification, toRequest, toSource,
  type ReleaseTarget,
} from '../rows.js';
import { ORDER_HELD_AT, PARKED_AT, type Page, type PageQuery } from '../types.js';
import { isForeignKeyViolation, type Run } from './connection.js';
import { destinationStatuses, ingestGroup, type Queued } from './inbound-group.js';
import { PostgresQueue } from './queue.js';

type Row = Record<string, any>;


/** A stored request about to be released. */
interface Stored {
  pk: number;
  event_pk: number;
  id: string;
  /** the destinations its filters matched (routesOf) */
  routes: unknown;
}

/** A source deleted while its request was being recorded: its rows' foreign keys say so. */
async function sourceMustExist<T>(sourceId: string, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (isForeignKeyViolation(err)) throw new HeraldError('not_found', `source '${sourceId}' not found`, undefined, { cause: err });
    throw err;
  }
}


/**
 * Groups under way at once per process, and requests per group. One group at a time was the
 * fastest measured (64 requests in flight, loopback, 2 cores shared with PostgreSQL: ~2,900
 * accepted/s, against ~2,500 with 2 and ~2,400 with 4; one transaction per request: ~960): a
 * commit's wait is what the next group fills up during. Several would be safe all the same,
 * as groups of other processes run alongside anyway (see ingestGroup).
 */
const MAX_GROUPS = 1;
const MAX_GROUP = 200;


/** Waiting requests read per statement while walking a key's run of consecutive sequences. */
const RUN_CHUNK = 200;

/**
 * The inbound gateway's storage on PostgreSQL: sources, the request log, dedup keys and
 * per-key sequences, with the semantics of SqliteInbound. An accepted request is an event of
 * the source's app; releasing it writes one delivery per HTTP destination, which the delivery
 * worker then sends like any other.
 *
 * Several processes ingest and release at once, so what SQLite gets from its single writer is
 * spelled out here: a dedup key is claimed by an upsert (a concurrent claim of the same key
 * waits for the first and then sees it live); a (source, ordering key)'s sequence state is read
 * and written under a transaction-scoped advisory lock (sql.ts, lockSourceKey), which gap
 * releases only try, so they never wait on an ingest; and deliveries are released under the
 * same per-(endpoint, key) locks as publish, so a completion can't miss a successor.
 */
/**
 * When a key's remaining gap is given up on: the arrival of its oldest request still waiting
 * plus the timeout (null when none waits), so that no accepted request is held longer than
 * gapTimeoutSeconds, and a gap that opens only now isn't cut short by an older one's clock.
 */
async function gapDeadline(run: Run, sourceId: string, key: string, gapTimeoutMs: number): Promise<number | null> {
  const { at } = (await run<{ at: string | null }>('oldestWaiting', { source_id: sourceId, key })).rows[0];
  return at === null ? null : Number(at) + gapTimeoutMs;
}

export class PostgresInbound extends PostgresQueue {
  async createSource(s: NewSource): Promise<Source> {
    return this.tx(async (run) => {
      const now = Date.now();
      await run('insertApp', {
        id: s.appId, uid: null, name: `source ${s.name}`, metadata: JSON.stringify({ sourceId: s.id }), signature_profile: null, envelope_profile: null, portal: null, now,
      });
      const { rows } = await run('insertSource', { ...this.sourceColumns(s), id: s.id, app_id: s.appId, now });
      return toSource(rows[0], this.sealer);
    });
  }

  private sourceColumns(s: Omit<NewSource, 'id' | 'appId'>) {
    return {
      name: s.name, verification: sealVerification(this.sealer, s.verification), dedup: jsonOrNull(s.dedup),
      ordering: jsonOrNull(s.ordering), destinations: JSON.stringify(s.destinations),
      forward_headers: jsonOrNull(s.forwardHeaders), rate_limit: s.rateLimit ?? null, response: jsonOrNull(s.response),
      poll: sealPoll(this.sealer, s.poll),
    };
  }

  async getSource(id: string): Promise<Source | null> {
    const { rows } = await this.run('source', { id });
    return rows[0] ? toSource(rows[0], this.sealer) : null;
  }

  async listSources(q: PageQuery): Promise<Page<Source>> {
    const { rows } = await this.run('listSources', { after: q.iterator ?? '', limit: q.limit + 1 });
    return toPage(rows.map((r) => toSource(r, this.sealer)), q.limit, (s) => s.id, q.iterator);
  }

  async updateSource(id: string, patch: SourcePatch, now: number): Promise<Source | null> {
    return this.tx(async (run) => {
      const { rows } = await run('sourceForUpdate', { id });
      if (!rows[0]) return null;
      const merged = { ...toSource(rows[0], this.sealer), ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) };
      const updated = await run('updateSource', { ...this.sourceColumns(merged), id, now });
      return toSource(updated.rows[0], this.sealer);
    });
  }

  private gatewaysForgotten = 0;

  /** Timed by the database's clock (`now` is unused): the processes' clocks may disagree. */
  async gatewayPresence(processId: string, sourceIds: string[], _now: number, ttlMs: number): Promise<Map<string, number>> {
    const ids = [...new Set(sourceIds)].sort(); // one row order everywhere
    if (ids.length === 0) return new Map();
    const { rows } = await this.run<{ source_id: string; n: number }>('gatewayPresence', {
      process_id: processId, source_ids: ids, ttl_ms: ttlMs,
    });
    // Rows of processes long gone, once a minute at most (this runs with every reload of a
    // source); SKIP LOCKED, so two cleaners never wait on each other.
    if (Date.now() - this.gatewaysForgotten >= 60_000) {
      this.gatewaysForgotten = Date.now();
      await this.run('forgetGateways', { older_ms: Math.max(10 * ttlMs, 600_000) });
    }
    return new Map(rows.map((r) => [r.source_id, Number(r.n)]));
  }

  async deleteSource(id: string): Promise<boolean> {
    // The source with its requests, keys and sequences, then its app with its events, endpoints
    // and deliveries (foreign keys cascade): the source's row first, as ingests lock it first.
    return this.configWrite(async (run) => {
      await run('lockSourceForDelete', { source_id: id });
      const { rows } = await run('deleteSource', { source_id: id });
      if (!rows[0]) return false;
      await run('deleteAppDeliveries', { id: rows[0].app_id });
      await run('deleteApp', { id: rows[0].app_id });
      return true;
    });
  }

  /**
   * Unsequenced requests (the common case) are queued and written by groups, one transaction
   * each (group commit, as in SqliteInbound): see ingestGroup. A sequenced request reads and
   * writes its key's state under the key's lock, in a transaction of its own (ingestSequenced).
   */
  async ingest(source: Source, input: InboundInput, now: number): Promise<IngestResult> {
    const sequenced = source.ordering?.sequence != null && input.orderingKey !== null && input.sequence !== null;
    if (sequenced) return this.ingestSequenced(source, input, now);
    return new Promise((resolve, reject) => {
      this.ingests.push({ source, input, now, resolve, reject });
      this.flushIngests();
    });
  }

  private ingests: Queued[] = [];
  private groupsInFlight = 0;

  /**
   * Starts a group with what is queued, unless enough are under way already: requests that
   * arrive meanwhile make up the next one. Alone, a request goes at once. Groups in flight at
   * once (in this process or others) can't deadlock: see ingestGroup.
   */
  private flushIngests(): void {
    while (this.groupsInFlight < MAX_GROUPS && this.ingests.length > 0) {
      const group = this.ingests.splice(0, MAX_GROUP);
      this.groupsInFlight++;
      void this.writeGroup(group).finally(() => {
        this.groupsInFlight--;
        this.flushIngests();
      });
    }
  }

  /**
   * One transaction for the group; every caller is answered after it committed. Should it fail
   * (a source deleted meanwhile, say: its requests' foreign keys fail, and with them the whole
   * group), each request is tried again in a transaction of its own, so that one can't take
   * the others with it.
   */
  private async writeGroup(group: Queued[]): Promise<void> {
    if (group.length > 1) {
      try {
        const results = await this.tx((run) => ingestGroup(run, group, (r) => this.wake(r)));
        group.forEach((q, i) => q.resolve(results[i]));
        return;
      } catch {
        // each alone, below
      }
    }
    // One after another, in arrival order: requests of one ordering key take their turns (and
    // a dedup key its first copy) as they would have in the group.
    for (const q of group) {
      try {
        q.resolve((await sourceMustExist(q.source.id, this.tx((run) => ingestGroup(run, [q], (r) => this.wake(r)))))[0]);
      } catch (err) {
        q.reject(err);
      }
    }
  }


  /** A request with a sequence number: its key's state is read and written under the key's lock. */
  private async ingestSequenced(source: Source, input: InboundInput, now: number): Promise<IngestResult> {
    return sourceMustExist(source.id, this.tx((run) => this.ingestSequencedIn(run, source, input, now)));
  }

  /** The same, inside the caller's transaction: a poll writes a page of them with its cursor (postgres/poll.ts). */
  protected async ingestSequencedIn(run: Run, source: Source, input: InboundInput, now: number): Promise<IngestResult> {
    let target = releaseTarget(source, { endpointIds: [], parked: new Set() });
    const gapTimeoutMs = (source.ordering?.gapTimeoutSeconds ?? 0) * 1000;
    const log = {
      id: input.id, source_id: source.id, received_at: input.receivedAt, headers: JSON.stringify(input.loggedHeaders),
      content_type: input.contentType, body_size: input.body.length, dedup_key: input.dedupKey,
      ordering_key: input.orderingKey, sequence: input.sequence,
    };
    return (async (): Promise<IngestResult> => {
      const record = async (status: InboundStatus, reason: string, detail: string, duplicateOf: string | null = null): Promise<IngestResult> => {
        const { rows } = await run('insertRequest', { ...log, status, reason, detail });
        return { request: toRequest(rows[0]), duplicateOf, leased: [] };
      };
      // First of all the source's shared lock (see the lock order in sql.ts): the dedup claim takes it.
      if (input.dedupKey !== null) {
        const owner = await this.claimDedupKey(run, source.id, input, now);
        if (owner !== null) return record('duplicate', 'duplicate_key', `same ${source.dedup?.key ?? 'key'} as ${owner}`, owner);
      } else {
        await run('lockSource', { source_id: source.id });
      }
      const store = async (waiting: boolean): Promise<Row> => {
        const { rows } = await run('insertAccepted', {
          ...log, app_id: source.appId, raw: input.body, forward_headers: JSON.stringify(input.forwardHeaders), waiting, now,
          routes: jsonOrNull(input.routes),
        });
        if (!rows[0]) throw new HeraldError('not_found', `source '${source.id}' not found`);
        return rows[0];
      };
      const released = (rows: Row[], pk: number): IngestResult => ({
        request: toRequest(rows.find((r) => r.pk === pk)!, { ...noDeliveries(), pending: routed(target, input.routes).endpointIds.length }),
        // No hand-off here: several processes deliver, and LISTEN/NOTIFY wakes whichever is free.
        duplicateOf: null, leased: [],
      });

      const key = input.orderingKey!;
      const seq = input.sequence!;
      // Whoever holds the key's lock reads and writes its state; the next one waits, then
      // (a new statement, a new snapshot) reads what this one committed.
      if ((await run('lockSourceKey', { source_id: source.id, key })).rows.length === 0) {
        throw new HeraldError('not_found', `source '${source.id}' not found`);
      }
      // After the wait for the key: the destinations as they are now, locked until the commit.
      // Every destination: the successors this request releases go to theirs (release routes each).
      target = releaseTarget(source, liveTargets(input.endpointIds, await destinationStatuses(run, input.endpointIds)));
      const state = (await run<{ next_seq: number; gap_deadline: number | null }>('sequenceState', { source_id: source.id, key })).rows[0];
      const expected = state?.next_seq ?? source.ordering!.firstSequence ?? seq;
      if (seq < expected) return record('stale', 'stale_sequence', `sequence ${seq} is older than the next expected, ${expected}`);
      if (seq > expected) {
        const twin = (await run('waitingAt', { source_id: source.id, key, sequence: seq })).rows[0];
        if (twin) return record('duplicate', 'duplicate_sequence', `sequence ${seq} is already waiting as ${twin.id}`, twin.id);
        const row = await store(true);
        await run('saveSequence', {
          source_id: source.id, key, next_seq: expected, gap_timeout_ms: gapTimeoutMs,
          gap_deadline: state?.gap_deadline ?? now + gapTimeoutMs,
        });
        return { request: toRequest(row), duplicateOf: null, leased: [] };
      }
      const row = await store(false);
      const successors = await this.waitingRun(run, source.id, key, seq + 1);
      const rows = await this.release(run, target, key, [row as Stored, ...successors.rows], now);
      await run('saveSequence', {
        source_id: source.id, key, next_seq: seq + 1 + successors.rows.length, gap_timeout_ms: gapTimeoutMs,
        gap_deadline: successors.more ? await gapDeadline(run, source.id, key, gapTimeoutMs) : null,
      });
      return released(rows, row.pk);
    })();
  }

  /**
   * Takes the request's dedup key if it is free or expired; returns null when taken, else the
   * request that holds it. A key pruned between the claim and the owner lookup (its TTL ran
   * out by the pruner's clock) is simply claimed again.
   */
  private async claimDedupKey(run: Run, sourceId: string, input: InboundInput, now: number): Promise<string | null> {
    for (;;) {
      const taken = ((await run('claimDedupKey', {
        source_id: sourceId, key: input.dedupKey, request_id: input.id, expires_at: now + input.dedupTtlMs, now,
      })).rowCount ?? 0) > 0;
      if (taken) return null;
      const owner = (await run<{ request_id: string }>('dedupOwner', { source_id: sourceId, key: input.dedupKey })).rows[0];
      if (owner) return owner.request_id;
    }
  }

  /**
   * The waiting requests of `key` that follow on from sequence `from` (or from the first one
   * waiting, when null) while they are consecutive, and whether others still wait beyond them.
   * Waiting requests are always ahead of the key's next expected sequence, so none is below.
   */
  private async waitingRun(run: Run, sourceId: string, key: string, from: number | null): Promise<{ rows: Array<Stored & { sequence: number }>; more: boolean }> {
    const out: Array<Stored & { sequence: number }> = [];
    let next = from;
    for (;;) {
      const { rows } = await run('waitingFrom', { source_id: sourceId, key, from: next ?? Number.MIN_SAFE_INTEGER, limit: RUN_CHUNK });
      for (const r of rows) {
        if (next !== null && r.sequence !== next) return { rows: out, more: true };
        out.push(r as Stored & { sequence: number });
        next = r.sequence + 1;
      }
      if (rows.length < RUN_CHUNK) return { rows: out, more: false };
    }
  }

  /**
   * Forwards stored requests of one ordering key (or none), in order: a delivery per
   * destination endpoint, numbered by fresh sequences of the source's app so that deliveries
   * of one key go out in release order, and a mark for the app-destination outbox. A delivery
   * waits (ORDER_HELD_AT) while its endpoint has another of the key pending, decided under the
   * same advisory locks as publish's (LOCK_KEYS in sql.ts). The first request gets `gap`.
   * Returns the requests' rows as released.
   */
  private async release(run: Run, t: ReleaseTarget, orderingKey: string | null, reqs: Stored[], now: number, gap?: { from: number; to: number }): Promise<Row[]> {
    // Each request to the destinations whose filters matched when it came.
    const targets = reqs.map((r) => routed(t, routesOf(r)));
    const endpoints = [...new Set(targets.flatMap((x) => x.endpointIds))];
    const busy = new Set<string>();
    if (orderingKey !== null && endpoints.length > 0) {
      const pairs = { endpoint_ids: endpoints, keys: endpoints.map(() => orderingKey) };
      await run('lockKeys', pairs);
      for (const r of (await run('busyKeys', pairs)).rows) busy.add(r.endpoint_id);
    }
    const dl = { delivery_ids: [] as string[], delivery_ns: [] as number[], endpoint_ids: [] as string[], next_attempt_ats: [] as number[] };
    let due = false;
    reqs.forEach((_, i) => {
      for (const endpointId of targets[i].endpointIds) {
        const waits = orderingKey !== null && busy.has(endpointId);
        if (orderingKey !== null) busy.add(endpointId);
        const parked = !waits && t.parked.has(endpointId);
        if (!waits && !parked) due = true;
        dl.delivery_ids.push(newId('dlv', now)); dl.delivery_ns.push(i + 1); dl.endpoint_ids.push(endpointId);
        dl.next_attempt_ats.push(waits ? ORDER_HELD_AT : parked ? PARKED_AT : now);
      }
    });
    const { rows } = await run('releaseRequests', {
      ...dl, app_id: t.appId, ordering_key: orderingKey, now,
      per_requests: targets.map((x) => x.endpointIds.length), app_pendings: targets.map((x) => x.hasApps),
      pks: reqs.map((r) => r.pk), event_pks: reqs.map((r) => r.event_pk), event_ids: reqs.map((r) => r.id),
      gap_froms: reqs.map((_, i) => (i === 0 && gap ? gap.from : null)), gap_tos: reqs.map((_, i) => (i === 0 && gap ? gap.to : null)),
    });
    if (rows.length !== reqs.length) throw new HeraldError('not_found', `source '${t.sourceId}' not found`);
    // Work for a worker in whichever process: deliveries due now, or the app-destination outbox.
    if (due || targets.some((x) => x.hasApps)) await this.wake(run);
    return rows;
  }

  async releaseGaps(now: number, limit: number): Promise<number> {
    let released = 0;
    // Keys an ingest holds right now: passed over this time (their ingest may well fill the gap).
    const skip = { skip_sources: [] as string[], skip_keys: [] as string[] };
    const targets = new Map<string, ReleaseTarget>();
    // One key per transaction: each takes the key's row and advisory lock and its
    // (endpoint, key) locks, in the same order as ingest and publish, and holds them briefly.
    for (let n = 0; n < limit; n++) {
      const done = await this.tx(async (run): Promise<number | 'skipped' | null> => {
        const g = (await run('dueGap', { now, ...skip })).rows[0];
        if (!g) return null;
        if (!g.locked) {
          skip.skip_sources.push(g.source_id);
          skip.skip_keys.push(g.key);
          return 'skipped';
        }
        let t = targets.get(g.source_id);
        if (!t) {
          const src = toSource((await run('source', { id: g.source_id })).rows[0], this.sealer);
          t = releaseTarget(src, destinationTargets(src, (await run<{ id: string; status: string }>('appEndpointIds', { app_id: src.appId })).rows));
          targets.set(g.source_id, t);
        }
        const run_ = await this.waitingRun(run, g.source_id, g.key, null);
        let next: number = g.next_seq;
        let count = 0;
        if (run_.rows.length > 0) {
          // The missing sequences are given up on: the oldest waiting one goes, the gap recorded.
          const first = run_.rows[0].sequence;
          await this.release(run, t, g.key, run_.rows, now, { from: next, to: first - 1 });
          next = first + run_.rows.length;
          count = run_.rows.length;
        }
        await run('saveSequence', {
          source_id: g.source_id, key: g.key, next_seq: next, gap_timeout_ms: g.gap_timeout_ms,
          gap_deadline: run_.more ? await gapDeadline(run, g.source_id, g.key, g.gap_timeout_ms) : null,
        });
        return count;
      });
      if (done === null) break;
      if (done !== 'skipped') released += done;
    }
    return released;
  }

  async recordRejected(sourceId: string, input: RejectedInput): Promise<void> {
    await sourceMustExist(sourceId, this.run('insertRequest', {
      id: input.id, source_id: sourceId, status: 'rejected', reason: input.reason, detail: input.detail,
      received_at: input.receivedAt, headers: JSON.stringify(input.loggedHeaders), content_type: input.contentType,
      body_size: input.bodySize, dedup_key: null, ordering_key: null, sequence: null,
    }));
  }

  private async withCounts(rows: Row[]): Promise<InboundRequest[]> {
    const pks = rows.filter((r) => r.event_pk != null).map((r) => r.event_pk as number);
    const counts = pks.length === 0 ? new Map() : countsByEvent((await this.run('deliveryCounts', { pks })).rows as never);
    return rows.map((r) => toRequest(r, counts.get(r.event_pk) ?? noDeliveries()));
  }

  async listRequests(sourceId: string, q: PageQuery & { status?: InboundStatus; via?: RequestVia }): Promise<Page<InboundRequest>> {
    const { rows } = await this.run('listRequests', { source_id: sourceId, before: q.iterator ?? '~', status: q.status ?? null, via: q.via ?? null, limit: q.limit + 1 });
    return toPage(await this.withCounts(rows), q.limit, (r) => r.id, q.iterator);
  }

  async getRequest(sourceId: string, id: string): Promise<InboundRequest | null> {
    const { rows } = await this.run('request', { source_id: sourceId, id });
    return rows[0] ? (await this.withCounts(rows))[0] : null;
  }

  async getRequestBody(sourceId: string, id: string): Promise<{ body: Buffer; contentType: string | null } | null> {
    const row = (await this.run<{ raw: Buffer | null; content_type: string | null }>('requestBody', { source_id: sourceId, id })).rows[0];
    return row?.raw ? { body: row.raw, contentType: row.content_type } : null;
  }

  async pendingAppForwards(limit: number): Promise<AppForward[]> {
    const { rows } = await this.run('appForwards', { limit });
    return rows.map((r) => ({
      requestId: r.id, sourceId: r.source_id, body: r.raw as Buffer,
      headers: r.headers == null ? {} : typeof r.headers === 'string' ? JSON.parse(r.headers) : r.headers,
      contentType: r.content_type, orderingKey: r.ordering_key, receivedAt: r.received_at, routes: routesOf(r),
    }));
  }

  async finishAppForwards(forwards: Array<{ sourceId: string; requestId: string }>, errors: Record<string, string>): Promise<void> {
    const requestIds = forwards.map((f) => f.requestId);
    if (requestIds.length === 0) return;
    await this.run('finishAppForwards', { ids: requestIds, errors: requestIds.map((id) => errors[id] ?? null) });
  }

  async replay(source: Source, q: ReplayQuery, now: number): Promise<number> {
    return this.tx(async (run) => {
      const n = q.requestId !== undefined
        ? (await run('replayRequest', { source_id: source.id, id: q.requestId, now })).rowCount ?? 0
        : (await run('replayRange', {
          source_id: source.id, from_id: idAtTime('req', q.since ?? 0), to_id: idAtTime('req', q.until ?? now + 1),
          status: q.status ?? 'failed', now,
        })).rowCount ?? 0;
      if (n > 0) await this.wake(run);
      return n;
    });
  }

  async pruneInbound(now: number, before: number | null, limit: number): Promise<number> {
    let n = (await this.run('pruneDedup', { now, limit })).rowCount ?? 0;
    if (before !== null) n += (await this.run('pruneRequests', { before_id: idAtTime('req', before), limit })).rowCount ?? 0;
    return n;
  }
}
