import { describe, expect, it } from 'vitest';
import { eventually, type TestHerald } from '../helpers/herald.js';
import { fixtures } from '../helpers/fixtures.js';
import { heraldTargets } from '../helpers/postgres.js';
import type { Receiver } from '../helpers/receiver.js';
import { createSource, post, requestLog } from './helpers.js';
import { Provider, type Change } from './provider.js';

/**
 * Reconciliation by polling, end to end: a provider on loopback with a changes API that sends
 * webhooks for only some of its changes (some twice, some late), Herald polling it, and a
 * receiver counting what reaches the app.
 */
const f = fixtures();
const targets = heraldTargets(f.cleanup);

async function provider(): Promise<Provider> {
  const p = await new Provider().start();
  f.cleanup(() => p.stop());
  return p;
}

/** The change ids the receiver got, in arrival order. */
const forwarded = (r: Receiver): string[] => r.requests.map((q) => JSON.parse(q.body).id);
/** What the provider's webhook for a change looks like: the same object its changes API lists. */
const webhook = (ingestUrl: string, c: Change) => post(ingestUrl, JSON.stringify(c));

/** A page-update source: dedup on the change id, forwarded per page in version order. */
const pageSource = (p: Provider, receiver: Receiver, poll: Record<string, unknown> = {}) => ({
  name: 'pages', verification: { scheme: 'none' }, dedup: { key: 'body:$.id' },
  ordering: { key: 'body:$.page.id', sequence: 'body:$.page.version', firstSequence: 1, gapTimeoutSeconds: 600 },
  destinations: [{ url: `${receiver.url}/hook`, retrySchedule: [0.1, 0.1, 0.1] }],
  poll: {
    url: `${p.url}/changes`, intervalSeconds: 3600, headers: { authorization: 'Bearer provider-token' },
    items: '$.results', key: '$.id', cursor: { param: 'after', from: '$.next' }, maxPages: 10, ...poll,
  },
});

const pollNow = (t: TestHerald, id: string, body: unknown = {}) => t.api('POST', `/v1/sources/${id}/poll`, body);

