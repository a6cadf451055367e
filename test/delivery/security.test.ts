import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';
import { afterAll, describe, expect, it } from 'vitest';
import { AddressPolicy } from '../../src/core/address-policy.js';
import { createSender } from '../../src/delivery/http.js';
import type { LookupFunction } from '../../src/delivery/guard.js';
import { generateSecret } from '../../src/core/signing.js';
import { fixtures } from '../helpers/fixtures.js';
import { appWithEndpoint, eventually, type TestHerald } from '../helpers/herald.js';
import { closedPort } from '../helpers/receiver.js';

const { receiver, herald, cleanup } = fixtures();

async function onlyDelivery(t: TestHerald, appId: string) {
  return eventually(async () => {
    const d = (await t.api('GET', `/v1/apps/${appId}/deliveries?limit=1`)).body.data[0];
    return d && d.status !== 'pending' ? (await t.api('GET', `/v1/apps/${appId}/deliveries/${d.id}`)).body : null;
  });
}

describe('SSRF guard', () => {
  it('refuses literal addresses of every blocked class, in every spelling, before connecting', async () => {
    const r = await receiver();
    const port = new URL(r.url).port;
    const sender = createSender({ policy: new AddressPolicy(false) });
    cleanup(() => sender.close());
    const urls = [
      `http://127.0.0.1:${port}/`, `http://0x7f000001:${port}/`, `http://2130706433:${port}/`, `http://127.1:${port}/`,
      `http://[::ffff:127.0.0.1]:${port}/`, `http://[::1]:${port}/`, `http://10.0.0.1:${port}/`, `http://192.168.1.1:${port}/`,
      `http://172.16.0.1:${port}/`, `http://100.64.0.1:${port}/`, `http://169.254.169.254/latest/meta-data/`,
      `http://0.0.0.0:${port}/`, `http://[fd00::1]:${port}/`, `http://[fe80::1]:${port}/`, `http://224.0.0.1:${port}/`,
    ];
    for (const url of urls) {
      const res = await sender.send(url, {}, '{}', 1000);
      expect(res.error, url).toBe('blocked_address');
    }
    expect(r.requests).toHaveLength(0);
  });

  it('checks the resolved address at connect time: a hostname resolving to loopback is blocked and recorded', async () => {
    const r = await receiver();
    const port = new URL(r.url).port;
    // The system resolver, except that this name answers 127.0.0.1 (as a rebinding attacker's would).
    const resolve: LookupFunction = (hostname, options, callback) => {
      if (hostname === 'rebind.example') return callback(null, options.all ? [{ address: '127.0.0.1', family: 4 }] : '127.0.0.1', 4);
      return callback(Object.assign(new Error('not found'), { code: 'ENOTFOUND' }), options.all ? [] : '');
    };
    const t = await herald({ HERALD_DEV: '0' }, { resolve });
    const app = (await t.api('POST', '/v1/apps', { name: 'SSRF' })).body;
    const ep = await t.api('POST', `/v1/apps/${app.id}/endpoints`, { url: `https://rebind.example:${port}/hook`, retrySchedule: [] });
    expect(ep.status).toBe(201); // the name looks public: only the connection can tell
    await t.api('POST', `/v1/apps/${app.id}/events`, { type: 'x.y', data: {} });
    const d = await onlyDelivery(t, app.id);
    expect(d).toMatchObject({ status: 'failed', lastError: 'blocked_address', lastStatusCode: null });
    expect(r.requests).toHaveLength(0);
    // An allowed network lets an operator reach an internal receiver on purpose.
    const allowed = createSender({ policy: new AddressPolicy(false, ['127.0.0.0/8']), resolve });
    cleanup(() => allowed.close());
    expect((await allowed.send(`http://127.0.0.1:${port}/ok`, {}, '{}', 1000)).statusCode).toBe(200);
    expect((await allowed.send(`http://[::ffff:127.0.0.1]:${port}/ok`, {}, '{}', 1000)).statusCode).toBe(200);
  });

  it('rejects endpoint URLs that can never be valid when not in dev mode', async () => {
    const t = await herald({ HERALD_DEV: '0', HERALD_ALLOWED_NETWORKS: '10.1.0.0/16' });
    const app = (await t.api('POST', '/v1/apps', { name: 'Rules' })).body;
    const create = (url: string) => t.api('POST', `/v1/apps/${app.id}/endpoints`, { url });
    for (const url of ['http://example.com/', 'https://127.0.0.1/', 'https://0x7f000001/', 'https://[::ffff:10.0.0.1]/', 'https://localhost/', 'https://169.254.169.254/']) {
      const res = await create(url);
      expect(res.status, url).toBe(422);
      expect(res.body.error.code).toBe('invalid_endpoint_url');
    }
    expect((await create('http://10.1.2.3:8080/hook')).status).toBe(201);
    expect((await create('https://hooks.example.com/x')).status).toBe(201);
  });
});

