import { decideHealth, healthStateOf } from '../../core/health.js';
import { HeraldError } from '../../errors.js';
import { newId } from '../../ids.js';
import {
  ORDER_HELD_AT, PARKED_AT,
  type AttemptOutcome, type ClaimedDelivery, type Endpoint, type HealthChange, type HealthPolicy, type NewEvent,
  type PublishLease, type PublishResult, type SignatureProfile,
} from '../types.js';
import { SqliteConnection } from './connection.js';
import { EndpointCache, toEvent, withState } from '../rows.js';

type Row = Record<string, any>;

/**
 * The write-heavy half of the SQLite backend: publishing, and everything the delivery worker
 * does. Each method is one short synchronous transaction.
 */
export class SqliteQueue extends SqliteConnection {
  /**
   * Publishes arriving together (within one turn of the event loop) are written in one
   * transaction, and each caller is answered only after it committed: at a thousand single
   * publishes a second a commit per request is the largest cost of the publish path, and
   * under a burst the groups grow by themselves. Alone, a publish waits for nothing but its
   * own turn. Should the group fail (a publish for an app deleted meanwhile, say), it is rolled
   * back and each publish of it is tried in a transaction of its own, so one can't take the
   * others with it: the same scheme as the gateway's ingest.
   */
  publish(appId: string, events: NewEvent[], now: number, lease?: PublishLease): Promise<PublishResult[]> {
    return new Promise((resolve, reject) => {
      this.publishes.push({ appId, events, now, lease, resolve, reject });
      if (this.publishes.length === 1) setImmediate(() => this.flushPublishes());
    });
  }

  private publishes: Array<{
    appId: string; events: NewEvent[]; now: number; lease?: PublishLease;
    resolve: (r: PublishResult[]) => void; reject: (e: unknown) => void;
  }> = [];

  private flushPublishes(): void {
    const batch = this.publishes;
    this.publishes = [];
    if (batch.length > 1) {
      let results: PublishResult[][] | null = null;
      try {
        results = this.db.transaction(() => batch.map((p) => this.publishOne(p.appId, p.events, p.now, p.lease))).immediate();
      } catch {
        // each alone, below
      }
      if (results) {
        batch.forEach((p, i) => p.resolve(results[i]));
        return;
      }
    }
    for (const p of batch) {
      try {
        p.resolve(this.db.transaction(() => this.publishOne(p.appId, p.events, p.now, p.lease)).immediate());
      } catch (err) {
        p.reject(err);
      }
    }
  }

  /** One publish, inside the caller's transaction. */
  private publishOne(appId: string, events: NewEvent[], now: number, lease?: PublishLease): PublishResult[] {
    const results: PublishResult[] = new Array(events.length);
    const fresh: number[] = [];
    const inBatch = new Map<string, number>();
    const repeats: Array<[number, number]> = [];
    events.forEach((e, i) => {
      const sameBatch = inBatch.get(`id:${e.id}`) ?? (e.idempotencyKey ? inBatch.get(`key:${e.idempotencyKey}`) : undefined);
      if (sameBatch !== undefined) {
        repeats.push([i, sameBatch]);
        return;
      }
      const existing = (e.idGenerated ? undefined : this.s.eventById.get({ app_id: appId, id: e.id }))
        ?? (e.idempotencyKey ? this.s.eventByIdempotencyKey.get({ app_id: appId, key: e.idempotencyKey }) : undefined);
      if (existing) {
        results[i] = { event: toEvent(existing as Row), created: false, deliveryIds: [], leased: [] };
        return;
      }
      inBatch.set(`id:${e.id}`, i);
      if (e.idempotencyKey) inBatch.set(`key:${e.idempotencyKey}`, i);
      fresh.push(i);
    });
    if (fresh.length > 0) {
      const bumped = this.s.bumpSequence.get({ n: fresh.length, id: appId }) as { last_sequence: number } | undefined;
      if (!bumped) throw new HeraldError('not_found', `app '${appId}' not found`);
      let sequence = bumped.last_sequence - fresh.length;
      let leasable = lease?.limit ?? 0;
      for (const i of fresh) {
        sequence++;
        results[i] = this.insertEvent(appId, events[i], sequence, now, lease, () => (leasable > 0 ? (leasable--, true) : false));
      }
    }
    for (const [i, first] of repeats) results[i] = { event: results[first].event, created: false, deliveryIds: [], leased: [] };
    return results;
  }

