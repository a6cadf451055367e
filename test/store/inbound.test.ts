import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { idAtTime, newId } from '../../src/ids.js';
import type { InboundInput, NewSource, Source } from '../../src/store/inbound.js';
import type { Store } from '../../src/store/types.js';
import { backends } from './backends.js';

/** The inbound half of the Store contract (sources, request log, dedup, sequences), on every backend. */
const newSource = (over: Partial<NewSource> = {}): NewSource => ({
  id: newId('src'), appId: newId('app'), name: 'github', verification: { scheme: 'github', secrets: ['s3cret'] },
  dedup: null, ordering: null, destinations: [], forwardHeaders: null, rateLimit: null, response: null, ...over,
});

for (const backend of backends) {
  describe(`Inbound store: ${backend.name}`, () => {
    let store: Store;
    let drop: () => Promise<void>;
    let source: Source;
    let epId: string;

    async function makeSource(over: Partial<NewSource> = {}): Promise<Source> {
      const s = await store.createSource(newSource(over));
      epId = (await store.createEndpoint({
        appId: s.appId, url: 'https://dest.example/h', description: null, events: null, status: 'active', secret: 'whsec_x',
        headers: {}, retrySchedule: null, timeoutMs: null, rateLimit: null, maxInFlight: null, disableAfterFailures: null,
        disableAfterSeconds: null, metadata: {},
      })).id;
      return (await store.updateSource(s.id, { destinations: [...s.destinations, { type: 'http', endpointId: epId }] }, Date.now()))!;
    }

    const input = (over: Partial<InboundInput> = {}): InboundInput => ({
      id: newId('req'), receivedAt: Date.now(), loggedHeaders: { 'x-github-event': 'push', authorization: '[redacted]' },
      forwardHeaders: { 'content-type': 'application/json', 'x-github-event': 'push' }, contentType: 'application/json',
      body: Buffer.from('{"a":1}'), dedupKey: null, dedupTtlMs: 60_000, orderingKey: null, sequence: null, endpointIds: [epId], routes: null,
      ...over,
    });

    /** Claims everything due and returns the request ids in claim order, finishing each as a success. */
    async function drain(): Promise<string[]> {
      const out: string[] = [];
      for (;;) {
        const now = Date.now();
        const claimed = await store.claimDue('w', now, now + 60_000, 100);
        if (claimed.length === 0) return out;
        for (const d of claimed) out.push(d.eventId);
        await store.recordOutcomes(claimed.map((d) => ({
          deliveryId: d.id, endpointId: d.endpoint.id, status: 'success' as const, nextAttemptAt: null, orderingKey: d.orderingKey,
          attempt: { id: newId('att'), deliveryId: d.id, endpointId: d.endpoint.id, number: d.attemptCount + 1, startedAt: now, durationMs: 1, statusCode: 200, responseBody: '', error: null },
        })), now, { disableAfterFailures: 10, disableAfterSeconds: 0, failingThreshold: 5, circuitThreshold: 5, circuitBaseMs: 1000, circuitMaxMs: 10_000 });
      }
    }

    beforeEach(async () => {
      ({ store, drop } = await backend.open());
      source = await makeSource();
    });
    afterEach(async () => {
      await store.close();
      await drop();
    });

    it('keeps sources, seals nothing it returns wrongly, and hides their apps from the app list', async () => {
      expect(await store.getSource(source.id)).toMatchObject({ name: 'github', verification: { scheme: 'github', secrets: ['s3cret'] } });
      expect(await store.getApp(source.appId)).not.toBeNull();
      await store.createApp({ name: 'visible', uid: null, metadata: {}, signatureProfile: null });
      expect((await store.listApps({ limit: 50 })).data.map((a) => a.name)).toEqual(['visible']);
      const updated = await store.updateSource(source.id, { name: 'gh', rateLimit: 5 }, Date.now());
      expect(updated).toMatchObject({ name: 'gh', rateLimit: 5, destinations: [{ type: 'http', endpointId: epId }] });
      expect((await store.listSources({ limit: 10 })).data.map((s) => s.id)).toEqual([source.id]);
      expect(await store.deleteSource(source.id)).toBe(true);
      expect(await store.getSource(source.id)).toBeNull();
      expect(await store.getApp(source.appId)).toBeNull();
    });

    it('stores the raw bytes and forwarded headers of an accepted request for the worker', async () => {
      const body = Buffer.from([0x7b, 0xff, 0x00, 0x7d]); // not UTF-8: bytes must survive as they are
      const { request } = await store.ingest(source, input({ body, contentType: 'application/octet-stream' }), Date.now());
      expect(request).toMatchObject({ status: 'accepted', forwardState: 'pending', bodySize: 4, deliveries: { pending: 1 } });
      const now = Date.now();
      const [d] = await store.claimDue('w', now, now + 60_000, 10);
      expect(Buffer.isBuffer(d.body)).toBe(true);
      expect(Buffer.compare(d.body as Buffer, body)).toBe(0);
      expect(d.headers).toEqual({ 'content-type': 'application/json', 'x-github-event': 'push' });
      expect(d.eventId).toBe(request.id);
      const stored = await store.getRequestBody(source.id, request.id);
      expect(Buffer.compare(stored!.body, body)).toBe(0);
      expect(stored!.contentType).toBe('application/octet-stream');
      expect(await store.getRequestBody(source.id, 'req_missing')).toBeNull();
    });

    it('fails only the request whose source is gone when requests arrive together', async () => {
      const mine = epId;
      const other = await makeSource();
      await store.deleteSource(other.id);
      const [ok, gone] = await Promise.allSettled([
        store.ingest(source, input({ endpointIds: [mine] }), Date.now()),
        store.ingest(other, input({ endpointIds: [] }), Date.now()),
      ]);
      expect(ok).toMatchObject({ status: 'fulfilled', value: { request: { status: 'accepted' } } });
      expect(gone).toMatchObject({ status: 'rejected', reason: { code: 'not_found' } });
      expect((await store.listRequests(source.id, { limit: 10 })).data).toHaveLength(1);
    });

    it('keeps arrival order per ordering key when a failed group is written again request by request', async () => {
      const mine = epId;
      const other = await makeSource();
      await store.deleteSource(other.id);
      const now = Date.now() - 1000;
      const keyed = Array.from({ length: 20 }, () => input({ orderingKey: 'doc', endpointIds: [mine] }));
      const calls = keyed.map((i) => store.ingest(source, i, now));
      calls.splice(7, 0, store.ingest(other, input({ endpointIds: [] }), now)); // the group fails on this one
      const results = await Promise.allSettled(calls);
      expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
      expect(await drain()).toEqual(keyed.map((i) => i.id));
    });

    it('keeps dedup and per-key order when many requests of several sources arrive at once', async () => {
      const mine = epId;
      const keyed = await makeSource({ ordering: { key: 'body:$.k', sequence: null, gapTimeoutSeconds: 5, firstSequence: null } });
      const theirs = epId;
      const calls: Array<Promise<{ key: string; r: Awaited<ReturnType<Store['ingest']>> }>> = [];
      for (let i = 0; i < 60; i++) {
        const dk = `k${i % 20}`;
        calls.push(store.ingest(source, input({ dedupKey: dk, endpointIds: [mine] }), Date.now()).then((r) => ({ key: dk, r })));
        const ok = `o${i % 3}`;
        calls.push(store.ingest(keyed, input({ orderingKey: ok, endpointIds: [theirs] }), Date.now()).then((r) => ({ key: ok, r })));
      }
      const results = await Promise.all(calls);
      const deduped = results.filter(({ r }) => r.request.sourceId === source.id);
      const firstOf = new Map<string, string>();
      for (const { key, r } of deduped) if (r.request.status === 'accepted') firstOf.set(key, r.request.id);
      expect(firstOf.size).toBe(20);
      for (const { key, r } of deduped) {
        if (r.request.status === 'duplicate') expect(r.duplicateOf).toBe(firstOf.get(key));
        else expect(r.request.id).toBe(firstOf.get(key));
      }
      expect(deduped.filter(({ r }) => r.request.status === 'duplicate')).toHaveLength(40);
      // Per ordering key, one at a time and in the order the requests were made.
      const ordered = results.filter(({ r }) => r.request.sourceId === keyed.id);
      expect(ordered.every(({ r }) => r.request.status === 'accepted')).toBe(true);
      const drained = await drain();
      for (const k of ['o0', 'o1', 'o2']) {
        const made = ordered.filter(({ key }) => key === k).map(({ r }) => r.request.id);
        expect(drained.filter((id) => made.includes(id))).toEqual(made);
      }
      expect(drained.filter((id) => [...firstOf.values()].includes(id)).sort()).toEqual([...firstOf.values()].sort());
    });

    it('holds the deliveries of a disabled destination instead of dropping them, as of the commit', async () => {
      // The gateway names its destinations; whether one is disabled is read when the request commits.
      await store.updateEndpoint(source.appId, epId, { status: 'disabled' }, Date.now());
      const { request } = await store.ingest(source, input(), Date.now());
      expect(request).toMatchObject({ forwardState: 'pending', deliveries: { pending: 1 } });
      expect(await drain()).toEqual([]);
      await store.updateEndpoint(source.appId, epId, { status: 'active' }, Date.now());
      const later = await store.ingest(source, input(), Date.now());
      expect(await drain()).toEqual([later.request.id]); // not held: the destination is enabled again
      expect(await store.releaseHeld(epId, 10, Date.now() + 1000, Date.now())).toBe(1);
      expect(await drain()).toEqual([request.id]);
    });

    it('forwards to the destinations that still exist when one was deleted since the gateway loaded the source', async () => {
      const kept = await makeSource();
      const keptEp = epId;
      const gone = (await store.createEndpoint({
        appId: kept.appId, url: 'https://gone.example/h', description: null, events: null, status: 'active', secret: 'whsec_x',
        headers: {}, retrySchedule: null, timeoutMs: null, rateLimit: null, maxInFlight: null, disableAfterFailures: null,
        disableAfterSeconds: null, metadata: {},
      })).id;
      expect(await store.deleteEndpoint(kept.appId, gone)).toBe(true);
      const { request } = await store.ingest(kept, input({ endpointIds: [gone, keptEp] }), Date.now());
      expect(request).toMatchObject({ status: 'accepted', deliveries: { pending: 1 } });
      expect(await drain()).toEqual([request.id]);
    });

    it('records a repeated dedup key as a duplicate until the key expires', async () => {
      const now = Date.now() - 5000; // times in the past, so the deliveries are due when drained
      const first = await store.ingest(source, input({ dedupKey: 'k1', dedupTtlMs: 1000 }), now);
      const again = await store.ingest(source, input({ dedupKey: 'k1', dedupTtlMs: 1000 }), now + 500);
      expect(again).toMatchObject({ request: { status: 'duplicate', forwardState: 'none' }, duplicateOf: first.request.id });
      const later = await store.ingest(source, input({ dedupKey: 'k1', dedupTtlMs: 1000 }), now + 1000);
      expect(later.request.status).toBe('accepted');
      expect(await drain()).toEqual([first.request.id, later.request.id]);
    });

    it('releases a sequenced stream in order, drops stale sequences and waits for gaps', async () => {
      const ordered = await makeSource({ ordering: { key: 'body:$.page', sequence: 'body:$.seq', gapTimeoutSeconds: 5, firstSequence: 1 } });
      const ids = new Map<number, string>();
      const t0 = Date.now() - 20_000; // in the past, so what is released is due when drained
      const send = async (seq: number, key = 'p1') => {
        const r = await store.ingest(ordered, input({ orderingKey: key, sequence: seq, endpointIds: [epId], receivedAt: t0 }), t0);
        if (r.request.status === 'accepted') ids.set(seq, r.request.id);
        return r.request;
      };
      expect((await send(3)).forwardState).toBe('waiting');
      expect((await send(2)).forwardState).toBe('waiting');
      expect(await drain()).toEqual([]);
      expect((await send(1)).forwardState).toBe('pending');
      // One at a time per key: each finished delivery releases the next.
      expect(await drain()).toEqual([ids.get(1), ids.get(2), ids.get(3)]);
      expect(await send(2)).toMatchObject({ status: 'stale', forwardState: 'none' });
      expect(await send(5)).toMatchObject({ status: 'accepted', forwardState: 'waiting' });
      expect(await send(5)).toMatchObject({ status: 'duplicate' });
      // The gap (4) times out: 5 goes, the gap recorded; 4 arriving later is stale.
      expect(await store.releaseGaps(t0 + 4000, 10)).toBe(0);
      expect(await store.releaseGaps(t0 + 6000, 10)).toBe(1);
      expect(await drain()).toEqual([ids.get(5)]);
      expect((await store.getRequest(ordered.id, ids.get(5)!))?.gap).toEqual({ from: 4, to: 4 });
      expect((await send(4)).status).toBe('stale');
      expect((await send(6)).forwardState).toBe('pending');
    });

    it('times a gap from the oldest request still waiting, so a gap opened later gets its full timeout', async () => {
      const ordered = await makeSource({ ordering: { key: 'body:$.page', sequence: 'body:$.seq', gapTimeoutSeconds: 3, firstSequence: 1 } });
      const t0 = Date.now() - 60_000;
      const ids = new Map<number, string>();
      const send = async (seq: number, at: number) => {
        const r = await store.ingest(ordered, input({ orderingKey: 'p', sequence: seq, endpointIds: [epId], receivedAt: at }), at);
        ids.set(seq, r.request.id);
        return r.request;
      };
      await send(3, t0); // waits for 1 and 2 until t0 + 3 s at most
      await send(10, t0 + 2800); // waits for 4–9
      await send(1, t0 + 2900);
      expect((await send(2, t0 + 2900)).forwardState).toBe('pending'); // 1, 2, 3 go; 10 waits on 4–9, since t0 + 2.8 s
      expect(await store.releaseGaps(t0 + 3500, 10)).toBe(0); // 3's deadline no longer applies
      expect((await send(4, t0 + 3500)).status).toBe('accepted');
      expect(await store.releaseGaps(t0 + 5700, 10)).toBe(0);
      expect(await store.releaseGaps(t0 + 5900, 10)).toBe(1); // 10 has waited its 3 s
      expect((await store.getRequest(ordered.id, ids.get(10)!))?.gap).toEqual({ from: 5, to: 9 });
      expect(await drain()).toEqual([1, 2, 3, 4, 10].map((n) => ids.get(n)));
    });

    it('starts a key at its first request when no first sequence is configured', async () => {
      const ordered = await makeSource({ ordering: { key: 'body:$.page', sequence: 'body:$.seq', gapTimeoutSeconds: 5, firstSequence: null } });
      const r = await store.ingest(ordered, input({ orderingKey: 'p', sequence: 40 }), Date.now());
      expect(r.request.forwardState).toBe('pending');
      expect((await store.ingest(ordered, input({ orderingKey: 'p', sequence: 39 }), Date.now())).request.status).toBe('stale');
      expect((await store.ingest(ordered, input({ orderingKey: 'other', sequence: 7 }), Date.now())).request.forwardState).toBe('pending');
    });

    it('lists the request log newest first with status filter, and records rejections', async () => {
      const a = await store.ingest(source, input({ dedupKey: 'x' }), Date.now());
      await store.ingest(source, input({ dedupKey: 'x' }), Date.now());
      await store.recordRejected(source.id, {
        id: newId('req'), receivedAt: Date.now(), loggedHeaders: {}, contentType: null, bodySize: 10, reason: 'invalid_signature', detail: 'no match',
      });
      const all = await store.listRequests(source.id, { limit: 10 });
      expect(all.data.map((r) => r.status)).toEqual(['rejected', 'duplicate', 'accepted']);
      const rejected = await store.listRequests(source.id, { limit: 10, status: 'rejected' });
      expect(rejected.data).toHaveLength(1);
      expect(rejected.data[0]).toMatchObject({ reason: 'invalid_signature', detail: 'no match', bodySize: 10, forwardState: 'none' });
      expect((await store.getRequest(source.id, a.request.id))?.headers).toEqual({ 'x-github-event': 'push', authorization: '[redacted]' });
      const page = await store.listRequests(source.id, { limit: 2 });
      const next = await store.listRequests(source.id, { limit: 2, iterator: page.iterator! });
      expect(next.data.map((r) => r.id)).toEqual([a.request.id]);
    });

    it('replays failed deliveries of one request or of a time range', async () => {
      const a = await store.ingest(source, input(), Date.now());
      const b = await store.ingest(source, input(), Date.now());
      const now = Date.now();
      const claimed = await store.claimDue('w', now, now + 60_000, 10);
      await store.recordOutcomes(claimed.map((d) => ({
        deliveryId: d.id, endpointId: d.endpoint.id, status: 'failed' as const, nextAttemptAt: null,
        attempt: { id: newId('att'), deliveryId: d.id, endpointId: d.endpoint.id, number: 1, startedAt: now, durationMs: 1, statusCode: 500, responseBody: '', error: null },
      })), now, { disableAfterFailures: 100, disableAfterSeconds: 0, failingThreshold: 50, circuitThreshold: 50, circuitBaseMs: 1000, circuitMaxMs: 10_000 });
      expect((await store.getRequest(source.id, a.request.id))?.forwardState).toBe('failed');
      expect(await store.replay(source, { requestId: a.request.id }, Date.now())).toBe(1);
      expect(await drain()).toEqual([a.request.id]);
      expect(await store.replay(source, { since: now - 60_000, until: Date.now() + 1, status: 'failed' }, Date.now())).toBe(1);
      expect(await drain()).toEqual([b.request.id]);
      expect((await store.getRequest(source.id, b.request.id))?.forwardState).toBe('delivered');
    });

    it('keeps an outbox of releases for app destinations, in release order', async () => {
      const withApp = await makeSource({
        destinations: [{ type: 'app', app: 'crm', eventType: 'page.updated' }],
        ordering: { key: 'body:$.page', sequence: 'body:$.seq', gapTimeoutSeconds: 5, firstSequence: 1 },
      });
      const two = await store.ingest(withApp, input({ orderingKey: 'p', sequence: 2, endpointIds: [] }), Date.now());
      expect(await store.pendingAppForwards(10)).toEqual([]);
      const one = await store.ingest(withApp, input({ orderingKey: 'p', sequence: 1, endpointIds: [] }), Date.now());
      const pending = await store.pendingAppForwards(10);
      expect(pending.map((f) => f.requestId)).toEqual([one.request.id, two.request.id]);
      expect(pending[0]).toMatchObject({ sourceId: withApp.id, orderingKey: 'p', contentType: 'application/json' });
      expect(pending[0].body.toString()).toBe('{"a":1}');
      await store.finishAppForwards(pending, { [two.request.id]: 'crm: schema mismatch' });
      expect(await store.pendingAppForwards(10)).toEqual([]);
      expect(await store.getRequest(withApp.id, two.request.id)).toMatchObject({ forwardState: 'failed', appError: 'crm: schema mismatch' });
      expect((await store.getRequest(withApp.id, one.request.id))?.forwardState).toBe('delivered');
    });

    it('keeps, through event retention, the events of requests still waiting or still to publish', async () => {
      const ordered = await makeSource({
        ordering: { key: 'body:$.page', sequence: 'body:$.seq', gapTimeoutSeconds: 5, firstSequence: 1 },
        destinations: [{ type: 'app', app: 'crm', eventType: 'a.b' }],
      });
      const t0 = Date.now() - 60_000;
      const waiting = await store.ingest(ordered, input({ orderingKey: 'p', sequence: 2, id: `${idAtTime('req', t0).slice(0, -1)}2` }), t0);
      const done = await store.ingest(source, input({ id: `${idAtTime('req', t0).slice(0, -1)}3` }), t0);
      await drain();
      expect(await store.prune(Date.now(), 100)).toBe(1); // only the finished request's event
      expect(await store.releaseGaps(t0 + 6000, 10)).toBe(1);
      expect(await drain()).toEqual([waiting.request.id]);
      expect((await store.pendingAppForwards(10)).map((f) => f.requestId)).toEqual([waiting.request.id]);
      expect(done.request.status).toBe('accepted');
    });

    it('counts the gateway processes taking a source\'s requests, forgetting those gone quiet', async () => {
      const other = await makeSource();
      const single = backend.name === 'sqlite';
      const ttl = 1000;
      expect(await store.gatewayPresence('gwy_a', [source.id], Date.now(), ttl)).toEqual(new Map([[source.id, 1]]));
      await new Promise((r) => setTimeout(r, ttl + 200)); // a goes quiet
      expect(await store.gatewayPresence('gwy_b', [source.id, other.id], Date.now(), ttl)).toEqual(new Map([[source.id, 1], [other.id, 1]]));
      expect(await store.gatewayPresence('gwy_c', [source.id], Date.now(), ttl)).toEqual(new Map([[source.id, single ? 1 : 2]]));
      expect(await store.gatewayPresence('gwy_a', [other.id, source.id], Date.now(), ttl))
        .toEqual(new Map([[source.id, single ? 1 : 3], [other.id, single ? 1 : 2]]));
      expect(await store.gatewayPresence('gwy_a', [], Date.now(), ttl)).toEqual(new Map());
    });

    it('forgets expired dedup keys and old request-log rows', async () => {
      const now = Date.now();
      // newId never goes back in time within a process, so the old id is spelled out.
      const oldId = `${idAtTime('req', now - 10_000).slice(0, -1)}1`;
      await store.ingest(source, input({ dedupKey: 'old', dedupTtlMs: 10, receivedAt: now - 10_000, id: oldId }), now - 10_000);
      await store.ingest(source, input({ dedupKey: 'new', dedupTtlMs: 60_000 }), now);
      expect(await store.pruneInbound(now, now - 5000, 100)).toBe(2); // the expired key and the old row
      expect((await store.listRequests(source.id, { limit: 10 })).data).toHaveLength(1);
      expect((await store.ingest(source, input({ dedupKey: 'new' }), now)).request.status).toBe('duplicate');
    });
  });
}