describe('secrets', () => {
  it('signs with the old and new secret during a rotation grace period; both verify with standardwebhooks', async () => {
    const t = await herald();
    const r = await receiver();
    const { appId, endpointId, secret: oldSecret } = await appWithEndpoint(t, r.url);
    const newSecret = generateSecret();
    const rotated = await t.api('POST', `/v1/apps/${appId}/endpoints/${endpointId}/secret/rotate`, { secret: newSecret, graceSeconds: 3600 });
    expect(rotated.body).toEqual({ secret: newSecret });
    expect((await t.api('GET', `/v1/apps/${appId}/endpoints/${endpointId}/secret`)).body.secret).toBe(newSecret);
    await t.api('POST', `/v1/apps/${appId}/events`, { type: 'x.y', data: { n: 1 } });
    const [req] = await r.waitFor(1);
    const sigs = (req.headers['webhook-signature'] as string).split(' ');
    expect(sigs).toHaveLength(2);
    expect(new Webhook(newSecret).verify(req.body, req.headers as Record<string, string>)).toMatchObject({ data: { n: 1 } });
    expect(new Webhook(oldSecret).verify(req.body, req.headers as Record<string, string>)).toMatchObject({ data: { n: 1 } });
    // The legacy header keeps the old secret through the grace period; -next carries the new one
    // (legacy-rotation.test.ts runs seed-style receivers across a whole rotation).
    expect(req.headers['x-webhook-signature']).toBe(`sha256=${createHmac('sha256', oldSecret).update(req.body).digest('hex')}`);
    expect(req.headers['x-webhook-signature-next']).toBe(`sha256=${createHmac('sha256', newSecret).update(req.body).digest('hex')}`);

    // Without grace, the old secret stops signing at once; a generated secret is returned.
    const again = await t.api('POST', `/v1/apps/${appId}/endpoints/${endpointId}/secret/rotate`, { graceSeconds: 0 });
    expect(again.body.secret).toMatch(/^whsec_/);
    await t.api('POST', `/v1/apps/${appId}/events`, { type: 'x.y', data: { n: 2 } });
    const [, req2] = await r.waitFor(2);
    expect((req2.headers['webhook-signature'] as string).split(' ')).toHaveLength(1);
    expect(() => new Webhook(newSecret).verify(req2.body, req2.headers as Record<string, string>)).toThrow();
    expect((await t.api('POST', `/v1/apps/${appId}/endpoints/${endpointId}/secret/rotate`, { secret: 'weak' })).status).toBe(422);
  });

  it('keeps endpoint secrets encrypted in the database file', async () => {
    const t = await herald();
    const secret = generateSecret();
    const { appId, endpointId } = await appWithEndpoint(t, 'https://example.com/hook', { secret });
    await t.api('POST', `/v1/apps/${appId}/endpoints/${endpointId}/secret/rotate`, { graceSeconds: 3600 });
    expect((await t.api('GET', `/v1/apps/${appId}/endpoints/${endpointId}/secret`)).body.secret).not.toBe(secret);
    const raw = readdirSync(t.dir).filter((f) => f.startsWith('herald.db')).map((f) => readFileSync(join(t.dir, f)));
    const needle = Buffer.from(secret.slice('whsec_'.length, 30));
    for (const file of raw) expect(file.includes(needle)).toBe(false);
    expect(raw.some((f) => f.includes(Buffer.from('enc:v1:')))).toBe(true);
  });

  it('keeps receiver credentials in custom headers encrypted too, sends them in the clear, and makes the database files private', async () => {
    const t = await herald();
    const r = await receiver();
    const token = `Bearer tok_${'x'.repeat(8)}_${Date.now()}`;
    const { appId, endpointId } = await appWithEndpoint(t, r.url, { headers: { Authorization: token, 'X-Team': 'blue' } });
    await t.api('PATCH', `/v1/apps/${appId}/endpoints/${endpointId}`, { description: 'still sealed after an update' });
    await t.api('POST', `/v1/apps/${appId}/events`, { type: 'x.y', data: {} });
    const [got] = await r.waitFor(1);
    expect(got.headers.authorization).toBe(token);
    expect(got.headers['x-team']).toBe('blue');
    expect((await t.api('GET', `/v1/apps/${appId}/endpoints/${endpointId}`)).body.headers).toEqual({ authorization: token, 'x-team': 'blue' });
    const files = readdirSync(t.dir).filter((f) => f.startsWith('herald.db'));
    expect(files.length).toBeGreaterThanOrEqual(2); // the file and its WAL at least
    for (const f of files) {
      expect(readFileSync(join(t.dir, f)).includes(Buffer.from(token.slice(7))), f).toBe(false);
      expect(statSync(join(t.dir, f)).mode & 0o777, f).toBe(0o600);
    }
  });
});

