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
import { ORDER_HELD_AT, PARKED_AT, type Page, type PageQuery, type PublishLease } from '../types.js';
import { isForeignKeyViolation } from './connection.js';
import { SqliteQueue } from './queue.js';

type Row = Record<string, any>;

/** A release's target, how long a gap of its source waits, and (at ingest) the destinations' live state. */
type Target = ReleaseTarget & { gapTimeoutMs: number; states?: Map<string, Row> };

/**
 * The inbound gateway's storage on SQLite: sources, the request log, dedup keys and per-key
 * sequences. An accepted request is an event of the source's app; releasing it writes one
 * delivery per HTTP destination, which the delivery worker then sends like any other.
 */
export class SqliteInbound extends SqliteQueue {
  async createSource(s: NewSource): Promise<Source> {
    this.forgetConfig(); // getApp reads an app's source
    return this.db.transaction(() => {
      const now = Date.now();
      this.s.insertApp.run({
        id: s.appId, uid: null, name: `source ${s.name}`, metadata: JSON.stringify({ sourceId: s.id }), signature_profile: null, envelope_profile: null, portal: null, now,
      });
      return toSource(this.s.insertSource.get({ ...this.sourceColumns(s), id: s.id, app_id: s.appId, now }) as Row, this.sealer);
    }).immediate();
  }

  private sourceColumns(s: Omit<NewSource, 'id' | 'appId'>) {
    return {
      name: s.name, verification: sealVerification(this.sealer, s.verification), dedup: jsonOrNull(s.dedup),
      ordering: jsonOrNull(s.ordering), destinations: JSON.stringify(s.destinations),
      forward_headers: jsonOrNull(s.forwardHeaders), rate_limit: s.rateLimit, response: jsonOrNull(s.response),
      poll: sealPoll(this.sealer, s.poll),
    };
  }

  async getSource(id: string): Promise<Source | null> {
    const row = this.s.source.get({ id }) as Row | undefined;
    return row ? toSource(row, this.sealer) : null;
  }

  async listSources(q: PageQuery): Promise<Page<Source>> {
    const rows = (this.s.listSources.all({ after: q.iterator ?? '', limit: q.limit + 1 }) as Row[]).map((r) => toSource(r, this.sealer));
    return toPage(rows, q.limit, (s) => s.id, q.iterator);
  }

