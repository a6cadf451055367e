import { HeraldError } from '../../errors.js';
import { newId } from '../../ids.js';
import { deliveryListStatement, toPage } from '../page.js';
import { endpointStatsFrom, seriesFrom } from '../stats.js';
import type {
  App, AppPatch, DeliveryFilter, Endpoint, EndpointPatch, EndpointStats, EndpointStatus, EventType, EventTypePatch,
  NewApp, NewEndpoint, NewEventType, Page, PageQuery, SeriesPoint, Store, UiSession,
} from '../types.js';
import { isUniqueViolation } from './connection.js';
import { SqliteTransforms } from './transforms.js';
import { jsonOrNull, sealHeaders, sealPrevious, toApp, toAttempt, toDelivery, toEndpoint, toEvent, toEventType, toUiSession, keyProblem, KEY_CHECK } from '../rows.js';

type Row = Record<string, any>;

/**
 * SQLite backend. better-sqlite3 is synchronous, which suits SQLite's single writer: a
 * publish or a batch of attempt results is one short transaction with no awaits inside.
 * This file holds the resources the API manages; queue.ts the publish and worker paths.
 */
export class SqliteStore extends SqliteTransforms implements Store {
  readonly kind = 'sqlite' as const;
  /** One worker process per SQLite file: its leases last until it releases them at its next start. */
  readonly leasesExpire = false;

  // ── apps ────────────────────────────────────────────────────────────────
  async createApp(a: NewApp): Promise<App> {
    try {
      return toApp(this.s.insertApp.get({
        id: newId('app'), uid: a.uid, name: a.name, metadata: JSON.stringify(a.metadata),
        signature_profile: jsonOrNull(a.signatureProfile), envelope_profile: jsonOrNull(a.envelopeProfile ?? null), portal: jsonOrNull(a.portal), now: Date.now(),
      }) as object);
    } catch (err) {
      if (isUniqueViolation(err)) throw new HeraldError('conflict', `an app with uid '${a.uid}' already exists`);
      throw err;
    }
  }

  async getApp(key: string): Promise<App | null> {
    this.cachedConfig();
    const cached = this.appCache.get(key);
    if (cached) return cached;
    const row = this.s.appByIdOrUid.get({ key });
    if (!row) return null;
    const app = toApp(row as object);
    if (this.appCache.size >= 10_000) this.appCache.clear();
    this.appCache.set(key, app);
    return app;
  }

  async listApps(q: PageQuery): Promise<Page<App>> {
    const rows = this.s.listApps.all({ after: q.iterator ?? '', limit: q.limit + 1 }).map((r) => toApp(r as object));
    return toPage(rows, q.limit, (a) => a.id, q.iterator);
  }

  async updateApp(id: string, patch: AppPatch): Promise<App | null> {
    this.forgetConfig();
    const current = this.s.appByIdOrUid.get({ key: id }) as Record<string, unknown> | undefined;
    if (!current) return null;
    const app = toApp(current);
    try {
      const row = this.s.updateApp.get({
        id, name: patch.name ?? app.name, uid: patch.uid !== undefined ? patch.uid : app.uid,
        metadata: JSON.stringify(patch.metadata ?? app.metadata),
        signature_profile: jsonOrNull(patch.signatureProfile !== undefined ? patch.signatureProfile : app.signatureProfile),
        envelope_profile: jsonOrNull(patch.envelopeProfile !== undefined ? patch.envelopeProfile : app.envelopeProfile),
        portal: jsonOrNull(patch.portal !== undefined ? patch.portal : app.portal),
        now: Date.now(),
      });
      return row ? toApp(row as object) : null;
    } catch (err) {
      if (isUniqueViolation(err)) throw new HeraldError('conflict', `an app with uid '${patch.uid}' already exists`);
      throw err;
    }
  }

  async deleteApp(id: string): Promise<boolean> {
    this.forgetConfig();
    return this.s.deleteApp.run({ id }).changes > 0;
  }

  // ── event types ─────────────────────────────────────────────────────────
  async createEventType(t: NewEventType): Promise<EventType> {
    this.forgetConfig();
    try {
      return toEventType(this.s.insertEventType.get({ name: t.name, description: t.description, schema: jsonOrNull(t.schema), examples: JSON.stringify(t.examples ?? []), now: Date.now() }) as object);
    } catch (err) {
      if (isUniqueViolation(err)) throw new HeraldError('conflict', `event type '${t.name}' already exists`);
      throw err;
    }
  }

