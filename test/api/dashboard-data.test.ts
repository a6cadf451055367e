import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleFromSchema } from '../../src/core/example.js';
import { seriesFrom } from '../../src/store/stats.js';
import { eventually, type TestHerald } from '../helpers/herald.js';
import { fixtures } from '../helpers/fixtures.js';
import { heraldTargets } from '../helpers/postgres.js';
import type { Receiver } from '../helpers/receiver.js';

/** What the dashboard's screens read and send besides the basics: examples, test events of a type, the time series. */
const f = fixtures();
const targets = heraldTargets(f.cleanup);

for (const target of targets) {
  describe(`dashboard data on ${target.name}`, () => {
    let t: TestHerald;
    let receiver: Receiver;
    let app: string;
    let ep: string;

    beforeAll(async () => {
      t = await f.herald(target.env());
      receiver = await f.receiver();
      app = (await t.api('POST', '/v1/apps', { name: 'Acme' })).body.id;
      ep = (await t.api('POST', `/v1/apps/${app}/endpoints`, { url: `${receiver.url}/hook`, retrySchedule: [60] })).body.id;
    });
    afterAll(async () => {
      expect((await fetch(`${t.url}/health`)).status).toBe(200);
    });

    it('event types keep examples, which must match their schema (also when either changes)', async () => {
      const schema = { type: 'object', required: ['id', 'email'], properties: { id: { type: 'integer' }, email: { type: 'string', format: 'email' } } };
      const bad = await t.api('POST', '/v1/event-types', { name: 'person.created', schema, examples: [{ id: 'one' }] });
      expect([bad.status, bad.body.error.code, bad.body.error.message]).toEqual([422, 'schema_validation_failed', "examples[0] does not match the event type's schema"]);
      const ok = await t.api('POST', '/v1/event-types', { name: 'person.created', schema, examples: [{ id: 1, email: 'ada@example.com' }] });
      expect(ok.body.examples).toEqual([{ id: 1, email: 'ada@example.com' }]);
      expect((await t.api('GET', '/v1/event-types/person.created')).body.examples).toEqual([{ id: 1, email: 'ada@example.com' }]);
      // A stricter schema that the kept example fails, and a new example the kept schema fails.
      expect((await t.api('PATCH', '/v1/event-types/person.created', { schema: { ...schema, required: ['id', 'email', 'name'] } })).status).toBe(422);
      expect((await t.api('PATCH', '/v1/event-types/person.created', { examples: [{ email: 'x@example.com' }] })).status).toBe(422);
      expect((await t.api('PATCH', '/v1/event-types/person.created', { description: 'A person was added' })).body.examples).toHaveLength(1);
      expect((await t.api('POST', '/v1/event-types', { name: 'plain.thing' })).body.examples).toEqual([]);
      expect((await t.api('POST', '/v1/event-types', { name: 'too.many', examples: Array(11).fill({}) })).status).toBe(400);
    });

    it('sends a test event of a catalogue type: its example, the data given (checked), or one made from its schema', async () => {
      await t.api('POST', '/v1/event-types', {
        name: 'invoice.paid', schema: { type: 'object', required: ['amount'], properties: { amount: { type: 'integer', minimum: 100 }, currency: { enum: ['EUR', 'USD'] } } },
      });
      const before = receiver.requests.length;
      const sent = [
        await t.api('POST', `/v1/apps/${app}/endpoints/${ep}/test`, { eventType: 'person.created' }),
        await t.api('POST', `/v1/apps/${app}/endpoints/${ep}/test`, { eventType: 'person.created', data: { id: 7, email: 'grace@example.com' } }),
        await t.api('POST', `/v1/apps/${app}/endpoints/${ep}/test`, { eventType: 'invoice.paid' }),
        await t.api('POST', `/v1/apps/${app}/endpoints/${ep}/test`),
      ];
      for (const s of sent) expect(s.status, JSON.stringify(s.body)).toBe(202);
      const got = (await receiver.waitFor(before + 4)).slice(before).map((r) => JSON.parse(r.body));
      const byId = new Map(got.map((g) => [g.id, g]));
      expect(byId.get(sent[0].body.eventId)).toMatchObject({ type: 'person.created', data: { id: 1, email: 'ada@example.com' } });
      expect(byId.get(sent[1].body.eventId)).toMatchObject({ type: 'person.created', data: { id: 7, email: 'grace@example.com' } });
      expect(byId.get(sent[2].body.eventId)).toMatchObject({ type: 'invoice.paid', data: { amount: 100, currency: 'EUR' } });
      expect(byId.get(sent[3].body.eventId)).toMatchObject({ type: 'webhook.test' });

      const wrong = await t.api('POST', `/v1/apps/${app}/endpoints/${ep}/test`, { eventType: 'person.created', data: { id: 'x' } });
      expect([wrong.status, wrong.body.error.code]).toEqual([422, 'schema_validation_failed']);
      const unknown = await t.api('POST', `/v1/apps/${app}/endpoints/${ep}/test`, { eventType: 'no.such' });
      expect([unknown.status, unknown.body.error.code]).toEqual([422, 'unknown_event_type']);
      expect((await t.api('POST', `/v1/apps/${app}/endpoints/${ep}/test`, { eventType: 'Not A Type!' })).status).toBe(400);
    });

    it('a delivery shows what was sent: the URL, the headers (signatures left out) and the envelope', async () => {
      const ep3 = (await t.api('POST', `/v1/apps/${app}/endpoints`, { url: `${receiver.url}/shown`, headers: { 'x-tenant': 'acme' } })).body.id;
      const before = receiver.requests.length;
      const sent = await t.api('POST', `/v1/apps/${app}/endpoints/${ep3}/test`, { eventType: 'person.created' });
      const [got] = (await receiver.waitFor(before + 1)).slice(before);
      const d = await eventually(async () => {
        const r = (await t.api('GET', `/v1/apps/${app}/deliveries/${sent.body.deliveryId}`)).body;
        return r.status === 'success' && r;
      });
      expect(d.request.url).toBe(`${receiver.url}/shown`);
      expect(d.request.body).toBe(got.body);
      for (const name of ['content-type', 'user-agent', 'webhook-id', 'webhook-timestamp', 'x-tenant', 'x-webhook-event', 'x-webhook-delivery-id', 'x-webhook-attempt']) {
        expect(d.request.headers[name], name).toBe(got.headers[name]);
      }
      expect(d.request.headers['webhook-signature']).toBe('(signature, not kept)');
      expect(d.request.headers['x-webhook-signature']).toBe('(signature, not kept)');
      expect(got.headers['webhook-signature']).toMatch(/^v1,/);
    });

    it('the time series counts attempts by outcome per bucket, with response-time percentiles', async () => {
      const ep2 = (await t.api('POST', `/v1/apps/${app}/endpoints`, { url: `${receiver.url}/series`, retrySchedule: [60] })).body.id;
      // Three succeed, two fail (500): five attempts in the current minute.
      let n = 0;
      receiver.respond = (r) => (r.path === '/series' && n++ >= 3 ? { status: 500, body: 'down' } : { status: 200, body: 'OK' });
      for (let i = 0; i < 5; i++) await t.api('POST', `/v1/apps/${app}/endpoints/${ep2}/test`);
      const series = await eventually(async () => {
        const s = (await t.api('GET', `/v1/apps/${app}/endpoints/${ep2}/stats/timeseries`)).body;
        return s.points.reduce((a: number, p: any) => a + p.succeeded + p.failed, 0) === 5 && s;
      });
      receiver.respond = () => ({ status: 200, body: 'OK' });
      expect(series.bucketSeconds).toBe(60);
      const span = Date.parse(series.until) - Date.parse(series.since);
      expect(span).toBeGreaterThanOrEqual(86_400_000);
      expect(span).toBeLessThan(86_400_000 + 60_000);
      expect(Date.parse(series.since) % 60_000).toBe(0);
      const total = series.points.reduce((a: any, p: any) => ({ s: a.s + p.succeeded, f: a.f + p.failed }), { s: 0, f: 0 });
      expect(total).toEqual({ s: 3, f: 2 });
      for (const p of series.points) {
        expect(p.p50Ms).toBeGreaterThanOrEqual(0);
        expect(p.p95Ms).toBeGreaterThanOrEqual(p.p50Ms);
        expect((Date.parse(p.t) - Date.parse(series.since)) % 60_000).toBe(0);
      }
      // A window before any attempt has no points; nonsense windows are the caller's 400.
      const past = new Date(Date.now() - 7 * 86_400_000).toISOString();
      const early = await t.api('GET', `/v1/apps/${app}/endpoints/${ep2}/stats/timeseries?since=${past}&until=${new Date(Date.now() - 6 * 86_400_000).toISOString()}`);
      expect(early.body.points).toEqual([]);
      expect((await t.api('GET', `/v1/apps/${app}/endpoints/${ep2}/stats/timeseries?since=${new Date().toISOString()}&until=${past}`)).status).toBe(400);
      expect((await t.api('GET', `/v1/apps/${app}/endpoints/${ep2}/stats/timeseries?since=${past}&bucketSeconds=10`)).body.error.message).toMatch(/at most 10,000 buckets/);
      expect((await t.api('GET', `/v1/apps/${app}/endpoints/${ep2}/stats/timeseries?bucketSeconds=1`)).status).toBe(400);
      expect((await t.api('GET', `/v1/apps/${app}/endpoints/ep_nope/stats/timeseries`)).status).toBe(404);
    });
  });
}