for (const target of targets) {
  const herald = (env: Record<string, string> = {}) => f.herald({ ...env, ...target.env() });

  describe(`inbound polling on ${target.name}`, () => {
    it('forwards every change exactly once, in version order per page, although webhooks missed some, came twice or came late', async () => {
      const t = await herald();
      const p = await provider();
      const receiver = await f.receiver();
      const changes = ['a', 'a', 'b', 'a', 'b', 'a', 'b'].map((page) => p.change(page));
      const [a1, a2, b1, a3, b2, a4, b3] = changes;
      // The source polls once at creation (it has never polled): hold that back until the webhooks are in.
      p.fail = () => ({ status: 503 });
      const source = await createSource(t, pageSource(p, receiver));
      await eventually(async () => (await t.api('GET', `/v1/sources/${source.id}`)).body.lastPollResult);
      p.fail = () => null;

      expect((await webhook(source.ingestUrl, a1)).status).toBe(202);
      expect((await webhook(source.ingestUrl, a1)).body).toMatchObject({ status: 'duplicate' });
      expect((await webhook(source.ingestUrl, a3)).body).toMatchObject({ status: 'accepted', forwarding: 'waiting' });
      expect((await webhook(source.ingestUrl, b1)).status).toBe(202);
      await receiver.waitFor(2);

      const run = await pollNow(t, source.id);
      expect(run.status).toBe(200);
      // 7 changes over 4 pages of 2, and a last empty page that confirms the cursor.
      expect(run.body).toMatchObject({ fetched: 7, new: 4, duplicates: 3, stale: 0, skipped: 0, pages: 5, cursor: '7', error: null, failures: 0 });
      // The late webhook of a change the poll found is a duplicate.
      expect((await webhook(source.ingestUrl, b3)).body).toMatchObject({ status: 'duplicate' });

      await receiver.waitFor(7);
      await new Promise((r) => setTimeout(r, 300)); // anything forwarded twice would arrive meanwhile
      const got = forwarded(receiver);
      expect([...got].sort()).toEqual(changes.map((c) => c.id).sort());
      expect(got.filter((id) => id.startsWith('a@'))).toEqual([a1, a2, a3, a4].map((c) => c.id));
      expect(got.filter((id) => id.startsWith('b@'))).toEqual([b1, b2, b3].map((c) => c.id));
      // The provider's token went with every poll.
      expect(p.requests.every((r) => r.headers.authorization === 'Bearer provider-token')).toBe(true);

      const polled = await t.api('GET', `/v1/sources/${source.id}/requests?via=poll`);
      expect(polled.body.data.map((r: any) => r.via)).toEqual(['poll', 'poll', 'poll', 'poll']);
      expect(polled.body.data.map((r: any) => r.dedupKey).sort()).toEqual([a2, a4, b2, b3].map((c) => c.id).sort());
      const viaWebhook = await t.api('GET', `/v1/sources/${source.id}/requests?via=webhook`);
      expect(viaWebhook.body.data.map((r: any) => r.dedupKey).sort()).toEqual([a1.id, a1.id, a3.id, b1.id, b3.id].sort());
      const log = await requestLog(t, source.id);
      expect(log.filter((r) => r.status === 'accepted')).toHaveLength(7);

      const shown = (await t.api('GET', `/v1/sources/${source.id}`)).body;
      expect(shown.poll).toMatchObject({ url: `${p.url}/changes`, headerNames: ['authorization'], items: '$.results' });
      expect(JSON.stringify(shown)).not.toContain('provider-token');
      expect(shown.lastPollResult).toMatchObject({ new: 4, duplicates: 3, cursor: '7' });
      expect(Date.parse(shown.nextPollAt) - Date.parse(shown.lastPollResult.finishedAt)).toBe(3600_000);

      // The next run starts from the stored cursor and finds only what is new.
      const a5 = p.change('a');
      const before = p.requests.length;
      expect((await pollNow(t, source.id)).body).toMatchObject({ fetched: 1, new: 1, duplicates: 0, cursor: '8' });
      expect(p.requests[before].url.searchParams.get('after')).toBe('7');
      await receiver.waitFor(8);
      expect(forwarded(receiver).at(-1)).toBe(a5.id);
      // A full sync from the start reads everything again and forwards nothing twice.
      expect((await pollNow(t, source.id, { cursor: null })).body).toMatchObject({ fetched: 8, new: 0, duplicates: 8, cursor: '8' });
      await new Promise((r) => setTimeout(r, 300));
      expect(receiver.requests).toHaveLength(8);
    });

    it('takes the cursor from the largest item field, over several pages, and asks only for what is newer next time', async () => {
      const t = await herald();
      const p = await provider();
      const receiver = await f.receiver();
      p.pageSize = 3;
      for (let i = 1; i <= 7; i++) p.change(`p${i % 3}`, 1_000 + i * 10);
      const source = await createSource(t, {
        ...pageSource(p, receiver, { url: `${p.url}/pages`, items: '$.data', cursor: { param: 'updated_after', fromItems: '$.updatedAt' } }),
        ordering: null,
      });
      // Created with no state: the worker polls it at once.
      await receiver.waitFor(7);
      const state = await eventually(async () => (await t.api('GET', `/v1/sources/${source.id}`)).body.lastPollResult);
      expect(state).toMatchObject({ fetched: 7, new: 7, pages: 4, cursor: '1070' });
      expect(p.requests.map((r) => r.url.searchParams.get('updated_after'))).toEqual([null, '1030', '1060', '1070']);

      p.change('p9', 2_000);
      expect((await pollNow(t, source.id)).body).toMatchObject({ fetched: 1, new: 1, cursor: '2000' });
      expect(p.requests.at(-2)!.url.searchParams.get('updated_after')).toBe('1070');
      await receiver.waitFor(8);
      expect(new Set(forwarded(receiver)).size).toBe(8);
    });

    it('backs off after a provider 500, honours a 429 Retry-After, and resumes from the last committed page', async () => {
      const t = await herald();
      const p = await provider();
      const receiver = await f.receiver();
      for (let i = 0; i < 6; i++) p.change('a');
      p.fail = () => ({ status: 500 });
      const source = await createSource(t, pageSource(p, receiver, { intervalSeconds: 100 }));
      await eventually(async () => (await t.api('GET', `/v1/sources/${source.id}`)).body.lastPollResult);
      const failed = (await t.api('GET', `/v1/sources/${source.id}`)).body;
      expect(failed.lastPollResult).toMatchObject({ error: { code: 'http_error', status: 500 }, failures: 1, pages: 0, cursor: null });
      // Backed off: twice the interval after the failed run.
      expect(Date.parse(failed.nextPollAt) - Date.parse(failed.lastPollResult.finishedAt)).toBe(200_000);

      const again = await pollNow(t, source.id);
      expect(again.body).toMatchObject({ error: { code: 'http_error' }, failures: 2 });
      expect(Date.parse((await t.api('GET', `/v1/sources/${source.id}`)).body.nextPollAt) - Date.parse(again.body.finishedAt)).toBe(400_000);

      // Page 2 is rate limited: page 1 stays committed with its cursor, the next run waits for Retry-After.
      p.fail = (r) => (r.url.searchParams.get('after') === '2' ? { status: 429, headers: { 'retry-after': '1200' } } : null);
      const limited = await pollNow(t, source.id);
      expect(limited.body).toMatchObject({ fetched: 2, new: 2, pages: 1, cursor: '2', error: { code: 'rate_limited', status: 429 }, retryAfterSeconds: 1200, failures: 3 });
      const shown = (await t.api('GET', `/v1/sources/${source.id}`)).body;
      expect(Date.parse(shown.nextPollAt) - Date.parse(limited.body.finishedAt)).toBe(1200_000);

      p.fail = () => null;
      const before = p.requests.length;
      expect((await pollNow(t, source.id)).body).toMatchObject({ fetched: 4, new: 4, error: null, failures: 0, cursor: '6' });
      expect(p.requests[before].url.searchParams.get('after')).toBe('2');
      await receiver.waitFor(6);
      await new Promise((r) => setTimeout(r, 300));
      expect(forwarded(receiver)).toEqual(p.changes.map((c) => c.id));
    });

    it('sends a polled item to the destinations its filter picks, and the webhook it releases to its own', async () => {
      const t = await herald();
      const p = await provider();
      const odd = await f.receiver();
      const even = await f.receiver();
      const [a1, a2] = [p.change('a'), p.change('a')];
      p.fail = () => ({ status: 503 }); // the poll at creation finds nothing
      const source = await createSource(t, {
        ...pageSource(p, odd),
        destinations: [
          { url: `${odd.url}/hook`, filter: { 'body.page.version': { $in: [1, 3] } } },
          { url: `${even.url}/hook`, filter: { 'body.page.version': { $in: [2, 4] } } },
        ],
      });
      await eventually(async () => (await t.api('GET', `/v1/sources/${source.id}`)).body.lastPollResult);
      p.fail = () => null;
      // The webhook of version 2 came, not that of 1: it waits; the poll brings 1, which releases 2.
      expect((await webhook(source.ingestUrl, a2)).body).toMatchObject({ status: 'accepted', forwarding: 'waiting' });
      expect((await pollNow(t, source.id)).body).toMatchObject({ new: 1, duplicates: 1 });
      await odd.waitFor(1);
      await even.waitFor(1);
      await new Promise((r) => setTimeout(r, 200));
      expect(forwarded(odd)).toEqual([a1.id]);
      expect(forwarded(even)).toEqual([a2.id]);
    });

    it('refuses a run while another is under way, and a response that is not what the configuration says', async () => {
      const t = await herald();
      const p = await provider();
      const receiver = await f.receiver();
      p.change('a');
      const source = await createSource(t, pageSource(p, receiver, { timeoutMs: 500 }));
      await eventually(async () => (await t.api('GET', `/v1/sources/${source.id}`)).body.lastPollResult);
      p.fail = () => 'hang';
      const before = p.requests.length;
      const slow = pollNow(t, source.id);
      await eventually(async () => p.requests.length > before);
      const busy = await pollNow(t, source.id);
      expect(busy).toMatchObject({ status: 409, body: { error: { code: 'conflict' } } });
      expect((await slow).body).toMatchObject({ error: { code: 'timeout' } });

      p.fail = () => ({ status: 200, body: '{"results": {"not": "an array"}}' });
      expect((await pollNow(t, source.id)).body).toMatchObject({ error: { code: 'invalid_response', message: expect.stringContaining('$.results') } });
      p.fail = () => ({ status: 200, body: 'not json' });
      expect((await pollNow(t, source.id)).body).toMatchObject({ error: { code: 'invalid_json' } });
      p.fail = () => ({ status: 200, body: JSON.stringify({ results: [{ noId: 1 }, { id: 'x', page: { id: 'z', version: 1 } }], next: '1' }) });
      expect((await pollNow(t, source.id)).body).toMatchObject({ fetched: 2, new: 1, skipped: 1 });
    });

    it.runIf(target.name === 'postgres')('with two processes on one database, polls a source from one at a time and forwards each change once', async () => {
      const env = target.env();
      const [t1, t2] = [await f.herald(env), await f.herald(env)];
      const p = await provider();
      const receiver = await f.receiver();
      p.delayMs = 150; // each page takes a while: two pollers at once would overlap
      for (let i = 0; i < 10; i++) p.change(`p${i % 4}`);
      const source = await createSource(t1, pageSource(p, receiver, { intervalSeconds: 1 }));
      // Both workers look for due polls every second, and both APIs are asked to poll.
      const runs: unknown[] = [];
      const both = async () => {
        for (const r of await Promise.all([pollNow(t1, source.id), pollNow(t2, source.id)])) runs.push({ status: r.status, body: r.body });
      };
      await both();
      const deadline = Date.now() + 4000;
      while (Date.now() < deadline) await Promise.all([both(), new Promise((r) => setTimeout(r, 200))]);
      expect(p.requests.length).toBeGreaterThan(10);
      expect(p.maxInFlight).toBe(1);
      // Should nothing arrive, say what the runs and the request log said (a flake in CI once).
      await receiver.waitFor(10).catch(async (err: Error) => {
        const state = (await t1.api('GET', `/v1/sources/${source.id}`)).body;
        const log = (await requestLog(t1, source.id)).map((r) => [r.status, r.forwarding, r.orderingKey, r.sequence]);
        throw new Error(`${err.message}; lastPollResult ${JSON.stringify(state.lastPollResult)}; runs ${JSON.stringify(runs.slice(0, 6))}; log ${JSON.stringify(log)}`);
      });
      await new Promise((r) => setTimeout(r, 300));
      expect([...forwarded(receiver)].sort()).toEqual(p.changes.map((c) => c.id).sort());
      expect((await requestLog(t2, source.id, 'accepted'))).toHaveLength(10);
    });
  });
}