  async getEventType(name: string): Promise<EventType | null> {
    this.cachedConfig();
    const cached = this.typeCache.get(name);
    if (cached !== undefined) return cached;
    const row = this.s.eventType.get({ name });
    const type = row ? toEventType(row as object) : null;
    if (this.typeCache.size >= 10_000) this.typeCache.clear();
    this.typeCache.set(name, type);
    return type;
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
    this.forgetConfig();
    const row = this.s.updateEventType.get({
      name,
      description: patch.description !== undefined ? patch.description : current.description,
      schema: jsonOrNull(patch.schema !== undefined ? patch.schema : current.schema),
      examples: JSON.stringify(patch.examples ?? current.examples),
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
      filter: jsonOrNull(e.filter ?? null), channels: jsonOrNull(e.channels ?? null), transform: e.transform ?? null,
      status: e.status, disabled_at: e.status === 'disabled' ? now : null,
      disabled_reason: e.status === 'disabled' ? 'manual' : null, secret: this.sealer.seal(e.secret),
      headers: sealHeaders(this.sealer, e.headers), retry_schedule: jsonOrNull(e.retrySchedule), timeout_ms: e.timeoutMs,
      rate_limit: e.rateLimit, max_in_flight: e.maxInFlight, disable_after_failures: e.disableAfterFailures,
      disable_after_seconds: e.disableAfterSeconds, metadata: JSON.stringify(e.metadata), now,
    });
    return toEndpoint(row as Row, this.sealer);
  }

  async getEndpoint(appId: string, id: string): Promise<Endpoint | null> {
    const row = this.s.endpoint.get({ app_id: appId, id });
    return row ? toEndpoint(row as Row, this.sealer) : null;
  }

  async listEndpoints(appId: string, q: PageQuery & { status?: EndpointStatus }): Promise<Page<Endpoint>> {
    const rows = this.s.listEndpoints
      .all({ app_id: appId, after: q.iterator ?? '', status: q.status ?? null, limit: q.limit + 1 })
      .map((r) => toEndpoint(r as Row, this.sealer));
    return toPage(rows, q.limit, (e) => e.id, q.iterator);
  }

  async activeEndpoints(appId: string): Promise<readonly Endpoint[]> {
    this.cachedConfig();
    let active = this.activeEndpointCache.get(appId);
    if (!active) {
      active = (this.s.activeEndpointStates.all({ app_id: appId }) as Row[]).map((r) => this.endpointFromState(r.id, r));
      // Deleted apps leave entries behind: start over rather than grow without bound.
      if (this.activeEndpointCache.size >= 10_000) this.activeEndpointCache.clear();
      this.activeEndpointCache.set(appId, active);
    }
    return active;
  }

  async updateEndpoint(appId: string, id: string, patch: EndpointPatch, now: number): Promise<Endpoint | null> {
    return this.db.transaction(() => {
      const row = this.s.endpoint.get({ app_id: appId, id });
      if (!row) return null;
      const cur = toEndpoint(row as Row, this.sealer);
      const status = patch.status ?? cur.status;
      const enabling = cur.status === 'disabled' && status === 'active';
      const disabling = cur.status === 'active' && status === 'disabled';
      const pick = <K extends keyof EndpointPatch & keyof Endpoint>(k: K) => (patch[k] !== undefined ? patch[k] : cur[k]);
      const updated = this.s.updateEndpoint.get({
        app_id: appId, id, now, status,
        url: pick('url'), description: pick('description'), events: jsonOrNull(pick('events')),
        filter: jsonOrNull(pick('filter') ?? null), channels: jsonOrNull(pick('channels') ?? null), transform: pick('transform') ?? null,
        disabled_reason: disabling ? 'manual' : enabling ? null : cur.disabledReason,
        disabled_at: disabling ? now : enabling ? null : cur.disabledAt,
        headers: sealHeaders(this.sealer, pick('headers') as Record<string, string>), retry_schedule: jsonOrNull(pick('retrySchedule')),
        timeout_ms: pick('timeoutMs'), rate_limit: pick('rateLimit'), max_in_flight: pick('maxInFlight'),
        disable_after_failures: pick('disableAfterFailures'), disable_after_seconds: pick('disableAfterSeconds'),
        metadata: JSON.stringify(pick('metadata')),
        consecutive_failures: enabling ? 0 : cur.consecutiveFailures,
        failing_since: enabling ? null : cur.failingSince,
        // Re-enabled: probe with one held delivery now, then release the rest at a rising rate
        // (circuit open → half-open → recovering), so the backlog doesn't land all at once.
        circuit_state: enabling ? 'open' : cur.circuitState,
        circuit_until: enabling ? now : cur.circuitUntil,
      });
      if (disabling) this.s.holdEndpoint.run({ id });
      return toEndpoint(updated as Row, this.sealer);
    }).immediate();
  }

