import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { HeraldError } from '../../errors.js';
import { newId } from '../../ids.js';
import { percentile, toPage } from '../page.js';
import {
  PARKED_AT,
  type App, type AppPatch, type AttemptOutcome, type ClaimedDelivery, type DeliveryFilter, type Endpoint,
  type EndpointPatch, type EndpointStats, type EndpointStatus, type EventType, type EventTypePatch, type NewApp,
  type NewEndpoint, type NewEvent, type NewEventType, type Page, type PageQuery, type PublishLease, type PublishResult,
  type Store,
} from '../types.js';
import { migrations } from './migrations.js';
import { toApp, toAttempt, toDelivery, toEndpoint, toEvent, toEventType, jsonOrNull } from './rows.js';
import { SQL } from './sql.js';

type Statements = { -readonly [K in keyof typeof SQL]: Database.Statement };

const isUniqueViolation = (err: unknown): boolean =>
  typeof err === 'object' && err !== null &&
  ['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY'].includes((err as { code?: string }).code ?? '');

/**
 * SQLite backend. better-sqlite3 is synchronous, which suits SQLite's single writer: a
 * publish or a batch of attempt results is one short transaction with no awaits inside.
 * WAL with synchronous=NORMAL: a committed transaction survives the process being killed
 * (kill -9); only an OS crash or power loss may lose the last commits (use FULL for that).
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly leasesExpire = false;
  private readonly db: Database.Database;
  private s!: Statements;

  constructor(path: string, options: { synchronous?: 'NORMAL' | 'FULL' } = {}) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('cache_size = -65536');
    // Checkpoint every ~16 MB of WAL instead of 4 MB: fewer, larger checkpoints on the write path.
    this.db.pragma('wal_autocheckpoint = 4000');
  }

  async migrate(): Promise<void> {
    this.db.exec(`CREATE TABLE IF NOT EXISTS herald_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
    const applied = new Set(
      (this.db.prepare('SELECT version FROM herald_migrations').all() as { version: number }[]).map((r) => r.version),
    );
    for (const m of migrations) {
      if (applied.has(m.version)) continue;
      this.db.transaction(() => {
        this.db.exec(m.sql);
        this.db.prepare('INSERT INTO herald_migrations (version, name, applied_at) VALUES (?, ?, ?)')
          .run(m.version, m.name, Date.now());
      }).immediate();
    }
    const s: Partial<Statements> = {};
    for (const [name, text] of Object.entries(SQL)) s[name as keyof typeof SQL] = this.db.prepare(text);
    this.s = s as Statements;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  // ── apps ────────────────────────────────────────────────────────────────
  async createApp(a: NewApp): Promise<App> {
    try {
      return toApp(this.s.insertApp.get({ id: newId('app'), uid: a.uid, name: a.name, metadata: JSON.stringify(a.metadata), now: Date.now() }) as object);
    } catch (err) {
      if (isUniqueViolation(err)) throw new HeraldError('conflict', `an app with uid '${a.uid}' already exists`);
      throw err;
    }
  }

  async getApp(key: string): Promise<App | null> {
    const row = this.s.appByIdOrUid.get({ key });
    return row ? toApp(row as object) : null;
  }

  async listApps(q: PageQuery): Promise<Page<App>> {
    const rows = this.s.listApps.all({ after: q.iterator ?? '', limit: q.limit + 1 }).map((r) => toApp(r as object));
    return toPage(rows, q.limit, (a) => a.id, q.iterator);
  }

  async updateApp(id: string, patch: AppPatch): Promise<App | null> {
    const current = this.s.appByIdOrUid.get({ key: id }) as Record<string, unknown> | undefined;
    if (!current) return null;
    const app = toApp(current);
    try {
      const row = this.s.updateApp.get({
        id, name: patch.name ?? app.name, uid: patch.uid !== undefined ? patch.uid : app.uid,
        metadata: JSON.stringify(patch.metadata ?? app.metadata), now: Date.now(),
      });
      return row ? toApp(row as object) : null;
    } catch (err) {
      if (isUniqueViolation(err)) throw new HeraldError('conflict', `an app with uid '${patch.uid}' already exists`);
      throw err;
    }
  }

  async deleteApp(id: string): Promise<boolean> {
    return this.s.deleteApp.run({ id }).changes > 0;
  }

  // ── event types ─────────────────────────────────────────────────────────
  async createEventType(t: NewEventType): Promise<EventType> {
    try {
      return toEventType(this.s.insertEventType.get({ name: t.name, description: t.description, schema: jsonOrNull(t.schema), now: Date.now() }) as object);
    } catch (err) {
      if (isUniqueViolation(err)) throw new HeraldError('conflict', `event type '${t.name}' already exists`);
      throw err;
    }
  }

  async getEventType(name: string): Promise<EventType | null> {
    const row = this.s.eventType.get({ name });
    return row ? toEventType(row as object) : null;
  }

  async listEventTypes(q: PageQuery & { includeArchived: boolean }): Promise<Page<EventType>> {
    const rows = this.s.listEventTypes
      .all({ after: q.iterator ?? '', all: q.includeArchived ? 1 : 0, limit: q.limit + 1 })
      .map((r) => toEventType(r as object));
    return toPage(rows, q.limit, (t) => t.name, q.iterator);
  }

  async updateEventType(name: string, patch: EventTypePatch): Promise<EventType | null> {
    const current = await this.getEventType(name);
    if (!current) return null;
    const row = this.s.updateEventType.get({
      name,
      description: patch.description !== undefined ? patch.description : current.description,
      schema: jsonOrNull(patch.schema !== undefined ? patch.schema : current.schema),
      archived: (patch.archived ?? current.archived) ? 1 : 0,
      now: Date.now(),
    });
    return toEventType(row as object);
  }

  // ── endpoints ───────────────────────────────────────────────────────────
  async createEndpoint(e: NewEndpoint): Promise<Endpoint> {
    const now = Date.now();
    const row = this.s.insertEndpoint.get({
      id: newId('ep'), app_id: e.appId, url: e.url, description: e.description, events: jsonOrNull(e.events),
      status: e.status, disabled_at: e.status === 'disabled' ? now : null,
      disabled_reason: e.status === 'disabled' ? 'manual' : null, secret: e.secret, headers: JSON.stringify(e.headers),
      retry_schedule: jsonOrNull(e.retrySchedule), timeout_ms: e.timeoutMs, metadata: JSON.stringify(e.metadata), now,
    });
    return toEndpoint(row as object);
  }

  async getEndpoint(appId: string, id: string): Promise<Endpoint | null> {
    const row = this.s.endpoint.get({ app_id: appId, id });
    return row ? toEndpoint(row as object) : null;
  }

  async listEndpoints(appId: string, q: PageQuery & { status?: EndpointStatus }): Promise<Page<Endpoint>> {
    const rows = this.s.listEndpoints
      .all({ app_id: appId, after: q.iterator ?? '', status: q.status ?? null, limit: q.limit + 1 })
      .map((r) => toEndpoint(r as object));
    return toPage(rows, q.limit, (e) => e.id, q.iterator);
  }

  async activeEndpoints(appId: string): Promise<Endpoint[]> {
    return this.s.activeEndpoints.all({ app_id: appId }).map((r) => toEndpoint(r as object));
  }

  async updateEndpoint(appId: string, id: string, patch: EndpointPatch, now: number): Promise<Endpoint | null> {
    return this.db.transaction(() => {
      const row = this.s.endpoint.get({ app_id: appId, id });
      if (!row) return null;
      const cur = toEndpoint(row as object);
      const status = patch.status ?? cur.status;
      const enabling = cur.status === 'disabled' && status === 'active';
      const disabling = cur.status === 'active' && status === 'disabled';
      const updated = this.s.updateEndpoint.get({
        app_id: appId, id, now,
        url: patch.url ?? cur.url,
        description: patch.description !== undefined ? patch.description : cur.description,
        events: jsonOrNull(patch.events !== undefined ? patch.events : cur.events),
        status,
        disabled_reason: disabling ? 'manual' : enabling ? null : cur.disabledReason,
        disabled_at: disabling ? now : enabling ? null : cur.disabledAt,
        headers: JSON.stringify(patch.headers ?? cur.headers),
        retry_schedule: jsonOrNull(patch.retrySchedule !== undefined ? patch.retrySchedule : cur.retrySchedule),
        timeout_ms: patch.timeoutMs !== undefined ? patch.timeoutMs : cur.timeoutMs,
        metadata: JSON.stringify(patch.metadata ?? cur.metadata),
        consecutive_failures: enabling ? 0 : cur.consecutiveFailures,
      });
      if (enabling) this.s.unparkEndpoint.run({ id, now, parked: PARKED_AT });
      return toEndpoint(updated as object);
    }).immediate();
  }

  async deleteEndpoint(appId: string, id: string): Promise<boolean> {
    return this.s.deleteEndpoint.run({ app_id: appId, id }).changes > 0;
  }

  // ── events ──────────────────────────────────────────────────────────────
  async publish(appId: string, events: NewEvent[], now: number, lease?: PublishLease): Promise<PublishResult[]> {
    return this.db.transaction(() => {
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
          results[i] = { event: toEvent(existing as object), created: false, deliveryIds: [], leased: 0 };
          return;
        }
        inBatch.set(`id:${e.id}`, i);
        if (e.idempotencyKey) inBatch.set(`key:${e.idempotencyKey}`, i);
        fresh.push(i);
      });
      const fillRepeats = () => {
        for (const [i, first] of repeats) results[i] = { event: results[first].event, created: false, deliveryIds: [], leased: 0 };
        return results;
      };
      if (fresh.length === 0) return fillRepeats();

      const bumped = this.s.bumpSequence.get({ n: fresh.length, id: appId }) as { last_sequence: number } | undefined;
      if (!bumped) throw new HeraldError('not_found', `app '${appId}' not found`);
      let sequence = bumped.last_sequence - fresh.length;
      let leasable = lease?.limit ?? 0;
      for (const i of fresh) {
        const e = events[i];
        sequence++;
        const { lastInsertRowid } = this.s.insertEvent.run({
          app_id: appId, id: e.id, type: e.type, timestamp: e.timestamp, sequence,
          idempotency_key: e.idempotencyKey, body: e.body, deliveries: e.endpointIds.length, now,
        });
        let leased = 0;
        const deliveryIds = e.endpointIds.map((endpointId) => {
          const id = newId('dlv', now);
          const take = leasable > 0;
          if (take) {
            leasable--;
            leased++;
          }
          this.s.insertDelivery.run({
            id, app_id: appId, endpoint_id: endpointId, event_pk: lastInsertRowid, event_id: e.id, event_type: e.type, now,
            next_attempt_at: take ? lease!.until : now, lease_owner: take ? lease!.owner : null,
          });
          return id;
        });
        results[i] = {
          event: { id: e.id, appId, type: e.type, timestamp: e.timestamp, sequence, body: e.body, deliveries: deliveryIds.length, createdAt: now },
          created: true,
          deliveryIds,
          leased,
        };
      }
      return fillRepeats();
    }).immediate();
  }

  async getEvent(appId: string, id: string) {
    const row = this.s.eventById.get({ app_id: appId, id });
    return row ? toEvent(row as object) : null;
  }

  async listEvents(appId: string, q: PageQuery & { type?: string }) {
    const rows = this.s.listEvents
      .all({ app_id: appId, after: Number(q.iterator ?? 0), type: q.type ?? null, limit: q.limit + 1 })
      .map((r) => toEvent(r as object));
    return toPage(rows, q.limit, (e) => String(e.sequence), q.iterator);
  }

  // ── deliveries ──────────────────────────────────────────────────────────
  async listDeliveries(appId: string, f: DeliveryFilter, q: PageQuery) {
    const stmt = f.eventId ? this.s.listDeliveriesByEvent : f.endpointId ? this.s.listDeliveriesByEndpoint : this.s.listDeliveries;
    const rows = stmt
      .all({
        app_id: appId, before: q.iterator ?? '~', limit: q.limit + 1, endpoint_id: f.endpointId ?? null,
        event_id: f.eventId ?? null, event_type: f.eventType ?? null, status: f.status ?? null,
      })
      .map((r) => toDelivery(r as object));
    return toPage(rows, q.limit, (d) => d.id, q.iterator);
  }

  async getDelivery(appId: string, id: string) {
    const row = this.s.delivery.get({ app_id: appId, id });
    if (!row) return null;
    return { delivery: toDelivery(row as object), attempts: this.s.attemptsOf.all({ id }).map((r) => toAttempt(r as object)) };
  }

  async retryDelivery(appId: string, id: string, now: number): Promise<'ok' | 'in_flight' | 'not_found'> {
    return this.db.transaction(() => {
      const row = this.s.delivery.get({ app_id: appId, id }) as { status: string; lease_owner: string | null } | undefined;
      if (!row) return 'not_found' as const;
      if (row.lease_owner) return 'in_flight' as const;
      if (row.status === 'pending') this.s.scheduleNow.run({ id, now });
      else this.s.reopen.run({ id, now });
      return 'ok' as const;
    }).immediate();
  }

  async recoverEndpoint(endpointId: string, since: number, until: number, now: number): Promise<number> {
    return this.s.recover.run({ endpoint_id: endpointId, since, until, now }).changes;
  }

  async endpointStats(endpointId: string, now: number): Promise<EndpointStats> {
    const counts: Record<string, number> = { pending: 0, success: 0, failed: 0 };
    for (const r of this.s.statusCounts.all({ endpoint_id: endpointId }) as { status: string; n: number }[]) counts[r.status] = r.n;
    const recent = this.s.recentAttempts.all({ endpoint_id: endpointId, since: now - 86_400_000 }) as { duration_ms: number; status_code: number | null }[];
    const ep = this.s.endpointById.get({ id: endpointId }) as { consecutive_failures: number; last_attempt_at: number | null };
    const durations = recent.map((r) => r.duration_ms);
    const finished = counts.success + counts.failed;
    return {
      total: counts.pending + counts.success + counts.failed,
      succeeded: counts.success,
      failed: counts.failed,
      pending: counts.pending,
      successRate: finished === 0 ? null : counts.success / finished,
      avgResponseMs: durations.length === 0 ? null : Math.round(durations.reduce((a, b) => a + b, 0) / durations.length),
      p95ResponseMs: percentile(durations, 95),
      failedLast24h: recent.filter((r) => r.status_code === null || r.status_code < 200 || r.status_code >= 300).length,
      consecutiveFailures: ep.consecutive_failures,
      lastDeliveryAt: ep.last_attempt_at,
    };
  }

  // ── worker ──────────────────────────────────────────────────────────────
  async claimDue(owner: string, now: number, leaseUntil: number, limit: number): Promise<ClaimedDelivery[]> {
    const rows = this.s.claim.all({ owner, now, lease_until: leaseUntil, limit }) as Record<string, any>[];
    if (rows.length === 0) return [];
    // Fan-out makes many deliveries share an event and an endpoint: read each once per batch.
    const bodies = new Map<number, string>();
    const endpoints = new Map<string, Endpoint>();
    return rows.map((r) => {
      let body = bodies.get(r.event_pk);
      if (body === undefined) {
        body = (this.s.eventBody.get({ pk: r.event_pk }) as { body: string }).body;
        bodies.set(r.event_pk, body);
      }
      let endpoint = endpoints.get(r.endpoint_id);
      if (endpoint === undefined) {
        endpoint = toEndpoint(this.s.endpointById.get({ id: r.endpoint_id }) as object);
        endpoints.set(r.endpoint_id, endpoint);
      }
      return {
        id: r.id, appId: r.app_id, eventId: r.event_id, eventType: r.event_type,
        attemptCount: r.attempt_count, oneShot: r.one_shot === 1, body, endpoint,
      };
    });
  }

  async nextDueAt(): Promise<number | null> {
    const row = this.s.nextDue.get() as { at: number | null };
    return row.at === null || row.at >= PARKED_AT ? null : row.at;
  }

  async recordOutcomes(outcomes: AttemptOutcome[], now: number): Promise<void> {
    if (outcomes.length === 0) return;
    this.db.transaction(() => {
      // Per endpoint: failures since the batch's last success, and whether a success reset the count.
      const health = new Map<string, { reset: boolean; fails: number; at: number }>();
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
        const h = health.get(o.endpointId) ?? { reset: false, fails: 0, at: 0 };
        if (o.status === 'success') {
          h.reset = true;
          h.fails = 0;
        } else h.fails++;
        h.at = Math.max(h.at, a.startedAt);
        health.set(o.endpointId, h);
        if (o.disableEndpoint) this.s.disableEndpoint.run({ id: o.endpointId, reason: o.disableEndpoint, now });
      }
      for (const [id, h] of health) this.s.endpointHealth.run({ id, reset: h.reset ? 1 : 0, fails: h.fails, at: h.at });
    })();
  }

  async releaseClaims(ids: string[], at: number): Promise<void> {
    this.db.transaction(() => {
      for (const id of ids) this.s.release.run({ id, at });
    })();
  }

  async releaseAllLeases(now: number): Promise<number> {
    return this.s.releaseAll.run({ now }).changes;
  }

  async queueDepth(): Promise<number> {
    return (this.s.queueDepth.get() as { n: number }).n;
  }
}
