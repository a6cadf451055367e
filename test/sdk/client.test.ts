import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { promisify } from 'node:util';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { Webhook } from 'standardwebhooks';
import { beforeAll, describe, expect, it } from 'vitest';
import { HeraldApiError, HeraldClient, ROUTES, type OperationId } from '../../src/sdk/client/index.js';
import { fixtures } from '../helpers/fixtures.js';
import { API_KEY, eventually, type TestHerald } from '../helpers/herald.js';
import type { Receiver } from '../helpers/receiver.js';

const f = fixtures();

interface Seen { method: string; url: string; status: number; body: unknown }

/**
 * Every response the client got, checked afterwards against the response schema /openapi.json
 * documents for its operation: the client's types come from those schemas, so a handler that
 * returns something else fails here.
 */
function recordingFetch(seen: Seen[], onResponse?: (res: Response) => void): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    onResponse?.(res);
    const copy = res.clone();
    const text = await copy.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      /* raw bodies */
    }
    seen.push({ method: init?.method ?? 'GET', url: String(input), status: res.status, body });
    return res;
  };
}

/** The operation's schema with the document's $refs to components inlined (they don't recurse). */
function deref(doc: any, schema: unknown): any {
  if (Array.isArray(schema)) return schema.map((s) => deref(doc, s));
  if (!schema || typeof schema !== 'object') return schema;
  const ref = (schema as { $ref?: string }).$ref;
  if (ref) return deref(doc, doc.components.schemas[ref.split('/').pop()!]);
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, deref(doc, v)]));
}

function operationOf(doc: any, method: string, url: string): { id: string; op: any } | null {
  const path = new URL(url).pathname;
  for (const [template, ops] of Object.entries<any>(doc.paths)) {
    const re = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    if (re.test(path) && ops[method.toLowerCase()]) return { id: ops[method.toLowerCase()].operationId, op: ops[method.toLowerCase()] };
  }
  return null;
}

/** A proxy in front of Herald that can swallow the response to a request (the client sees a dropped connection) or answer 503. */
class FlakyProxy {
  server!: Server;
  url = '';
  /** how to treat the next requests matching a path: 'drop' forwards and then cuts the answer, 'busy' answers 503 with Retry-After */
  plan: Array<'drop' | 'busy'> = [];
  forwarded = 0;

  constructor(private readonly target: string, private readonly match: RegExp) {}

