import { describe, expect, it } from 'vitest';
import { fixtures } from '../helpers/fixtures.js';
import { appWithEndpoint, eventually, type TestHerald } from '../helpers/herald.js';
import type { Receiver } from '../helpers/receiver.js';

const { receiver, herald } = fixtures();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An operator app whose endpoint points at `r`: Herald's operational webhooks arrive there. */
async function operatorApp(t: TestHerald, r: Receiver) {
  await t.api('POST', '/v1/apps', { name: 'Operator', uid: 'ops' });
  await t.api('POST', '/v1/apps/ops/endpoints', { url: `${r.url}/ops` });
}
const opsEvents = (r: Receiver) => r.requests.map((q) => JSON.parse(q.body) as { type: string; data: Record<string, unknown> });

describe('endpoint health', () => {
  it('auto-disables after N consecutive failures over the minimum span, not before, and says so', async () => {
    const t = await herald({ HERALD_OPERATOR_APP: 'ops', HERALD_CIRCUIT_THRESHOLD: '1000' });
    const ops = await receiver();
    await operatorApp(t, ops);
    const r = await receiver();
    r.respond = () => ({ status: 500 });
    const { appId, endpointId } = await appWithEndpoint(t, r.url, {
      retrySchedule: Array(20).fill(0.15), disableAfterFailures: 3, disableAfterSeconds: 1,
    });
    await t.api('POST', `/v1/apps/${appId}/events`, { type: 'x.y', data: {} });
    // Three failures in well under a second: past the count, not yet past the span.
    const early = await eventually(async () => {
      const ep = (await t.api('GET', `/v1/apps/${appId}/endpoints/${endpointId}`)).body;
      return ep.consecutiveFailures >= 3 ? ep : null;
    });
    expect(early.status).toBe('active');
    expect(Date.now() - Date.parse(early.failingSince)).toBeLessThan(1000);
    const disabled = await eventually(async () => {
      const ep = (await t.api('GET', `/v1/apps/${appId}/endpoints/${endpointId}`)).body;
      return ep.status === 'disabled' ? ep : null;
    }, 5000);
    expect(disabled.disabledReason).toBe('consecutive_failures');
    expect(Date.parse(disabled.disabledAt) - Date.parse(disabled.failingSince)).toBeGreaterThanOrEqual(1000);
    const sent = r.requests.length;
    await sleep(500);
    expect(r.requests.length).toBe(sent); // nothing more is sent to a disabled endpoint
    const notice = await eventually(async () => opsEvents(ops).find((e) => e.type === 'endpoint.disabled'));
    expect(notice.data).toMatchObject({ appId, endpointId, reason: 'consecutive_failures' });
    expect(opsEvents(ops).some((e) => e.type === 'endpoint.failing' && e.data.endpointId === endpointId)).toBe(true);
    // The pending delivery is kept, not dropped.
    const pending = (await t.api('GET', `/v1/apps/${appId}/deliveries?status=pending`)).body.data;
    expect(pending).toHaveLength(1);
    expect(pending[0]).toMatchObject({ nextAttemptAt: null, heldReason: 'endpoint_disabled', nextProbeAt: null });
    // A test event would wait with them: refused, saying why.
    const test = await t.api('POST', `/v1/apps/${appId}/endpoints/${endpointId}/test`);
    expect(test.status).toBe(409);
    expect(test.body.error).toMatchObject({ code: 'conflict', details: { status: 'disabled', disabledReason: 'consecutive_failures' } });

    // Re-enabled: the kept delivery goes out, and the operator hears of it.
    r.respond = () => ({ status: 200 });
    expect((await t.api('PATCH', `/v1/apps/${appId}/endpoints/${endpointId}`, { status: 'active' })).body.status).toBe('active');
    await eventually(async () => (await t.api('GET', `/v1/apps/${appId}/deliveries/${pending[0].id}`)).body.status === 'success', 5000);
    await eventually(async () => opsEvents(ops).find((e) => e.type === 'endpoint.enabled'));
  });

  it('opens the circuit: stops sending, probes one at a time, then releases the backlog at a rising rate', async () => {
    const t = await herald({ HERALD_CIRCUIT_THRESHOLD: '3', HERALD_CIRCUIT_BASE_MS: '600', HERALD_RECOVERY_START_RATE: '5' });
    const r = await receiver();
    let healthy = false;
    r.respond = () => ({ status: healthy ? 200 : 503 });
    const { appId, endpointId } = await appWithEndpoint(t, r.url, { retrySchedule: Array(30).fill(0.05), maxInFlight: 1 });
    await t.api('POST', `/v1/apps/${appId}/events/batch`, { events: Array.from({ length: 40 }, (_, i) => ({ type: 'x.y', data: { i } })) });
    await eventually(async () => (await t.api('GET', `/v1/apps/${appId}/endpoints/${endpointId}`)).body.circuitState === 'open', 5000);
    const atOpen = r.requests.length;
    const waiting = (await t.api('GET', `/v1/apps/${appId}/deliveries?status=pending&limit=250`)).body.data;
    const held = waiting.filter((d: any) => d.heldReason === 'circuit_open');
    expect(held.length).toBeGreaterThan(30);
    expect(Date.parse(held[0].nextProbeAt)).toBeGreaterThan(Date.now() - 5000); // when the next probe may go
    expect(atOpen).toBeGreaterThanOrEqual(3);
    expect(atOpen).toBeLessThanOrEqual(4); // at most the one in flight when it opened
    // While open, only probes go out, one at a time, spaced by the cooldown.
    await sleep(1500);
    const probes = r.requests.slice(atOpen);
    expect(probes.length).toBeGreaterThanOrEqual(1);
    expect(probes.length).toBeLessThanOrEqual(2);

    healthy = true;
    const recovered = Date.now();
    await eventually(async () => (await t.api('GET', `/v1/apps/${appId}/deliveries?status=pending&limit=1`)).body.data.length === 0, 15_000);
    const after = r.requests.filter((q) => q.at >= recovered);
    // A controlled ramp: the first second after the successful probe carries only a handful.
    const firstProbeOk = after[0].at;
    const inFirstSecond = after.filter((q) => q.at < firstProbeOk + 1000).length;
    expect(inFirstSecond).toBeLessThanOrEqual(1 + 5 + 2);
    expect(after.length).toBeGreaterThanOrEqual(40 - atOpen);
    expect((await t.api('GET', `/v1/apps/${appId}/endpoints/${endpointId}`)).body.circuitState).toBe('closed');
  });

  it('keeps an endpoint to its rate limit, measured at the receiver', async () => {
    const t = await herald({});
    const r = await receiver();
    const { appId } = await appWithEndpoint(t, r.url, { rateLimit: 10 });
    const started = Date.now();
    await t.api('POST', `/v1/apps/${appId}/events/batch`, { events: Array.from({ length: 30 }, (_, i) => ({ type: 'x.y', data: { i } })) });
    const reqs = await r.waitFor(30, 10_000);
    const span = reqs[29].at - reqs[0].at;
    expect(span).toBeGreaterThanOrEqual(2500); // 30 at 10/s with a burst of one
    const perSecond = new Map<number, number>();
    for (const q of reqs) perSecond.set(Math.floor((q.at - started) / 1000), (perSecond.get(Math.floor((q.at - started) / 1000)) ?? 0) + 1);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(11);
  });

  it('delivers each ordering key strictly in publish order through failures and retries, keys in parallel', async () => {
    const t = await herald({ HERALD_CIRCUIT_THRESHOLD: '1000' });
    const r = await receiver();
    // Fail every third request: retries happen in the middle of every key's stream.
    r.respond = (_q, i) => ({ status: i % 3 === 1 ? 500 : 200 });
    const { appId } = await appWithEndpoint(t, r.url, { retrySchedule: [0.05, 0.05, 0.05, 0.05, 0.05] });
    const keys = ['doc-a', 'doc-b', 'doc-c'];
    const events = Array.from({ length: 30 }, (_, i) => ({ type: 'doc.updated', orderingKey: keys[i % 3], data: { key: keys[i % 3], n: Math.floor(i / 3) } }));
    // Two concurrent batches, then singles: the store sees the keys from several requests.
    await Promise.all([
      t.api('POST', `/v1/apps/${appId}/events/batch`, { events: events.slice(0, 15) }),
    ]);
    await t.api('POST', `/v1/apps/${appId}/events/batch`, { events: events.slice(15, 24) });
    for (const e of events.slice(24)) await t.api('POST', `/v1/apps/${appId}/events`, e);
    await eventually(async () => (await t.api('GET', `/v1/apps/${appId}/deliveries?status=pending&limit=1`)).body.data.length === 0, 15_000);
    for (const key of keys) {
      const arrivals = r.requests.map((q) => JSON.parse(q.body)).filter((b) => b.data.key === key).map((b) => b.data.n as number);
      // Retries repeat a number; the next number never shows before the previous one is done.
      const firsts = arrivals.filter((n, i) => i === 0 || n !== arrivals[i - 1]);
      expect(firsts).toEqual(Array.from({ length: 10 }, (_, i) => i));
    }
    const seqs = r.requests.map((q) => JSON.parse(q.body).sequence as number);
    expect(new Set(seqs).size).toBe(30); // the envelope carries the sequence
    const interleaved = r.requests.slice(0, 6).map((q) => JSON.parse(q.body).data.key);
    expect(new Set(interleaved).size).toBeGreaterThan(1); // keys don't wait for each other
  });

  it('says a delivery waits for an earlier one of its ordering key', async () => {
    const t = await herald({});
    const r = await receiver();
    r.respond = (_q, i) => (i === 0 ? { hang: true } : { status: 200 });
    const { appId } = await appWithEndpoint(t, r.url, { timeoutMs: 1500, retrySchedule: [0.05] });
    const first = await t.api('POST', `/v1/apps/${appId}/events`, { type: 'doc.updated', orderingKey: 'doc-1', data: { n: 1 } });
    const second = await t.api('POST', `/v1/apps/${appId}/events`, { type: 'doc.updated', orderingKey: 'doc-1', data: { n: 2 } });
    await r.waitFor(1);
    const byEvent = async (id: string) => (await t.api('GET', `/v1/apps/${appId}/deliveries?eventId=${id}`)).body.data[0];
    expect(await byEvent(first.body.id)).toMatchObject({ status: 'pending', heldReason: null }); // in flight
    expect(await byEvent(second.body.id)).toMatchObject({ status: 'pending', nextAttemptAt: null, heldReason: 'ordering_key' });
    await eventually(async () => (await byEvent(second.body.id)).status === 'success', 10_000);
  });

  it('does not let one hanging endpoint hold the slots the others need', async () => {
    const t = await herald({ HERALD_WORKER_CONCURRENCY: '16', HERALD_CIRCUIT_THRESHOLD: '1000' });
    const slow = await receiver();
    slow.respond = () => ({ hang: true });
    const fast = await receiver();
    const a = await appWithEndpoint(t, slow.url, { timeoutMs: 5000, retrySchedule: [] });
    await t.api('POST', `/v1/apps/${a.appId}/endpoints`, { url: fast.url });
    await t.api('POST', `/v1/apps/${a.appId}/events/batch`, { events: Array.from({ length: 100 }, (_, i) => ({ type: 'x.y', data: { i } })) });
    const reqs = await fast.waitFor(100, 3000);
    expect(reqs).toHaveLength(100);
    expect(slow.requests.length).toBeLessThan(16); // held to its share, not the whole worker
  });

  it('keeps an endpoint capped below the worker busy without deferring its deliveries', async () => {
    const t = await herald({ HERALD_WORKER_CONCURRENCY: '64' });
    const r = await receiver();
    const { appId } = await appWithEndpoint(t, r.url, { maxInFlight: 4 });
    const started = Date.now();
    await t.api('POST', `/v1/apps/${appId}/events/batch`, { events: Array.from({ length: 1000 }, (_, i) => ({ type: 'x.y', data: { i } })) });
    await r.waitFor(1000, 10_000);
    // 4 at a time against a local receiver is well under a second per thousand; deferring the
    // overflow on a guess of the endpoint's speed used to spread these over many seconds.
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
