import { decideHealth, healthStateOf } from '../../core/health.js';
import { HeraldError } from '../../errors.js';
import { newId } from '../../ids.js';
import {
  ORDER_HELD_AT, PARKED_AT,
  type AttemptOutcome, type ClaimedDelivery, type Endpoint, type HealthChange, type HealthPolicy, type NewEvent,
  type PublishLease, type PublishResult, type RelayPresence, type SignatureProfile,
} from '../types.js';
import { PostgresConnection, type Run } from './connection.js';
import { EndpointCache, toEvent } from '../rows.js';

type Row = Record<string, any>;

/** Per endpoint over one batch: failures since the batch's last success, and whether a success reset the count. */
interface BatchHealth { reset: boolean; fails: number; firstFailure: number; at: number; probe?: boolean; gone?: string }

/** A fresh event of a publish, with what it becomes. */
interface Fresh { index: number; event: NewEvent; sequence: number; body: string }

const pairKey = (endpointId: string, key: string) => `${endpointId}\u0000${key}`;

/**
 * The write-heavy half of the PostgreSQL backend: publishing, and everything the delivery
 * worker does. Each method is one transaction of a few statements whose number doesn't grow
 * with the batch: rows travel as arrays.
 */
/** Publish transactions one process runs at once; what arrives meanwhile waits and goes in the next. */
const PUBLISH_WRITERS = 2;
/** Publishes (requests, each one or many events) written in one transaction at most. */
const PUBLISH_GROUP = 256;

interface QueuedPublish {
  appId: string; events: NewEvent[]; now: number; lease?: PublishLease;
  resolve: (r: PublishResult[]) => void; reject: (e: unknown) => void;
}