  private insertEvent(appId: string, e: NewEvent, sequence: number, now: number, lease: PublishLease | undefined, takeLease: () => boolean): PublishResult {
    const body = e.render(sequence);
    const { lastInsertRowid } = this.s.insertEvent.run({
      app_id: appId, id: e.id, type: e.type, timestamp: e.timestamp, sequence, idempotency_key: e.idempotencyKey,
      ordering_key: e.orderingKey, channels: e.channels?.length ? JSON.stringify(e.channels) : null, body, deliveries: e.endpointIds.length, now,
    });
    const leased: number[] = [];
    const deliveryIds = e.endpointIds.map((endpointId, j) => {
      const id = newId('dlv', now);
      // With an ordering key, a delivery waits while its endpoint has another of the key pending.
      const waits = e.orderingKey !== null && this.s.keyBusy.get({ endpoint_id: endpointId, key: e.orderingKey }) !== undefined;
      const take = !waits && takeLease();
      if (take) leased.push(j);
      this.s.insertDelivery.run({
        id, app_id: appId, endpoint_id: endpointId, event_pk: lastInsertRowid, event_id: e.id, event_type: e.type, now,
        next_attempt_at: waits ? ORDER_HELD_AT : take ? lease!.until : now, lease_owner: take ? lease!.owner : null,
        ordering_key: e.orderingKey, event_seq: sequence,
      });
      return id;
    });
    return {
      event: { id: e.id, appId, type: e.type, timestamp: e.timestamp, sequence, orderingKey: e.orderingKey, channels: e.channels ?? [], body, deliveries: deliveryIds.length, createdAt: now },
      created: true,
      deliveryIds,
      leased,
    };
  }

  async claimDue(owner: string, now: number, leaseUntil: number, limit: number): Promise<ClaimedDelivery[]> {
    const rows = this.s.claim.all({ owner, now, lease_until: leaseUntil, limit }) as Row[];
    return rows.length === 0 ? [] : this.hydrate(rows);
  }

  /**
   * Endpoint configuration by id, kept while its updated_at stays the same: a fan-out batch
   * touches dozens of endpoints, and parsing and decrypting each per batch is measurable.
   */
  private readonly endpointCache = new EndpointCache(this.sealer);

  private currentEndpoint(id: string): Endpoint {
    return this.endpointFromState(id, this.s.endpointState.get({ id }) as Row);
  }

  /** An endpoint from its changing state (see endpointState) and its configuration, cached by updated_at. */
  protected endpointFromState(id: string, state: Row): Endpoint {
    const cached = this.endpointCache.get(id, state.updated_at);
    if (cached) return withState(cached, state);
    return this.endpointCache.fromRow(this.s.endpointById.get({ id }) as Row);
  }

  /** Claimed rows → deliveries with body, endpoint and app profile; each read once per batch. */
  private hydrate(rows: Row[]): ClaimedDelivery[] {
    const bodies = new Map<number, { body: string | Buffer; headers: Record<string, string> | null }>();
    const endpoints = new Map<string, Endpoint>();
    const profiles = new Map<string, SignatureProfile | null>();
    return rows.map((r) => {
      let content = bodies.get(r.event_pk);
      if (content === undefined) {
        const e = this.s.eventBody.get({ pk: r.event_pk }) as { body: string; raw: Buffer | null; headers: string | null };
        content = { body: e.raw ?? e.body, headers: e.headers === null ? null : JSON.parse(e.headers) };
        bodies.set(r.event_pk, content);
      }
      let endpoint = endpoints.get(r.endpoint_id);
      if (endpoint === undefined) {
        endpoint = this.currentEndpoint(r.endpoint_id);
        endpoints.set(r.endpoint_id, endpoint);
      }
      let profile = profiles.get(r.app_id);
      if (profile === undefined) {
        const app = this.s.appById.get({ id: r.app_id }) as { signature_profile: string | null } | undefined;
        profile = app?.signature_profile ? (JSON.parse(app.signature_profile) as SignatureProfile) : null;
        profiles.set(r.app_id, profile);
      }
      return {
        id: r.id, appId: r.app_id, eventId: r.event_id, eventType: r.event_type, orderingKey: r.ordering_key ?? null,
        attemptCount: r.attempt_count, oneShot: r.one_shot === 1, body: content.body, headers: content.headers, endpoint, profile,
      };
    });
  }

