import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../../src/ids.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { PARKED_AT, type AttemptOutcome, type ClaimedDelivery, type NewEvent, type Store } from '../../src/store/types.js';

/**
 * The Store contract, run against every backend. Each test gets a fresh database.
 * (PostgreSQL joins this list when its backend lands.)
 */
const backends: Array<{ name: string; open: () => Promise<{ store: Store; drop: () => Promise<void> }> }> = [
  {
    name: 'sqlite',
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'herald-store-'));
      const store = new SqliteStore(join(dir, 'h.db'));
      await store.migrate();
      return { store, drop: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
];

const event = (type = 'a.b', endpointIds: string[] = [], id = newId('evt')): NewEvent => ({
  id, type, timestamp: Date.now(), body: JSON.stringify({ id, type, data: {} }), idempotencyKey: null, endpointIds,
});

const outcome = (d: ClaimedDelivery, status: AttemptOutcome['status'], statusCode: number | null, nextAttemptAt: number | null = null): AttemptOutcome => ({
  deliveryId: d.id, endpointId: d.endpoint.id, status, nextAttemptAt,
  attempt: { id: newId('att'), deliveryId: d.id, endpointId: d.endpoint.id, number: d.attemptCount + 1, startedAt: Date.now(), durationMs: 3, statusCode, responseBody: 'r', error: statusCode ? null : 'timeout' },
});

