import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../../src/ids.js';
import { backends } from './backends.js';
import { PARKED_AT, type AttemptOutcome, type ClaimedDelivery, type HealthPolicy, type NewEvent, type Store } from '../../src/store/types.js';

/** The Store contract, run against every backend in backends.ts; each test gets a fresh database. */
const event = (type = 'a.b', endpointIds: string[] = [], id = newId('evt'), orderingKey: string | null = null): NewEvent => ({
  id, type, timestamp: Date.now(), render: (sequence) => JSON.stringify({ id, type, sequence, data: {} }), idempotencyKey: null,
  endpointIds, orderingKey,
});

const policy: HealthPolicy = {
  disableAfterFailures: 10, disableAfterSeconds: 86_400, failingThreshold: 3, circuitThreshold: 5, circuitBaseMs: 5000, circuitMaxMs: 300_000,
};

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
      appId = (await store.createApp({ name: 'A', uid: 'a', metadata: {}, signatureProfile: null })).id;
      epId = (await store.createEndpoint({ appId, url: 'https://e.x/h', description: null, events: null, status: 'active', secret: 'whsec_x', headers: {}, retrySchedule: null, timeoutMs: null, rateLimit: null, maxInFlight: null, disableAfterFailures: null, disableAfterSeconds: null, metadata: {} })).id;
    });
    afterEach(async () => {
      await store.close();
      await drop();
    });

    it('migrates idempotently', async () => {
      await store.migrate();
      expect((await store.getApp('a'))?.id).toBe(appId);
    });

    it('keeps an endpoint\'s filter and channels and an event\'s channels, through the fan-out cache', async () => {
      expect(await store.getEndpoint(appId, epId)).toMatchObject({ filter: null, channels: null });
      const filter = { 'data.amount': { $gte: 100 }, $or: [{ 'data.x': 'é' }, { channels: 'vip' }] };
      await store.updateEndpoint(appId, epId, { filter, channels: ['team_42'] }, Date.now());
      expect(await store.getEndpoint(appId, epId)).toMatchObject({ filter, channels: ['team_42'] });
      expect((await store.activeEndpoints(appId))[0]).toMatchObject({ filter, channels: ['team_42'] });
      await store.updateEndpoint(appId, epId, { description: 'kept' }, Date.now());
      expect((await store.activeEndpoints(appId))[0]).toMatchObject({ filter, channels: ['team_42'], description: 'kept' });
      await store.updateEndpoint(appId, epId, { filter: null, channels: null }, Date.now());
      expect((await store.activeEndpoints(appId))[0]).toMatchObject({ filter: null, channels: null });
      const now = Date.now();
      const [withChannels, without] = await store.publish(appId, [
        { id: 'evt_c1', type: 't', timestamp: now, render: () => '{}', orderingKey: null, idempotencyKey: null, channels: ['team_42', 'vip'], endpointIds: [epId] },
        { id: 'evt_c2', type: 't', timestamp: now, render: () => '{}', orderingKey: null, idempotencyKey: null, endpointIds: [] },
      ], now);
      expect(withChannels.event.channels).toEqual(['team_42', 'vip']);
      expect(without.event.channels).toEqual([]);
      expect((await store.getEvent(appId, 'evt_c1'))?.channels).toEqual(['team_42', 'vip']);
      expect((await store.getEvent(appId, 'evt_c2'))?.channels).toEqual([]);
    });

    it('hands out endpoints as they are now through its configuration cache: a rotated secret, new headers, health', async () => {
      const [before] = await store.activeEndpoints(appId);
      expect(before.secret).toBe('whsec_x');
      await store.rotateSecret(appId, epId, 'whsec_y', Date.now() + 60_000, Date.now());
      const [rotated] = await store.activeEndpoints(appId);
      expect(rotated.secret).toBe('whsec_y');
      expect(rotated.previousSecrets.map((p) => p.secret)).toEqual(['whsec_x']);
      await store.updateEndpoint(appId, epId, { headers: { 'x-team': 'core' } }, Date.now());
      expect((await store.activeEndpoints(appId))[0].headers).toEqual({ 'x-team': 'core' });
      // Health moves without updated_at: failures recorded by the worker show through the cache.
      await store.publish(appId, [event('a.b', [epId], 'h1')], Date.now());
      const [claimed] = await store.claimDue('w', Date.now(), Date.now() + 30_000, 10);
      expect(claimed.endpoint.secret).toBe('whsec_y');
      await store.recordOutcomes([outcome(claimed, 'pending', 500, Date.now() + 60_000)], Date.now(), policy);
      expect((await store.activeEndpoints(appId))[0]).toMatchObject({ secret: 'whsec_y', consecutiveFailures: 1 });
      // Endpoints added, disabled by the worker, deleted, and a circuit opened by the worker.
      const ep = (url: string) => store.createEndpoint({ appId, url, description: null, events: null, status: 'active', secret: 'whsec_z', headers: {}, retrySchedule: null, timeoutMs: null, rateLimit: null, maxInFlight: null, disableAfterFailures: null, disableAfterSeconds: null, metadata: {} });
      const second = await ep('https://e.x/2');
      const third = await ep('https://e.x/3');
      expect((await store.activeEndpoints(appId)).map((e) => e.id).sort()).toEqual([epId, second.id, third.id].sort());
      await store.deleteEndpoint(appId, third.id);
      expect((await store.activeEndpoints(appId)).map((e) => e.id).sort()).toEqual([epId, second.id].sort());
      const trip: HealthPolicy = { ...policy, circuitThreshold: 2, disableAfterFailures: 1_000 };
      await store.publish(appId, [event('a.b', [second.id], 'h2'), event('a.b', [second.id], 'h3')], Date.now());
      const due = (await store.claimDue('w', Date.now(), Date.now() + 30_000, 10)).filter((d) => d.endpoint.id === second.id);
      expect(due).toHaveLength(2);
      await store.recordOutcomes(due.map((d) => outcome(d, 'pending', 500, Date.now() + 60_000)), Date.now(), trip);
      expect((await store.activeEndpoints(appId)).find((e) => e.id === second.id)?.circuitState).toBe('open');
      await store.updateEndpoint(appId, second.id, { status: 'disabled' }, Date.now());
      expect((await store.activeEndpoints(appId)).map((e) => e.id)).toEqual([epId]);
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

    it('publishes many at once (grouped into one transaction): each answered with its own, repeats found, one failing alone', async () => {
      const other = (await store.createApp({ name: 'B', uid: 'b', metadata: {}, signatureProfile: null })).id;
      const now = Date.now();
      // A group that commits as one.
      const together = await Promise.all(Array.from({ length: 5 }, (_, i) => store.publish(appId, [event('a.b', [epId], `t${i}`)], now)));
      expect(together.map(([r]) => [r.event.id, r.created, r.deliveryIds.length])).toEqual(Array.from({ length: 5 }, (_, i) => [`t${i}`, true, 1]));
      expect(together.map(([r]) => r.event.sequence).sort()).toEqual([1, 2, 3, 4, 5]);
      expect((await store.listDeliveries(appId, {}, { limit: 50 })).data).toHaveLength(5);
      await store.deleteApp(appId);
      appId = (await store.createApp({ name: 'A', uid: 'a', metadata: {}, signatureProfile: null })).id;
      epId = (await store.createEndpoint({ appId, url: 'https://e.x/h', description: null, events: null, status: 'active', secret: 'whsec_x', headers: {}, retrySchedule: null, timeoutMs: null, rateLimit: null, maxInFlight: null, disableAfterFailures: null, disableAfterSeconds: null, metadata: {} })).id;
      // One that doesn't: each alone.
      const calls = [
        ...Array.from({ length: 20 }, (_, i) => store.publish(i % 2 ? appId : other, [event('a.b', i % 2 ? [epId] : [], `g${i}`)], now)),
        // The same id twice among them: one event, the second answered with the first.
        store.publish(appId, [event('a.b', [epId], 'g1')], now),
        // An app that doesn't exist: it fails, the others commit.
        store.publish('app_missing', [event('a.b', [], 'gx')], now),
        store.publish(appId, [{ ...event('a.b', [epId]), idempotencyKey: 'gk' }], now),
        store.publish(appId, [{ ...event('a.b', [epId]), idempotencyKey: 'gk' }], now),
      ];
      const settled = await Promise.allSettled(calls);
      const ok = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value[0]] : []));
      expect(settled.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(['not_found']);
      expect(ok).toHaveLength(23);
      expect(ok.filter((r) => r.created)).toHaveLength(21);
      // Which of two racing publishes of one id (or key) creates it is up to the backend; one does.
      const g1 = [ok[1], ok[20]];
      expect(g1.map((r) => r.event.id)).toEqual(['g1', 'g1']);
      expect(g1.filter((r) => r.created)).toHaveLength(1);
      expect(ok[21].event.id).toBe(ok[22].event.id);
      expect([ok[21], ok[22]].filter((r) => r.created)).toHaveLength(1);
      // Sequences per app: 1…11 for this one (10 + the keyed), 1…10 for the other, no gaps.
      const seqs = (id: string) => ok.filter((r) => r.created && r.event.appId === id).map((r) => r.event.sequence).sort((a, b) => a - b);
      expect(seqs(appId)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
      expect(seqs(other)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
      expect((await store.listDeliveries(appId, {}, { limit: 50 })).data).toHaveLength(11);
      expect(await store.getEvent(appId, 'gx')).toBeNull();
    });

    it('claims due deliveries once, under a lease, and records outcomes', async () => {
      await store.publish(appId, [event('a.b', [epId]), event('a.b', [epId])], Date.now());
      const now = Date.now();
      const claimed = await store.claimDue('w1', now, now + 60_000, 10);
      expect(claimed).toHaveLength(2);
      expect(claimed[0].endpoint.id).toBe(epId);
      expect(JSON.parse(claimed[0].body as string).type).toBe('a.b');
      expect(await store.claimDue('w2', now, now + 60_000, 10)).toEqual([]);
      if (store.leasesExpire) {
        // After the lease runs out another worker may take them.
        expect(await store.claimDue('w2', now + 60_001, now + 120_000, 10)).toHaveLength(2);
      } else {
        // Held until released: a single worker process releases everything when it starts.
        expect(await store.claimDue('w2', now + 600_000, now + 660_000, 10)).toEqual([]);
      }

      await store.recordOutcomes([outcome(claimed[0], 'success', 200), outcome(claimed[1], 'pending', 500, now + 5000)], now, policy);
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
      expect(r.leased).toEqual([0, 1]);
      expect((await store.claimDue('w2', now, now + 1000, 10)).map((d) => d.id)).toEqual([r.deliveryIds[2]]);
      expect(await store.releaseAllLeases(now)).toBe(3);
      expect(await store.claimDue('w2', now, now + 1000, 10)).toHaveLength(3);
    });

    it('holds back deliveries of a disabled endpoint, and on re-enable probes with one, then releases the rest', async () => {
      const results = await store.publish(appId, [event('a.b', [epId]), event('a.b', [epId]), event('a.b', [epId])], Date.now());
      const ids = results.map((r) => r.deliveryIds[0]);
      const now = Date.now();
      await store.updateEndpoint(appId, epId, { status: 'disabled' }, now);
      expect(await store.claimDue('w', now, now + 1000, 10)).toEqual([]);
      expect(await store.nextDueAt()).toBeNull();
      expect((await store.getDelivery(appId, ids[0]))?.delivery).toMatchObject({ status: 'pending', nextAttemptAt: null });

      const enabled = await store.updateEndpoint(appId, epId, { status: 'active' }, now);
      expect(enabled).toMatchObject({ status: 'active', disabledReason: null, circuitState: 'open' });
      const [due] = await store.takeDueCircuits(now, now + 60_000, 10);
      expect(due.id).toBe(epId);
      expect(await store.takeDueCircuits(now, now + 60_000, 10)).toEqual([]); // taken: one worker acts
      const probe = await store.claimProbe(due, 'w', now + 60_000, now);
      expect(probe?.id).toBe(ids[0]);
      expect((await store.getEndpoint(appId, epId))?.circuitState).toBe('half_open');
      await store.recordOutcomes([{ ...outcome(probe!, 'success', 200), probe: true }], now, policy);
      const recovering = await store.getEndpoint(appId, epId);
      expect(recovering?.circuitState).toBe('recovering');
      expect(await store.releaseHeld(epId, 1, now + 1000, now)).toBe(1);
      expect((await store.claimDue('w', now, now + 1000, 10)).map((d) => d.id)).toEqual([ids[1]]);
      expect(await store.releaseHeld(epId, 10, now + 1000, now)).toBe(1);
      expect((await store.getEndpoint(appId, epId))?.circuitState).toBe('closed');
      expect((await store.claimDue('w', now, now + 1000, 10)).map((d) => d.id)).toEqual([ids[2]]);
    });

    it('hands a relay endpoint\'s held-back deliveries to the process with its listener, in order, only while it is active and closed', async () => {
      const relay = (await store.createEndpoint({ appId, url: 'relay:', description: null, events: null, status: 'active', secret: 'whsec_x', headers: {}, retrySchedule: null, timeoutMs: null, rateLimit: null, maxInFlight: null, disableAfterFailures: null, disableAfterSeconds: null, metadata: {} })).id;
      const results = await store.publish(appId, [event('a.b', [relay, epId]), event('a.b', [relay]), event('a.b', [relay])], Date.now());
      const ids = results.map((r) => r.deliveryIds[0]);
      const now = Date.now();
      // A worker without the listener claimed them and held them back.
      const claimed = await store.claimDue('w1', now, now + 60_000, 10);
      await store.releaseClaims(claimed.filter((d) => d.endpoint.id === relay).map((d) => ({ id: d.id, at: PARKED_AT })));
      expect(await store.claimDue('w1', now, now + 60_000, 10)).toEqual([]);

      const first = await store.claimHeld(relay, 'w2', now + 60_000, 2);
      expect(first.map((d) => d.id)).toEqual(ids.slice(0, 2));
      expect(first[0].endpoint.url).toBe('relay:');
      expect(JSON.parse(first[0].body as string).type).toBe('a.b');
      await store.recordOutcomes([outcome(first[0], 'success', 200)], now, policy);
      expect((await store.getDelivery(appId, ids[0]))?.delivery.status).toBe('success');

      await store.updateEndpoint(appId, relay, { status: 'disabled' }, now);
      expect(await store.claimHeld(relay, 'w3', now + 60_000, 10)).toEqual([]);
      await store.updateEndpoint(appId, relay, { status: 'active' }, now);
      // Re-enabled, the circuit probes first: its own probe takes the held delivery, not claimHeld.
      expect((await store.getEndpoint(appId, relay))?.circuitState).toBe('open');
      expect(await store.claimHeld(relay, 'w3', now + 60_000, 10)).toEqual([]);
      expect((await store.claimProbe((await store.getEndpoint(appId, relay))!, 'w3', now + 60_000, now))?.id).toBe(ids[2]);
    });

    it('tells every process which relay endpoints have a listener, and forgets a process that stopped reporting', async () => {
      if (!store.reportRelays || !store.relayStatus) return; // single-process backends know it in memory
      const now = Date.now();
      await store.reportRelays('p1', [{ endpointId: 'ep_a', listeners: 1, since: now - 5 }, { endpointId: 'ep_b', listeners: 2, since: now - 9 }], now);
      await store.reportRelays('p2', [{ endpointId: 'ep_a', listeners: 1, since: now - 1 }], now);
      const seen = await store.relayStatus(['ep_a', 'ep_b', 'ep_c'], now - 6000);
      expect(Object.fromEntries(seen)).toEqual({ ep_a: { listeners: 2, since: now - 1 }, ep_b: { listeners: 2, since: now - 9 } });
      await store.reportRelays('p1', [], now + 10);
      expect(Object.fromEntries(await store.relayStatus(['ep_a', 'ep_b'], now - 6000))).toEqual({ ep_a: { listeners: 1, since: now - 1 } });
      expect((await store.relayStatus(['ep_a'], now + 1)).size).toBe(0); // p2's report is too old
    });

    it('opens the circuit after consecutive failures, re-opens it on a failed probe, and auto-disables only after the span', async () => {
      const publish = async (n: number) => (await store.publish(appId, Array.from({ length: n }, () => event('a.b', [epId])), Date.now())).map((r) => r.deliveryIds[0]);
      await publish(8);
      let now = Date.now();
      const batch = await store.claimDue('w', now, now + 1000, 5);
      const changes = await store.recordOutcomes(batch.map((d) => outcome(d, 'pending', 500, now + 1000)), now, policy);
      expect(changes.map((c) => c.kind).sort()).toEqual(['circuit_opened', 'failing']);
      const ep = await store.getEndpoint(appId, epId);
      expect(ep).toMatchObject({ circuitState: 'open', consecutiveFailures: 5 });
      expect(ep!.circuitUntil).toBe(now + 5000);
      // Everything waiting was held back, including the retries just scheduled.
      expect(await store.claimDue('w', now + 2000, now + 3000, 10)).toEqual([]);
      // Failed probes wait about as long as the outage has lasted: 5 s, then 10 s (doubling).
      const probe = await store.claimProbe(ep!, 'w', now + 65_000, now + 5000);
      await store.recordOutcomes([{ ...outcome(probe!, 'pending', 500, now + 6000), probe: true }], now + 5000, policy);
      const reopened = await store.getEndpoint(appId, epId);
      expect(reopened).toMatchObject({ circuitState: 'open', consecutiveFailures: 6 });
      expect(reopened!.circuitUntil).toBe(now + 10_000);
      const probe2 = await store.claimProbe(reopened!, 'w', now + 70_000, now + 10_000);
      await store.recordOutcomes([{ ...outcome(probe2!, 'pending', 500, now + 11_000), probe: true }], now + 10_000, policy);
      expect((await store.getEndpoint(appId, epId))!.circuitUntil).toBe(now + 20_000);

      // Ten consecutive failures, but over less than the minimum span: still active.
      now = Date.now();
      for (let i = 0; i < 3; i++) {
        const p = await store.claimProbe((await store.getEndpoint(appId, epId))!, 'w', now + 60_000, now);
        await store.recordOutcomes([{ ...outcome(p!, 'pending', 500, now + 1000), probe: true }], now, policy);
      }
      expect(await store.getEndpoint(appId, epId)).toMatchObject({ status: 'active', consecutiveFailures: 10 });
      // The same run of failures seen a day later: disabled, with the reason.
      const later = now + 86_400_000;
      const p = await store.claimProbe((await store.getEndpoint(appId, epId))!, 'w', later + 60_000, later);
      const disabled = await store.recordOutcomes([{ ...outcome(p!, 'pending', 500, later + 1000), probe: true }], later, policy);
      expect(disabled.map((c) => c.kind)).toContain('disabled');
      expect(await store.getEndpoint(appId, epId)).toMatchObject({ status: 'disabled', disabledReason: 'consecutive_failures' });
    });

    it('releases deliveries of one ordering key one at a time, in publish order, independently of other keys', async () => {
      const r = await store.publish(appId, [
        event('a.b', [epId], 'k1-1', 'doc-1'), event('a.b', [epId], 'k2-1', 'doc-2'), event('a.b', [epId], 'k1-2', 'doc-1'),
        event('a.b', [epId], 'k1-3', 'doc-1'),
      ], Date.now());
      const [k11, k21, k12, k13] = r.map((x) => x.deliveryIds[0]);
      let now = Date.now();
      const first = await store.claimDue('w', now, now + 1000, 10);
      expect(first.map((d) => d.id).sort()).toEqual([k11, k21].sort());
      const d11 = first.find((d) => d.id === k11)!;
      // A retry keeps the key's turn: k1-2 waits until k1-1 succeeds or fails for good.
      await store.recordOutcomes([{ ...outcome(d11, 'pending', 500, now), orderingKey: 'doc-1' }], now, policy);
      const retry = await store.claimDue('w', now, now + 1000, 10);
      expect(retry.map((d) => d.id)).toEqual([k11]);
      await store.recordOutcomes([{ ...outcome(retry[0], 'success', 200), orderingKey: 'doc-1' }], now, policy);
      now = Date.now();
      const second = await store.claimDue('w', now, now + 1000, 10);
      expect(second.map((d) => d.id)).toEqual([k12]);
      await store.recordOutcomes([{ ...outcome(second[0], 'failed', 500), orderingKey: 'doc-1' }], now, policy);
      expect((await store.claimDue('w', now, now + 1000, 10)).map((d) => d.id)).toEqual([k13]);
    });

    it('retries by hand, recovers failed deliveries in a window, and refuses to touch one in flight', async () => {
      const [r] = await store.publish(appId, [event('a.b', [epId])], Date.now());
      const id = r.deliveryIds[0];
      const now = Date.now();
      const [d] = await store.claimDue('w', now, now + 1000, 10);
      expect(await store.retryDelivery(appId, id, now)).toBe('in_flight');
      await store.recordOutcomes([outcome(d, 'failed', 500)], now, policy);
      expect(await store.retryDelivery(appId, 'dlv_missing', now)).toBe('not_found');
      expect(await store.retryDelivery(appId, id, now)).toBe('ok');
      const [again] = await store.claimDue('w', now, now + 1000, 10);
      expect(again.oneShot).toBe(true);
      await store.recordOutcomes([outcome(again, 'failed', 500)], now, policy);
      expect(await store.recoverEndpoint(epId, now - 60_000, now - 30_000, now)).toBe(0);
      expect(await store.recoverEndpoint(epId, now - 60_000, now + 60_000, now)).toBe(1);
      expect((await store.claimDue('w', now, now + 1000, 10)).map((x) => [x.id, x.attemptCount])).toEqual([[id, 2]]);
    });

    it('computes endpoint stats', async () => {
      const results = await store.publish(appId, [event('a.b', [epId]), event('a.b', [epId]), event('a.b', [epId])], Date.now());
      const now = Date.now();
      const c = await store.claimDue('w', now, now + 1000, 10);
      await store.recordOutcomes([outcome(c[0], 'success', 200), outcome(c[1], 'failed', 500)], now, policy);
      const s = await store.endpointStats(epId, Date.now());
      // Attempts of the last 24 h (two), and the delivery still waiting.
      expect(s).toMatchObject({ total: 2, succeeded: 1, failed: 1, pending: 1, successRate: 0.5, failedLast24h: 1 });
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

    it('prunes old events with finished deliveries, in batches, and keeps anything still pending', async () => {
      const old = await store.publish(appId, [event('a.b', [epId]), event('a.b', [epId]), event('a.b', [epId]), event('a.b', [])], Date.now() - 10_000);
      const now = Date.now();
      const claimed = await store.claimDue('w', now, now + 1000, 2);
      await store.recordOutcomes(claimed.map((d) => outcome(d, 'success', 200)), now, policy);
      await store.publish(appId, [event('a.b', [])], now + 5000); // too recent
      expect(await store.prune(now, 2)).toBe(2);
      expect(await store.prune(now, 2)).toBe(1);
      expect(await store.prune(now, 2)).toBe(0);
      const left = (await store.listEvents(appId, { limit: 10 })).data.map((e) => e.id);
      const pendingEvent = old.find((r) => !claimed.some((c) => c.id === r.deliveryIds[0]) && r.deliveryIds.length > 0)!;
      expect(left).toHaveLength(2);
      expect(left).toContain(pendingEvent.event.id);
      expect(await store.getDelivery(appId, claimed[0].id)).toBeNull();
      expect(await store.heartbeat('w1', now, 10_000)).toBeGreaterThanOrEqual(1);
    });

    it('deletes an app with everything under it', async () => {
      await store.publish(appId, [event('a.b', [epId])], Date.now());
      expect(await store.deleteApp(appId)).toBe(true);
      expect(await store.getApp(appId)).toBeNull();
      expect(await store.queueDepth()).toBe(0);
    });
  });
}