  async nextDueAt(): Promise<number | null> {
    const row = this.s.nextDue.get() as { at: number | null };
    return row.at === null || row.at >= PARKED_AT ? null : row.at;
  }

  async recordOutcomes(outcomes: AttemptOutcome[], now: number, policy: HealthPolicy): Promise<HealthChange[]> {
    if (outcomes.length === 0) return [];
    this.cachedConfig(); // another connection's write to an endpoint forgets healthyAt
    return this.db.transaction(() => {
      // Per endpoint: failures since the batch's last success, and whether a success reset the count.
      const health = new Map<string, { reset: boolean; fails: number; firstFailure: number; at: number; probe?: boolean; gone?: string }>();
      for (const o of outcomes) {
        const a = o.attempt;
        this.s.insertAttempt.run({
          id: a.id, delivery_id: a.deliveryId, endpoint_id: a.endpointId, number: a.number, started_at: a.startedAt,
          duration_ms: a.durationMs, status_code: a.statusCode, response_body: a.responseBody, error: a.error,
        });
        this.s.finishAttempt.run({
          delivery_id: o.deliveryId, status: o.status, number: a.number, status_code: a.statusCode, error: a.error,
          next_attempt_at: o.nextAttemptAt, started_at: a.startedAt, now,
        });
        if (o.orderingKey && o.status !== 'pending') {
          this.s.releaseNextInOrder.run({ endpoint_id: o.endpointId, key: o.orderingKey, now });
        }
        const h = health.get(o.endpointId) ?? { reset: false, fails: 0, firstFailure: 0, at: 0 };
        if (o.status === 'success') {
          h.reset = true;
          h.fails = 0;
        } else {
          if (h.fails === 0) h.firstFailure = a.startedAt;
          h.fails++;
        }
        if (o.probe) h.probe = o.status === 'success';
        if (o.disableEndpoint) h.gone = o.disableEndpoint;
        h.at = Math.max(h.at, a.startedAt);
        health.set(o.endpointId, h);
      }
      const changes: HealthChange[] = [];
      for (const [id, h] of health) this.applyHealth(id, h, now, policy, changes);
      return changes;
    })();
  }

  /** Failure counts, circuit transitions, failing notices and auto-disable for one endpoint. */
  private applyHealth(
    id: string,
    h: { reset: boolean; fails: number; firstFailure: number; at: number; probe?: boolean; gone?: string },
    now: number,
    policy: HealthPolicy,
    changes: HealthChange[],
  ): void {
    const healthy = h.fails === 0 && h.probe === undefined && h.gone === undefined;
    // What endpointHealth's own condition would skip, without running it: 50 endpoints made 50
    // statements per batch of results, most of them changing nothing.
    if (healthy && h.at <= (this.healthyAt.get(id) ?? -Infinity) + 1000) return;
    const row = this.s.endpointHealth.get({ id, reset: h.reset ? 1 : 0, fails: h.fails, first_failure: h.firstFailure, at: h.at }) as Row | undefined;
    if (!row) return; // deleted meanwhile, or healthy and written less than a second ago
    if (healthy && row.consecutive_failures === 0 && row.circuit_state === 'closed' && row.status === 'active') this.healthyAt.set(id, h.at);
    const decision = decideHealth(healthStateOf(row), h, now, policy);
    const base = { endpointId: id, appId: row.app_id as string, consecutiveFailures: row.consecutive_failures as number, failingSince: row.failing_since as number | null };
    if (decision.failing) changes.push({ kind: 'failing', ...base });
    if (decision.disable) {
      if (this.s.disableEndpoint.get({ id, reason: decision.disable, now })) {
        this.s.holdEndpoint.run({ id });
        changes.push({ kind: 'disabled', reason: decision.disable, ...base });
      }
    } else if (decision.circuit?.state === 'recovering') {
      this.s.setCircuit.run({ id, state: 'recovering', until: now, now });
      changes.push({ kind: 'circuit_recovering', ...base });
    } else if (decision.circuit?.state === 'open') {
      this.s.setCircuit.run({ id, state: 'open', until: decision.circuit.until, now });
      this.s.holdEndpoint.run({ id });
      if (h.probe === undefined) changes.push({ kind: 'circuit_opened', ...base });
    }
  }

