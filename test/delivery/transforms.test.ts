import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/core/signing.js';
import { fixtures } from '../helpers/fixtures.js';
import { eventually, type TestHerald } from '../helpers/herald.js';
import { heraldTargets } from '../helpers/postgres.js';
import type { Receiver } from '../helpers/receiver.js';

/** Endpoint transforms end to end, on SQLite and PostgreSQL: what is sent, what is stored, what fails. */
const f = fixtures();
const targets = heraldTargets(f.cleanup);

const PICK = `function transform(webhook) {
  webhook.payload = { id: webhook.payload.id, name: webhook.payload.data.name, kind: webhook.type };
  webhook.url = webhook.url + '/picked';
  webhook.headers['x-customer'] = 'acme';
  return webhook;
}`;

/** Transforms that must fail their own deliveries and nothing else. */
const HOSTILE: Record<string, { source: string; error: RegExp }> = {
  loop: { source: 'function transform(w) { for (;;) {} }', error: /^transform_failed: took longer than 50 ms$/ },
  memory: { source: 'function transform(w) { const a = []; for (;;) a.push(new ArrayBuffer(1 << 20)); }', error: /^transform_failed: (ran out of memory|took longer than 50 ms \(stopped after 1000 ms\))/ },
  huge: { source: 'function transform(w) { w.payload = "x".repeat(3 * 1024 * 1024); return w; }', error: /^transform_failed: .*larger than the 1048576-byte limit/ },
  thrown: { source: 'function transform(w) { throw new Error("no customer for " + w.type); }', error: /^transform_failed: Error: no customer for t\.x/ },
  syntax: { source: 'function transform(w) {\n  return w.\n}', error: /^transform_failed: SyntaxError: .*\(line 3\)/ },
  recursion: { source: 'function f(n) { return f(n + 1) + 1; } function transform(w) { return f(0); }', error: /^transform_failed: stack overflow/ },
};

