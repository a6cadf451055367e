import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/core/signing.js';
import { fixtures } from '../helpers/fixtures.js';
import { eventually, type TestHerald } from '../helpers/herald.js';
import { heraldTargets } from '../helpers/postgres.js';
import { closedPort, type Receiver } from '../helpers/receiver.js';

/**
 * Envelope profiles, raw payloads and endpoint transforms, end to end on SQLite and
 * PostgreSQL, with receivers written like each seed's Node (Express) and Python samples.
 */
const f = fixtures();
const targets = heraldTargets(f.cleanup);
const SECRET = generateSecret();

/** Python receivers (test/fixtures/seed_envelope_receivers.py), one process for the file. */
let python: ChildProcess;
let py = '';
beforeAll(async () => {
  const port = await closedPort();
  python = spawn('python3', [fileURLToPath(new URL('../fixtures/seed_envelope_receivers.py', import.meta.url)), String(port), SECRET], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => python.stdout!.once('data', () => resolve()));
  py = `http://127.0.0.1:${port}`;
});
afterAll(() => python?.kill());

/**
 * Node receivers as each seed's Express sample writes them; each answers 200 with the fields
 * its handler reads (a missing one: 500 naming it), 401 for a bad signature.
 * - Twig (000): express.raw, timingSafeEqual over the bare hex of the raw body; sound as written.
 * - Twenty (001): express.raw, then `JSON.stringify(req.body)` of that Buffer, which can never
 *   match; with the raw-body fix its own prose gives ("Use raw body").
 * - 002 and RAG (003): express.json(), HMAC over JSON.stringify(req.body) (re-serialized):
 *   JavaScript writes back the same bytes for JSON.stringify output, so they verify as written.
 */