for (const backend of backends) {
  describe(`Store conformance: ${backend.name}`, () => {
    let store: Store;
    let drop: () => Promise<void>;
    let appId: string;
    let epId: string;
    beforeEach(async () => {
      ({ store, drop } = await backend.open());
      appId = (await store.createApp({ name: 'A', uid: 'a', metadata: {} })).id;
      epId = (await store.createEndpoint({ appId, url: 'https://e.x/h', description: null, events: null, status: 'active', secret: 'whsec_x', headers: {}, retrySchedule: null, timeoutMs: null, metadata: {} })).id;
    });
    afterEach(async () => {
      await store.close();
      await drop();
    });

    it('migrates idempotently', async () => {
      await store.migrate();
      expect((await store.getApp('a'))?.id).toBe(appId);
    });

    it('assigns strictly increasing sequences and returns duplicates instead of re-creating them', async () => {
      const first = await store.publish(appId, [event('a.b', [epId], 'e1'), event('a.b', [epId], 'e2')], Date.now());
      expect(first.map((r) => [r.event.sequence, r.created, r.deliveryIds.length])).toEqual([[1, true, 1], [2, true, 1]]);
      const again = await store.publish(appId, [event('a.b', [epId], 'e2'), event('a.b', [epId], 'e3'), event('a.b', [epId], 'e3')], Date.now());
      expect(again.map((r) => [r.event.id, r.event.sequence, r.created])).toEqual([['e2', 2, false], ['e3', 3, true], ['e3', 3, false]]);
      const keyed = { ...event('a.b', [epId]), idempotencyKey: 'k1' };
      const k1 = await store.publish(appId, [keyed], Date.now());
      const k2 = await store.publish(appId, [{ ...event('a.b', [epId]), idempotencyKey: 'k1' }], Date.now());
      expect(k2[0]).toMatchObject({ created: false, event: { id: k1[0].event.id } });
      expect((await store.listDeliveries(appId, {}, { limit: 50 })).data).toHaveLength(4);
    });

    it('claims due deliveries once, under a lease, and records outcomes', async () => {
      await store.publish(appId, [event('a.b', [epId]), event('a.b', [epId])], Date.now());
      const now = Date.now();
      const claimed = await store.claimDue('w1', now, now + 60_000, 10);
      expect(claimed).toHaveLength(2);
      expect(claimed[0].endpoint.id).toBe(epId);
      expect(JSON.parse(claimed[0].body).type).toBe('a.b');
      expect(await store.claimDue('w2', now, now + 60_000, 10)).toEqual([]);
      if (store.leasesExpire) {
        // After the lease runs out another worker may take them.
        expect(await store.claimDue('w2', now + 60_001, now + 120_000, 10)).toHaveLength(2);
      } else {
        // Held until released: a single worker process releases everything when it starts.
        expect(await store.claimDue('w2', now + 600_000, now + 660_000, 10)).toEqual([]);
      }

      await store.recordOutcomes([outcome(claimed[0], 'success', 200), outcome(claimed[1], 'pending', 500, now + 5000)], now);
      const ok = await store.getDelivery(appId, claimed[0].id);
      expect(ok?.delivery).toMatchObject({ status: 'success', attemptCount: 1, lastStatusCode: 200 });
      expect(ok?.attempts.map((a) => a.statusCode)).toEqual([200]);
      expect(await store.nextDueAt()).toBe(now + 5000);
      const retry = await store.claimDue('w1', now + 5000, now + 70_000, 10);
      expect(retry.map((d) => [d.id, d.attemptCount])).toEqual([[claimed[1].id, 1]]);
      const ep = await store.getEndpoint(appId, epId);
      expect(ep?.consecutiveFailures).toBe(1);
    });

    it('writes hand-over deliveries already leased, and releases every lease on demand', async () => {
      const now = Date.now();
      const [r] = await store.publish(appId, [event('a.b', [epId, epId, epId])], now, { owner: 'w1', until: now + 60_000, limit: 2 });
      expect(r.leased).toBe(2);
      expect((await store.claimDue('w2', now, now + 1000, 10)).map((d) => d.id)).toEqual([r.deliveryIds[2]]);
      expect(await store.releaseAllLeases(now)).toBe(3);
      expect(await store.claimDue('w2', now, now + 1000, 10)).toHaveLength(3);
    });

    it('parks deliveries of a disabled endpoint and resumes them on re-enable', async () => {
      const [r] = await store.publish(appId, [event('a.b', [epId])], Date.now());
      const now = Date.now();
      await store.claimDue('w', now, now + 1000, 10);
      await store.releaseClaims(r.deliveryIds, PARKED_AT);
      expect(await store.nextDueAt()).toBeNull();
      expect((await store.getDelivery(appId, r.deliveryIds[0]))?.delivery.nextAttemptAt).toBeNull();
      await store.updateEndpoint(appId, epId, { status: 'disabled' }, now);
      const enabled = await store.updateEndpoint(appId, epId, { status: 'active' }, now);
      expect(enabled).toMatchObject({ status: 'active', disabledReason: null });
      expect(await store.claimDue('w', now, now + 1000, 10)).toHaveLength(1);
    });

    it('retries by hand, recovers failed deliveries in a window, and refuses to touch one in flight', async () => {
      const [r] = await store.publish(appId, [event('a.b', [epId])], Date.now());
      const id = r.deliveryIds[0];
      const now = Date.now();
      const [d] = await store.claimDue('w', now, now + 1000, 10);
      expect(await store.retryDelivery(appId, id, now)).toBe('in_flight');
      await store.recordOutcomes([outcome(d, 'failed', 500)], now);
      expect(await store.retryDelivery(appId, 'dlv_missing', now)).toBe('not_found');
      expect(await store.retryDelivery(appId, id, now)).toBe('ok');
      const [again] = await store.claimDue('w', now, now + 1000, 10);
      expect(again.oneShot).toBe(true);
      await store.recordOutcomes([outcome(again, 'failed', 500)], now);
      expect(await store.recoverEndpoint(epId, now - 60_000, now - 30_000, now)).toBe(0);
      expect(await store.recoverEndpoint(epId, now - 60_000, now + 60_000, now)).toBe(1);
      expect((await store.claimDue('w', now, now + 1000, 10)).map((x) => [x.id, x.attemptCount])).toEqual([[id, 2]]);
    });

    it('computes endpoint stats', async () => {
      const results = await store.publish(appId, [event('a.b', [epId]), event('a.b', [epId]), event('a.b', [epId])], Date.now());
      const now = Date.now();
      const c = await store.claimDue('w', now, now + 1000, 10);
      await store.recordOutcomes([outcome(c[0], 'success', 200), outcome(c[1], 'failed', 500)], now);
      const s = await store.endpointStats(epId, Date.now());
      expect(s).toMatchObject({ total: 3, succeeded: 1, failed: 1, pending: 1, successRate: 0.5, failedLast24h: 1 });
      expect(results).toHaveLength(3);
    });

    it('pages lists with iterators', async () => {
      await store.publish(appId, Array.from({ length: 5 }, () => event('a.b', [epId])), Date.now());
      const p1 = await store.listEvents(appId, { limit: 2 });
      const p2 = await store.listEvents(appId, { limit: 2, iterator: p1.iterator! });
      const p3 = await store.listEvents(appId, { limit: 2, iterator: p2.iterator! });
      expect([...p1.data, ...p2.data, ...p3.data].map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5]);
      expect([p1.done, p2.done, p3.done]).toEqual([false, false, true]);
      const d1 = await store.listDeliveries(appId, { endpointId: epId }, { limit: 3 });
      const d2 = await store.listDeliveries(appId, { endpointId: epId }, { limit: 3, iterator: d1.iterator! });
      expect(d1.data.length + d2.data.length).toBe(5);
      expect(d2.done).toBe(true);
    });

    it('deletes an app with everything under it', async () => {
      await store.publish(appId, [event('a.b', [epId])], Date.now());
      expect(await store.deleteApp(appId)).toBe(true);
      expect(await store.getApp(appId)).toBeNull();
      expect(await store.queueDepth()).toBe(0);
    });
  });
}
