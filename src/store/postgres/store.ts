import { HeraldError } from '../../errors.js';
import { newId } from '../../ids.js';
import { deliveryListStatement, toPage } from '../page.js';
import { endpointStatsFrom, seriesFrom } from '../stats.js';
import type {
  App, AppPatch, DeliveryFilter, Endpoint, EndpointPatch, EndpointStats, EndpointStatus, EventType, EventTypePatch,
  NewApp, NewEndpoint, NewEventType, Page, PageQuery, SeriesPoint, Store, UiSession,
} from '../types.js';
import { isUniqueViolation } from './connection.js';
import { PostgresTransforms } from './transforms.js';
import { jsonOrNull, sealHeaders, sealPrevious, toApp, toAttempt, toDelivery, toEndpoint, toEvent, toEventType, toUiSession, keyProblem, KEY_CHECK } from '../rows.js';

export type { PostgresOptions } from './connection.js';

/**
 * PostgreSQL backend: many Herald processes (API and workers) share one database. Claims are
 * leases that run out by themselves, publishes and retries NOTIFY idle workers everywhere,
 * and per-key and per-circuit steps are serialised with row and advisory locks (queue.ts,
 * sql.ts). This file holds the resources the API manages; queue.ts the publish and worker paths;
 * inbound.ts the inbound gateway's sources and requests.
 */
export class PostgresStore extends PostgresTransforms implements Store {
  readonly kind = 'postgres' as const;
  /** Several worker processes: a lease ends at leaseUntil, so a worker that dies loses nothing. */
  readonly leasesExpire = true;

  // ── apps ────────────────────────────────────────────────────────────────
  async createApp(a: NewApp): Promise<App> {
    try {
      const { rows } = await this.run('insertApp', {
        id: newId('app'), uid: a.uid ?? null, name: a.name, metadata: JSON.stringify(a.metadata ?? {}),
        signature_profile: jsonOrNull(a.signatureProfile), envelope_profile: jsonOrNull(a.envelopeProfile ?? null), portal: jsonOrNull(a.portal), now: Date.now(),
      });
      return toApp(rows[0]);
    } catch (err) {
      if (isUniqueViolation(err)) throw new HeraldError('conflict', `an app with uid '${a.uid}' already exists`, undefined, { cause: err });
      throw err;
    }
  }

  async getApp(key: string): Promise<App | null> {
    // Only apps that exist are kept (creating one notifies no one): one created a moment later is found.
    return this.cachedRead<App | null>(this.appCache, key, async () => {
      const { rows } = await this.run('appByIdOrUid', { key });
      return rows[0] ? toApp(rows[0]) : null;
    }, (app) => app !== null);
  }

  async listApps(q: PageQuery): Promise<Page<App>> {
    const { rows } = await this.run('listApps', { after: q.iterator ?? '', limit: q.limit + 1 });
    return toPage(rows.map(toApp), q.limit, (a) => a.id, q.iterator);
  }

  async updateApp(id: string, patch: AppPatch): Promise<App | null> {
    const current = await this.getApp(id);
    if (!current || current.id !== id) return null;
    try {
      const { rows } = await this.configWrite((run) => run('updateApp', {
        id, name: patch.name ?? current.name, uid: patch.uid !== undefined ? patch.uid : current.uid,
        metadata: JSON.stringify(patch.metadata ?? current.metadata),
        signature_profile: jsonOrNull(patch.signatureProfile !== undefined ? patch.signatureProfile : current.signatureProfile),
        envelope_profile: jsonOrNull(patch.envelopeProfile !== undefined ? patch.envelopeProfile : current.envelopeProfile),
        portal: jsonOrNull(patch.portal !== undefined ? patch.portal : current.portal),
        now: Date.now(),
      }));
      return rows[0] ? toApp(rows[0]) : null;
    } catch (err) {
      if (isUniqueViolation(err)) throw new HeraldError('conflict', `an app with uid '${patch.uid}' already exists`, undefined, { cause: err });
      throw err;
    }
  }

  async deleteApp(id: string): Promise<boolean> {
    return this.configWrite(async (run) => {
      await run('deleteAppDeliveries', { id });
      return ((await run('deleteApp', { id })).rowCount ?? 0) > 0;
    });
  }

  // ── event types ─────────────────────────────────────────────────────────
  async createEventType(t: NewEventType): Promise<EventType> {
    try {
      const { rows } = await this.configWrite((run) => run('insertEventType', {
        name: t.name, description: t.description ?? null, schema: jsonOrNull(t.schema), examples: JSON.stringify(t.examples ?? []), now: Date.now(),
      }));
      return toEventType(rows[0]);
    } catch (err) {
      if (isUniqueViolation(err)) throw new HeraldError('conflict', `event type '${t.name}' already exists`, undefined, { cause: err });
      throw err;
    }
  }