  async rotateSecret(appId: string, id: string, secret: string, graceUntil: number, now: number): Promise<Endpoint | null> {
    return this.db.transaction(() => {
      const row = this.s.endpoint.get({ app_id: appId, id });
      if (!row) return null;
      const cur = toEndpoint(row as Row, this.sealer);
      // The old secret signs alongside the new one until graceUntil; expired ones are dropped.
      // No grace at all revokes every earlier secret at once (the one to use after a leak).
      const previous = graceUntil <= now ? [] : [{ secret: cur.secret, expiresAt: graceUntil }, ...cur.previousSecrets]
        .filter((p) => p.expiresAt > now && p.secret !== secret)
        .slice(0, 5);
      const updated = this.s.rotateSecret.get({
        app_id: appId, id, now, secret: this.sealer.seal(secret), previous_secrets: sealPrevious(this.sealer, previous),
      });
      return toEndpoint(updated as Row, this.sealer);
    }).immediate();
  }

  async deleteEndpoint(appId: string, id: string): Promise<boolean> {
    return this.s.deleteEndpoint.run({ app_id: appId, id }).changes > 0;
  }

  // ── events ──────────────────────────────────────────────────────────────
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
    const stmt = this.s[deliveryListStatement(f)];
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
    const day = this.s.attemptSeries.all({ endpoint_id: endpointId, since: now - 86_400_000, until: now + 1, bucket_ms: 86_400_001 });
    return endpointStatsFrom(
      day as Array<{ ok: number; ms: number; n: number; total_ms: number }>,
      (this.s.pendingOf.get({ endpoint_id: endpointId }) as { n: number }).n,
      this.s.endpointById.get({ id: endpointId }) as { consecutive_failures: number; last_attempt_at: number | null },
    );
  }

  async endpointSeries(endpointId: string, since: number, until: number, bucketMs: number): Promise<SeriesPoint[]> {
    const rows = this.s.attemptSeries.all({ endpoint_id: endpointId, since, until, bucket_ms: bucketMs }) as Array<{ bucket: number; ok: number; ms: number; n: number }>;
    return seriesFrom(rows, since, bucketMs);
  }

  async checkSealingKey(keyed: boolean): Promise<string | null> {
    const read = () => (this.s.setting.get({ name: 'key_check' }) as Row | undefined)?.value ?? null;
    const sample = (this.s.sealedSecret.get() as Row | undefined)?.secret ?? null;
    const problem = keyProblem(this.sealer, keyed, read(), sample);
    if (problem || !keyed) return problem;
    this.s.insertSetting.run({ name: 'key_check', value: this.sealer.seal(KEY_CHECK) });
    return keyProblem(this.sealer, keyed, read(), sample);
  }

  // ── portal and console sessions ─────────────────────────────────────────
  async createPortalToken(tokenHash: string, g: Omit<UiSession, 'kind' | 'createdAt'> & { appId: string }, now: number): Promise<void> {
    this.s.purgePortalTokens.run({ now });
    this.s.insertPortalToken.run({
      token_hash: tokenHash, app_id: g.appId, capabilities: JSON.stringify(g.capabilities), label: g.label, expires_at: g.expiresAt, now,
    });
  }

  async exchangePortalToken(tokenHash: string, sessionHash: string, now: number): Promise<UiSession | null> {
    return this.db.transaction(() => {
      const t = this.s.redeemPortalToken.get({ token_hash: tokenHash, now }) as Row | undefined;
      if (!t) return null;
      const session = toUiSession({ ...t, kind: 'portal', created_at: now });
      // A product may hand out a link per page view and never use the console: sessions are purged here too.
      this.s.purgeSessions.run({ now });
      this.insertSession(sessionHash, session);
      return session;
    }).immediate();
  }

  async createSession(sessionHash: string, session: UiSession): Promise<void> {
    this.s.purgeSessions.run({ now: session.createdAt });
    this.insertSession(sessionHash, session);
  }

  private insertSession(hash: string, s: UiSession): void {
    this.s.insertSession.run({
      id_hash: hash, kind: s.kind, app_id: s.appId, capabilities: JSON.stringify(s.capabilities), label: s.label,
      expires_at: s.expiresAt, created_at: s.createdAt,
    });
  }

  async getSession(sessionHash: string, now: number): Promise<UiSession | null> {
    const row = this.s.session.get({ id_hash: sessionHash, now }) as Row | undefined;
    return row ? toUiSession(row) : null;
  }

  async deleteSession(sessionHash: string): Promise<void> {
    this.s.deleteSession.run({ id_hash: sessionHash });
  }

  async expirePortalSessions(appId: string, label: string | null, _now: number): Promise<number> {
    return this.db.transaction(() => {
      this.s.expireAppTokens.run({ app_id: appId, label });
      return this.s.expireAppSessions.run({ app_id: appId, label }).changes;
    }).immediate();
  }
}