  async releaseClaims(items: Array<{ id: string; at: number }>): Promise<void> {
    this.db.transaction(() => {
      for (const { id, at } of items) this.s.release.run({ id, at });
    })();
  }

  async releaseAllLeases(now: number): Promise<number> {
    return this.s.releaseAll.run({ now }).changes;
  }

  /** One worker process per SQLite file. */
  async heartbeat(): Promise<number> {
    return 1;
  }

  async prune(before: number, limit: number): Promise<number> {
    const range = this.s.eventPkRange.get() as { lo: number | null; hi: number | null };
    if (range.lo === null || range.hi === null) return 0;
    // First rowid created at or after `before` (rowids follow publish time).
    let lo = range.lo;
    let hi = range.hi + 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const row = this.s.eventCreatedAtOrAfter.get({ pk: mid }) as { pk: number; created_at: number } | undefined;
      if (!row || row.created_at >= before) hi = mid;
      else lo = row.pk + 1;
    }
    return this.s.prune.run({ cutoff: lo, limit }).changes;
  }

  async queueDepth(): Promise<number> {
    return (this.s.queueDepth.get() as { n: number }).n;
  }

  async takeDueCircuits(now: number, leaseUntil: number, limit: number): Promise<Endpoint[]> {
    return (this.s.dueCircuits.all({ now, lease_until: leaseUntil, limit }) as Row[]).map((r) => this.endpointCache.fromRow(r));
  }

  async claimProbe(endpoint: Endpoint, owner: string, leaseUntil: number, now: number): Promise<ClaimedDelivery | null> {
    return this.db.transaction(() => {
      const row = this.s.claimProbe.get({ id: endpoint.id, owner, lease_until: leaseUntil }) as Row | undefined;
      if (!row) {
        // Nothing held back: nothing to probe with, so the next real delivery decides.
        this.s.setCircuit.run({ id: endpoint.id, state: 'closed', until: null, now });
        return null;
      }
      this.s.setCircuit.run({ id: endpoint.id, state: 'half_open', until: leaseUntil, now });
      return this.hydrate([row])[0];
    })();
  }

  async claimHeld(endpointId: string, owner: string, leaseUntil: number, limit: number): Promise<ClaimedDelivery[]> {
    const rows = this.s.claimHeld.all({ id: endpointId, owner, lease_until: leaseUntil, limit }) as Row[];
    // RETURNING has no order of its own; ids are time-ordered.
    return rows.length === 0 ? [] : this.hydrate(rows.sort((a, b) => (a.id < b.id ? -1 : 1)));
  }

  async reopenCircuit(endpointId: string, retryAt: number, now: number): Promise<void> {
    this.s.setCircuit.run({ id: endpointId, state: 'open', until: retryAt, now });
  }

  async releaseHeld(endpointId: string, limit: number, nextStepAt: number, now: number): Promise<number> {
    return this.db.transaction(() => {
      const released = this.s.releaseHeld.run({ id: endpointId, limit, now }).changes;
      if (released < limit) this.s.setCircuit.run({ id: endpointId, state: 'closed', until: null, now });
      else this.s.setCircuit.run({ id: endpointId, state: 'recovering', until: nextStepAt, now });
      return released;
    })();
  }
}