  async getEventType(name: string): Promise<EventType | null> {
    return this.cachedRead(this.typeCache, name, async () => {
      const { rows } = await this.run('eventType', { name });
      return rows[0] ? toEventType(rows[0]) : null;
    });
  }

  async listEventTypes(q: PageQuery & { includeArchived: boolean }): Promise<Page<EventType>> {
    const { rows } = await this.run('listEventTypes', { after: q.iterator ?? '', all: q.includeArchived, limit: q.limit + 1 });
    return toPage(rows.map(toEventType), q.limit, (t) => t.name, q.iterator);
  }

  async updateEventType(name: string, patch: EventTypePatch): Promise<EventType | null> {
    const current = await this.getEventType(name);
    if (!current) return null;
    const { rows } = await this.configWrite((run) => run('updateEventType', {
      name,
      description: patch.description !== undefined ? patch.description : current.description,
      schema: jsonOrNull(patch.schema !== undefined ? patch.schema : current.schema),
      examples: JSON.stringify(patch.examples ?? current.examples),
      archived: patch.archived ?? current.archived,
      now: Date.now(),
    }));
    return rows[0] ? toEventType(rows[0]) : null;
  }

  // ── endpoints ───────────────────────────────────────────────────────────
  async createEndpoint(e: NewEndpoint): Promise<Endpoint> {
    const now = Date.now();
    const { rows } = await this.run('insertEndpoint', {
      id: newId('ep'), app_id: e.appId, url: e.url, description: e.description ?? null, events: jsonOrNull(e.events),
      filter: jsonOrNull(e.filter ?? null), channels: jsonOrNull(e.channels ?? null), transform: e.transform ?? null,
      status: e.status, disabled_at: e.status === 'disabled' ? now : null,
      disabled_reason: e.status === 'disabled' ? 'manual' : null, secret: this.sealer.seal(e.secret),
      headers: sealHeaders(this.sealer, e.headers ?? {}), retry_schedule: jsonOrNull(e.retrySchedule), timeout_ms: e.timeoutMs ?? null,
      rate_limit: e.rateLimit ?? null, max_in_flight: e.maxInFlight ?? null, disable_after_failures: e.disableAfterFailures ?? null,
      disable_after_seconds: e.disableAfterSeconds ?? null, metadata: JSON.stringify(e.metadata ?? {}), now,
    });
    return toEndpoint(rows[0], this.sealer);
  }

  async getEndpoint(appId: string, id: string): Promise<Endpoint | null> {
    const { rows } = await this.run('endpoint', { app_id: appId, id });
    return rows[0] ? toEndpoint(rows[0], this.sealer) : null;
  }

  async listEndpoints(appId: string, q: PageQuery & { status?: EndpointStatus }): Promise<Page<Endpoint>> {
    const { rows } = await this.run('listEndpoints', { app_id: appId, after: q.iterator ?? '', status: q.status ?? null, limit: q.limit + 1 });
    return toPage(rows.map((r) => toEndpoint(r, this.sealer)), q.limit, (e) => e.id, q.iterator);
  }

  async activeEndpoints(appId: string): Promise<readonly Endpoint[]> {
    return this.cachedRead(this.activeEndpointCache, appId, async () =>
      (await this.run('activeEndpoints', { app_id: appId })).rows.map((r) => this.endpointCache.fromRow(r)));
  }

