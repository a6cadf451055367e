import { createHmac, timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appWithEndpoint, eventually, startHerald, type TestHerald } from '../helpers/herald.js';
import { closedPort, Receiver } from '../helpers/receiver.js';

let t: TestHerald;
const receivers: Receiver[] = [];
async function receiver(): Promise<Receiver> {
  const r = await new Receiver().start();
  receivers.push(r);
  return r;
}

beforeAll(async () => {
  t = await startHerald({ HERALD_MAX_PAYLOAD_BYTES: '4096' });
});
afterAll(async () => {
  await t.close();
  await Promise.all(receivers.map((r) => r.stop()));
});

async function delivery(appId: string, id: string) {
  return (await t.api('GET', `/v1/apps/${appId}/deliveries/${id}`)).body;
}
async function finished(appId: string, id: string) {
  return eventually(async () => {
    const d = await delivery(appId, id);
    return d.status !== 'pending' ? d : null;
  });
}
async function onlyDelivery(appId: string, eventId: string) {
  const list = await t.api('GET', `/v1/apps/${appId}/deliveries?eventId=${eventId}`);
  expect(list.body.data).toHaveLength(1);
  return list.body.data[0];
}

/** Written like the receivers in the product docs Herald replaces: HMAC of the raw body, hex. */
function seedStyleVerify(rawBody: string, header: string | undefined, secret: string): boolean {
  const expected = `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
  return header !== undefined && header.length === expected.length && timingSafeEqual(Buffer.from(header), Buffer.from(expected));
}

describe('delivery', () => {
  it('sends signed, compact JSON that the standardwebhooks package and seed-style receivers verify', async () => {
    const r = await receiver();
    const { appId, endpointId, secret } = await appWithEndpoint(t, `${r.url}/hooks`, { headers: { 'x-tenant': 'acme' } });
    const pub = await t.api('POST', `/v1/apps/${appId}/events`, { type: 'person.created', data: { name: 'Zoë', tags: ['a', 'b'] } });
    expect(pub.status).toBe(202);
    expect(pub.body).toMatchObject({ type: 'person.created', sequence: 1, deliveries: 1 });
    const [req] = await r.waitFor(1);
    expect(req.path).toBe('/hooks');
    expect(req.body).toBe(JSON.stringify({ id: pub.body.id, type: 'person.created', timestamp: pub.body.timestamp, sequence: 1, data: { name: 'Zoë', tags: ['a', 'b'] } }));
    const h = req.headers;
    expect(h['content-type']).toBe('application/json');
    expect(h['user-agent']).toMatch(/^Herald\//);
    expect(h['webhook-id']).toBe(pub.body.id);
    expect(Math.abs(Number(h['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(5);
    expect(h['x-webhook-event']).toBe('person.created');
    expect(h['x-webhook-id']).toBe(endpointId);
    expect(h['x-webhook-delivery-id']).toMatch(/^dlv_/);
    expect(h['x-webhook-attempt']).toBe('1');
    expect(h['x-tenant']).toBe('acme');

    const verified = new Webhook(secret).verify(req.body, h as Record<string, string>);
    expect(verified).toMatchObject({ id: pub.body.id, data: { name: 'Zoë' } });
    expect(seedStyleVerify(req.body, h['x-webhook-signature'] as string, secret)).toBe(true);
    expect(seedStyleVerify(req.body, h['x-webhook-signature'] as string, `${secret}x`)).toBe(false);

    const d = await finished(appId, h['x-webhook-delivery-id'] as string);
    expect(d).toMatchObject({ status: 'success', attemptCount: 1, lastStatusCode: 200, endpointId, eventType: 'person.created' });
    expect(d.attempts[0]).toMatchObject({ number: 1, statusCode: 200, responseBody: 'OK', error: null });
    expect(d.deliveredAt).not.toBeNull();
  });

  it('fans out only to endpoints whose subscriptions match, wildcards included', async () => {
    const r = await receiver();
    const app = (await t.api('POST', '/v1/apps', { name: 'Fan-out' })).body;
    const mk = (path: string, events?: string[]) => t.api('POST', `/v1/apps/${app.id}/endpoints`, { url: `${r.url}/${path}`, events });
    await mk('people', ['person.*']);
    await mk('companies', ['company.created']);
    await mk('all');
    const a = await t.api('POST', `/v1/apps/${app.id}/events`, { type: 'person.note.added', data: {} });
    const b = await t.api('POST', `/v1/apps/${app.id}/events`, { type: 'company.created', data: {} });
    const c = await t.api('POST', `/v1/apps/${app.id}/events`, { type: 'company.deleted', data: {} });
    expect([a.body.deliveries, b.body.deliveries, c.body.deliveries]).toEqual([2, 2, 1]);
    await r.waitFor(5);
    await new Promise((res) => setTimeout(res, 100));
    const got = r.requests.map((q) => `${q.path} ${q.headers['x-webhook-event']}`).sort();
    expect(got).toEqual(['/all company.created', '/all company.deleted', '/all person.note.added', '/companies company.created', '/people person.note.added']);
  });

  it('retries a failing receiver on schedule: 3 attempts, same webhook-id, fresh timestamps and signatures', async () => {
    const r = await receiver();
    r.respond = (_req, i) => (i < 2 ? { status: 500, body: `boom ${i}` } : { status: 200, body: 'fine' });
    const { appId, secret } = await appWithEndpoint(t, r.url, { retrySchedule: [1.1, 1.1, 60] });
    const pub = await t.api('POST', `/v1/apps/${appId}/events`, { type: 'order.paid', data: { total: 42 } });
    const reqs = await r.waitFor(3, 10_000);
    expect(new Set(reqs.map((q) => q.headers['webhook-id']))).toEqual(new Set([pub.body.id]));
    const stamps = reqs.map((q) => Number(q.headers['webhook-timestamp']));
    expect(stamps[1]).toBeGreaterThan(stamps[0]);
    expect(stamps[2]).toBeGreaterThan(stamps[1]);
    expect(reqs[1].at - reqs[0].at).toBeGreaterThanOrEqual(1000);
    expect(reqs.map((q) => q.headers['x-webhook-attempt'])).toEqual(['1', '2', '3']);
    expect(new Set(reqs.map((q) => q.body)).size).toBe(1);
    for (const q of reqs) expect(() => new Webhook(secret).verify(q.body, q.headers as Record<string, string>)).not.toThrow();

    const d = await finished(appId, (await onlyDelivery(appId, pub.body.id)).id);
    expect(d.status).toBe('success');
    expect(d.attemptCount).toBe(3);
    expect(d.attempts.map((a: any) => [a.number, a.statusCode, a.responseBody])).toEqual([[1, 500, 'boom 0'], [2, 500, 'boom 1'], [3, 200, 'fine']]);
  });

  it('records timeouts and refused connections, and fails after the last retry', async () => {
    const r = await receiver();
    r.respond = () => ({ hang: true });
    const slow = await appWithEndpoint(t, r.url, { timeoutMs: 300, retrySchedule: [] });
    const port = await closedPort();
    const dead = await appWithEndpoint(t, `http://127.0.0.1:${port}/x`, { retrySchedule: [0.2] });
    const e1 = await t.api('POST', `/v1/apps/${slow.appId}/events`, { type: 'x.y', data: {} });
    const e2 = await t.api('POST', `/v1/apps/${dead.appId}/events`, { type: 'x.y', data: {} });

    const timedOut = await finished(slow.appId, (await onlyDelivery(slow.appId, e1.body.id)).id);
    expect(timedOut).toMatchObject({ status: 'failed', attemptCount: 1, lastError: 'timeout', lastStatusCode: null });
    expect(timedOut.attempts[0].durationMs).toBeGreaterThanOrEqual(250);
    expect(timedOut.attempts[0].durationMs).toBeLessThan(5000);

    const refused = await finished(dead.appId, (await onlyDelivery(dead.appId, e2.body.id)).id);
    expect(refused).toMatchObject({ status: 'failed', attemptCount: 2, lastError: 'connection_refused' });
    expect(refused.attempts.map((a: any) => a.error)).toEqual(['connection_refused', 'connection_refused']);
  });

  it('keeps the first 4 KiB of a large response, and treats redirects as failures without following them', async () => {
    const r = await receiver();
    r.respond = (q) => (q.path === '/big' ? { status: 200, body: 'x'.repeat(200_000) } : { status: 302, headers: { location: `${r.url}/big` } });
    const big = await appWithEndpoint(t, `${r.url}/big`);
    const moved = await appWithEndpoint(t, `${r.url}/moved`, { retrySchedule: [] });
    const e1 = await t.api('POST', `/v1/apps/${big.appId}/events`, { type: 'x.y', data: {} });
    const e2 = await t.api('POST', `/v1/apps/${moved.appId}/events`, { type: 'x.y', data: {} });
    const ok = await finished(big.appId, (await onlyDelivery(big.appId, e1.body.id)).id);
    expect(ok.status).toBe('success');
    expect(ok.attempts[0].responseBody).toBe('x'.repeat(4096));
    const redirected = await finished(moved.appId, (await onlyDelivery(moved.appId, e2.body.id)).id);
    expect(redirected).toMatchObject({ status: 'failed', lastStatusCode: 302 });
    expect(r.requests.filter((q) => q.path === '/big')).toHaveLength(1);
  });

  it('waits as long as Retry-After asks on 429', async () => {
    const r = await receiver();
    r.respond = (_q, i) => (i === 0 ? { status: 429, headers: { 'retry-after': '2' } } : { status: 204 });
    const { appId } = await appWithEndpoint(t, r.url, { retrySchedule: [0.1] });
    await t.api('POST', `/v1/apps/${appId}/events`, { type: 'x.y', data: {} });
    const reqs = await r.waitFor(2, 8000);
    expect(reqs[1].at - reqs[0].at).toBeGreaterThanOrEqual(1900);
  });

  it('disables the endpoint on 410 Gone, keeps later events off it, and resumes parked ones on re-enable', async () => {
    const r = await receiver();
    let gone = true;
    r.respond = () => (gone ? { status: 410, body: 'gone' } : { status: 200 });
    const { appId, endpointId } = await appWithEndpoint(t, r.url, { retrySchedule: [5] });
    const first = await t.api('POST', `/v1/apps/${appId}/events`, { type: 'x.y', data: {} });
    const d = await finished(appId, (await onlyDelivery(appId, first.body.id)).id);
    expect(d).toMatchObject({ status: 'failed', attemptCount: 1, lastStatusCode: 410 });
    const ep = (await t.api('GET', `/v1/apps/${appId}/endpoints/${endpointId}`)).body;
    expect(ep).toMatchObject({ status: 'disabled', disabledReason: 'gone' });
    expect(ep.disabledAt).not.toBeNull();
    const later = await t.api('POST', `/v1/apps/${appId}/events`, { type: 'x.y', data: {} });
    expect(later.body.deliveries).toBe(0);

    // A pending delivery of a disabled endpoint is kept (parked) and sent once it is active again.
    const retry = await t.api('POST', `/v1/apps/${appId}/deliveries/${d.id}/retry`);
    expect(retry.status).toBe(202);
    await new Promise((res) => setTimeout(res, 300));
    expect(r.requests).toHaveLength(1);
    expect((await delivery(appId, d.id)).status).toBe('pending');
    gone = false;
    const enabled = await t.api('PATCH', `/v1/apps/${appId}/endpoints/${endpointId}`, { status: 'active' });
    expect(enabled.body).toMatchObject({ status: 'active', disabledReason: null });
    await r.waitFor(2);
    expect((await finished(appId, d.id)).status).toBe('success');
  });

  it('retries a failed delivery by hand, and recovers failed deliveries in a time window', async () => {
    const r = await receiver();
    let down = true;
    r.respond = () => (down ? { status: 503 } : { status: 200 });
    const { appId, endpointId } = await appWithEndpoint(t, r.url, { retrySchedule: [] });
    const since = new Date(Date.now() - 1000).toISOString();
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await t.api('POST', `/v1/apps/${appId}/events`, { type: 'x.y', data: { i } })).body.id);
    const dels: any[] = [];
    for (const id of ids) dels.push(await finished(appId, (await onlyDelivery(appId, id)).id));
    expect(dels.map((x) => x.status)).toEqual(['failed', 'failed', 'failed']);

    down = false;
    expect((await t.api('POST', `/v1/apps/${appId}/deliveries/${dels[0].id}/retry`)).status).toBe(202);
    const retried = await eventually(async () => {
      const x = await delivery(appId, dels[0].id);
      return x.status === 'success' ? x : null;
    });
    expect(retried.attemptCount).toBe(2);
    expect((await t.api('POST', `/v1/apps/${appId}/deliveries/dlv_nope/retry`)).status).toBe(404);

    const rec = await t.api('POST', `/v1/apps/${appId}/endpoints/${endpointId}/recover`, { since });
    expect(rec.status).toBe(202);
    expect(rec.body).toEqual({ requeued: 2 });
    for (const x of dels.slice(1)) {
      await eventually(async () => (await delivery(appId, x.id)).status === 'success');
    }
    const bad = await t.api('POST', `/v1/apps/${appId}/endpoints/${endpointId}/recover`, { since: 'yesterday' });
    expect(bad.status).toBe(400);
  });

  it('sends a webhook.test event to one endpoint on request', async () => {
    const r = await receiver();
    const other = await receiver();
    const { appId, endpointId } = await appWithEndpoint(t, r.url);
    await t.api('POST', `/v1/apps/${appId}/endpoints`, { url: other.url });
    const res = await t.api('POST', `/v1/apps/${appId}/endpoints/${endpointId}/test`);
    expect(res.status).toBe(202);
    expect(res.body.eventId).toMatch(/^evt_/);
    expect(res.body.deliveryId).toMatch(/^dlv_/);
    const [req] = await r.waitFor(1);
    const body = JSON.parse(req.body);
    expect(body).toMatchObject({ id: res.body.eventId, type: 'webhook.test', data: { endpointId } });
    await new Promise((res2) => setTimeout(res2, 100));
    expect(other.requests).toHaveLength(0);
  });

  it('reports endpoint stats', async () => {
    const r = await receiver();
    r.respond = (_q, i) => (i % 2 === 0 ? { status: 200 } : { status: 500 });
    const { appId, endpointId } = await appWithEndpoint(t, r.url, { retrySchedule: [] });
    for (let i = 0; i < 4; i++) await t.api('POST', `/v1/apps/${appId}/events`, { type: 'x.y', data: { i } });
    await r.waitFor(4);
    const stats = await eventually(async () => {
      const s = (await t.api('GET', `/v1/apps/${appId}/endpoints/${endpointId}/stats`)).body;
      return s.pending === 0 ? s : null;
    });
    expect(stats).toMatchObject({ total: 4, succeeded: 2, failed: 2, pending: 0, successRate: 0.5, failedLast24h: 2 });
    expect(stats.avgResponseMs).toBeGreaterThanOrEqual(0);
    expect(stats.p95ResponseMs).toBeGreaterThanOrEqual(stats.avgResponseMs >= 0 ? 0 : 1);
    expect(stats.lastDeliveryAt).not.toBeNull();
    expect([0, 1]).toContain(stats.consecutiveFailures);
  });
});