  async start(): Promise<this> {
    const target = new URL(this.target);
    this.server = createServer((req, res) => {
      const matches = this.match.test(req.url ?? '');
      const step = matches ? this.plan.shift() : undefined;
      if (step === 'busy') {
        res.writeHead(503, { 'retry-after': '1', 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'unavailable', message: 'busy' } }));
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (matches) this.forwarded++;
        const up = httpRequest({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (upRes) => {
          const body: Buffer[] = [];
          upRes.on('data', (c: Buffer) => body.push(c));
          upRes.on('end', () => {
            // Herald committed the event and answered; the publisher never hears of it.
            if (step === 'drop') return req.socket.destroy();
            res.writeHead(upRes.statusCode ?? 502, upRes.headers);
            res.end(Buffer.concat(body));
          });
        });
        up.end(Buffer.concat(chunks));
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

describe('herald-webhooks/client against a real server', () => {
  let t: TestHerald;
  let receiver: Receiver;
  let client: HeraldClient;
  let doc: any;
  const seen: Seen[] = [];

  beforeAll(async () => {
    t = await f.herald();
    receiver = await f.receiver();
    client = new HeraldClient({ url: t.url, apiKey: API_KEY, fetch: recordingFetch(seen) });
    doc = (await t.api('GET', '/openapi.json')).body;
  });

  it('has exactly the /v1 operations of the OpenAPI document, by operationId, method and path', () => {
    const documented = new Map<string, [string, string]>();
    for (const [path, ops] of Object.entries<any>(doc.paths)) {
      if (!path.startsWith('/v1/')) continue;
      for (const [method, op] of Object.entries<any>(ops)) documented.set(op.operationId, [method.toUpperCase(), path]);
    }
    expect(Object.fromEntries(Object.entries(ROUTES).map(([k, v]) => [k, [...v]]))).toEqual(Object.fromEntries(documented));
  });

  it('covers apps, event types, endpoints, events, deliveries and sources', async () => {
    const app = await client.apps.create({ name: 'Acme', uid: 'acme-client' });
    expect(app.uid).toBe('acme-client');
    expect((await client.apps.get('acme-client')).id).toBe(app.id);
    expect((await client.apps.update('acme-client', { name: 'Acme Inc' })).name).toBe('Acme Inc');
    expect((await client.apps.list({ limit: 10 }).toArray()).map((a) => a.id)).toContain(app.id);

    await client.eventTypes.create({ name: 'person.created', schema: { type: 'object', required: ['id'] } });
    expect((await client.eventTypes.get('person.created')).schema).toEqual({ type: 'object', required: ['id'] });
    expect((await client.eventTypes.update('person.created', { description: 'a person' })).description).toBe('a person');
    expect((await client.eventTypes.list().toArray()).map((e) => e.name)).toContain('person.created');

    const ep = await client.endpoints.create('acme-client', { url: `${receiver.url}/hook`, events: ['person.*'] });
    expect(ep.secret).toMatch(/^whsec_/);
    expect((await client.endpoints.get('acme-client', ep.id)).events).toEqual(['person.*']);
    expect((await client.endpoints.list('acme-client').page()).data).toHaveLength(1);
    expect((await client.endpoints.update('acme-client', ep.id, { description: 'CRM sync' })).description).toBe('CRM sync');
    expect((await client.endpoints.secret('acme-client', ep.id)).secret).toBe(ep.secret);

    const published = await client.events.publish('acme-client', { type: 'person.created', data: { id: 1, name: 'Ada' } });
    expect(published).toMatchObject({ type: 'person.created', deliveries: 1 });
    const [got] = await receiver.waitFor(1);
    const verified = new Webhook(ep.secret.slice('whsec_'.length)).verify(got.body, got.headers as Record<string, string>);
    expect(verified).toMatchObject({ id: published.id, data: { id: 1, name: 'Ada' } });
    expect((await client.events.get('acme-client', published.id)).data).toEqual({ id: 1, name: 'Ada' });
    const batch = await client.events.publishBatch('acme-client', [
      { type: 'person.created', data: { id: 2 } }, { type: 'person.created', data: { id: 3 } },
    ]);
    expect(batch.data.map((e) => e.duplicate)).toEqual([false, false]);
    expect((await client.events.list('acme-client').toArray()).map((e) => e.id)).toEqual([published.id, ...batch.data.map((e) => e.id)]);

    await receiver.waitFor(3);
    const deliveries = await eventually(async () => {
      const all = await client.deliveries.list('acme-client', { status: 'success' }).toArray();
      return all.length === 3 && all;
    });
    const detail = await client.deliveries.get('acme-client', deliveries[0].id);
    expect(detail.attempts[0].statusCode).toBe(200);
    expect(await client.deliveries.retry('acme-client', deliveries[0].id)).toEqual({ id: deliveries[0].id, status: 'pending' });
    expect((await client.endpoints.deliveries('acme-client', ep.id, { eventId: published.id }).page()).data).toHaveLength(1);
    const test = await client.endpoints.test('acme-client', ep.id);
    expect(test.deliveryId).toMatch(/^dlv_/);
    // Attempts: three events, the retry of one, the test.
    await eventually(async () => (await client.endpoints.stats('acme-client', ep.id)).succeeded === 5);
    expect(await client.endpoints.recover('acme-client', ep.id, { since: new Date(Date.now() - 3600_000).toISOString() })).toEqual({ requeued: 0 });
    const rotated = await client.endpoints.rotateSecret('acme-client', ep.id, { graceSeconds: 0 });
    expect(rotated.secret).not.toBe(ep.secret);

    const source = await client.sources.create({
      name: 'GitHub', verification: { scheme: 'github', secrets: ['gh-secret'] }, destinations: [{ url: `${receiver.url}/gh` }],
    });
    expect((await client.sources.get(source.id)).name).toBe('GitHub');
    expect((await client.sources.list().toArray()).map((s) => s.id)).toContain(source.id);
    expect((await client.sources.update(source.id, { rateLimit: 100 })).rateLimit).toBe(100);
    const body = '{"action":"opened"}';
    const sig = `sha256=${createHmac('sha256', 'gh-secret').update(body).digest('hex')}`;
    const ingest = await fetch(source.ingestUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': sig }, body });
    expect(ingest.status).toBe(202);
    const [request] = await client.sources.requests(source.id, { status: 'accepted' }).toArray();
    expect((await client.sources.request(source.id, request.id)).status).toBe('accepted');
    const raw = await client.sources.requestBody(source.id, request.id);
    expect(new TextDecoder().decode(raw.body)).toBe(body);
    expect(raw.contentType).toMatch(/^application\/json/);
    await eventually(async () => (await client.sources.request(source.id, request.id)).forwarding === 'delivered');
    expect(await client.sources.replayRequest(source.id, request.id)).toEqual({ replayed: 1 });
    expect((await client.sources.replay(source.id, { since: new Date(Date.now() - 60_000).toISOString() })).replayed).toBe(0);
    const routing = await client.sources.testRouting(source.id, { requestId: request.id });
    expect(routing).toMatchObject({ routes: [(source.destinations[0] as { id: string }).id], destinations: [{ matches: true, reasons: [] }] });
    const polled = await client.sources.update(source.id, { dedup: { key: 'body:$.id' }, poll: { url: `${receiver.url}/changes`, items: '$', key: '$.id' } });
    expect(polled.poll).toMatchObject({ url: `${receiver.url}/changes`, headerNames: [], intervalSeconds: 300 });
    // The receiver answers "OK", which is no changes API: the run says so (409 while the worker's first run is under way).
    const run = await eventually(() => client.sources.poll(source.id, { cursor: null }));
    expect(run.error).toMatchObject({ code: 'invalid_json' });
    await client.sources.delete(source.id);

    expect((await client.eventTypes.archive('person.created')).archived).toBe(true);
    await client.endpoints.delete('acme-client', ep.id);
    await client.apps.delete('acme-client');
    await expect(client.apps.get('acme-client')).rejects.toMatchObject({ status: 404, code: 'not_found' });
  });

  it('covers the portal: a link, the session it opens, the time series, expire-all', async () => {
    const app = await client.apps.create({ name: 'Portal Co', uid: 'portal-client', portal: { productName: 'Portal Co', primaryColor: '#123abc' } });
    const ep = await client.endpoints.create('portal-client', { url: `${receiver.url}/portal-hook` });
    await client.endpoints.test('portal-client', ep.id);
    const series = await eventually(async () => {
      const s = await client.endpoints.timeseries('portal-client', ep.id, { bucketSeconds: 3600 });
      return s.points.length === 1 && s;
    });
    expect(series.points[0]).toMatchObject({ succeeded: 1, failed: 0 });
    expect(series.bucketSeconds).toBe(3600);

    const access = await client.portal.createAccess('portal-client', { capabilities: ['view'], expiresInSeconds: 600 });
    expect(access.url).toBe(`${t.url}/portal/#token=${access.token}`);
    // A browser: the session cookie from the exchange, sent back by hand (Node's fetch keeps no cookies).
    let cookie = '';
    const browser = new HeraldClient({
      url: t.url, credentials: 'same-origin', headers: () => ({ cookie }),
      fetch: recordingFetch(seen, (res) => { cookie = res.headers.get('set-cookie')?.split(';')[0] ?? cookie; }),
    });
    const session = await browser.sessions.create({ portalToken: access.token });
    expect(session).toMatchObject({ kind: 'portal', app: { id: app.id }, capabilities: ['view'], theme: { productName: 'Portal Co', primaryColor: '#123abc' } });
    expect(cookie).toMatch(/^herald_portal=hs_/);
    expect((await browser.sessions.get()).csrfToken).toBe(session.csrfToken);
    expect((await browser.endpoints.list('portal-client').page()).data.map((e) => e.id)).toEqual([ep.id]);
    await expect(browser.apps.list().page()).rejects.toMatchObject({ status: 403, code: 'forbidden' });
    expect(await client.portal.expireAll('portal-client', {})).toEqual({ expired: 1 });
    await expect(browser.sessions.get()).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
    await expect(browser.sessions.create({ portalToken: access.token })).rejects.toMatchObject({ status: 401, code: 'invalid_token' });

    // The API key is a session of its own kind: nothing to sign out of.
    expect(await client.sessions.get()).toMatchObject({ kind: 'operator', expiresAt: null, csrfToken: null });
    await client.sessions.delete();
    await client.apps.delete('portal-client');
  });

  it('covers alert rules: every app, one app, history', async () => {
    const app = await client.apps.create({ name: 'Alerting Co', uid: 'alert-client' });
    const ep = await client.endpoints.create('alert-client', { url: `${receiver.url}/alerting` });
    const global = await client.alertRules.create({
      name: 'Failed deliveries > 10', condition: { metric: 'failed_deliveries', op: '>', threshold: 10 },
      channels: [{ type: 'slack', url: `${receiver.url}/slack` }, { type: 'webhook', url: `${receiver.url}/alerts` }],
    });
    expect(global).toMatchObject({ state: 'ok', appId: null, condition: { windowSeconds: 300 } });
    const hook = global.channels.find((c) => c.type === 'webhook');
    expect(hook && 'secret' in hook && hook.secret).toMatch(/^whsec_/);
    expect((await client.alertRules.get(global.id)).name).toBe('Failed deliveries > 10');
    expect((await client.alertRules.list().toArray()).map((r) => r.id)).toContain(global.id);
    expect((await client.alertRules.update(global.id, { repeatSeconds: 3600 })).repeatSeconds).toBe(3600);
    expect((await client.alertRules.history(global.id)).data).toEqual([]);

    const acme = client.alertRules.forApp('alert-client');
    const rule = await acme.create({
      name: 'Success rate < 95%', endpointId: ep.id, condition: { metric: 'success_rate', op: '<', threshold: 95 },
      channels: [{ type: 'slack', url: `${receiver.url}/slack` }],
    });
    expect(rule).toMatchObject({ appId: app.id, endpointId: ep.id, condition: { minAttempts: null } });
    expect((await acme.get(rule.id)).id).toBe(rule.id);
    expect((await acme.list().toArray()).map((r) => r.id)).toEqual([rule.id]);
    expect((await acme.update(rule.id, { enabled: false })).enabled).toBe(false);
    expect((await acme.history(rule.id)).data).toEqual([]);
    await expect(acme.get(global.id)).rejects.toMatchObject({ status: 404, code: 'not_found' });
    await expect(client.alertRules.create({ name: 'x', condition: { metric: 'success_rate', op: '>', threshold: 95 }, channels: [{ type: 'slack', url: `${receiver.url}/s` }] }))
      .rejects.toMatchObject({ status: 422, code: 'invalid_alert_rule' });
    await acme.delete(rule.id);
    await client.alertRules.delete(global.id);
    await client.apps.delete('alert-client');
  });

  it('covers filters: an endpoint filter and channels, fan-out, the event page and the explanations', async () => {
    await client.apps.create({ name: 'Filters', uid: 'filter-client' });
    const ep = await client.endpoints.create('filter-client', { url: `${receiver.url}/filtered`, filter: { 'data.amount': { $gt: 100 } }, channels: ['team_42'] });
    expect(ep).toMatchObject({ filter: { 'data.amount': { $gt: 100 } }, channels: ['team_42'] });
    const big = await client.events.publish('filter-client', { type: 'payment.succeeded', data: { amount: 500 }, channels: ['team_42'] });
    const small = await client.events.publish('filter-client', { type: 'payment.succeeded', data: { amount: 5 }, channels: ['team_42'] });
    expect((await client.events.get('filter-client', big.id)).endpointIds).toEqual([ep.id]);
    expect((await client.events.get('filter-client', small.id)).endpointIds).toEqual([]);
    const why = await client.endpoints.testFilter('filter-client', ep.id, { eventId: small.id });
    expect(why).toMatchObject({ matches: false, reasons: [{ path: '/filter/data.amount/$gt' }] });
    expect(await client.endpoints.testUnsavedFilter({ filter: { type: { $startsWith: 'payment.' } }, event: { type: 'payment.succeeded' } })).toEqual({ matches: true, reasons: [] });
    await expect(client.endpoints.testUnsavedFilter({ filter: { a: { $gt: [] } }, event: {} })).rejects.toMatchObject({ status: 422, code: 'invalid_filter' });
    await client.apps.delete('filter-client');
  });

  it('covers payload shapes: an envelope profile, extra fields, a raw payload, a transform and its test', async () => {
    const app = await client.apps.create({ name: 'Shapes', uid: 'shapes-client', envelopeProfile: { fields: { type: 'event' }, sequence: false, extra: ['workspaceId'] } });
    expect(app.envelopeProfile).toEqual({ fields: { id: 'id', type: 'event', timestamp: 'timestamp' }, timestampFormat: 'iso', sequence: false, extra: ['workspaceId'] });
    const ep = await client.endpoints.create('shapes-client', { url: `${receiver.url}/shapes`, transform: 'function transform(w) { w.payload = { e: w.payload.event }; return w; }' });
    expect(ep.transform).toMatch(/^function transform/);
    await client.events.publish('shapes-client', { type: 'shape.created', data: { a: 1 }, fields: { workspaceId: 'ws_1' } });
    await client.events.publish('shapes-client', { type: 'raw.one', payload: [1, 2] });
    const preview = await client.endpoints.testTransform('shapes-client', ep.id, { event: { event: 'shape.created' } });
    expect(preview).toEqual({ skip: false, request: { url: `${receiver.url}/shapes`, headers: {}, body: '{"e":"shape.created"}' } });
    await expect(client.endpoints.testTransform('shapes-client', ep.id, { event: {}, transform: 'function transform() { throw new Error("x") }' })).rejects.toMatchObject({ status: 422, code: 'transform_failed' });
    await client.apps.delete('shapes-client');
  });

  it('walks more than 250 items across pages, and one page at a time', async () => {
    const app = await client.apps.create({ name: 'Pages' });
    await client.endpoints.create(app.id, { url: `${receiver.url}/pages` });
    const events = Array.from({ length: 300 }, (_, i) => ({ type: 'page.item', data: { i } }));
    await client.events.publishBatch(app.id, events);
    const all = await client.events.list(app.id, { limit: 120 }).toArray();
    expect(all.map((e) => (e.data as { i: number }).i)).toEqual(events.map((_, i) => i));
    let pages = 0;
    const ids = new Set<string>();
    for await (const page of client.deliveries.list(app.id).pages()) {
      pages++;
      for (const d of page.data) ids.add(d.id);
    }
    expect(ids.size).toBe(300);
    expect(pages).toBe(6); // 50 a page by default
    const first = await client.events.list(app.id, { limit: 250 }).page();
    expect(first).toMatchObject({ done: false });
    const rest = await client.events.list(app.id, { limit: 250, iterator: first.iterator! }).page();
    expect(rest.data).toHaveLength(50);
    expect(rest.done).toBe(true);
  });

  it('throws HeraldApiError with status, code, message and details', async () => {
    const err = await client.apps.create({ name: '' }).catch((e) => e);
    expect(err).toBeInstanceOf(HeraldApiError);
    expect(err).toMatchObject({ status: 400, code: 'validation_failed' });
    expect(err.details[0]).toMatchObject({ path: '/name' });
    const wrongKey = new HeraldClient({ url: t.url, apiKey: 'nope' });
    await expect(wrongKey.apps.list().page()).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
    const nowhere = new HeraldClient({ url: 'http://127.0.0.1:9', apiKey: 'k', maxRetries: 1 });
    await expect(nowhere.apps.list().page()).rejects.toMatchObject({ status: 0, code: 'network_error' });
  });

  it('answers every documented operation with what the OpenAPI document says', () => {
    const ajv = addFormats.default(new Ajv.default({ strict: false, allErrors: true }));
    const covered = new Set<string>();
    for (const s of seen) {
      const found = operationOf(doc, s.method, s.url);
      expect(found, `${s.method} ${s.url}`).not.toBeNull();
      covered.add(found!.id);
      const response = found!.op.responses[String(s.status)];
      if (s.status >= 400) {
        expect(ajv.validate(deref(doc, found!.op.responses['4XX'].content['application/json'].schema), s.body), `${s.method} ${s.url}`).toBe(true);
        continue;
      }
      expect(response, `${s.method} ${s.url} answered ${s.status}, documented ${Object.keys(found!.op.responses)}`).toBeDefined();
      const schema = deref(doc, response.content?.['application/json']?.schema);
      if (schema) expect(ajv.validate(schema, s.body), `${s.method} ${s.url}: ${ajv.errorsText()}`).toBe(true);
    }
    // The relay is a WebSocket, exercised by the `herald listen` tests.
    expect(client.endpoints.relayUrl('acme', 'ep_1')).toBe(`${t.url.replace(/^http/, 'ws')}/v1/apps/acme/endpoints/ep_1/relay`);
    const missing = (Object.keys(ROUTES) as OperationId[]).filter((id) => !covered.has(id) && id !== 'connectRelay');
    expect(missing).toEqual([]);
  });
});

describe('examples/publisher.mjs', () => {
  it('runs against a real server, through the package\'s own herald-webhooks/client export, and is safe to run twice', async () => {
    const t = await f.herald();
    const run = () => promisify(execFile)(process.execPath, ['examples/publisher.mjs', 'example-co'], { env: { ...process.env, HERALD_URL: t.url, HERALD_API_KEY: API_KEY } });
    const first = await run();
    expect(first.stdout).toMatch(/published evt_\w+ \(person.created\) to 0 endpoint\(s\)/);
    expect(first.stdout).toContain('0 failed deliveries');
    await run();
    expect((await t.api('GET', '/v1/apps/example-co/events')).body.data).toHaveLength(2);
  });
});

describe('publish retries', () => {
  let t: TestHerald;
  let receiver: Receiver;

  beforeAll(async () => {
    t = await f.herald();
    receiver = await f.receiver();
  });

  it('a response lost on the way back is retried with the same Idempotency-Key: one event, one delivery', async () => {
    const proxy = await new FlakyProxy(t.url, /\/events$/).start();
    f.cleanup(() => proxy.stop());
    const client = new HeraldClient({ url: proxy.url, apiKey: API_KEY });
    const app = await client.apps.create({ name: 'Retry' });
    await client.endpoints.create(app.id, { url: `${receiver.url}/r` });
    proxy.plan = ['drop'];
    const published = await client.events.publish(app.id, { type: 'order.paid', data: { n: 1 } });
    expect(proxy.forwarded).toBe(2); // the dropped one reached Herald, and the retry
    const events = await client.events.list(app.id).toArray();
    expect(events.map((e) => e.id)).toEqual([published.id]);
    await receiver.waitFor(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.requests.filter((r) => r.path === '/r')).toHaveLength(1);
  });

  it('a 503 with Retry-After is waited out, then published once', async () => {
    const proxy = await new FlakyProxy(t.url, /\/events$/).start();
    f.cleanup(() => proxy.stop());
    const client = new HeraldClient({ url: proxy.url, apiKey: API_KEY });
    const app = await client.apps.create({ name: 'Busy' });
    proxy.plan = ['busy'];
    const started = Date.now();
    await client.events.publish(app.id, { type: 'order.paid', data: {} }, { idempotencyKey: 'order-42' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(proxy.forwarded).toBe(1);
    // The key is the caller's: publishing it again later returns the first event.
    const again = await client.events.publish(app.id, { type: 'order.paid', data: {} }, { idempotencyKey: 'order-42' });
    expect((await client.events.list(app.id).toArray()).map((e) => e.id)).toEqual([again.id]);
  });

  it('creates are not retried: a lost response surfaces as an error instead of a second app', async () => {
    const proxy = await new FlakyProxy(t.url, /\/v1\/apps$/).start();
    f.cleanup(() => proxy.stop());
    const client = new HeraldClient({ url: proxy.url, apiKey: API_KEY });
    proxy.plan = ['drop'];
    await expect(client.apps.create({ name: 'Once', uid: 'once' })).rejects.toMatchObject({ status: 0, code: 'network_error' });
    expect(proxy.forwarded).toBe(1);
  });
});
