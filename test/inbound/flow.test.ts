import { createHmac } from 'node:crypto';
import { sign as octokitSign } from '@octokit/webhooks-methods';
import { describe, expect, it } from 'vitest';
import { eventually } from '../helpers/herald.js';
import { fixtures } from '../helpers/fixtures.js';
import { dropSchema, heraldTargets, pgUrl, testSchema } from '../helpers/postgres.js';
import { createSource, post, requestLog } from './helpers.js';

/**
 * Seed 004's failure modes, end to end through a real server and real receivers: duplicates,
 * bursts, a destination that is down for a while, shuffled arrivals, a sequence that never
 * comes, and replaying what failed.
 */
const f = fixtures();
const SECRET = 'gh-secret';
const github = async (body: string, delivery: string) => ({
  'x-hub-signature-256': await octokitSign(SECRET, body), 'x-github-event': 'push', 'x-github-delivery': delivery,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const targets = heraldTargets(f.cleanup);


for (const target of targets) {
  const herald = (env: Record<string, string> = {}) => f.herald({ ...env, ...target.env() });

  describe(`inbound gateway on ${target.name}: duplicates, bursts and outages`, () => {
    it('deduplicates on a header within the TTL and accepts the key again after it', async () => {
      const t = await herald();
      const dest = await f.receiver();
      // A scheme that signs a timestamp (here: none at all) keeps the configured key; for one
      // that doesn't, see the next test.
      const source = await createSource(t, {
        name: 'gh', verification: { scheme: 'none' }, dedup: { key: 'header:x-github-delivery', ttlSeconds: 1 },
        destinations: [{ url: `${dest.url}/hook` }],
      });
      const body = '{"ref":"main"}';
      const first = await post(source.ingestUrl, body, await github(body, 'delivery-1'));
      expect(first.status).toBe(202);
      const again = await post(source.ingestUrl, body, await github(body, 'delivery-1'));
      expect(again).toMatchObject({ status: 200, body: { status: 'duplicate', duplicateOf: first.body.id, forwarding: 'none' } });
      const other = await post(source.ingestUrl, body, await github(body, 'delivery-2'));
      expect(other.status).toBe(202);
      await dest.waitFor(2);
      await sleep(1100);
      const afterTtl = await post(source.ingestUrl, body, await github(body, 'delivery-1'));
      expect(afterTtl.status).toBe(202);
      await dest.waitFor(3);
      await sleep(150);
      expect(dest.requests.map((r) => r.headers['x-github-delivery'])).toEqual(['delivery-1', 'delivery-2', 'delivery-1']);
      const dup = await requestLog(t, source.id, 'duplicate');
      expect(dup).toHaveLength(1);
      expect(dup[0]).toMatchObject({ id: again.body.id, dedupKey: 'delivery-1', detail: expect.stringContaining(first.body.id) });
    });

    it('drops a replayed GitHub request (no signed timestamp) whatever delivery id it carries, by default and with a header key', async () => {
      const t = await herald();
      const dest = await f.receiver();
      for (const dedup of [undefined, { key: 'header:x-github-delivery' }, { key: 'id' }]) {
        const source = await createSource(t, {
          name: 'gh', verification: { scheme: 'github', secrets: [SECRET] }, ...(dedup ? { dedup } : {}),
          destinations: [{ url: `${dest.url}/replay` }],
        });
        const body = `{"ref":"main","n":${JSON.stringify(dedup ?? null)}}`;
        const first = await post(source.ingestUrl, body, await github(body, 'delivery-1'));
        expect(first.status).toBe(202);
        // The captured request again, with or without a fresh (unsigned) delivery id.
        for (const delivery of ['delivery-1', 'delivery-2', 'forged-3']) {
          const replay = await post(source.ingestUrl, body, await github(body, delivery));
          expect(replay, JSON.stringify({ dedup, delivery })).toMatchObject({ status: 200, body: { status: 'duplicate', duplicateOf: first.body.id } });
        }
        // Another event is another body: accepted.
        const next = `{"ref":"dev","n":${JSON.stringify(dedup ?? null)}}`;
        expect((await post(source.ingestUrl, next, await github(next, 'delivery-2'))).status).toBe(202);
      }
      await dest.waitFor(6);
      await sleep(150);
      expect(dest.requests.filter((r) => r.path === '/replay')).toHaveLength(6);
    });

    it('deduplicates on a body path and on the hash of the raw body', async () => {
      const t = await herald();
      const dest = await f.receiver();
      const byPath = await createSource(t, { name: 'p', verification: { scheme: 'none' }, dedup: { key: 'body:$.event_id' }, destinations: [{ url: `${dest.url}/a` }] });
      const byHash = await createSource(t, { name: 'h', verification: { scheme: 'none' }, dedup: { key: 'hash' }, destinations: [{ url: `${dest.url}/b` }] });
      expect(byPath.dedup).toEqual({ key: 'body:$.event_id', ttlSeconds: 172_800 });
      const statuses = [];
      for (const body of ['{"event_id":"e1","n":1}', '{"event_id":"e1","n":2}', '{"event_id":"e2","n":1}']) {
        statuses.push((await post(byPath.ingestUrl, body)).body.status, (await post(byHash.ingestUrl, body)).body.status);
      }
      statuses.push((await post(byHash.ingestUrl, '{"event_id":"e1","n":1}')).body.status);
      expect(statuses).toEqual(['accepted', 'accepted', 'duplicate', 'accepted', 'accepted', 'accepted', 'duplicate']);
      await dest.waitFor(5);
      // Any JSON string is a key, a NUL in it or 10 kB of it (kept as its hash).
      for (const key of ['e\\u0000x', 'k'.repeat(10_000)]) {
        const body = `{"event_id":"${key}"}`;
        expect([(await post(byPath.ingestUrl, body)).body.status, (await post(byPath.ingestUrl, body)).body.status]).toEqual(['accepted', 'duplicate']);
      }
    });

    it('answers 429 with Retry-After above the source rate limit, and forwards what it accepted', async () => {
      const t = await herald();
      const dest = await f.receiver();
      const source = await createSource(t, { name: 'rl', verification: { scheme: 'none' }, rateLimit: 5, destinations: [{ url: `${dest.url}/hook` }] });
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => post(source.ingestUrl, JSON.stringify({ i }))));
      const accepted = results.filter((r) => r.status === 202);
      const limited = results.filter((r) => r.status === 429);
      expect(accepted.length).toBeGreaterThanOrEqual(5);
      const metrics = await (await fetch(`${t.url}/metrics`)).text();
      expect(metrics).toMatch(new RegExp(`herald_inbound_ack_seconds_count ${accepted.length}\\b`));
      expect(metrics).toMatch(new RegExp(`herald_inbound_requests_total\\{status="rate_limited"\\} ${30 - accepted.length}\\b`));
      expect(accepted.length).toBeLessThanOrEqual(7);
      expect(limited.length).toBe(30 - accepted.length);
      expect(limited[0].body.error.code).toBe('rate_limited');
      expect(Number(limited[0].headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      await dest.waitFor(accepted.length);
      await sleep(1100);
      expect((await post(source.ingestUrl, '{}')).status).toBe(202);
    });

    it('keeps retrying while the destination is down and forwards everything when it is back', async () => {
      const t = await herald({ HERALD_CIRCUIT_BASE_MS: '200', HERALD_CIRCUIT_MAX_MS: '400' });
      const dest = await f.receiver();
      let up = false;
      dest.respond = () => (up ? { status: 200 } : { status: 503, body: 'down for maintenance' });
      const source = await createSource(t, {
        name: 'outage', verification: { scheme: 'none' }, destinations: [{ url: `${dest.url}/hook`, retrySchedule: [0.2, 0.2, 0.3, 0.5, 1, 1, 1, 1] }],
      });
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) ids.push((await post(source.ingestUrl, JSON.stringify({ i }))).body.id);
      await eventually(async () => dest.requests.length >= 10);
      up = true;
      const delivered = await eventually(async () => {
        const log = await requestLog(t, source.id, 'accepted');
        return log.every((r) => r.forwarding === 'delivered') ? log : null;
      }, 20_000);
      expect(delivered).toHaveLength(20);
      const ok = new Set(dest.requests.filter((_, i) => i >= 0).map((r) => JSON.parse(r.body).i));
      expect(ok.size).toBe(20);
      // The retries are visible: a request's detail lists the failed attempts before the success.
      const detail = await t.api('GET', `/v1/sources/${source.id}/requests/${ids[0]}`);
      const attempts = detail.body.deliveryLog[0].attempts;
      expect(attempts.length).toBeGreaterThan(1);
      expect(attempts[0]).toMatchObject({ statusCode: 503, responseBody: 'down for maintenance' });
      expect(attempts.at(-1).statusCode).toBe(200);
    });

    it('holds what arrives while a destination is disabled and forwards it once re-enabled', async () => {
      const t = await herald();
      const dest = await f.receiver();
      const source = await createSource(t, { name: 'x', verification: { scheme: 'none' }, destinations: [{ url: `${dest.url}/h` }] });
      const ep = `/v1/apps/${source.appId}/endpoints/${source.destinations[0].id}`;
      expect((await t.api('PATCH', ep, { status: 'disabled' })).status).toBe(200);
      await sleep(1100); // the gateway's view of the source is at most a second old
      const sent = [];
      for (let i = 0; i < 3; i++) sent.push(await post(source.ingestUrl, JSON.stringify({ i })));
      expect(sent.map((r) => [r.status, r.body.forwarding])).toEqual([[202, 'pending'], [202, 'pending'], [202, 'pending']]);
      await sleep(300);
      expect(dest.requests).toHaveLength(0);
      expect((await t.api('PATCH', ep, { status: 'active' })).status).toBe(200);
      await dest.waitFor(3);
      expect(dest.requests.map((r) => JSON.parse(r.body).i).sort()).toEqual([0, 1, 2]);
    });

    it('replays failed requests, one or a time range', async () => {
      const t = await herald();
      const dest = await f.receiver();
      let fail = true;
      dest.respond = () => ({ status: fail ? 500 : 200 });
      const since = new Date().toISOString();
      const source = await createSource(t, { name: 'dlq', verification: { scheme: 'none' }, destinations: [{ url: `${dest.url}/hook`, retrySchedule: [] }] });
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await post(source.ingestUrl, JSON.stringify({ i }))).body.id);
      await eventually(async () => (await requestLog(t, source.id)).every((r) => r.forwarding === 'failed'));
      // The dead-letter queue: the source app's failed deliveries, one per request.
      const dlq = await t.api('GET', `/v1/apps/${source.appId}/deliveries?status=failed`);
      expect(dlq.body.data.map((d: { eventId: string }) => d.eventId).sort()).toEqual([...ids].sort());
      fail = false;
      const one = await t.api('POST', `/v1/sources/${source.id}/requests/${ids[0]}/replay`);
      expect(one).toMatchObject({ status: 202, body: { replayed: 1 } });
      await eventually(async () => (await t.api('GET', `/v1/sources/${source.id}/requests/${ids[0]}`)).body.forwarding === 'delivered');
      const rest = await t.api('POST', `/v1/sources/${source.id}/replay`, { since });
      expect(rest).toMatchObject({ status: 202, body: { replayed: 4 } });
      await eventually(async () => (await requestLog(t, source.id)).every((r) => r.forwarding === 'delivered'));
      expect(dest.requests.filter((r) => r.headers['x-webhook-attempt'] === '2')).toHaveLength(5);
      expect((await t.api('POST', `/v1/sources/${source.id}/replay`, { since })).body.replayed).toBe(0);
    });

    it('publishes into an app destination, typed from a header, fanned out to the app\'s endpoints', async () => {
      const t = await herald();
      const dest = await f.receiver();
      const app = (await t.api('POST', '/v1/apps', { name: 'crm', uid: 'crm' })).body;
      const ep = (await t.api('POST', `/v1/apps/${app.id}/endpoints`, { url: `${dest.url}/crm`, events: ['push'] })).body;
      const source = await createSource(t, {
        name: 'gh', verification: { scheme: 'github', secrets: [SECRET] },
        destinations: [{ app: 'crm', eventType: 'header:x-github-event' }],
      });
      const body = '{"ref":"main","commits":2}';
      const res = await post(source.ingestUrl, body, await github(body, 'd-9'));
      expect(res.status).toBe(202);
      const [got] = await dest.waitFor(1);
      expect(JSON.parse(got.body)).toMatchObject({ id: res.body.id, type: 'push', data: { ref: 'main', commits: 2 } });
      expect(got.headers['webhook-id']).toBe(res.body.id);
      expect(ep.events).toEqual(['push']);
      const log = await eventually(async () => {
        const [r] = await requestLog(t, source.id);
        return r.forwarding === 'delivered' ? r : null;
      });
      expect(log.appError).toBeNull();
      expect((await t.api('GET', '/v1/apps')).body.data.map((a: { name: string }) => a.name)).toEqual(['crm']);
    });
  });

  describe(`inbound gateway on ${target.name}: ordering`, () => {
    const ordering = { key: 'body:$.page_id', sequence: 'body:$.sequence', gapTimeoutSeconds: 1.5, firstSequence: 1 };

    it('forwards a shuffled sequenced stream in order per key, one at a time', async () => {
      const t = await herald();
      const dest = await f.receiver();
      dest.respond = () => ({ status: 200 });
      const source = await createSource(t, { name: 'confluence', verification: { scheme: 'none' }, ordering: { ...ordering, gapTimeoutSeconds: 30 }, destinations: [{ url: `${dest.url}/hook` }] });
      const sends: Array<[number, number]> = [];
      for (const page of [1, 2]) for (let s = 1; s <= 15; s++) sends.push([page, s]);
      // A fixed shuffle (seeded), sent several at a time like a provider's parallel retries.
      let seed = 42;
      const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      for (let i = sends.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [sends[i], sends[j]] = [sends[j], sends[i]];
      }
      expect(sends.slice(0, 5).map(([, s]) => s)).not.toEqual([1, 2, 3, 4, 5]);
      for (let i = 0; i < sends.length; i += 3) {
        const batch = sends.slice(i, i + 3);
        const res = await Promise.all(batch.map(([page_id, sequence]) => post(source.ingestUrl, JSON.stringify({ page_id, sequence }))));
        for (const r of res) expect(r.status).toBe(202);
      }
      await dest.waitFor(30);
      for (const page of [1, 2]) {
        const order = dest.requests.map((r) => JSON.parse(r.body)).filter((b) => b.page_id === page).map((b) => b.sequence);
        expect(order).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
      }
      // A late repeat of an old sequence is recorded as stale, answered 200 and not forwarded.
      const stale = await post(source.ingestUrl, JSON.stringify({ page_id: 1, sequence: 4 }));
      expect(stale).toMatchObject({ status: 200, body: { status: 'stale' } });
      await sleep(150);
      expect(dest.requests).toHaveLength(30);
      expect((await requestLog(t, source.id, 'stale'))[0]).toMatchObject({ orderingKey: '1', sequence: 4, forwarding: 'none' });
    });

    it('releases past a permanent gap after the timeout, recording the gap', async () => {
      const t = await herald();
      const dest = await f.receiver();
      const source = await createSource(t, { name: 'gappy', verification: { scheme: 'none' }, ordering, destinations: [{ url: `${dest.url}/hook` }] });
      const send = (sequence: number) => post(source.ingestUrl, JSON.stringify({ page_id: 9, sequence }));
      for (const s of [1, 2, 4, 5]) expect((await send(s)).status).toBe(202);
      const fourAt = Date.now();
      await dest.waitFor(2);
      await sleep(500);
      expect(dest.requests).toHaveLength(2); // 4 and 5 wait for 3
      const waiting = await requestLog(t, source.id, 'accepted');
      expect(waiting.filter((r) => r.forwarding === 'waiting').map((r) => r.sequence).sort()).toEqual([4, 5]);
      await dest.waitFor(4, 5000);
      const waited = dest.requests[2].at - fourAt;
      expect(waited).toBeGreaterThanOrEqual(1400);
      expect(waited).toBeLessThan(3000);
      expect(dest.requests.map((r) => JSON.parse(r.body).sequence)).toEqual([1, 2, 4, 5]);
      const four = (await requestLog(t, source.id, 'accepted')).find((r) => r.sequence === 4);
      expect(four.gap).toEqual({ from: 3, to: 3 });
      expect((await send(3)).body.status).toBe('stale'); // the missing one, too late
      expect((await send(6)).status).toBe(202);
      await dest.waitFor(5);
      expect(JSON.parse(dest.requests[4].body).sequence).toBe(6);
    });
  });

  describe(`inbound gateway on ${target.name}: bad input`, () => {
    it('answers clear 4xx errors', async () => {
      const t = await herald({ HERALD_MAX_PAYLOAD_BYTES: '2048' });
      const dest = await f.receiver();
      const base = { name: 'x', verification: { scheme: 'github', secrets: [SECRET] }, destinations: [{ url: `${dest.url}/h` }] };
      const cases: Array<[unknown, number, string]> = [
        [{ ...base, verification: { scheme: 'md5' } }, 400, 'validation_failed'],
        [{ ...base, verification: { scheme: 'github' } }, 422, 'invalid_source'],
        [{ ...base, verification: { scheme: 'hmac', secrets: ['s'] } }, 422, 'invalid_source'],
        [{ ...base, verification: { scheme: 'standard', secrets: ['not base64!'] } }, 422, 'invalid_source'],
        [{ ...base, destinations: [] }, 400, 'validation_failed'],
        [{ ...base, destinations: [{ app: 'nope', eventType: 'a.b' }] }, 422, 'invalid_source'],
        [{ ...base, destinations: [{ url: 'ftp://x' }] }, 422, 'invalid_endpoint_url'],
        [{ ...base, dedup: { key: 'cookie:x' } }, 400, 'validation_failed'],
        [{ ...base, ordering: { key: 'body:page' } }, 400, 'validation_failed'],
      ];
      for (const [body, status, code] of cases) {
        const res = await t.api('POST', '/v1/sources', body);
        expect([res.status, res.body.error?.code], JSON.stringify(body)).toEqual([status, code]);
      }
      expect((await t.api('GET', '/v1/sources')).body.data).toEqual([]); // nothing half-created
      // An unknown scheme is named with the choices, once, not as one failed literal after another.
      const scheme = await t.api('POST', '/v1/sources', { ...base, verification: { scheme: 'md5' } });
      expect(scheme.body.error.message).toBe(
        'body/verification/scheme must be one of "standard", "legacy", "github", "stripe", "slack", "shopify", "hmac", "none"');
      expect(scheme.body.error.details).toHaveLength(1);
      expect((await fetch(`${t.url}/v1/sources`)).status).toBe(401);
      const source = await createSource(t, base);
      const missing = await post(`${t.url}/in/src_nope`, '{}');
      expect(missing).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
      const big = 'x'.repeat(4096);
      const tooLarge = await post(source.ingestUrl, big, await github(big, 'd'));
      expect(tooLarge).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });
      expect((await t.api('GET', `/v1/sources/${source.id}/requests?status=bogus`)).status).toBe(400);
      expect((await t.api('POST', `/v1/sources/${source.id}/replay`, { since: 'yesterday' })).status).toBe(400);
      expect((await t.api('GET', `/v1/sources/${source.id}/requests/req_nope`)).status).toBe(404);
      // A source's app takes only what the source accepts, and goes only with its source.
      const publish = await t.api('POST', `/v1/apps/${source.appId}/events`, { type: 'push', data: {} });
      expect([publish.status, publish.body.error.code, publish.body.error.details]).toEqual([409, 'conflict', { sourceId: source.id }]);
      expect((await t.api('DELETE', `/v1/apps/${source.appId}`)).status).toBe(409);
      const intoSource = await t.api('POST', '/v1/sources', { ...base, destinations: [{ app: source.appId, eventType: 'push' }] });
      expect([intoSource.status, intoSource.body.error.code]).toEqual([422, 'invalid_source']);
      const destId = source.destinations[0].id;
      const twice = await t.api('PATCH', `/v1/sources/${source.id}`, { destinations: [{ id: destId, url: `${dest.url}/a` }, { id: destId, url: `${dest.url}/b` }] });
      expect([twice.status, twice.body.error.code]).toEqual([422, 'invalid_source']);
    });

    it('answers a flood of forged requests 401 but logs only a bounded number of them', async () => {
      const t = await herald();
      const dest = await f.receiver();
      const source = await createSource(t, { name: 'x', verification: { scheme: 'github', secrets: [SECRET] }, destinations: [{ url: `${dest.url}/h` }] });
      const started = Date.now();
      const res = await Promise.all(Array.from({ length: 300 }, (_, i) => post(source.ingestUrl, `{"i":${i}}`, { 'x-hub-signature-256': 'sha256=00' })));
      const seconds = (Date.now() - started) / 1000;
      expect(res.every((r) => r.status === 401)).toBe(true);
      const logged = (await requestLog(t, source.id, 'rejected')).length;
      expect(logged).toBeGreaterThanOrEqual(50);
      expect(logged).toBeLessThanOrEqual(50 + Math.ceil(seconds * 50) + 1);
      const metrics = await (await fetch(`${t.url}/metrics`)).text();
      expect(metrics).toMatch(/herald_inbound_requests_total\{status="rejected"\} 300/);
      expect(metrics).toMatch(/herald_inbound_ack_seconds_count 0/); // only committed requests are timed
      expect(dest.requests).toHaveLength(0);
    });

    it('answers with the configured response and forwards only the allowed headers', async () => {
      const t = await herald();
      const dest = await f.receiver();
      const source = await createSource(t, {
        name: 'x', verification: { scheme: 'none' }, response: { status: 200, body: 'ok', contentType: 'text/plain' },
        forwardHeaders: ['X-Event'], destinations: [{ url: `${dest.url}/h`, headers: { 'x-team': 'kb' } }],
      });
      const res = await fetch(source.ingestUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'x-event': 'page', 'x-other': 'no' }, body: '{}' });
      expect([res.status, res.headers.get('content-type'), await res.text()]).toEqual([200, 'text/plain', 'ok']);
      const [got] = await dest.waitFor(1);
      expect(got.headers).toMatchObject({ 'x-event': 'page', 'x-team': 'kb', 'content-type': 'application/json' });
      expect(got.headers['x-other']).toBeUndefined();
      const quiet = await createSource(t, { name: 'y', verification: { scheme: 'none' }, response: { status: 204 }, destinations: [{ url: `${dest.url}/h` }] });
      const empty = await fetch(quiet.ingestUrl, { method: 'POST', body: 'x' });
      expect([empty.status, await empty.text()]).toEqual([204, '']);
    });

    it('forwards with the destination as it is now, edited or deleted through the endpoints API a moment ago', async () => {
      const t = await herald();
      const [a, b, c] = [await f.receiver(), await f.receiver(), await f.receiver()];
      const source = await createSource(t, { name: 'live', verification: { scheme: 'none' }, destinations: [{ url: `${a.url}/h` }, { url: `${c.url}/h` }] });
      const [first, second] = source.destinations.map((d: { id: string }) => d.id);
      expect((await post(source.ingestUrl, '{"n":1}')).status).toBe(202);
      await a.waitFor(1);
      const moved = await t.api('PATCH', `/v1/apps/${source.appId}/endpoints/${first}`, { url: `${b.url}/h` });
      expect(moved.status).toBe(200);
      expect((await t.api('DELETE', `/v1/apps/${source.appId}/endpoints/${second}`)).status).toBe(204);
      // Within the second the gateway keeps its view of the source: the commit reads the destinations.
      expect((await post(source.ingestUrl, '{"n":2}')).status).toBe(202);
      const [got] = await b.waitFor(1);
      expect(got.body).toBe('{"n":2}');
      await sleep(200);
      expect(a.requests.map((r) => r.body)).toEqual(['{"n":1}']);
      expect(c.requests.map((r) => r.body)).toEqual(['{"n":1}']);
    });

    it('updates a source in place: new secret, kept destination, deletion', async () => {
      const t = await herald();
      const dest = await f.receiver();
      const source = await createSource(t, { name: 'x', verification: { scheme: 'github', secrets: [SECRET] }, destinations: [{ url: `${dest.url}/h` }] });
      const destId = source.destinations[0].id;
      const patched = await t.api('PATCH', `/v1/sources/${source.id}`, {
        verification: { scheme: 'github', secrets: ['new-secret'] }, destinations: [{ id: destId, url: `${dest.url}/h2`, rateLimit: 50 }],
      });
      expect(patched.status).toBe(200);
      expect(patched.body.destinations).toEqual([expect.objectContaining({ id: destId, url: `${dest.url}/h2`, rateLimit: 50 })]);
      expect(patched.body.destinations[0].secret).toBeUndefined();
      // Changing only options keeps the secrets; the tolerance applies to timestamped schemes.
      expect((await t.api('PATCH', `/v1/sources/${source.id}`, { verification: { scheme: 'github', toleranceSeconds: 60 } })).body.verification)
        .toMatchObject({ scheme: 'github', secretCount: 1, toleranceSeconds: 60 });
      const body = '{"a":1}';
      expect((await post(source.ingestUrl, body, await github(body, 'd1'))).status).toBe(401);
      const sig = `sha256=${createHmac('sha256', 'new-secret').update(body).digest('hex')}`;
      expect((await post(source.ingestUrl, body, { 'x-hub-signature-256': sig })).status).toBe(202);
      const [got] = await dest.waitFor(1);
      expect(got.path).toBe('/h2');
      expect((await t.api('DELETE', `/v1/sources/${source.id}`)).status).toBe(204);
      expect((await post(source.ingestUrl, body, { 'x-hub-signature-256': sig })).status).toBe(404);
      expect((await t.api('GET', `/v1/sources/${source.id}`)).status).toBe(404);
    });
  });
}