describe('series arithmetic', () => {
  it('percentiles over the counts of rounded response times, buckets in time order', () => {
    const rows = [
      { bucket: 2, ok: 1, ms: 10, n: 90 }, { bucket: 2, ok: 0, ms: 900, n: 10 },
      { bucket: 0, ok: 1, ms: 5, n: 1 }, { bucket: '0', ok: '1', ms: '7', n: '1' },
    ];
    expect(seriesFrom(rows, 1000, 60_000)).toEqual([
      { start: 1000, succeeded: 2, failed: 0, p50Ms: 5, p95Ms: 7 },
      { start: 121_000, succeeded: 90, failed: 10, p50Ms: 10, p95Ms: 900 },
    ]);
  });

  it('makes an example from a schema, following $ref and the keywords people write', () => {
    expect(exampleFromSchema({
      type: 'object',
      properties: {
        id: { type: 'string', format: 'uuid' }, at: { type: 'string', format: 'date-time' }, n: { type: 'integer', minimum: 3 },
        tags: { type: 'array', items: { type: 'string', maxLength: 3 } }, kind: { enum: ['a', 'b'] }, who: { $ref: '#/$defs/person' },
        note: { type: ['null', 'string'], examples: ['hello'] }, self: { $ref: '#/$defs/loop' },
      },
      $defs: { person: { type: 'object', properties: { email: { type: 'string', format: 'email' } } }, loop: { $ref: '#/$defs/loop' } },
    })).toEqual({
      id: '00000000-0000-4000-8000-000000000000', at: '2025-01-31T12:00:00Z', n: 3, tags: ['exa'], kind: 'a',
      who: { email: 'jane@example.com' }, note: 'hello', self: null,
    });
    expect(exampleFromSchema({ type: 'string' })).toEqual({});
  });
});