  async updateSource(id: string, patch: SourcePatch, now: number): Promise<Source | null> {
    return this.db.transaction(() => {
      const row = this.s.source.get({ id }) as Row | undefined;
      if (!row) return null;
      const merged = { ...toSource(row, this.sealer), ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) };
      return toSource(this.s.updateSource.get({ ...this.sourceColumns(merged), id, now }) as Row, this.sealer);
    }).immediate();
  }

  /** One process per SQLite file: a source's rate limit is all its own. */
  async gatewayPresence(_processId: string, sourceIds: string[]): Promise<Map<string, number>> {
    return new Map(sourceIds.map((id) => [id, 1]));
  }

  async deleteSource(id: string): Promise<boolean> {
    const row = this.s.source.get({ id }) as Row | undefined;
    // The source, its requests, keys and sequences go with its app (foreign keys cascade).
    this.forgetConfig();
    return row ? this.s.deleteApp.run({ id: row.app_id }).changes > 0 : false;
  }

  /**
   * Requests arriving together are written in one transaction (group commit), and every
   * caller is answered only after it committed. With 64 providers' connections busy this
   * turns dozens of commits (and the WAL checkpoints they trigger) into one; alone, a request
   * waits for nothing but its own turn of the event loop. Should one request fail (none is
   * expected to: every conflict is handled in SQL), the group is rolled back and each of its
   * requests retried in a transaction of its own, so one can't take the others with it;
   * savepoints would do the same at two extra statements per request.
   */
  ingest(source: Source, input: InboundInput, now: number): Promise<IngestResult> {
    return new Promise((resolve, reject) => {
      this.ingests.push({ source, input, now, resolve, reject });
      if (this.ingests.length === 1) setImmediate(() => this.flushIngests());
    });
  }

  private ingests: Array<{ source: Source; input: InboundInput; now: number; resolve: (r: IngestResult) => void; reject: (e: unknown) => void }> = [];

  private flushIngests(): void {
    const batch = this.ingests;
    this.ingests = [];
    let results: IngestResult[];
    try {
      results = this.db.transaction(() => batch.map((p) => this.ingestOne(p.source, p.input, p.now))).immediate();
    } catch {
      for (const p of batch) {
        try {
          p.resolve(this.db.transaction(() => this.ingestOne(p.source, p.input, p.now)).immediate());
        } catch (err) {
          // Its source was deleted after the gateway loaded it: the request's rows refer to it.
          p.reject(isForeignKeyViolation(err) ? new HeraldError('not_found', `source '${p.source.id}' not found`, undefined, { cause: err }) : err);
        }
      }
      return;
    }
    batch.forEach((p, i) => p.resolve(results[i]));
  }

  /** One request, inside the caller's transaction. */
  protected ingestOne(source: Source, input: InboundInput, now: number): IngestResult {
    const log = {
      id: input.id, source_id: source.id, received_at: input.receivedAt, headers: JSON.stringify(input.loggedHeaders),
      content_type: input.contentType, body_size: input.body.length, dedup_key: input.dedupKey,
      ordering_key: input.orderingKey, sequence: input.sequence, event_pk: null as number | null, waiting: 0,
      release_seq: null as number | null, app_pending: 0, routes: jsonOrNull(input.routes),
    };
    const states = this.destinationStates(input.endpointIds);
    // Every destination (for the successors this request may release), and this request's own.
    const all: Target = {
      ...releaseTarget(source, liveTargets(input.endpointIds, new Map([...states].map(([id, st]) => [id, st.status as string])))),
      gapTimeoutMs: (source.ordering?.gapTimeoutSeconds ?? 0) * 1000,
      states,
    };
    const target = routed(all, input.routes);
    const leased: IngestResult['leased'] = [];
    // The answer is built from what was written rather than read back.
    const answer = (status: InboundStatus, reason: string | null, detail: string | null, released: boolean, duplicateOf: string | null = null): IngestResult => ({
      request: toRequest(
        { ...log, status, reason, detail, headers: input.loggedHeaders },
        { ...noDeliveries(), pending: released ? target.endpointIds.length : 0 },
      ),
      duplicateOf,
      leased,
    });
    const record = (status: InboundStatus, reason: string, detail: string, duplicateOf: string | null = null) => {
      this.s.insertRequest.run({ ...log, status, reason, detail, routes: null });
      return answer(status, reason, detail, false, duplicateOf);
    };
    if (input.dedupKey !== null) {
      const taken = this.s.claimDedupKey.run({
        source_id: source.id, key: input.dedupKey, request_id: input.id, expires_at: now + input.dedupTtlMs, now,
      }).changes > 0;
      if (!taken) {
        const owner = (this.s.dedupOwner.get({ source_id: source.id, key: input.dedupKey }) as { request_id: string }).request_id;
        return record('duplicate', 'duplicate_key', `same ${source.dedup?.key ?? 'key'} as ${owner}`, owner);
      }
    }
    const sequenced = source.ordering?.sequence != null && input.orderingKey !== null && input.sequence !== null;
    // Forwarded at once: event, request and deliveries are written in their final state.
    const acceptNow = () => {
      const stored = this.storeEvent(source.appId, input, now, target.endpointIds.length);
      Object.assign(log, { event_pk: stored.pk, release_seq: stored.sequence, app_pending: target.hasApps ? 1 : 0 });
      this.insertAccepted(log);
      this.addDeliveries(target, { event_pk: stored.pk, id: input.id, ordering_key: input.orderingKey }, now, stored.sequence, input.lease, leased);
    };
    if (!sequenced) {
      acceptNow();
      return answer('accepted', null, null, true);
    }

    const key = input.orderingKey!;
    const seq = input.sequence!;
    const state = this.s.sequenceState.get({ source_id: source.id, key }) as { next_seq: number; gap_deadline: number | null } | undefined;
    const expected = state?.next_seq ?? source.ordering!.firstSequence ?? seq;
    if (seq < expected) return record('stale', 'stale_sequence', `sequence ${seq} is older than the next expected, ${expected}`);
    if (seq > expected) {
      const twin = this.s.waitingAt.get({ source_id: source.id, key, sequence: seq }) as Row | undefined;
      if (twin) return record('duplicate', 'duplicate_sequence', `sequence ${seq} is already waiting as ${twin.id}`, twin.id);
      log.event_pk = this.storeEvent(source.appId, input, now, 0).pk;
      log.waiting = 1;
      this.insertAccepted(log);
      this.s.saveSequence.run({
        source_id: source.id, key, next_seq: expected, gap_timeout_ms: target.gapTimeoutMs,
        gap_deadline: state?.gap_deadline ?? now + target.gapTimeoutMs,
      });
      return answer('accepted', null, null, false);
    }
    acceptNow();
    const next = this.releaseRun(all, key, seq + 1, now);
    this.s.saveSequence.run({
      source_id: source.id, key, next_seq: next, gap_timeout_ms: target.gapTimeoutMs, gap_deadline: this.gapDeadline(source.id, key, target.gapTimeoutMs),
    });
    return answer('accepted', null, null, true);
  }

  /**
   * The destinations that still exist, with their state as of this transaction: the gateway's
   * view of them may be a second old, and a delivery written held back for a destination
   * enabled meanwhile would never go out.
   */
  private destinationStates(ids: string[]): Map<string, Row> {
    const states = new Map<string, Row>();
    for (const id of ids) {
      const state = this.s.endpointState.get({ id }) as Row | undefined;
      if (state) states.set(id, state);
    }
    return states;
  }

  /** The raw request as an event of the source's app (no deliveries yet). */
  private storeEvent(appId: string, input: InboundInput, now: number, deliveries: number): { pk: number; sequence: number } {
    const bumped = this.s.bumpSequence.get({ n: 1, id: appId }) as { last_sequence: number } | undefined;
    // The app goes with its source: deleted since the gateway loaded it.
    if (!bumped) throw new HeraldError('not_found', `app '${appId}' of a deleted source not found`);
    const { last_sequence } = bumped;
    const pk = Number(this.s.insertRawEvent.run({
      app_id: appId, id: input.id, sequence: last_sequence, ordering_key: input.orderingKey, raw: input.body,
      headers: JSON.stringify(input.forwardHeaders), deliveries, now,
    }).lastInsertRowid);
    return { pk, sequence: last_sequence };
  }

  private insertAccepted(log: Row): void {
    this.s.insertRequest.run({ ...log, status: 'accepted', reason: null, detail: null });
  }

  /**
   * Forwards a stored request that waited: a delivery per destination endpoint, numbered by a
   * fresh sequence of the source's app so that deliveries of one ordering key go out in
   * release order (which is sequence order), and a mark for the app-destination outbox.
   */
  private release(to: Target, r: { event_pk: number; id: string; ordering_key: string | null; routes: string | null }, now: number, gap?: { from: number; to: number }): void {
    // Only the destinations whose filters matched when the request came.
    const t = routed(to, routesOf(r));
    const { last_sequence } = this.s.bumpSequence.get({ n: 1, id: t.appId }) as { last_sequence: number };
    this.addDeliveries(t, r, now, last_sequence);
    if (t.endpointIds.length > 0) this.s.addEventDeliveries.run({ n: t.endpointIds.length, pk: r.event_pk });
    this.s.releaseRequest.run({
      source_id: t.sourceId, id: r.id, release_seq: last_sequence, app_pending: t.hasApps ? 1 : 0, gap_from: gap?.from ?? null, gap_to: gap?.to ?? null,
    });
  }

  /**
   * One delivery per destination endpoint; of a busy ordering key, it waits its turn. With a
   * lease, those that can go at once are written already leased to the local worker (as a
   * publish does), which then sends them without a claim; `leased` collects them.
   */
  private addDeliveries(
    t: Target, r: { event_pk: number; id: string; ordering_key: string | null }, now: number, sequence: number,
    lease?: PublishLease, leased?: IngestResult['leased'],
  ): void {
    for (const endpointId of t.endpointIds) {
      const waits = r.ordering_key !== null && this.s.keyBusy.get({ endpoint_id: endpointId, key: r.ordering_key }) !== undefined;
      const parked = !waits && t.parked.has(endpointId);
      // Handed off only with the endpoint as it is now, and not into an open circuit (the
      // worker's claim path holds those back).
      const state = t.states?.get(endpointId);
      const take = !waits && !parked && state?.circuit_state === 'closed' && lease !== undefined && leased !== undefined && leased.length < lease.limit;
      const id = newId('dlv', now);
      this.s.insertDelivery.run({
        id, app_id: t.appId, endpoint_id: endpointId, event_pk: r.event_pk, event_id: r.id, event_type: 'inbound.request',
        next_attempt_at: waits ? ORDER_HELD_AT : parked ? PARKED_AT : take ? lease.until : now, lease_owner: take ? lease.owner : null,
        ordering_key: r.ordering_key, event_seq: sequence, now,
      });
      if (take) leased.push({ id, endpoint: this.endpointFromState(endpointId, state) });
    }
  }

  /**
   * When a key's remaining gap is given up on: the arrival of its oldest request still waiting
   * plus the timeout (null when none waits), so that no accepted request is held longer than
   * gapTimeoutSeconds, and a gap that opens only now isn't cut short by an older one's clock.
   */
  private gapDeadline(sourceId: string, key: string, gapTimeoutMs: number): number | null {
    const { at } = this.s.oldestWaiting.get({ source_id: sourceId, key }) as { at: number | null };
    return at === null ? null : at + gapTimeoutMs;
  }

  /** Releases the waiting requests of `key` from sequence `from` on while they are consecutive; returns the next expected. */
  private releaseRun(t: Target, key: string, from: number, now: number): number {
    let next = from;
    for (;;) {
      const row = this.s.waitingAt.get({ source_id: t.sourceId, key, sequence: next }) as Row | undefined;
      if (!row) return next;
      this.release(t, row as { event_pk: number; id: string; ordering_key: string; routes: string | null }, now);
      next++;
    }
  }

  async releaseGaps(now: number, limit: number): Promise<number> {
    return this.db.transaction(() => {
      let released = 0;
      const sources = new Map<string, Target>();
      for (const g of this.s.dueGaps.all({ now, limit }) as Row[]) {
        let t = sources.get(g.source_id);
        if (!t) {
          const src = toSource(this.s.source.get({ id: g.source_id }) as Row, this.sealer);
          t = {
            ...releaseTarget(src, destinationTargets(src, this.s.appEndpointIds.all({ app_id: src.appId }) as Array<{ id: string; status: string }>)),
            gapTimeoutMs: g.gap_timeout_ms,
          };
          sources.set(g.source_id, t);
        }
        const first = this.s.firstWaiting.get({ source_id: g.source_id, key: g.key }) as Row | undefined;
        let next = g.next_seq as number;
        if (first) {
          // The missing sequences are given up on: the oldest waiting one goes, the gap recorded.
          this.release(t, first as { event_pk: number; id: string; ordering_key: string; routes: string | null }, now, { from: next, to: first.sequence - 1 });
          next = this.releaseRun(t, g.key, first.sequence + 1, now);
          released += next - first.sequence;
        }
        this.s.saveSequence.run({
          source_id: g.source_id, key: g.key, next_seq: next, gap_timeout_ms: g.gap_timeout_ms,
          gap_deadline: this.gapDeadline(g.source_id, g.key, g.gap_timeout_ms),
        });
      }
      return released;
    }).immediate();
  }

  async recordRejected(sourceId: string, input: RejectedInput): Promise<void> {
    this.s.insertRequest.run({
      id: input.id, source_id: sourceId, status: 'rejected', reason: input.reason, detail: input.detail,
      received_at: input.receivedAt, headers: JSON.stringify(input.loggedHeaders), content_type: input.contentType,
      body_size: input.bodySize, dedup_key: null, ordering_key: null, sequence: null, event_pk: null, waiting: 0,
      release_seq: null, app_pending: 0, routes: null,
    });
  }

  private withCounts(rows: Row[]): InboundRequest[] {
    const pks = rows.filter((r) => r.event_pk != null).map((r) => r.event_pk);
    const counts = pks.length === 0 ? new Map() : countsByEvent(this.s.deliveryCounts.all({ pks: JSON.stringify(pks) }) as Row[] as never);
    return rows.map((r) => toRequest(r, counts.get(r.event_pk) ?? noDeliveries()));
  }

  async listRequests(sourceId: string, q: PageQuery & { status?: InboundStatus; via?: RequestVia }): Promise<Page<InboundRequest>> {
    const rows = this.s.listRequests.all({ source_id: sourceId, before: q.iterator ?? '~', status: q.status ?? null, via: q.via ?? null, limit: q.limit + 1 }) as Row[];
    return toPage(this.withCounts(rows), q.limit, (r) => r.id, q.iterator);
  }

  async getRequest(sourceId: string, id: string): Promise<InboundRequest | null> {
    const row = this.s.request.get({ source_id: sourceId, id }) as Row | undefined;
    return row ? this.withCounts([row])[0] : null;
  }

  async getRequestBody(sourceId: string, id: string): Promise<{ body: Buffer; contentType: string | null } | null> {
    const row = this.s.requestBody.get({ source_id: sourceId, id }) as { raw: Buffer | null; content_type: string | null } | undefined;
    return row?.raw ? { body: row.raw, contentType: row.content_type } : null;
  }

  async pendingAppForwards(limit: number): Promise<AppForward[]> {
    return (this.s.appForwards.all({ limit }) as Row[]).map((r) => ({
      requestId: r.id, sourceId: r.source_id, body: r.raw as Buffer, headers: JSON.parse(r.headers ?? '{}'),
      contentType: r.content_type, orderingKey: r.ordering_key, receivedAt: r.received_at, routes: routesOf(r),
    }));
  }

  async finishAppForwards(forwards: Array<{ sourceId: string; requestId: string }>, errors: Record<string, string>): Promise<void> {
    this.db.transaction(() => {
      for (const f of forwards) this.s.finishAppForward.run({ source_id: f.sourceId, id: f.requestId, error: errors[f.requestId] ?? null });
    })();
  }

  async replay(source: Source, q: ReplayQuery, now: number): Promise<number> {
    if (q.requestId !== undefined) {
      const row = this.s.request.get({ source_id: source.id, id: q.requestId }) as Row | undefined;
      if (!row?.event_pk) return 0;
      return this.s.replayRequest.run({ event_pk: row.event_pk, now }).changes;
    }
    return this.s.replayRange.run({
      source_id: source.id, from_id: idAtTime('req', q.since ?? 0), to_id: idAtTime('req', q.until ?? now + 1),
      status: q.status ?? 'failed', now,
    }).changes;
  }

  async pruneInbound(now: number, before: number | null, limit: number): Promise<number> {
    let n = this.s.pruneDedup.run({ now, limit }).changes;
    if (before !== null) {
      for (const { id } of this.s.sourceIds.all() as Array<{ id: string }>) {
        n += this.s.pruneRequests.run({ source_id: id, before_id: idAtTime('req', before), limit: limit - n }).changes;
        if (n >= limit) break;
      }
    }
    return n;
  }
}