export class PostgresQueue extends PostgresConnection {
  /**
   * Group commit: publishes that arrive while PUBLISH_WRITERS transactions are being written
   * wait, and the next transaction writes all of them (in order of app, so that two processes
   * lock apps in the same order), each answered only after it committed. A single publish was a
   * transaction of its own: BEGIN, the app's row lock, one insert, COMMIT, so publishes to one
   * app queued on its lock one commit at a time. Alone, a publish waits for nothing. Should a
   * group fail (an app deleted meanwhile), each of it is tried in a transaction of its own, so
   * one can't take the others with it: the same scheme as SQLite's.
   */
  publish(appId: string, events: NewEvent[], now: number, lease?: PublishLease): Promise<PublishResult[]> {
    if (events.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.publishQueue.push({ appId, events, now, lease, resolve, reject });
      if (this.publishWriters < PUBLISH_WRITERS) void this.writePublishes();
    });
  }

  private publishQueue: QueuedPublish[] = [];
  private publishWriters = 0;

  private async writePublishes(): Promise<void> {
    this.publishWriters++;
    try {
      while (this.publishQueue.length > 0) {
        // A stable sort: one app's publishes keep the order they came in.
        const group = this.publishQueue.splice(0, PUBLISH_GROUP).sort((a, b) => (a.appId < b.appId ? -1 : a.appId > b.appId ? 1 : 0));
        if (group.length > 1) {
          let results: PublishResult[][] | null = null;
          try {
            results = await this.tx(async (run) => {
              const out: PublishResult[][] = [];
              for (const p of group) out.push(await this.publishIn(run, p.appId, p.events, p.now, p.lease));
              return out;
            });
          } catch {
            // each alone, below
          }
          if (results) {
            group.forEach((p, i) => p.resolve(results[i]));
            continue;
          }
        }
        for (const p of group) {
          try {
            p.resolve(await this.tx((run) => this.publishIn(run, p.appId, p.events, p.now, p.lease)));
          } catch (err) {
            p.reject(err);
          }
        }
      }
    } finally {
      this.publishWriters--;
    }
  }

  /** One publish, inside the caller's transaction. */
  private async publishIn(run: Run, appId: string, events: NewEvent[], now: number, lease?: PublishLease): Promise<PublishResult[]> {
    const app = await run<{ last_sequence: number }>('lockApp', { app_id: appId });
    if (app.rows.length === 0) throw new HeraldError('not_found', `app '${appId}' not found`);

    // Duplicates, exactly as in SQLite: first within the batch (by id, then key), then in
    // the database (by id unless Herald made it, then by key). One read for the batch.
    const ids = events.filter((e) => !e.idGenerated).map((e) => e.id);
    const keys = events.flatMap((e) => (e.idempotencyKey ? [e.idempotencyKey] : []));
    const byId = new Map<string, Row>();
    const byKey = new Map<string, Row>();
    if (ids.length > 0 || keys.length > 0) {
      for (const r of (await run('eventsByIdOrKey', { app_id: appId, ids, keys })).rows) {
        byId.set(r.id, r);
        if (r.idempotency_key) byKey.set(r.idempotency_key, r);
      }
    }
    const results: PublishResult[] = new Array(events.length);
    const inBatch = new Map<string, number>();
    const repeats: Array<[number, number]> = [];
    const fresh: Fresh[] = [];
    let sequence = app.rows[0].last_sequence;
    events.forEach((e, i) => {
      const sameBatch = inBatch.get(`id:${e.id}`) ?? (e.idempotencyKey ? inBatch.get(`key:${e.idempotencyKey}`) : undefined);
      if (sameBatch !== undefined) return void repeats.push([i, sameBatch]);
      const existing = (e.idGenerated ? undefined : byId.get(e.id)) ?? (e.idempotencyKey ? byKey.get(e.idempotencyKey) : undefined);
      if (existing) return void (results[i] = { event: toEvent(existing), created: false, deliveryIds: [], leased: [] });
      inBatch.set(`id:${e.id}`, i);
      if (e.idempotencyKey) inBatch.set(`key:${e.idempotencyKey}`, i);
      sequence++;
      fresh.push({ index: i, event: e, sequence, body: e.render(sequence) });
    });

    if (fresh.length > 0) {
      const busy = await this.busyKeys(run, fresh);
      const wakes = this.insertFresh(fresh, appId, now, lease, busy, results);
      await run('insertBatch', { ...wakes.params, app_id: appId, now, last_sequence: sequence });
      // Only work left for any worker is news to the other processes; deliveries handed to
      // the local worker (or waiting on their key) are not.
      if (wakes.due) await this.wake(run);
    }
    for (const [i, first] of repeats) results[i] = { event: results[first].event, created: false, deliveryIds: [], leased: [] };
    return results;
  }

  /**
   * The (endpoint, ordering key) pairs of a batch that already have a pending delivery,
   * read under the pairs' advisory locks (see LOCK_KEYS in sql.ts).
   */
  private async busyKeys(run: Run, fresh: Fresh[]): Promise<Set<string>> {
    const pairs = new Map<string, [string, string]>();
    for (const { event: e } of fresh) {
      if (e.orderingKey === null) continue;
      for (const endpointId of e.endpointIds) pairs.set(pairKey(endpointId, e.orderingKey), [endpointId, e.orderingKey]);
    }
    if (pairs.size === 0) return new Set();
    const endpoint_ids = [...pairs.values()].map((p) => p[0]);
    const keys = [...pairs.values()].map((p) => p[1]);
    await run('lockKeys', { endpoint_ids, keys });
    const { rows } = await run('busyKeys', { endpoint_ids, keys });
    return new Set(rows.map((r) => pairKey(r.endpoint_id, r.ordering_key)));
  }

  /** Builds the rows of insertBatch and the results; `busy` grows as the batch takes keys. */
  private insertFresh(fresh: Fresh[], appId: string, now: number, lease: PublishLease | undefined, busy: Set<string>, results: PublishResult[]) {
    const ev = { ids: [] as string[], types: [] as string[], timestamps: [] as number[], sequences: [] as number[], idempotency_keys: [] as Array<string | null>, ordering_keys: [] as Array<string | null>, channels: [] as Array<string | null>, bodies: [] as string[], counts: [] as number[] };
    const dl = { delivery_ids: [] as string[], delivery_events: [] as string[], endpoint_ids: [] as string[], next_attempt_ats: [] as number[], lease_owners: [] as Array<string | null> };
    let leasable = lease?.limit ?? 0;
    let due = false;
    for (const { index, event: e, sequence, body } of fresh) {
      ev.ids.push(e.id); ev.types.push(e.type); ev.timestamps.push(e.timestamp); ev.sequences.push(sequence);
      ev.idempotency_keys.push(e.idempotencyKey); ev.ordering_keys.push(e.orderingKey); ev.bodies.push(body);
      ev.channels.push(e.channels?.length ? JSON.stringify(e.channels) : null);
      ev.counts.push(e.endpointIds.length);
      const leased: number[] = [];
      const deliveryIds = e.endpointIds.map((endpointId, j) => {
        const id = newId('dlv', now);
        // With an ordering key, a delivery waits while its endpoint has another of the key pending.
        let waits = false;
        if (e.orderingKey !== null) {
          const k = pairKey(endpointId, e.orderingKey);
          waits = busy.has(k);
          busy.add(k);
        }
        const take = !waits && leasable > 0;
        if (take) {
          leasable--;
          leased.push(j);
        } else if (!waits) due = true;
        dl.delivery_ids.push(id); dl.delivery_events.push(e.id); dl.endpoint_ids.push(endpointId);
        dl.next_attempt_ats.push(waits ? ORDER_HELD_AT : take ? lease!.until : now);
        dl.lease_owners.push(take ? lease!.owner : null);
        return id;
      });
      results[index] = {
        event: { id: e.id, appId, type: e.type, timestamp: e.timestamp, sequence, orderingKey: e.orderingKey, channels: e.channels ?? [], body, deliveries: deliveryIds.length, createdAt: now },
        created: true,
        deliveryIds,
        leased,
      };
    }
    return { params: { ...ev, ...dl }, due };
  }

  async claimDue(owner: string, now: number, leaseUntil: number, limit: number): Promise<ClaimedDelivery[]> {
    const { rows } = await this.run('claim', { owner, now, lease_until: leaseUntil, limit });
    return this.hydrate(rows);
  }

  /** Endpoints' configuration per updated_at (see EndpointCache): claims and publishes read it. */
  protected readonly endpointCache = new EndpointCache(this.sealer);

  /** Claim rows → deliveries; each endpoint arrives once, on its first row (see HYDRATE in sql.ts). */
  protected hydrate(rows: Row[]): ClaimedDelivery[] {
    const endpoints = new Map<string, Endpoint>();
    return rows.map((r) => {
      let endpoint = endpoints.get(r.endpoint_id);
      if (endpoint === undefined) {
        endpoint = this.endpointCache.fromRow(r.endpoint);
        endpoints.set(r.endpoint_id, endpoint);
      }
      // A source's request carries its raw bytes (bytea: a Buffer) and the headers to forward.
      const headers = r.headers == null ? null : typeof r.headers === 'string' ? JSON.parse(r.headers) : r.headers;
      return {
        id: r.id, appId: r.app_id, eventId: r.event_id, eventType: r.event_type, orderingKey: r.ordering_key ?? null,
        attemptCount: r.attempt_count, oneShot: r.one_shot, body: (r.raw as Buffer | null) ?? r.body, headers, endpoint,
        profile: (r.profile as SignatureProfile | null) ?? null,
      };
    });
  }

  async nextDueAt(): Promise<number | null> {
    const { rows } = await this.run<{ at: number | null }>('nextDue');
    const at = rows[0].at;
    return at === null || at >= PARKED_AT ? null : at;
  }

  async recordOutcomes(outcomes: AttemptOutcome[], now: number, policy: HealthPolicy): Promise<HealthChange[]> {
    if (outcomes.length === 0) return [];
    const health = new Map<string, BatchHealth>();
    const finishedKeys = new Map<string, [string, string]>();
    for (const o of outcomes) {
      if (o.orderingKey && o.status !== 'pending') finishedKeys.set(pairKey(o.endpointId, o.orderingKey), [o.endpointId, o.orderingKey]);
      const h = health.get(o.endpointId) ?? { reset: false, fails: 0, firstFailure: 0, at: 0 };
      if (o.status === 'success') {
        h.reset = true;
        h.fails = 0;
      } else {
        if (h.fails === 0) h.firstFailure = o.attempt.startedAt;
        h.fails++;
      }
      if (o.probe) h.probe = o.status === 'success';
      if (o.disableEndpoint) h.gone = o.disableEndpoint;
      h.at = Math.max(h.at, o.attempt.startedAt);
      health.set(o.endpointId, h);
    }
    const a = outcomes.map((o) => o.attempt);
    const batch = {
      attempt_ids: a.map((x) => x.id), delivery_ids: outcomes.map((o) => o.deliveryId), endpoint_ids: a.map((x) => x.endpointId),
      numbers: a.map((x) => x.number), started_ats: a.map((x) => x.startedAt), durations: a.map((x) => Math.round(x.durationMs)),
      status_codes: a.map((x) => x.statusCode), response_bodies: a.map((x) => x.responseBody), errors: a.map((x) => x.error),
      statuses: outcomes.map((o) => o.status), next_attempt_ats: outcomes.map((o) => o.nextAttemptAt), now,
    };
    // Endpoints in a fixed order, so concurrent batches lock shared endpoint rows alike.
    const ids = [...health.keys()].sort();
    const hs = ids.map((id) => health.get(id)!);
    const keyed = { endpoint_ids: [...finishedKeys.values()].map((p) => p[0]), keys: [...finishedKeys.values()].map((p) => p[1]) };
    return this.tx(async (run) => {
      if (keyed.keys.length > 0) await run('lockKeys', keyed);
      await run('recordBatch', batch);
      if (keyed.keys.length > 0) await run('releaseNextInOrder', { ...keyed, now });
      const { rows } = await run('endpointHealth', {
        ids, resets: hs.map((h) => h.reset), fails: hs.map((h) => h.fails), first_failures: hs.map((h) => h.firstFailure),
        ats: hs.map((h) => h.at),
      });
      const byId = new Map(rows.map((r) => [r.id as string, r]));
      const changes: HealthChange[] = [];
      for (const [id, h] of health) {
        const row = byId.get(id);
        if (row) await this.applyHealth(run, row, h, now, policy, changes); // else deleted meanwhile
      }
      return changes;
      // A delivery deleted after the statement's snapshot (its endpoint or source deleted while
      // the attempt ran) fails the attempts' foreign key: run again, and the new snapshot leaves
      // it out, instead of losing the whole batch's results.
    }, { retryForeignKey: true });
  }

  /** Failing notices, auto-disable and circuit transitions for one endpoint (core/health.ts decides). */
  private async applyHealth(run: Run, row: Row, h: BatchHealth, now: number, policy: HealthPolicy, changes: HealthChange[]): Promise<void> {
    const id: string = row.id;
    const decision = decideHealth(healthStateOf(row), h, now, policy);
    const base = { endpointId: id, appId: row.app_id as string, consecutiveFailures: row.consecutive_failures as number, failingSince: row.failing_since as number | null };
    if (decision.failing) changes.push({ kind: 'failing', ...base });
    if (decision.disable) {
      if ((await run('disableEndpoint', { id, reason: decision.disable, now })).rows.length > 0) {
        await run('holdEndpoint', { id });
        changes.push({ kind: 'disabled', reason: decision.disable, ...base });
      }
    } else if (decision.circuit?.state === 'recovering') {
      await run('setCircuit', { id, state: 'recovering', until: now, now });
      changes.push({ kind: 'circuit_recovering', ...base });
    } else if (decision.circuit?.state === 'open') {
      await run('setCircuit', { id, state: 'open', until: decision.circuit.until, now });
      await run('holdEndpoint', { id });
      if (h.probe === undefined) changes.push({ kind: 'circuit_opened', ...base });
    }
  }

  async releaseClaims(items: Array<{ id: string; at: number }>): Promise<void> {
    if (items.length === 0) return;
    const params = { ids: items.map((i) => i.id), ats: items.map((i) => i.at) };
    const now = Date.now();
    // Handed back due now (a worker stopping): another process may take them at once.
    if (!items.some((i) => i.at <= now)) return void (await this.run('release', params));
    await this.tx(async (run) => {
      await run('release', params);
      await this.wake(run);
    });
  }

  async releaseAllLeases(now: number): Promise<number> {
    return (await this.run('releaseAll', { now })).rowCount ?? 0;
  }

  async heartbeat(id: string, now: number, ttlMs: number): Promise<number> {
    const { rows } = await this.run<{ n: number }>('heartbeat', {
      id, now, alive_since: now - ttlMs, forget_before: now - Math.max(10 * ttlMs, 3_600_000),
    });
    return rows[0].n;
  }

  async reportRelays(processId: string, listeners: RelayPresence[], now: number): Promise<void> {
    await this.run('reportRelays', {
      process: processId, now, forget_before: now - 3_600_000,
      ids: listeners.map((l) => l.endpointId), counts: listeners.map((l) => l.listeners), since: listeners.map((l) => l.since),
    });
  }

  async relayStatus(endpointIds: string[], aliveSince: number): Promise<Map<string, { listeners: number; since: number }>> {
    if (endpointIds.length === 0) return new Map();
    const { rows } = await this.run<{ endpoint_id: string; listeners: number; since: string }>('relayStatus', { ids: endpointIds, alive_since: aliveSince });
    return new Map(rows.map((r) => [r.endpoint_id, { listeners: r.listeners, since: Number(r.since) }]));
  }

  async prune(before: number, limit: number): Promise<number> {
    return (await this.run('prune', { before, limit })).rowCount ?? 0;
  }

  async queueDepth(): Promise<number> {
    return (await this.run<{ n: number }>('queueDepth')).rows[0].n;
  }

  async takeDueCircuits(now: number, leaseUntil: number, limit: number): Promise<Endpoint[]> {
    const { rows } = await this.run('dueCircuits', { now, lease_until: leaseUntil, limit });
    return rows.map((r) => this.endpointCache.fromRow(r));
  }

  async claimProbe(endpoint: Endpoint, owner: string, leaseUntil: number, now: number): Promise<ClaimedDelivery | null> {
    return this.tx(async (run) => {
      const { rows } = await run('claimProbe', { id: endpoint.id, owner, lease_until: leaseUntil });
      if (rows.length === 0) {
        // Nothing held back: nothing to probe with, so the next real delivery decides.
        await run('setCircuit', { id: endpoint.id, state: 'closed', until: null, now });
        return null;
      }
      const ep = await run('setCircuit', { id: endpoint.id, state: 'half_open', until: leaseUntil, now });
      // The delivery carries the endpoint as it is now, half-open.
      return { ...this.hydrate(rows)[0], endpoint: this.endpointCache.fromRow(ep.rows[0]) };
    });
  }

  async claimHeld(endpointId: string, owner: string, leaseUntil: number, limit: number): Promise<ClaimedDelivery[]> {
    const { rows } = await this.run('claimHeld', { id: endpointId, owner, lease_until: leaseUntil, limit });
    return rows.length === 0 ? [] : this.hydrate(rows);
  }

  async reopenCircuit(endpointId: string, retryAt: number, now: number): Promise<void> {
    await this.run('setCircuit', { id: endpointId, state: 'open', until: retryAt, now });
  }

  async releaseHeld(endpointId: string, limit: number, nextStepAt: number, now: number): Promise<number> {
    // A negative limit releases all (SQLite's LIMIT -1); PostgreSQL spells that LIMIT NULL.
    const all = limit < 0 || !Number.isFinite(limit);
    return this.tx(async (run) => {
      const released = (await run('releaseHeld', { id: endpointId, limit: all ? null : Math.min(limit, Number.MAX_SAFE_INTEGER), now })).rowCount ?? 0;
      if (released < limit) await run('setCircuit', { id: endpointId, state: 'closed', until: null, now });
      else await run('setCircuit', { id: endpointId, state: 'recovering', until: nextStepAt, now });
      if (released > 0) await this.wake(run);
      return released;
    });
  }
}