describe('signature profiles', () => {
  let python: ChildProcess | undefined;
  afterAll(() => python?.kill());

  it('brands the legacy headers per app, and receivers written like each seed verify them', async () => {
    const t = await herald();
    const secret = generateSecret();
    const port = await closedPort();
    python = spawn('python3', [fileURLToPath(new URL('../fixtures/seed_receivers.py', import.meta.url)), String(port), secret], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => python!.stdout!.once('data', () => resolve()));
    const py = `http://127.0.0.1:${port}`;
    const node = await receiver();
    // Node receivers as in the docs: Twig (timingSafeEqual over bare hex of the raw body),
    // Twenty (sha256= over the body), generic (bare hex), RAG assistant (sha256= over JSON.stringify(parsed)).
    const hex = (body: string) => createHmac('sha256', secret).update(body).digest('hex');
    const safeEq = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
    node.respond = (q) => {
      const body = q.body;
      const ok =
        q.path === '/twig' ? safeEq(String(q.headers['x-twig-signature']), hex(body))
        : q.path === '/twenty' ? q.headers['x-twenty-signature'] === `sha256=${hex(JSON.stringify(JSON.parse(body)))}`
        : q.path === '/generic' ? safeEq(String(q.headers['x-webhook-signature']), hex(body))
        : q.path === '/rag' ? safeEq(String(q.headers['x-webhook-signature']), `sha256=${hex(JSON.stringify(JSON.parse(body)))}`)
        : false;
      return { status: ok ? 200 : 401 };
    };
    const profiles: Record<string, unknown> = {
      twig: { header: 'X-Twig-Signature', format: 'hex', eventHeader: 'x-twig-event' },
      twenty: { header: 'x-twenty-signature', format: 'sha256=hex' },
      generic: { format: 'hex' },
      rag: null,
    };
    for (const [name, profile] of Object.entries(profiles)) {
      const app = (await t.api('POST', '/v1/apps', { name, signatureProfile: profile })).body;
      for (const base of [py, node.url]) {
        await t.api('POST', `/v1/apps/${app.id}/endpoints`, { url: `${base}/${name}`, secret, retrySchedule: [] });
      }
      await t.api('POST', `/v1/apps/${app.id}/events`, { type: 'interaction.completed', data: { prompt: 'What is your refund policy?', n: 1 } });
      const deliveries = await eventually(async () => {
        const list = (await t.api('GET', `/v1/apps/${app.id}/deliveries`)).body.data;
        return list.length === 2 && list.every((d: any) => d.status !== 'pending') ? list : null;
      });
      expect(deliveries.map((d: any) => [name, d.lastStatusCode])).toEqual([[name, 200], [name, 200]]);
    }
    const twig = node.requests.find((q) => q.path === '/twig')!;
    expect(twig.headers['x-twig-event']).toBe('interaction.completed');
    expect(twig.headers['x-webhook-signature']).toBeUndefined();
    expect(twig.headers['webhook-signature']).toMatch(/^v1,/); // Standard Webhooks always
    const bad = await t.api('POST', '/v1/apps', { name: 'x', signatureProfile: { header: 'webhook-signature' } });
    expect(bad.status).toBe(422);
  });
});

describe('operational webhooks and API limits', () => {
  it('tells the operator app when a delivery is exhausted', async () => {
    const t = await herald({ HERALD_OPERATOR_APP: 'ops' });
    const ops = await receiver();
    await t.api('POST', '/v1/apps', { name: 'Operator', uid: 'ops' });
    await t.api('POST', '/v1/apps/ops/endpoints', { url: ops.url });
    const port = await closedPort();
    const { appId, endpointId } = await appWithEndpoint(t, `http://127.0.0.1:${port}/`, { retrySchedule: [0.05] });
    const pub = await t.api('POST', `/v1/apps/${appId}/events`, { type: 'order.paid', data: {} });
    const [req] = await ops.waitFor(1);
    const body = JSON.parse(req.body);
    expect(body).toMatchObject({ type: 'delivery.exhausted', data: { appId, endpointId, eventId: pub.body.id, attempts: 2, lastError: 'connection_refused' } });
    expect(req.headers['webhook-signature']).toMatch(/^v1,/);
  });

  it('rate-limits the management API with 429 and Retry-After, but never publishing', async () => {
    const t = await herald({ HERALD_API_RATE_LIMIT: '5' });
    const statuses: number[] = [];
    for (let i = 0; i < 14; i++) statuses.push((await t.api('GET', '/v1/apps')).status);
    expect(statuses.slice(0, 10).every((s) => s === 200)).toBe(true);
    const limited = await t.api('GET', '/v1/apps');
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const app = (await t.api('POST', '/v1/apps', { name: 'x' }));
    expect(app.status).toBe(429);
  });
});