async function nodeSeedReceivers(): Promise<string> {
  const app = express();
  const hex = (body: string | Buffer) => createHmac('sha256', SECRET).update(body).digest('hex');
  const read = (res: express.Response, pick: () => Record<string, unknown>) => {
    try {
      res.status(200).json(pick());
    } catch (err) {
      res.status(500).json({ error: String(err) });
    }
  };
  const need = (o: any, k: string) => {
    if (o[k] === undefined) throw new Error(`missing ${k}`);
    return o[k];
  };
  app.post('/twig', express.raw({ type: 'application/json' }), (req, res) => {
    const signature = String(req.headers['x-twig-signature']);
    const expected = hex(req.body);
    if (signature.length !== expected.length || !timingSafeEqual(Buffer.from(signature), Buffer.from(expected))) return res.status(401).send('Invalid signature');
    const event = JSON.parse(req.body);
    read(res, () => ({ type: need(event, 'type'), id: need(event, 'id'), timestamp: need(event, 'timestamp'), data: need(event, 'data') }));
  });
  app.post('/twenty', express.raw({ type: 'application/json' }), (req, res) => {
    const signature = req.headers['x-twenty-signature'];
    const payload = req.body; // the fix: the raw body, not JSON.stringify(req.body)
    if (signature !== `sha256=${hex(payload)}`) return res.status(401).send('Invalid signature');
    const event = JSON.parse(req.body);
    read(res, () => ({ event: need(event, 'event'), workspaceId: need(event, 'workspaceId'), timestamp: need(event, 'timestamp'), firstName: need(event.data.attributes, 'firstName'), lastName: need(event.data.attributes, 'lastName') }));
  });
  app.post('/generic', express.json(), (req, res) => {
    const signature = String(req.headers['x-webhook-signature']);
    const payload = JSON.stringify(req.body);
    const mac = hex(payload);
    if (signature.length !== mac.length || !timingSafeEqual(Buffer.from(signature), Buffer.from(mac))) return res.status(401).send('Invalid signature');
    const event = req.body;
    read(res, () => ({ type: need(event, 'type'), created_at: need(event, 'created_at'), data: need(event, 'data') }));
  });
  app.post('/rag', express.json(), (req, res) => {
    const signature = String(req.headers['x-webhook-signature']);
    const expectedSignature = `sha256=${hex(JSON.stringify(req.body))}`;
    let ok = false;
    try {
      ok = timingSafeEqual(Buffer.from(signature), Buffer.from(expectedSignature));
    } catch {
      ok = false;
    }
    if (!ok) return res.status(401).send('Invalid signature');
    read(res, () => ({ type: need(req.body, 'type'), created: need(req.body, 'created'), data: need(req.body, 'data') }));
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  f.cleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The finished deliveries of an event, with their attempts. */
async function finished(t: TestHerald, appId: string, eventId: string, count: number) {
  return eventually(async () => {
    const list = (await t.api('GET', `/v1/apps/${appId}/deliveries?eventId=${eventId}`)).body.data;
    if (list.length !== count || list.some((d: any) => d.status === 'pending')) return null;
    return Promise.all(list.map(async (d: any) => (await t.api('GET', `/v1/apps/${appId}/deliveries/${d.id}`)).body));
  });
}

for (const target of targets) {
  describe(`payload shapes on ${target.name}`, () => {
    let t: TestHerald;
    let node = '';
    beforeAll(async () => {
      t = await f.herald(target.env());
      node = await nodeSeedReceivers();
    });

    it("sends each seed's documented envelope, and receivers written like its Node and Python samples read it, ASCII or not", async () => {
      const seeds = [
        {
          name: 'twig', type: 'interaction.completed',
          app: { signatureProfile: { header: 'x-twig-signature', format: 'hex' }, envelopeProfile: { sequence: false, extra: ['organizationId'] } },
          keys: ['id', 'type', 'timestamp', 'organizationId', 'data'], fields: { organizationId: 'org-123' },
          data: (s: string) => ({ interaction: { prompt: `What is your refund policy?${s}`, confidence: 1e-7 } }),
          reads: (e: any, body: any) => ({ type: 'interaction.completed', id: e.id, timestamp: body.timestamp, data: body.data }),
        },
        {
          name: 'twenty', type: 'person.created',
          app: { signatureProfile: { header: 'x-twenty-signature' }, envelopeProfile: { fields: { type: 'event' }, sequence: false, extra: ['workspaceId'] } },
          keys: ['id', 'event', 'timestamp', 'workspaceId', 'data'], fields: { workspaceId: 'ws_1' },
          data: (s: string) => ({ object: 'person', id: 'p1', attributes: { firstName: `Zo${s ? 'ë' : 'e'}`, lastName: `Bront${s ? 'ë' : 'e'}`, score: 1e-7 } }),
          reads: (_e: any, body: any) => ({ event: 'person.created', workspaceId: 'ws_1', timestamp: body.timestamp, firstName: body.data.attributes.firstName, lastName: body.data.attributes.lastName }),
        },
        {
          name: 'generic', type: 'user.created',
          app: { signatureProfile: { format: 'hex' }, envelopeProfile: { fields: { timestamp: 'created_at' }, sequence: false } },
          keys: ['id', 'type', 'created_at', 'data'], fields: undefined,
          data: (s: string) => ({ id: 'user_123', name: `John Doe${s}`, ratio: 1e-7 }),
          reads: (_e: any, body: any) => ({ type: 'user.created', created_at: body.created_at, data: body.data }),
        },
        {
          name: 'rag', type: 'chat.query.completed',
          app: { envelopeProfile: { fields: { timestamp: 'created' }, sequence: false } },
          keys: ['id', 'type', 'created', 'data'], fields: undefined,
          data: (s: string) => ({ query: `Show me wireless headphones under $200${s}`, confidence: 0.92 }),
          reads: (_e: any, body: any) => ({ type: 'chat.query.completed', created: body.created, data: body.data }),
        },
      ];
      for (const seed of seeds) {
        const app = (await t.api('POST', '/v1/apps', { name: seed.name, ...seed.app })).body;
        for (const base of [py, node]) {
          const ep = await t.api('POST', `/v1/apps/${app.id}/endpoints`, { url: `${base}/${seed.name}`, secret: SECRET, retrySchedule: [] });
          expect(ep.status, JSON.stringify(ep.body)).toBe(201);
        }
        for (const suffix of ['', ' — Où est ma commande ? 日本語 ë']) {
          const published = await t.api('POST', `/v1/apps/${app.id}/events`, { type: seed.type, data: seed.data(suffix), ...(seed.fields ? { fields: seed.fields } : {}) });
          expect(published.status, JSON.stringify(published.body)).toBe(202);
          const ds = await finished(t, app.id, published.body.id, 2);
          for (const d of ds) {
            const body = JSON.parse(d.request.body);
            expect(Object.keys(body), seed.name).toEqual(seed.keys);
            expect(body.data).toEqual(seed.data(suffix));
            expect([seed.name, d.attempts[0].statusCode, d.attempts[0].responseBody]).toEqual([seed.name, 200, expect.any(String)]);
            expect(JSON.parse(d.attempts[0].responseBody)).toEqual(seed.reads(published.body, body));
          }
        }
      }
    });

    it("fails the RAG sample's Python receiver as written (it verifies json.dumps of the parsed body) on 1e-7 and non-ASCII only: use the raw body", async () => {
      const app = (await t.api('POST', '/v1/apps', { name: 'rag as written' })).body;
      await t.api('POST', `/v1/apps/${app.id}/endpoints`, { url: `${py}/rag-as-written`, secret: SECRET, retrySchedule: [] });
      const codes: number[] = [];
      for (const data of [{ q: 'plain ascii', n: 0.5 }, { q: 'Zoë' }, { q: 'ascii', n: 1e-7 }]) {
        const e = (await t.api('POST', `/v1/apps/${app.id}/events`, { type: 'chat.query.completed', data })).body;
        codes.push((await finished(t, app.id, e.id, 1))[0].attempts[0].statusCode);
      }
      expect(codes).toEqual([200, 401, 401]);
    });

    it("refuses a profile that can't be rendered, naming the part (422), and renders unix timestamps and the sequence when asked", async () => {
      const bad = async (envelopeProfile: unknown) => (await t.api('POST', '/v1/apps', { name: 'bad', envelopeProfile })).body.error;
      expect(await bad({ fields: { type: 'data' } })).toMatchObject({ code: 'invalid_envelope_profile', details: { path: '/envelopeProfile/fields/type' } });
      expect(await bad({ fields: { id: 'ref', type: 'ref' } })).toMatchObject({ code: 'invalid_envelope_profile', details: { path: '/envelopeProfile/fields/type' } });
      expect(await bad({ extra: ['workspaceId', 'sequence'] })).toMatchObject({ code: 'invalid_envelope_profile', details: { path: '/envelopeProfile/extra/1' } });
      expect((await bad({ timestampFormat: 'rfc2822' })).code).toBe('invalid_envelope_profile');
      expect((await bad({ fields: { type: 'the type' } })).code).toBe('invalid_envelope_profile');
      expect((await t.api('POST', '/v1/apps', { name: 'bad', envelopeProfile: { extra: ['sequence'] } })).status).toBe(422);

      const app = (await t.api('POST', '/v1/apps', { name: 'unix' })).body;
      expect(app.envelopeProfile).toBeNull();
      const patched = await t.api('PATCH', `/v1/apps/${app.id}`, { envelopeProfile: { fields: { timestamp: 'created' }, timestampFormat: 'unix' } });
      expect(patched.body.envelopeProfile).toEqual({ fields: { id: 'id', type: 'type', timestamp: 'created' }, timestampFormat: 'unix', sequence: true, extra: [] });
      expect((await t.api('PATCH', `/v1/apps/${app.id}`, { envelopeProfile: { fields: { id: 'data' } } })).status).toBe(422);
      const r = await f.receiver();
      await t.api('POST', `/v1/apps/${app.id}/endpoints`, { url: r.url });
      const at = '2026-03-01T10:00:00.000Z';
      const e = (await t.api('POST', `/v1/apps/${app.id}/events`, { type: 'x.y', data: { n: 1 }, timestamp: at })).body;
      const [got] = await r.waitFor(1);
      expect(got.body).toBe(`{"id":"${e.id}","type":"x.y","created":${Date.parse(at) / 1000},"sequence":${e.sequence},"data":{"n":1}}`);
      // fields only for names the profile lists
      const typo = await t.api('POST', `/v1/apps/${app.id}/events`, { type: 'x.y', data: {}, fields: { workspaceID: 'w' } });
      expect(typo.status).toBe(422);
      expect(typo.body.error).toMatchObject({ code: 'invalid_payload', details: { path: '/fields/workspaceID' } });
    });

    it('sends a raw payload as the whole body; schemas and filters apply to it as to data', async () => {
      const app = (await t.api('POST', '/v1/apps', { name: 'raw', envelopeProfile: { fields: { type: 'event' } } })).body;
      const r = await f.receiver();
      await t.api('POST', `/v1/apps/${app.id}/endpoints`, { url: `${r.url}/a`, filter: { 'data.kind': 'a' }, secret: SECRET });
      await t.api('POST', `/v1/apps/${app.id}/endpoints`, { url: `${r.url}/all`, secret: SECRET });
      await t.api('POST', '/v1/event-types', { name: `raw.checked_${target.name}`, schema: { type: 'object', required: ['kind'], properties: { kind: { type: 'string' } } } });
      const payload = { kind: 'a', note: 'ë 日本', n: 1e-7, list: [1, 2] };
      const ok = await t.api('POST', `/v1/apps/${app.id}/events`, { type: `raw.checked_${target.name}`, payload });
      expect(ok.status, JSON.stringify(ok.body)).toBe(202);
      expect(ok.body.deliveries).toBe(2);
      const b = await t.api('POST', `/v1/apps/${app.id}/events`, { type: 'raw.other', payload: { kind: 'b' } });
      expect(b.body.deliveries).toBe(1); // the filter on data.kind saw the payload
      const arr = await t.api('POST', `/v1/apps/${app.id}/events`, { type: 'raw.other', payload: [1, 'ë'] });
      expect(arr.status).toBe(202);
      const got = await r.waitFor(4);
      expect(got.filter((q) => q.path === '/a').map((q) => q.body)).toEqual([JSON.stringify(payload)]);
      expect(got.filter((q) => q.path === '/all').map((q) => q.body).sort()).toEqual([JSON.stringify(payload), '{"kind":"b"}', '[1,"ë"]'].sort());
      for (const q of got) expect(new Webhook(SECRET).verify(q.body, q.headers as Record<string, string>)).toEqual(JSON.parse(q.body));

      const invalid = await t.api('POST', `/v1/apps/${app.id}/events`, { type: `raw.checked_${target.name}`, payload: { kind: 1 } });
      expect(invalid.status).toBe(422);
      expect(invalid.body.error.code).toBe('schema_validation_failed');
      for (const body of [{ type: 'x.y' }, { type: 'x.y', data: {}, payload: {} }, { type: 'x.y', payload: {}, fields: { a: 1 } }]) {
        const res = await t.api('POST', `/v1/apps/${app.id}/events`, body);
        expect([res.status, res.body.error.code], JSON.stringify(body)).toEqual([422, 'invalid_payload']);
      }
      expect((await t.api('POST', `/v1/apps/${app.id}/events`, { type: 'x.y', payload: 'text' })).status).toBe(400);
    });
  });
}