describe.skipIf(!pgUrl)('inbound gateway on postgres: several processes', () => {
  it('shares a source rate limit between the gateway processes taking its requests', async () => {
    const schema = testSchema();
    f.cleanup(() => dropSchema(schema));
    const env = { HERALD_DATABASE_URL: `${pgUrl}?schema=${schema}` };
    const a = await f.herald(env);
    const b = await f.herald(env);
    const dest = await f.receiver();
    const source = await createSource(a, { name: 'shared', verification: { scheme: 'none' }, rateLimit: 10, destinations: [{ url: `${dest.url}/h` }] });
    const urls = [source.ingestUrl, `${b.url}/in/${source.id}`];
    // Each process takes a request, and again once its view of the source is due for a reload
    // (about a second): by then each has seen the other.
    for (let round = 0; round < 2; round++) {
      for (const url of urls) expect((await post(url, '{"warm":1}')).status).toBe(202);
      await sleep(1200);
    }
    // A burst split between the two: together they take one second's worth (10), not 10 each.
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => post(urls[i % 2], JSON.stringify({ i }))));
    const accepted = results.filter((r) => r.status === 202).length;
    expect(results.filter((r) => r.status === 429)).toHaveLength(40 - accepted);
    expect(accepted).toBeGreaterThanOrEqual(8);
    expect(accepted).toBeLessThanOrEqual(13);
    await dest.waitFor(4 + accepted);
  });
});
