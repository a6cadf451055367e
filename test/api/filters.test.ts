import { beforeAll, describe, expect, it } from 'vitest';
import type { TestHerald } from '../helpers/herald.js';
import { fixtures } from '../helpers/fixtures.js';
import { heraldTargets } from '../helpers/postgres.js';
import type { Receiver } from '../helpers/receiver.js';

/** Payload filters and channels at fan-out, their explanation, and the event page's endpoints; on SQLite and PostgreSQL. */
const f = fixtures();
const targets = heraldTargets(f.cleanup);

for (const target of targets) {
  describe(`filters and channels on ${target.name}`, () => {
    let t: TestHerald;
    let receiver: Receiver;
    let app: any;
    const endpoint = async (body: Record<string, unknown>) => {
      const res = await t.api('POST', `/v1/apps/${app.id}/endpoints`, { url: `${receiver.url}/hook`, ...body });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body;
    };
    const publish = async (body: Record<string, unknown>) => {
      const res = await t.api('POST', `/v1/apps/${app.id}/events`, body);
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      return res.body;
    };
    const fannedTo = async (eventId: string) => {
      const res = await t.api('GET', `/v1/apps/${app.id}/events/${eventId}`);
      expect(res.status).toBe(200);
      return res.body.endpointIds as string[];
    };

    beforeAll(async () => {
      t = await f.herald(target.env());
      receiver = await f.receiver();
      app = (await t.api('POST', '/v1/apps', { name: 'Acme' })).body;
    });

    it('an endpoint keeps its filter and channels through create, patch and read', async () => {
      const ep = await endpoint({ events: ['person.*'], filter: { data: { object: 'people' } }, channels: ['team_42', 'team_42'] });
      expect(ep.filter).toEqual({ data: { object: 'people' } });
      expect(ep.channels).toEqual(['team_42']);
      const patched = await t.api('PATCH', `/v1/apps/${app.id}/endpoints/${ep.id}`, { filter: { 'data.amount': { $gte: 100 } } });
      expect(patched.body).toMatchObject({ filter: { 'data.amount': { $gte: 100 } }, channels: ['team_42'] });
      const read = await t.api('GET', `/v1/apps/${app.id}/endpoints/${ep.id}`);
      expect(read.body).toMatchObject({ filter: { 'data.amount': { $gte: 100 } }, channels: ['team_42'] });
      const cleared = await t.api('PATCH', `/v1/apps/${app.id}/endpoints/${ep.id}`, { filter: null, channels: [] });
      expect(cleared.body).toMatchObject({ filter: null, channels: null });
      await t.api('DELETE', `/v1/apps/${app.id}/endpoints/${ep.id}`);
    });

    it('refuses an invalid filter with 422 invalid_filter and a JSON pointer', async () => {
      const res = await t.api('POST', `/v1/apps/${app.id}/endpoints`, { url: `${receiver.url}/hook`, filter: { data: { amount: { $gte: [1] } } } });
      expect(res.status).toBe(422);
      expect(res.body.error).toMatchObject({ code: 'invalid_filter', details: { path: '/filter/data/amount/$gte' } });
      const regex = await t.api('POST', `/v1/apps/${app.id}/endpoints`, { url: `${receiver.url}/hook`, filter: { type: { $regex: '(a)\\1' } } });
      expect(regex.body.error).toMatchObject({ code: 'invalid_filter', details: { path: '/filter/type/$regex' } });
      const tooMany = await t.api('POST', `/v1/apps/${app.id}/events`, { type: 'x.y', data: {}, channels: Array.from({ length: 11 }, (_, i) => `c${i}`) });
      expect(tooMany.status).toBe(400);
    });

    it('fans out only where event types, channels and filter all match, and the event says where it went', async () => {
      const people = await endpoint({ events: ['person.*'], filter: { 'data.object': 'people' } });
      const big = await endpoint({ filter: { $and: [{ type: 'payment.succeeded' }, { 'data.amount': { $gt: 1000 } }] } });
      const team = await endpoint({ channels: ['team_42'] });
      const twig = await endpoint({ events: ['interaction.completed'], filter: { 'data.feedback.score': { $lt: 3 } } });
      const all = await endpoint({});

      const e1 = await publish({ type: 'person.created', data: { object: 'people', name: 'Ada' } });
      expect(e1.deliveries).toBe(2);
      expect(await fannedTo(e1.id)).toEqual([people.id, all.id].sort());

      const e2 = await publish({ type: 'payment.succeeded', data: { amount: 5000 }, channels: ['team_42'] });
      expect(await fannedTo(e2.id)).toEqual([big.id, team.id, all.id].sort());
      const got = await t.api('GET', `/v1/apps/${app.id}/events/${e2.id}`);
      expect(got.body.channels).toEqual(['team_42']);

      const e3 = await publish({ type: 'payment.succeeded', data: { amount: 10 }, channels: ['team_7'] });
      expect(await fannedTo(e3.id)).toEqual([all.id]);

      const e4 = await publish({ type: 'interaction.completed', data: { feedback: { score: 2 } } });
      expect(await fannedTo(e4.id)).toEqual([twig.id, all.id].sort());

      // a filter on channels, and a patch taking effect on the next publish (cache by updatedAt)
      await t.api('PATCH', `/v1/apps/${app.id}/endpoints/${people.id}`, { filter: { channels: 'vip' } });
      const e5 = await publish({ type: 'person.updated', data: { object: 'people' }, channels: ['vip'] });
      expect(await fannedTo(e5.id)).toEqual([people.id, all.id].sort());
      const e6 = await publish({ type: 'person.updated', data: { object: 'people' } });
      expect(await fannedTo(e6.id)).toEqual([all.id]);

      // explain: by stored event and by envelope
      const why = await t.api('POST', `/v1/apps/${app.id}/endpoints/${big.id}/filter/test`, { eventId: e3.id });
      expect(why.status).toBe(200);
      expect(why.body).toMatchObject({ matches: false, reasons: [{ path: '/filter/$and/1/data.amount/$gt', field: 'data.amount', actual: [10] }] });
      const yes = await t.api('POST', `/v1/apps/${app.id}/endpoints/${big.id}/filter/test`, { event: { type: 'payment.succeeded', data: { amount: 2000 } } });
      expect(yes.body).toEqual({ matches: true, reasons: [] });
      const notSubscribed = await t.api('POST', `/v1/apps/${app.id}/endpoints/${twig.id}/filter/test`, { eventId: e1.id });
      expect(notSubscribed.body.matches).toBe(false);
      expect(notSubscribed.body.reasons[0].path).toBe('/events');
      const channel = await t.api('POST', `/v1/apps/${app.id}/endpoints/${team.id}/filter/test`, { eventId: e3.id });
      expect(channel.body.reasons[0].path).toBe('/channels');
      expect((await t.api('POST', `/v1/apps/${app.id}/endpoints/${big.id}/filter/test`, {})).status).toBe(400);
      expect((await t.api('POST', `/v1/apps/${app.id}/endpoints/${big.id}/filter/test`, { eventId: 'evt_nope' })).status).toBe(404);
    });

    it('tests a filter not yet saved', async () => {
      const res = await t.api('POST', '/v1/filters/test', { filter: { 'data.objects': { $contains: 'companies' } }, event: { type: 'company.created', data: { objects: ['people', 'companies'] } } });
      expect(res.body).toEqual({ matches: true, reasons: [] });
      const no = await t.api('POST', '/v1/filters/test', { filter: { 'data.amount': { $gte: 100 } }, event: { data: { amount: 5 } } });
      expect(no.body).toMatchObject({ matches: false, reasons: [{ path: '/filter/data.amount/$gte' }] });
      const bad = await t.api('POST', '/v1/filters/test', { filter: { a: { $nope: 1 } }, event: {} });
      expect(bad.status).toBe(422);
      expect(bad.body.error.details.path).toBe('/filter/a/$nope');
    });
  });
}
