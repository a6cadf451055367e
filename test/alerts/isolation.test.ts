import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { eventually, type TestHerald } from '../helpers/herald.js';
import { fixtures } from '../helpers/fixtures.js';
import { heraldTargets, pgUrl, testSchema, dropSchema } from '../helpers/postgres.js';
import { freePort } from '../helpers/receiver.js';

/**
 * Alerts never get in the way of deliveries (a dead SMTP server, a Slack URL that hangs),
 * auto-disable is told within seconds, and with several PostgreSQL processes evaluating the
 * same rules each transition is notified once.
 */
const f = fixtures();
const targets = heraldTargets(f.cleanup);

/** The alert outbox's rows, read straight from the database. */
async function outbox(t: TestHerald): Promise<Array<{ status: string; attempts: number; last_error: string | null; next_attempt_at: number }>> {
  const store = t.herald.store as any;
  const sql = 'SELECT status, attempts, last_error, next_attempt_at FROM alert_outbox ORDER BY id';
  if (store.kind === 'sqlite') return store.db.prepare(sql).all();
  return (await store.pool.query(sql)).rows.map((r: any) => ({ ...r, next_attempt_at: Number(r.next_attempt_at) }));
}

for (const target of targets) {
  describe(`alert isolation on ${target.name}`, () => {
    it('an SMTP server that refuses connections and a Slack URL that never answers delay no delivery; they are retried with backoff', async () => {
      const sockets = new Set<import('node:net').Socket>();
      const hanging: NetServer = createNetServer((s) => sockets.add(s)); // accepts, never answers
      await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
      f.cleanup(() => new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        hanging.close(() => r());
      }));
      const closedPort = await freePort();
      const failing = await f.receiver();
      failing.respond = () => ({ status: 500 });
      const healthy = await f.receiver();
      const t = await f.herald({
        ...target.env(), HERALD_ALERT_INTERVAL_MS: '100', HERALD_SMTP_URL: `smtp://u:p@127.0.0.1:${closedPort}`, HERALD_CIRCUIT_THRESHOLD: '1000000',
      });
      const app = (await t.api('POST', '/v1/apps', { name: 'Acme' })).body;
      const bad = (await t.api('POST', `/v1/apps/${app.id}/endpoints`, { url: `${failing.url}/bad`, events: ['bad'], retrySchedule: [] })).body;
      await t.api('POST', `/v1/apps/${app.id}/endpoints`, { url: `${healthy.url}/good`, events: ['good'] });
      const rule = await t.api('POST', `/v1/apps/${app.id}/alert-rules`, {
        name: 'down', endpointId: bad.id, condition: { metric: 'consecutive_failures', threshold: 1, op: '>=' },
        channels: [
          { type: 'email', to: ['a@acme.test'] }, { type: 'email', to: ['b@acme.test'] },
          { type: 'slack', url: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/slack` },
        ],
      });
      expect(rule.status, JSON.stringify(rule.body)).toBe(201);
      for (let i = 0; i < 3; i++) await t.api('POST', `/v1/apps/${app.id}/events`, { type: 'bad', data: {} });
      await eventually(async () => (await t.api('GET', `/v1/alert-rules/${rule.body.id}`)).body.state === 'firing', 10_000);

      // While the outbox is failing (and one send hangs), deliveries go at their usual pace.
      const latencies: number[] = [];
      for (let i = 0; i < 20; i++) {
        const before = healthy.requests.length;
        const at = Date.now();
        await t.api('POST', `/v1/apps/${app.id}/events`, { type: 'good', data: { i } });
        await healthy.waitFor(before + 1, 5000);
        latencies.push(healthy.requests[before].at - at);
      }
      latencies.sort((a, b) => a - b);
      expect(latencies[latencies.length - 1], `latencies ${latencies}`).toBeLessThan(500);

      const rows = await eventually(async () => {
        const r = await outbox(t);
        return r.filter((x) => x.last_error).length >= 2 && r;
      }, 10_000);
      const refused = rows.filter((x) => /ECONNREFUSED/.test(x.last_error ?? ''));
      expect(refused).toHaveLength(2);
      for (const r of refused) {
        expect(r).toMatchObject({ status: 'pending', attempts: 1 });
        // The first retry is 10 s out, not a tight loop.
        expect(r.next_attempt_at - Date.now()).toBeGreaterThan(5000);
      }
    }, 40_000);

    it('an endpoint auto-disabled is told within seconds, long before the next evaluation round', async () => {
      const failing = await f.receiver();
      failing.respond = () => ({ status: 503 });
      const slack = await f.receiver();
      const t = await f.herald({ ...target.env(), HERALD_ALERT_INTERVAL_MS: '600000' });
      const app = (await t.api('POST', '/v1/apps', { name: 'Acme' })).body;
      const ep = (await t.api('POST', `/v1/apps/${app.id}/endpoints`, { url: `${failing.url}/x`, retrySchedule: [], disableAfterFailures: 2, disableAfterSeconds: 0 })).body;
      const rule = await t.api('POST', `/v1/apps/${app.id}/alert-rules`, {
        name: 'disabled', endpointId: ep.id, condition: { metric: 'endpoint_disabled' }, channels: [{ type: 'slack', url: `${slack.url}/s` }],
      });
      expect(rule.status).toBe(201);
      for (let i = 0; i < 2; i++) await t.api('POST', `/v1/apps/${app.id}/events`, { type: 'x', data: {} });
      const disabledAt = await eventually(async () => {
        const e = (await t.api('GET', `/v1/apps/${app.id}/endpoints/${ep.id}`)).body;
        return e.status === 'disabled' && Date.parse(e.disabledAt);
      }, 10_000);
      const [msg] = await slack.waitFor(1, 5000);
      expect(msg.at - disabledAt).toBeLessThan(3000);
      expect(JSON.parse(msg.body).text).toContain(`Endpoint ${failing.url}/x (app Acme) was disabled (reason: `);
    }, 30_000);
  });
}

describe.skipIf(!pgUrl)('alerts with two PostgreSQL processes', () => {
  it('both evaluate the same rules; each transition is notified once', async () => {
    const schema = testSchema();
    f.cleanup(() => dropSchema(schema));
    const env = { HERALD_DATABASE_URL: `${pgUrl}?schema=${schema}`, HERALD_ALERT_INTERVAL_MS: '50' };
    const a = await f.herald(env);
    const b = await f.herald(env);
    const failing = await f.receiver();
    let mode = 500;
    failing.respond = () => ({ status: mode });
    const slack = await f.receiver();
    const app = (await a.api('POST', '/v1/apps', { name: 'Acme' })).body;
    const ep = (await a.api('POST', `/v1/apps/${app.id}/endpoints`, { url: `${failing.url}/x`, retrySchedule: [] })).body;
    const rule = (await b.api('POST', '/v1/alert-rules', {
      name: 'streak', appId: app.id, endpointId: ep.id, condition: { metric: 'consecutive_failures', op: '>=', threshold: 2 },
      channels: [{ type: 'slack', url: `${slack.url}/s` }],
    })).body;
    for (let i = 0; i < 2; i++) await a.api('POST', `/v1/apps/${app.id}/events`, { type: 'x', data: {} });
    await slack.waitFor(1, 10_000);
    mode = 200;
    await a.api('POST', `/v1/apps/${app.id}/events`, { type: 'x', data: {} });
    await slack.waitFor(2, 10_000);
    await new Promise((r) => setTimeout(r, 1000)); // ~20 rounds in each process
    expect(slack.requests.map((r) => JSON.parse(r.body).text.split(':')[0])).toEqual(['Firing', 'Resolved']);
    expect((await a.api('GET', `/v1/alert-rules/${rule.id}/history`)).body.data.map((h: any) => h.kind)).toEqual(['resolved', 'firing']);
  }, 40_000);
});