  async updateEndpoint(appId: string, id: string, patch: EndpointPatch, now: number): Promise<Endpoint | null> {
    return this.tx(async (run) => {
      const { rows } = await run('endpointForUpdate', { app_id: appId, id });
      if (!rows[0]) return null;
      const cur = toEndpoint(rows[0], this.sealer);
      const status = patch.status ?? cur.status;
      const enabling = cur.status === 'disabled' && status === 'active';
      const disabling = cur.status === 'active' && status === 'disabled';
      const pick = <K extends keyof EndpointPatch & keyof Endpoint>(k: K) => (patch[k] !== undefined ? patch[k] : cur[k]) ?? null;
      const updated = await run('updateEndpoint', {
        app_id: appId, id, now, status,
        url: pick('url'), description: pick('description'), events: jsonOrNull(pick('events')),
        filter: jsonOrNull(pick('filter') ?? null), channels: jsonOrNull(pick('channels') ?? null), transform: pick('transform') ?? null,
        disabled_reason: disabling ? 'manual' : enabling ? null : cur.disabledReason,
        disabled_at: disabling ? now : enabling ? null : cur.disabledAt,
        headers: sealHeaders(this.sealer, (pick('headers') ?? {}) as Record<string, string>), retry_schedule: jsonOrNull(pick('retrySchedule')),
        timeout_ms: pick('timeoutMs'), rate_limit: pick('rateLimit'), max_in_flight: pick('maxInFlight'),
        disable_after_failures: pick('disableAfterFailures'), disable_after_seconds: pick('disableAfterSeconds'),
        metadata: JSON.stringify(pick('metadata') ?? {}),
        consecutive_failures: enabling ? 0 : cur.consecutiveFailures,
        failing_since: enabling ? null : cur.failingSince,
        // Re-enabled: probe with one held delivery now, then release the rest at a rising rate
        // (circuit open → half-open → recovering), so the backlog doesn't land all at once.
        circuit_state: enabling ? 'open' : cur.circuitState,
        circuit_until: enabling ? now : cur.circuitUntil,
      });
      if (disabling) await run('holdEndpoint', { id });
      // The probe is due now: wake a worker in whichever process to take the circuit.
      if (enabling) await this.wake(run);
      return toEndpoint(updated.rows[0], this.sealer);
    });
  }

  async rotateSecret(appId: string, id: string, secret: string, graceUntil: number, now: number): Promise<Endpoint | null> {
    return this.tx(async (run) => {
      const { rows } = await run('endpointForUpdate', { app_id: appId, id });
      if (!rows[0]) return null;
      const cur = toEndpoint(rows[0], this.sealer);
      // The old secret signs alongside the new one until graceUntil; expired ones are dropped.
      // No grace at all revokes every earlier secret at once (the one to use after a leak).
      const previous = graceUntil <= now ? [] : [{ secret: cur.secret, expiresAt: graceUntil }, ...cur.previousSecrets]
        .filter((p) => p.expiresAt > now && p.secret !== secret)
        .slice(0, 5);
      const updated = await run('rotateSecret', {
        app_id: appId, id, now, secret: this.sealer.seal(secret), previous_secrets: sealPrevious(this.sealer, previous),
      });
      return toEndpoint(updated.rows[0], this.sealer);
    });
  }

  async deleteEndpoint(appId: string, id: string): Promise<boolean> {
    // Its deliveries first, as for an app (see deleteAppDeliveries): the cascade from the
    // endpoint's row would lock them after it, the other way round from recordOutcomes.
    return this.tx(async (run) => {
      await run('deleteEndpointDeliveries', { app_id: appId, id });
      return ((await run('deleteEndpoint', { app_id: appId, id })).rowCount ?? 0) > 0;
    });
  }

  // ── events ──────────────────────────────────────────────────────────────
  async getEvent(appId: string, id: string) {
    const { rows } = await this.run('eventById', { app_id: appId, id });
    return rows[0] ? toEvent(rows[0]) : null;
  }

  async listEvents(appId: string, q: PageQuery & { type?: string }) {
    const { rows } = await this.run('listEvents', { app_id: appId, after: Number(q.iterator ?? 0), type: q.type ?? null, limit: q.limit + 1 });
    return toPage(rows.map(toEvent), q.limit, (e) => String(e.sequence), q.iterator);
  }

  // ── deliveries ──────────────────────────────────────────────────────────
  async listDeliveries(appId: string, f: DeliveryFilter, q: PageQuery) {
    const name = deliveryListStatement(f);
    const { rows } = await this.run(name, {
      app_id: appId, before: q.iterator ?? '~', limit: q.limit + 1, endpoint_id: f.endpointId ?? null,
      event_id: f.eventId ?? null, event_type: f.eventType ?? null, status: f.status ?? null,
    });
    return toPage(rows.map(toDelivery), q.limit, (d) => d.id, q.iterator);
  }

  async getDelivery(appId: string, id: string) {
    const { rows } = await this.run('delivery', { app_id: appId, id });
    if (!rows[0]) return null;
    const attempts = await this.run('attemptsOf', { id });
    return { delivery: toDelivery(rows[0]), attempts: attempts.rows.map(toAttempt) };
  }

