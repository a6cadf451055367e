import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../../src/ids.js';
import type { InboundInput, Source } from '../../src/store/inbound.js';
import type { PollResult } from '../../src/store/poll.js';
import type { Store } from '../../src/store/types.js';
import { backends } from './backends.js';

/** The polling half of the Store contract (leases, pages committed with their cursor), on every backend. */
const poll = { url: 'https://p.example/changes', intervalSeconds: 60, headers: { authorization: 'Bearer t' }, items: '$.results', key: '$.id', cursor: { param: 'after', from: '$.next' }, maxPages: 5, timeoutMs: 1000 };
const result = (over: Partial<PollResult> = {}): PollResult => ({
  fetched: 0, new: 0, duplicates: 0, stale: 0, skipped: 0, pages: 0, cursor: null, startedAt: 1, finishedAt: 2, error: null, failures: 0, ...over,
});

for (const backend of backends) {
  describe(`Poll store: ${backend.name}`, () => {
    let store: Store;
    let drop: () => Promise<void>;
    let source: Source;
    let epId: string;

    const input = (key: string, over: Partial<InboundInput> = {}): InboundInput => ({
      id: newId('req'), receivedAt: Date.now(), loggedHeaders: {}, forwardHeaders: { 'content-type': 'application/json' }, contentType: 'application/json',
      body: Buffer.from(JSON.stringify({ id: key })), dedupKey: key, dedupTtlMs: 60_000, orderingKey: null, sequence: null, endpointIds: [epId], routes: null,
      ...over,
    });

    beforeEach(async () => {
      ({ store, drop } = await backend.open());
      const s = await store.createSource({
        id: newId('src'), appId: newId('app'), name: 'p', verification: { scheme: 'none', secrets: [] }, dedup: { key: 'body:$.id', ttlSeconds: 600 },
        ordering: null, destinations: [], forwardHeaders: null, rateLimit: null, response: null, poll,
      });
      epId = (await store.createEndpoint({
        appId: s.appId, url: 'https://dest.example/h', description: null, events: null, status: 'active', secret: 'whsec_x',
        headers: {}, retrySchedule: null, timeoutMs: null, rateLimit: null, maxInFlight: null, disableAfterFailures: null,
        disableAfterSeconds: null, metadata: {},
      })).id;
      source = (await store.updateSource(s.id, { destinations: [{ type: 'http', endpointId: epId }] }, Date.now()))!;
    });
    afterEach(async () => {
      await store.close();
      await drop();
    });

    it('keeps the poll configuration with its headers, and lets one owner at a time hold the lease', async () => {
      expect((await store.getSource(source.id))!.poll).toEqual(poll);
      const now = Date.now();
      expect(await store.duePolls(now, 10)).toEqual([source.id]);
      const [a, b] = await Promise.all([store.claimPoll(source.id, 'pol_a', 60_000, now, true), store.claimPoll(source.id, 'pol_b', 60_000, now, true)]);
      expect([a, b].filter((s) => s !== null)).toHaveLength(1);
      const [holder, other] = a ? ['pol_a', 'pol_b'] : ['pol_b', 'pol_a'];
      expect(await store.duePolls(now, 10)).toEqual([]);
      expect(await store.claimPoll(source.id, other, 60_000, now, false)).toBeNull();
      // Only the holder writes or finishes.
      expect(await store.commitPollPage(source, other, { inputs: [input('k1')], cursor: '1' }, 60_000, now)).toBeNull();
      expect(await store.finishPoll(source.id, other, result(), now + 60_000)).toBe(false);
      expect((await store.listRequests(source.id, { limit: 10 })).data).toEqual([]);
      expect(await store.finishPoll(source.id, holder, result({ cursor: null, failures: 2 }), now + 60_000)).toBe(true);
      expect(await store.getPollState(source.id)).toMatchObject({ nextPollAt: now + 60_000, lastPollAt: 1, failures: 2, lastResult: { failures: 2 } });
      expect(await store.duePolls(now, 10)).toEqual([]);
      expect(await store.claimPoll(source.id, other, 60_000, now, true)).toBeNull(); // not due
      expect(await store.claimPoll(source.id, other, 60_000, now, false)).not.toBeNull(); // on demand
      // An expired lease can be taken over.
      expect(await store.claimPoll(source.id, 'pol_c', 60_000, now, false)).toBeNull();
      await new Promise((r) => setTimeout(r, 30));
      const late = await store.claimPoll(source.id, 'pol_d', 1, Date.now() + 120_000, false);
      if (backend.name === 'sqlite') expect(late).not.toBeNull(); // timed by the caller's clock; PostgreSQL times leases by its own
    });

    it('commits a page with its cursor, counts live keys as seen without logging them, and writes nothing of a page that fails', async () => {
      const now = Date.now();
      await store.ingest(source, input('k1'), now); // a webhook got there first
      expect(await store.claimPoll(source.id, 'pol_a', 60_000, now, true)).not.toBeNull();
      const out = await store.commitPollPage(source, 'pol_a', { inputs: [input('k1'), input('k2'), input('k2'), input('k3')], cursor: '4' }, 60_000, now);
      expect(out!.map((o) => (o === 'seen' ? o : o.request.status))).toEqual(['seen', 'accepted', 'seen', 'accepted']);
      expect(out!.every((o) => o === 'seen' || o.request.via === 'poll')).toBe(true);
      expect((await store.getPollState(source.id))!.cursor).toBe('4');
      const polled = await store.listRequests(source.id, { limit: 10, via: 'poll' });
      expect(polled.data.map((r) => [r.dedupKey, r.via]).sort()).toEqual([['k2', 'poll'], ['k3', 'poll']]);
      expect((await store.listRequests(source.id, { limit: 10, via: 'webhook' })).data.map((r) => r.dedupKey)).toEqual(['k1']);

      // The second input reuses a request id: the page fails as a whole, cursor included.
      const clash = input('k5', { id: polled.data[0].id });
      await expect(store.commitPollPage(source, 'pol_a', { inputs: [input('k4'), clash], cursor: '6' }, 60_000, now)).rejects.toThrow();
      expect((await store.getPollState(source.id))!.cursor).toBe('4');
      expect((await store.listRequests(source.id, { limit: 10 })).data.map((r) => r.dedupKey).sort()).toEqual(['k1', 'k2', 'k3']);
      // Its keys were not taken either: read again, the page goes through.
      const again = await store.commitPollPage(source, 'pol_a', { inputs: [input('k4'), input('k5')], cursor: '6' }, 60_000, now);
      expect(again!.map((o) => (o === 'seen' ? o : o.request.status))).toEqual(['accepted', 'accepted']);
      const claimed = await store.claimDue('w', now, now + 60_000, 50);
      expect(claimed.map((d) => JSON.parse(Buffer.from(d.body as Buffer).toString()).id).sort()).toEqual(['k1', 'k2', 'k3', 'k4', 'k5']);
    });
  });
}