describe('publishing', () => {
  it('is idempotent by event id and by Idempotency-Key', async () => {
    const r = await receiver();
    const { appId } = await appWithEndpoint(t, r.url);
    const a = await t.api('POST', `/v1/apps/${appId}/events`, { id: 'order-1001', type: 'order.paid', data: { n: 1 } });
    const again = await t.api('POST', `/v1/apps/${appId}/events`, { id: 'order-1001', type: 'order.paid', data: { n: 2 } });
    expect(a.status).toBe(202);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(a.body);
    const k1 = await t.api('POST', `/v1/apps/${appId}/events`, { type: 'order.paid', data: {} }, { 'idempotency-key': 'req-77' });
    const k2 = await t.api('POST', `/v1/apps/${appId}/events`, { type: 'order.paid', data: {} }, { 'idempotency-key': 'req-77' });
    expect(k2.status).toBe(200);
    expect(k2.body.id).toBe(k1.body.id);
    const batch = await t.api('POST', `/v1/apps/${appId}/events/batch`, {
      events: [{ id: 'order-1001', type: 'order.paid', data: {} }, { id: 'order-1002', type: 'order.paid', data: {} }, { id: 'order-1002', type: 'order.paid', data: {} }],
    });
    expect(batch.status).toBe(202);
    expect(batch.body.data.map((x: any) => [x.id, x.duplicate])).toEqual([['order-1001', true], ['order-1002', false], ['order-1002', true]]);
    await r.waitFor(3);
    await new Promise((res) => setTimeout(res, 150));
    expect(r.requests.map((q) => q.headers['webhook-id']).sort()).toEqual(['order-1001', 'order-1002', k1.body.id].sort());
  });

  it('rejects oversized payloads with 413 and bad batches with 400', async () => {
    const { appId } = await appWithEndpoint(t, 'http://127.0.0.1:9/never');
    const big = await t.api('POST', `/v1/apps/${appId}/events`, { type: 'x.y', data: { blob: 'x'.repeat(5000) } });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('payload_too_large');
    const empty = await t.api('POST', `/v1/apps/${appId}/events/batch`, { events: [] });
    expect(empty.status).toBe(400);
    const tooMany = await t.api('POST', `/v1/apps/${appId}/events/batch`, { events: Array.from({ length: 1001 }, () => ({ type: 'x.y', data: {} })) });
    expect(tooMany.status).toBe(400);
    expect((await t.api('POST', `/v1/apps/${appId}/events`, { type: 'x.y', data: 'not an object' })).status).toBe(400);
    expect((await t.api('POST', '/v1/apps/app_unknown/events', { type: 'x.y', data: {} })).status).toBe(404);
  });

  it('lists events in sequence order for polling, resuming from the iterator', async () => {
    const app = (await t.api('POST', '/v1/apps', { name: 'Poller' })).body;
    const batch = await t.api('POST', `/v1/apps/${app.id}/events/batch`, {
      events: Array.from({ length: 7 }, (_, i) => ({ type: i % 2 ? 'b.odd' : 'a.even', data: { i } })),
    });
    expect(batch.body.data.map((e: any) => e.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const p1 = (await t.api('GET', `/v1/apps/${app.id}/events?limit=3`)).body;
    expect(p1.data.map((e: any) => e.data.i)).toEqual([0, 1, 2]);
    expect(p1.done).toBe(false);
    const p2 = (await t.api('GET', `/v1/apps/${app.id}/events?limit=10&iterator=${p1.iterator}`)).body;
    expect(p2.data.map((e: any) => e.sequence)).toEqual([4, 5, 6, 7]);
    expect(p2.done).toBe(true);
    // A poller keeps its place: nothing new yet, then exactly the new event.
    const idle = (await t.api('GET', `/v1/apps/${app.id}/events?iterator=${p2.iterator}`)).body;
    expect(idle).toEqual({ data: [], iterator: p2.iterator, done: true });
    await t.api('POST', `/v1/apps/${app.id}/events`, { type: 'a.even', data: { i: 7 } });
    expect((await t.api('GET', `/v1/apps/${app.id}/events?iterator=${p2.iterator}`)).body.data.map((e: any) => e.sequence)).toEqual([8]);
    const odd = (await t.api('GET', `/v1/apps/${app.id}/events?type=b.odd`)).body;
    expect(odd.data.map((e: any) => e.data.i)).toEqual([1, 3, 5]);
    const one = await t.api('GET', `/v1/apps/${app.id}/events/${batch.body.data[2].id}`);
    expect(one.body).toMatchObject({ sequence: 3, type: 'a.even', data: { i: 2 } });
    expect((await t.api('GET', `/v1/apps/${app.id}/events/evt_nope`)).status).toBe(404);
    expect((await t.api('GET', `/v1/apps/${app.id}/events?iterator=abc`)).status).toBe(400);
  });

  it('filters the delivery log by endpoint, event, type and status', async () => {
    const r = await receiver();
    r.respond = (q) => ({ status: q.path === '/bad' ? 500 : 200 });
    const app = (await t.api('POST', '/v1/apps', { name: 'Log' })).body;
    const good = (await t.api('POST', `/v1/apps/${app.id}/endpoints`, { url: `${r.url}/good` })).body;
    const bad = (await t.api('POST', `/v1/apps/${app.id}/endpoints`, { url: `${r.url}/bad`, retrySchedule: [] })).body;
    const e1 = (await t.api('POST', `/v1/apps/${app.id}/events`, { type: 'p.one', data: {} })).body;
    await t.api('POST', `/v1/apps/${app.id}/events`, { type: 'p.two', data: {} });
    await r.waitFor(4);
    const q = async (qs: string) => (await t.api('GET', `/v1/apps/${app.id}/deliveries?${qs}`)).body.data;
    await eventually(async () => (await q('status=pending')).length === 0);
    expect(await q('')).toHaveLength(4);
    expect((await q(`endpointId=${bad.id}`)).every((d: any) => d.endpointId === bad.id && d.status === 'failed')).toBe(true);
    expect((await q(`eventId=${e1.id}`)).map((d: any) => d.endpointId).sort()).toEqual([good.id, bad.id].sort());
    expect((await q('eventType=p.two&status=success')).map((d: any) => d.endpointId)).toEqual([good.id]);
    const viaEndpoint = (await t.api('GET', `/v1/apps/${app.id}/endpoints/${good.id}/deliveries?limit=1`)).body;
    expect(viaEndpoint.data).toHaveLength(1);
    expect(viaEndpoint.done).toBe(false);
    const next = (await t.api('GET', `/v1/apps/${app.id}/endpoints/${good.id}/deliveries?limit=1&iterator=${viaEndpoint.iterator}`)).body;
    expect(next.data[0].id < viaEndpoint.data[0].id).toBe(true);
    expect(next.done).toBe(true);
  });
});