  async retryDelivery(appId: string, id: string, now: number): Promise<'ok' | 'in_flight' | 'not_found'> {
    return this.tx(async (run) => {
      const { rows } = await run('deliveryForUpdate', { app_id: appId, id });
      const row = rows[0];
      if (!row) return 'not_found' as const;
      // In flight while its lease lasts; a lease that ran out belongs to a worker that died.
      if (row.lease_owner && row.next_attempt_at > now) return 'in_flight' as const;
      await run(row.status === 'pending' ? 'scheduleNow' : 'reopen', { id, now });
      await this.wake(run);
      return 'ok' as const;
    });
  }

  async recoverEndpoint(endpointId: string, since: number, until: number, now: number): Promise<number> {
    return this.tx(async (run) => {
      const n = (await run('recover', { endpoint_id: endpointId, since, until, now })).rowCount ?? 0;
      if (n > 0) await this.wake(run);
      return n;
    });
  }

  async endpointStats(endpointId: string, now: number): Promise<EndpointStats> {
    const [day, pending, counters] = await Promise.all([
      this.run<{ ok: number; ms: number; n: string; total_ms: string }>('attemptSeries', { endpoint_id: endpointId, since: now - 86_400_000, until: now + 1, bucket_ms: 86_400_001 }),
      this.run<{ n: string }>('pendingOf', { endpoint_id: endpointId }),
      this.run<{ consecutive_failures: number; last_attempt_at: number | null }>('endpointCounters', { id: endpointId }),
    ]);
    return endpointStatsFrom(day.rows, Number(pending.rows[0]?.n ?? 0), counters.rows[0] ?? { consecutive_failures: 0, last_attempt_at: null });
  }

  async endpointSeries(endpointId: string, since: number, until: number, bucketMs: number): Promise<SeriesPoint[]> {
    const { rows } = await this.run('attemptSeries', { endpoint_id: endpointId, since, until, bucket_ms: bucketMs });
    return seriesFrom(rows as Array<{ bucket: string; ok: number; ms: number; n: string }>, since, bucketMs);
  }

  async checkSealingKey(keyed: boolean): Promise<string | null> {
    const read = async () => (await this.run('setting', { name: 'key_check' })).rows[0]?.value ?? null;
    const sample = (await this.run('sealedSecret', {})).rows[0]?.secret ?? null;
    const problem = keyProblem(this.sealer, keyed, await read(), sample);
    if (problem || !keyed) return problem;
    // Processes starting at once: one check is kept, and each verifies its key against it.
    await this.run('insertSetting', { name: 'key_check', value: this.sealer.seal(KEY_CHECK) });
    return keyProblem(this.sealer, keyed, await read(), sample);
  }

  // ── portal and console sessions ─────────────────────────────────────────
  async createPortalToken(tokenHash: string, g: Omit<UiSession, 'kind' | 'createdAt'> & { appId: string }, now: number): Promise<void> {
    await this.run('purgePortalTokens', { now });
    await this.run('insertPortalToken', {
      token_hash: tokenHash, app_id: g.appId, capabilities: JSON.stringify(g.capabilities), label: g.label, expires_at: g.expiresAt, now,
    });
  }

  async exchangePortalToken(tokenHash: string, sessionHash: string, now: number): Promise<UiSession | null> {
    return this.tx(async (run) => {
      const { rows } = await run('redeemPortalToken', { token_hash: tokenHash, now });
      if (!rows[0]) return null;
      const session = toUiSession({ ...rows[0], kind: 'portal', created_at: now });
      // A product may hand out a link per page view and never use the console: sessions are purged here too.
      await run('purgeSessions', { now });
      await run('insertSession', this.sessionColumns(sessionHash, session));
      return session;
    });
  }

  async createSession(sessionHash: string, session: UiSession): Promise<void> {
    await this.run('purgeSessions', { now: session.createdAt });
    await this.run('insertSession', this.sessionColumns(sessionHash, session));
  }

  private sessionColumns(hash: string, s: UiSession) {
    return {
      id_hash: hash, kind: s.kind, app_id: s.appId, capabilities: JSON.stringify(s.capabilities), label: s.label,
      expires_at: s.expiresAt, created_at: s.createdAt,
    };
  }

  async getSession(sessionHash: string, now: number): Promise<UiSession | null> {
    const { rows } = await this.run('session', { id_hash: sessionHash, now });
    return rows[0] ? toUiSession(rows[0]) : null;
  }

  async deleteSession(sessionHash: string): Promise<void> {
    await this.run('deleteSession', { id_hash: sessionHash });
  }

  async expirePortalSessions(appId: string, label: string | null, _now: number): Promise<number> {
    return this.tx(async (run) => {
      await run('expireAppTokens', { app_id: appId, label });
      return (await run('expireAppSessions', { app_id: appId, label })).rowCount ?? 0;
    });
  }
}
