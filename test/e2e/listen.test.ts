import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import WebSocket from 'ws';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../helpers/fixtures.js';
import { eventually } from '../helpers/herald.js';
import { startListen, type Listen } from '../helpers/listen.js';
import { waitForHealth } from '../helpers/process.js';
import type { Receiver } from '../helpers/receiver.js';

/**
 * `herald listen` end to end: a Herald server, the built CLI and a local receiver, each a
 * real process or socket; deliveries cross the relay WebSocket both ways.
 */
const f = fixtures();
const KEY = 'listen-test-key-0123456789';

let base = '';
let configDir = '';

const listen = (args: string[], env: Record<string, string> = {}): Listen =>
  startListen(args, { HERALD_URL: base, HERALD_API_KEY: KEY, HERALD_CONFIG_DIR: configDir, ...env }, f.cleanup);

async function api(method: string, path: string, body?: unknown, key = KEY): Promise<{ status: number; body: any }> {
  const res = await fetch(base + path, {
    method, headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

const publish = (app: string, type: string, data: unknown) => api('POST', `/v1/apps/${app}/events`, { type, data });
const deliveriesOf = async (app: string) => (await api('GET', `/v1/apps/${app}/deliveries?limit=250`)).body.data as any[];

describe('herald listen', () => {
  let receiver: Receiver;

  beforeAll(async () => {
    const server = await f.restartable({ HERALD_API_KEY: KEY, HERALD_RETRY_JITTER: '0' });
    base = server.base;
    const proc = server.start();
    await waitForHealth(base, 20_000, proc);
    configDir = f.tempDir('herald-listen-cfg-');
    receiver = await f.receiver();
  });

  it('delivers an app\'s subscribed events to a local URL, signed with the relay endpoint\'s secret, and records the local answer', async () => {
    await api('POST', '/v1/apps', { name: 'Acme', uid: 'acme' });
    receiver.respond = () => ({ status: 200, body: 'thanks from localhost' });
    const l = listen([`${receiver.url}/webhooks`, '--app', 'acme', '--events', 'person.*']);
    const ready = await l.waitFor((x) => x.event === 'ready');
    expect(ready).toMatchObject({ appId: 'acme', events: ['person.*'], secret: expect.stringMatching(/^whsec_/) });
    await l.waitFor((x) => x.event === 'connected');
    const ep = (await api('GET', `/v1/apps/acme/endpoints/${ready.endpointId}`)).body;
    expect(ep).toMatchObject({ type: 'relay', relay: { connected: true, listeners: 1 } });

    const sent = await publish('acme', 'person.created', { name: 'Ada Lovelace', city: 'Zürich' });
    await publish('acme', 'invoice.paid', { amount: 1 }); // not subscribed
    const [got] = await receiver.waitFor(1);
    expect(got.path).toBe('/webhooks');
    const verified = new Webhook(ready.secret.slice('whsec_'.length)).verify(got.body, got.headers as Record<string, string>);
    expect(verified).toMatchObject({ id: sent.body.id, type: 'person.created', data: { name: 'Ada Lovelace', city: 'Zürich' } });
    expect(got.headers['x-webhook-signature']).toBe(`sha256=${createHmac('sha256', ready.secret).update(got.body).digest('hex')}`);
    await l.waitFor((x) => x.event === 'delivery' && x.eventId === sent.body.id && x.status === 200);

    const [d] = await eventually(async () => {
      const list = await deliveriesOf('acme');
      return list.length === 1 && list[0].status === 'success' && list;
    });
    const detail = (await api('GET', `/v1/apps/acme/deliveries/${d.id}`)).body;
    expect(detail.attempts).toHaveLength(1);
    expect(detail.attempts[0]).toMatchObject({ statusCode: 200, responseBody: 'thanks from localhost', error: null });
    await new Promise((r) => setTimeout(r, 200));
    expect(receiver.requests).toHaveLength(1);
    l.child.kill('SIGINT');
    expect(await l.exited).toBe(0);
    await eventually(async () => (await api('GET', `/v1/apps/acme/endpoints/${ready.endpointId}`)).body.relay.connected === false);
  });

  it('a local 500 is a failed attempt, retried on the endpoint\'s schedule', async () => {
    await api('POST', '/v1/apps', { name: 'Retry', uid: 'retry' });
    const start = receiver.requests.length;
    receiver.respond = (_r, i) => (i === start ? { status: 500, body: 'handler crashed' } : { status: 204 });
    const l = listen([`${receiver.url}/retry`, '--app', 'retry']);
    const ready = await l.waitFor((x) => x.event === 'ready');
    await api('PATCH', `/v1/apps/retry/endpoints/${ready.endpointId}`, { retrySchedule: [1] });
    await l.waitFor((x) => x.event === 'connected');
    const sent = await publish('retry', 'order.paid', { n: 1 });
    const d = await eventually(async () => {
      const [one] = await deliveriesOf('retry');
      return one?.status === 'success' && one;
    }, 15_000);
    const detail = (await api('GET', `/v1/apps/retry/deliveries/${d.id}`)).body;
    expect(detail.attempts.map((a: any) => [a.number, a.statusCode])).toEqual([[1, 500], [2, 204]]);
    expect(detail.attempts[0].responseBody).toBe('handler crashed');
    const gap = Date.parse(detail.attempts[1].startedAt) - Date.parse(detail.attempts[0].startedAt);
    expect(gap).toBeGreaterThanOrEqual(900);
    expect(l.lines.filter((x) => x.event === 'delivery' && x.eventId === sent.body.id).map((x) => x.status)).toEqual([500, 204]);
  });

  it('kill -9 of the listener mid-delivery loses nothing: the unanswered delivery and those published meanwhile arrive after a restart', async () => {
    await api('POST', '/v1/apps', { name: 'Crash', uid: 'crash' });
    const start = receiver.requests.length;
    receiver.respond = (_r, i) => (i === start ? { hang: true } : { status: 200 });
    const first = listen([`${receiver.url}/crash`, '--app', 'crash']);
    const ready = await first.waitFor((x) => x.event === 'ready');
    await first.waitFor((x) => x.event === 'connected');
    const e1 = await publish('crash', 'a.happened', { n: 1 });
    await receiver.waitFor(start + 1);
    first.child.kill('SIGKILL');
    await first.exited;
    await eventually(async () => (await api('GET', `/v1/apps/crash/endpoints/${ready.endpointId}`)).body.relay.connected === false);
    const e2 = await publish('crash', 'a.happened', { n: 2 });
    await new Promise((r) => setTimeout(r, 300));
    // Waiting, not failed: nothing was attempted while no listener was there.
    for (const d of await deliveriesOf('crash')) expect(d).toMatchObject({ status: 'pending', attemptCount: 0, heldReason: 'relay_not_connected' });

    const second = listen([`${receiver.url}/crash`, '--app', 'crash']);
    expect((await second.waitFor((x) => x.event === 'ready')).endpointId).toBe(ready.endpointId); // remembered
    await eventually(async () => {
      const list = await deliveriesOf('crash');
      return list.length === 2 && list.every((d) => d.status === 'success' && d.attemptCount === 1);
    });
    const ids = receiver.requests.slice(start).map((r) => r.headers['webhook-id']);
    expect(new Set(ids)).toEqual(new Set([e1.body.id, e2.body.id]));
    expect(ids.filter((id) => id === e1.body.id)).toHaveLength(2); // the hung one, sent again
  });

  it('a listener can only attach to a relay endpoint of the app in its path, with a valid key', async () => {
    await api('POST', '/v1/apps', { name: 'A', uid: 'tenant-a' });
    await api('POST', '/v1/apps', { name: 'B', uid: 'tenant-b' });
    const epB = (await api('POST', '/v1/apps/tenant-b/endpoints', { type: 'relay' })).body;
    expect(epB).toMatchObject({ type: 'relay', url: 'relay:', relay: { connected: false } });
    const httpA = (await api('POST', '/v1/apps/tenant-a/endpoints', { url: `${receiver.url}/a` })).body;

    const upgrade = (path: string, key = KEY) => new Promise<number>((resolve) => {
      const ws = new WebSocket(`${base.replace(/^http/, 'ws')}${path}`, { headers: { authorization: `Bearer ${key}` } });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => {
        ws.close();
        resolve(101);
      });
      ws.on('error', () => resolve(-1));
    });
    expect(await upgrade(`/v1/apps/tenant-a/endpoints/${epB.id}/relay`)).toBe(404);
    expect(await upgrade(`/v1/apps/tenant-b/endpoints/${epB.id}/relay`, 'wrong-key')).toBe(401);
    expect(await upgrade(`/v1/apps/tenant-a/endpoints/${httpA.id}/relay`)).toBe(409);

    const l = listen([`${receiver.url}/a`, '--app', 'tenant-a', '--endpoint', epB.id]);
    expect(await l.exited).toBe(1);
    expect(l.stderr()).toContain('not_found');

    // B's own listener gets B's events; A's listener none of them.
    const before = receiver.requests.length;
    const la = listen([`${receiver.url}/only-a`, '--app', 'tenant-a']);
    await la.waitFor((x) => x.event === 'connected');
    const lb = listen([`${receiver.url}/only-b`, '--app', 'tenant-b', '--endpoint', epB.id]);
    await lb.waitFor((x) => x.event === 'connected');
    receiver.respond = () => ({ status: 200 });
    await publish('tenant-b', 'secret.thing', { for: 'b' });
    await lb.waitFor((x) => x.event === 'delivery');
    await new Promise((r) => setTimeout(r, 300));
    const paths = receiver.requests.slice(before).map((r) => r.path);
    expect(paths).toContain('/only-b');
    expect(paths).not.toContain('/only-a');
    expect(la.lines.filter((x) => x.event === 'delivery')).toEqual([]);
  });

  it('a listener that stops answering deliveries is dropped; what it held waits for the next one instead of failing', async () => {
    await api('POST', '/v1/apps', { name: 'Frozen', uid: 'frozen' });
    const ep = (await api('POST', '/v1/apps/frozen/endpoints', { type: 'relay', timeoutMs: 500 })).body;
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/v1/apps/frozen/endpoints/${ep.id}/relay`, 'herald-relay.v1', { headers: { authorization: `Bearer ${KEY}` } });
    f.cleanup(() => ws.terminate());
    await new Promise((r) => ws.once('message', r)); // start
    // Frozen between two pings (10 s apart here): only the unanswered delivery gives it away.
    (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await publish('frozen', 'a.b', { n: 1 });
    await eventually(async () => (await api('GET', `/v1/apps/frozen/endpoints/${ep.id}`)).body.relay.connected === false, 6000);
    const [d] = await deliveriesOf('frozen');
    expect(d).toMatchObject({ status: 'pending', attemptCount: 0, heldReason: 'relay_not_connected' });
  });

  it('re-enables a disabled relay endpoint it listens on, and hands on a local Retry-After', async () => {
    await api('POST', '/v1/apps', { name: 'Again', uid: 'again' });
    const ep = (await api('POST', '/v1/apps/again/endpoints', { type: 'relay', status: 'disabled', retrySchedule: [0.05] })).body;
    const start = receiver.requests.length;
    receiver.respond = (_r, i) => (i === start ? { status: 429, headers: { 'retry-after': '2' } } : { status: 200 });
    const l = listen([`${receiver.url}/again`, '--app', 'again', '--endpoint', ep.id]);
    expect(await l.waitFor((x) => x.event === 'ready')).toMatchObject({ reEnabled: true });
    expect((await api('GET', `/v1/apps/again/endpoints/${ep.id}`)).body.status).toBe('active');
    await l.waitFor((x) => x.event === 'connected');
    await publish('again', 'a.b', {});
    const d = await eventually(async () => {
      const [one] = await deliveriesOf('again');
      return one?.status === 'success' && one;
    }, 10_000);
    const { attempts } = (await api('GET', `/v1/apps/again/deliveries/${d.id}`)).body;
    expect(attempts.map((a: any) => a.statusCode)).toEqual([429, 200]);
    // The schedule said 50 ms; the local server asked for 2 s.
    expect(Date.parse(attempts[1].startedAt) - Date.parse(attempts[0].startedAt)).toBeGreaterThanOrEqual(1900);
  });

  it('forwards to this machine only, unless --allow-external', async () => {
    const l = listen(['http://example.com/hooks', '--app', 'acme']);
    expect(await l.exited).toBe(2);
    expect(l.stderr()).toContain('--allow-external');
  });

  it('--source brings an inbound source\'s verified requests to localhost', async () => {
    const dest = await f.receiver();
    const source = (await api('POST', '/v1/sources', {
      name: 'GitHub', verification: { scheme: 'github', secrets: ['gh-secret'] }, destinations: [{ url: `${dest.url}/prod`, rateLimit: 5 }],
    })).body;
    const prodId = source.destinations[0].id;
    const start = receiver.requests.length;
    receiver.respond = () => ({ status: 200 });
    const l = listen([`${receiver.url}/gh`, '--source', source.id]);
    await l.waitFor((x) => x.event === 'connected');
    const after = (await api('GET', `/v1/sources/${source.id}`)).body;
    expect(after.destinations).toHaveLength(2);
    // The existing destination kept its settings.
    expect(after.destinations.find((d: any) => d.id === prodId)).toMatchObject({ url: `${dest.url}/prod`, rateLimit: 5 });
    const body = '{"action":"opened","number":7}';
    const res = await fetch(source.ingestUrl, {
      method: 'POST', body,
      headers: { 'content-type': 'application/json', 'x-github-event': 'pull_request', 'x-hub-signature-256': `sha256=${createHmac('sha256', 'gh-secret').update(body).digest('hex')}` },
    });
    expect(res.status).toBe(202);
    const got = await eventually(async () => receiver.requests.slice(start).find((r) => r.path === '/gh'));
    expect(got.body).toBe(body);
    expect(got.headers['x-github-event']).toBe('pull_request');
    await dest.waitFor(1);
  });
});

describe('herald listen liveness', () => {
  let receiver: Receiver;
  let serverPid = 0;

  beforeAll(async () => {
    const server = await f.restartable({ HERALD_API_KEY: KEY, HERALD_RELAY_PING_MS: '300', HERALD_CIRCUIT_THRESHOLD: '3', HERALD_CIRCUIT_BASE_MS: '60000' });
    base = server.base;
    const proc = server.start();
    await waitForHealth(base, 20_000, proc);
    serverPid = proc.child.pid!;
    configDir = f.tempDir('herald-listen-cfg-');
    receiver = await f.receiver();
    await api('POST', '/v1/apps', { name: 'Live', uid: 'live' });
  });

  it('the server drops a listener that stops answering pings, and its unanswered delivery waits for the next one', async () => {
    const ep = (await api('POST', '/v1/apps/live/endpoints', { type: 'relay' })).body;
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/v1/apps/live/endpoints/${ep.id}/relay`, 'herald-relay.v1', { headers: { authorization: `Bearer ${KEY}` } });
    f.cleanup(() => ws.terminate());
    const deliveries: any[] = [];
    ws.on('message', (m) => {
      const msg = JSON.parse(m.toString());
      if (msg.type === 'delivery') deliveries.push(msg);
    });
    await new Promise((r) => ws.once('message', r)); // start
    expect((await api('GET', `/v1/apps/live/endpoints/${ep.id}`)).body.relay.connected).toBe(true);
    const sent = await publish('live', 'a.b', { n: 1 });
    await eventually(async () => deliveries.length === 1);
    // A laptop lid closes: the socket stays open but nothing is read or answered any more.
    (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const frozeAt = Date.now();
    await eventually(async () => (await api('GET', `/v1/apps/live/endpoints/${ep.id}`)).body.relay.connected === false, 5000, 50);
    expect(Date.now() - frozeAt).toBeLessThan(2000);
    const [waiting] = await deliveriesOf('live');
    expect(waiting).toMatchObject({ status: 'pending', attemptCount: 0 });

    receiver.respond = () => ({ status: 200 });
    const l = listen([`${receiver.url}/live`, '--app', 'live', '--endpoint', ep.id]);
    await l.waitFor((x) => x.event === 'delivery' && x.eventId === sent.body.id && x.status === 200);
    await eventually(async () => (await deliveriesOf('live'))[0].status === 'success');
    l.child.kill('SIGKILL');
  });

  it('a circuit opened by a broken local handler is probed as soon as a listener connects again', async () => {
    await api('POST', '/v1/apps', { name: 'Broken', uid: 'broken' });
    receiver.respond = (r) => (r.path === '/broken' ? { status: 500 } : { status: 200 });
    const first = listen([`${receiver.url}/broken`, '--app', 'broken']);
    const ready = await first.waitFor((x) => x.event === 'ready');
    await api('PATCH', `/v1/apps/broken/endpoints/${ready.endpointId}`, { retrySchedule: Array(10).fill(0.05) });
    await first.waitFor((x) => x.event === 'connected');
    await publish('broken', 'a.b', {});
    await eventually(async () => (await api('GET', `/v1/apps/broken/endpoints/${ready.endpointId}`)).body.circuitState === 'open');
    first.child.kill('SIGKILL');
    // Fixed; the next probe would be a minute away.
    const second = listen([`${receiver.url}/fixed`, '--app', 'broken']);
    await second.waitFor((x) => x.event === 'delivery' && x.status === 200, 5000);
    await eventually(async () => (await deliveriesOf('broken'))[0].status === 'success');
  });

  it('the listener notices a server that stopped answering, and reconnects when it is back', async () => {
    const l = listen([`${receiver.url}/live2`, '--app', 'live']);
    await l.waitFor((x) => x.event === 'connected');
    process.kill(serverPid, 'SIGSTOP');
    try {
      const gone = await l.waitFor((x) => x.event === 'disconnected', 5000);
      expect(gone.reason).toBe('no pong from the server');
    } finally {
      process.kill(serverPid, 'SIGCONT');
    }
    await eventually(async () => l.lines.filter((x) => x.event === 'connected').length === 2, 20_000);
    receiver.respond = () => ({ status: 200 });
    const sent = await publish('live', 'c.d', {});
    await l.waitFor((x) => x.event === 'delivery' && x.eventId === sent.body.id && x.status === 200);
  });
});