for (const target of targets) {
  describe(`endpoint transforms on ${target.name}`, () => {
    let t: TestHerald;
    let r: Receiver;
    let appId: string;
    const endpoint = async (body: Record<string, unknown>) => {
      const res = await t.api('POST', `/v1/apps/${appId}/endpoints`, { url: `${r.url}/hook`, retrySchedule: [], ...body });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body;
    };
    const delivery = (endpointId: string, eventId: string) => eventually(async () => {
      const d = (await t.api('GET', `/v1/apps/${appId}/deliveries?endpointId=${endpointId}&eventId=${eventId}`)).body.data[0];
      return d && d.status !== 'pending' ? (await t.api('GET', `/v1/apps/${appId}/deliveries/${d.id}`)).body : null;
    });
    beforeAll(async () => {
      t = await f.herald(target.env());
      r = await f.receiver();
      appId = (await t.api('POST', '/v1/apps', { name: 'Acme' })).body.id;
    });

    it('sends what the transform made, signed over those bytes, to the URL and with the headers it chose', async () => {
      const secret = generateSecret();
      const ep = await endpoint({ transform: PICK, secret, headers: { 'x-team': 'blue' } });
      expect(ep.transform).toBe(PICK);
      const e = (await t.api('POST', `/v1/apps/${appId}/events`, { type: 'person.created', data: { name: 'Zoë', email: 'z@example.com' } })).body;
      const d = await delivery(ep.id, e.id);
      expect(d.status).toBe('success');
      const got = r.requests.find((q) => q.headers['webhook-id'] === e.id && q.path === '/hook/picked')!;
      expect(got.body).toBe(JSON.stringify({ id: e.id, name: 'Zoë', kind: 'person.created' }));
      expect(got.headers['x-customer']).toBe('acme');
      expect(got.headers['x-team']).toBe('blue');
      expect(new Webhook(secret).verify(got.body, got.headers as Record<string, string>)).toMatchObject({ name: 'Zoë' });
      expect(got.headers['x-webhook-signature']).toBe(`sha256=${createHmac('sha256', secret).update(got.body).digest('hex')}`);
      // The delivery log shows what was sent.
      expect(d.request).toMatchObject({ url: `${r.url}/hook/picked`, body: got.body });
    });

    it('stores the output with the delivery: a retry sends identical bytes after the transform changed', async () => {
      const ep = await endpoint({ url: `${r.url}/flaky`, transform: 'function transform(w) { w.payload = { v: 1, id: w.payload.id }; return w; }' });
      let n = 0;
      const respond = r.respond;
      r.respond = (q, i) => (q.path === '/flaky' ? { status: n++ === 0 ? 500 : 200 } : respond(q, i));
      const e = (await t.api('POST', `/v1/apps/${appId}/events`, { type: 'x.y', data: {} })).body;
      const first = await delivery(ep.id, e.id);
      expect(first.status).toBe('failed');
      const changed = await t.api('PATCH', `/v1/apps/${appId}/endpoints/${ep.id}`, { transform: 'function transform(w) { w.payload = { v: 2 }; w.url = w.url + "/elsewhere"; return w; }' });
      expect(changed.status).toBe(200);
      expect((await t.api('POST', `/v1/apps/${appId}/deliveries/${first.id}/retry`)).status).toBe(202);
      await eventually(async () => (await t.api('GET', `/v1/apps/${appId}/deliveries/${first.id}`)).body.status === 'success');
      const sent = r.requests.filter((q) => q.headers['webhook-id'] === e.id && q.path.startsWith('/flaky'));
      expect(sent.map((q) => [q.path, q.body])).toEqual([['/flaky', `{"v":1,"id":"${e.id}"}`], ['/flaky', `{"v":1,"id":"${e.id}"}`]]);
      // A new event gets the new transform.
      const e2 = (await t.api('POST', `/v1/apps/${appId}/events`, { type: 'x.y', data: {} })).body;
      await delivery(ep.id, e2.id);
      expect(r.requests.filter((q) => q.headers['webhook-id'] === e2.id && q.path.startsWith('/flaky')).map((q) => [q.path, q.body])).toEqual([['/flaky/elsewhere', '{"v":2}']]);
      r.respond = respond;
    });

    it('records an infinite loop, a memory bomb, a huge output, a thrown error, a syntax error and runaway recursion as failures of their own deliveries, while the others keep flowing', async () => {
      const healthy = await endpoint({ url: `${r.url}/healthy` });
      const transformed = await endpoint({ url: `${r.url}/transformed`, transform: PICK });
      const hostile: Record<string, string> = {};
      for (const [name, h] of Object.entries(HOSTILE)) {
        if (name === 'syntax') {
          // The API refuses it on save (422), so it can only come from a database written around it.
          const refused = await t.api('POST', `/v1/apps/${appId}/endpoints`, { url: `${r.url}/x`, transform: h.source });
          expect(refused.status).toBe(422);
          expect(refused.body.error).toMatchObject({ code: 'invalid_transform', details: { path: '/transform' } });
          const ep = await endpoint({ url: `${r.url}/${name}`, events: ['t.*'] });
          await t.herald.store.updateEndpoint(appId, ep.id, { transform: h.source }, Date.now());
          hostile[name] = ep.id;
        } else {
          hostile[name] = (await endpoint({ url: `${r.url}/${name}`, events: ['t.*'], transform: h.source })).id;
        }
      }
      const events = [];
      for (let i = 0; i < 4; i++) events.push((await t.api('POST', `/v1/apps/${appId}/events`, { type: 't.x', data: { name: `n${i}` } })).body);
      for (const e of events) {
        expect((await delivery(healthy.id, e.id)).status).toBe('success');
        const good = await delivery(transformed.id, e.id);
        expect([good.status, good.lastError]).toEqual(['success', null]);
        for (const [name, id] of Object.entries(hostile)) {
          const d = await delivery(id, e.id);
          expect([name, d.status, d.attempts.length]).toEqual([name, 'failed', 1]);
          expect(d.lastError, name).toMatch(HOSTILE[name].error);
          expect(d.attempts[0].error, name).toMatch(HOSTILE[name].error);
        }
      }
      for (const name of Object.keys(HOSTILE)) expect(r.requests.some((q) => q.path.startsWith(`/${name}`)), name).toBe(false);
      expect(r.requests.filter((q) => q.path === '/transformed/picked')).toHaveLength(4);
      // The process is fine: the API answers and a fresh event still flows.
      const after = (await t.api('POST', `/v1/apps/${appId}/events`, { type: 'u.v', data: { name: 'after' } })).body;
      expect((await delivery(transformed.id, after.id)).status).toBe('success');
    });

    it('skips the delivery when the transform returns null: nothing is sent, the delivery is done', async () => {
      const ep = await endpoint({ url: `${r.url}/skipper`, transform: 'function transform(w) { return w.payload.data.keep ? w : null; }' });
      const skipped = (await t.api('POST', `/v1/apps/${appId}/events`, { type: 's.x', data: { keep: false } })).body;
      const kept = (await t.api('POST', `/v1/apps/${appId}/events`, { type: 's.x', data: { keep: true } })).body;
      const d = await delivery(ep.id, skipped.id);
      expect([d.status, d.lastError, d.attempts.length]).toEqual(['success', 'skipped_by_transform', 1]);
      expect((await delivery(ep.id, kept.id)).lastStatusCode).toBe(200);
      expect(r.requests.filter((q) => q.path === '/skipper').map((q) => q.headers['webhook-id'])).toEqual([kept.id]);
    });

    it('shows what would be sent (POST …/transform/test), for a body, a stored event or a transform not yet saved', async () => {
      const ep = await endpoint({ url: `${r.url}/preview`, transform: PICK, headers: { 'x-team': 'blue' } });
      const test = (body: unknown) => t.api('POST', `/v1/apps/${appId}/endpoints/${ep.id}/transform/test`, body);
      const res = await test({ event: { id: 'evt_1', type: 'person.created', data: { name: 'Ada' } } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toEqual({
        skip: false,
        request: { url: `${r.url}/preview/picked`, headers: { 'x-team': 'blue', 'x-customer': 'acme' }, body: '{"id":"evt_1","name":"Ada","kind":"person.created"}' },
      });
      const e = (await t.api('POST', `/v1/apps/${appId}/events`, { type: 'p.q', data: { name: 'Stored' } })).body;
      expect((await test({ eventId: e.id })).body.request.body).toBe(`{"id":"${e.id}","name":"Stored","kind":"p.q"}`);
      expect((await test({ event: {}, transform: 'function transform(w) { return null }' })).body).toEqual({ skip: true, request: null });
      const failed = await test({ event: { data: {} }, transform: 'function transform(w) { return w.payload.data.name.length }' });
      expect([failed.status, failed.body.error.code]).toEqual([422, 'transform_failed']);
      expect(failed.body.error.message).toMatch(/TypeError/);
      const invalid = await test({ event: {}, transform: 'function (' });
      expect([invalid.status, invalid.body.error.code]).toEqual([422, 'invalid_transform']);
      const loop = await test({ event: {}, transform: 'function transform(w) { while (true) {} }' });
      expect([loop.status, loop.body.error.details]).toEqual([422, { error: 'took longer than 50 ms' }]);
      expect((await test({ event: {}, eventId: e.id })).status).toBe(400);
      // Removing a transform: '' or null.
      expect((await t.api('PATCH', `/v1/apps/${appId}/endpoints/${ep.id}`, { transform: '' })).body.transform).toBeNull();
    });
  });
}
