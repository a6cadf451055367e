import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/store.js';
import { dropSchema, pgUrl, testSchema } from '../helpers/postgres.js';

/**
 * The PostgreSQL store keeps apps and event types in memory for publishes while it LISTENs
 * for changes. Two stores on one schema stand for two processes: what one changes, the other
 * hands out at once after the notification; while its listening connection is down, it reads
 * the database.
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(fn: () => Promise<T> | T, ok: (v: T) => boolean, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: last ${JSON.stringify(v)}`);
    await sleep(20);
  }
}

describe.skipIf(!pgUrl)('PostgreSQL store: cached apps and event types across processes', () => {
  const opened: PostgresStore[] = [];
  const schemas: string[] = [];
  const raw = () => {
    const c = new pg.Client({ connectionString: pgUrl });
    return c;
  };
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    for (const s of schemas.splice(0)) await dropSchema(s);
  });

  async function two(): Promise<[PostgresStore, PostgresStore, string]> {
    const schema = testSchema();
    schemas.push(schema);
    const a = new PostgresStore(pgUrl!, { schema, poolSize: 2 });
    await a.migrate();
    const b = new PostgresStore(pgUrl!, { schema, poolSize: 2 });
    opened.push(a, b);
    return [a, b, schema];
  }
  const listening = (s: PostgresStore) => (s as unknown as { configListen: string }).configListen;

  it("hands out what another process changed once its notification arrives, and caches in between", async () => {
    const [a, b, schema] = await two();
    const app = await b.createApp({ name: 'Acme', uid: 'acme', metadata: {}, signatureProfile: null });
    expect((await a.getApp('acme'))?.name).toBe('Acme');
    await until(() => listening(a), (v) => v === 'on');
    expect((await a.getApp('acme'))?.name).toBe('Acme');
    expect(await a.getEventType('order.paid')).toBeNull();

    // A change that notifies no one (not one Herald makes) is not seen: the cache answers.
    const c = raw();
    await c.connect();
    try {
      await c.query(`UPDATE "${schema}".apps SET name = 'behind its back' WHERE id = $1`, [app.id]);
      expect((await a.getApp('acme'))?.name).toBe('Acme');
      // Herald's own changes, from the other process: seen as soon as the NOTIFY arrives.
      await b.updateApp(app.id, { name: 'Acme 2' });
      await until(() => a.getApp('acme'), (x) => x?.name === 'Acme 2', 2000);
      await b.createEventType({ name: 'order.paid', description: 'v1', schema: null });
      await until(() => a.getEventType('order.paid'), (t) => t?.description === 'v1', 2000);
      await b.updateEventType('order.paid', { description: 'v2' });
      await until(() => a.getEventType('order.paid'), (t) => t?.description === 'v2', 2000);
      await b.deleteApp(app.id);
      await until(() => a.getApp('acme'), (x) => x === null, 2000);

      // Its listening connection gone: the store reads the database until it is back.
      const again = await b.createApp({ name: 'Globex', uid: 'globex', metadata: {}, signatureProfile: null });
      expect((await a.getApp('globex'))?.name).toBe('Globex');
      await c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`, [`herald-listen:${schema}`]);
      await until(() => listening(a), (v) => v === 'lost');
      await c.query(`UPDATE "${schema}".apps SET name = 'while deaf' WHERE id = $1`, [again.id]);
      expect((await a.getApp('globex'))?.name).toBe('while deaf');
      // Back (reconnects after a second), it starts over and caches again.
      await until(() => listening(a), (v) => v === 'on', 5000);
      expect((await a.getApp('globex'))?.name).toBe('while deaf');
      await b.updateApp(again.id, { name: 'Globex 2' });
      await until(() => a.getApp('globex'), (x) => x?.name === 'Globex 2', 2000);
    } finally {
      await c.end();
    }
  });

  it("an app's active endpoints: another process's new, disabled, deleted endpoint and opened circuit show after the triggers' notification", async () => {
    const [a, b, schema] = await two();
    const app = await b.createApp({ name: 'Acme', uid: 'acme', metadata: {}, signatureProfile: null });
    const endpoint = (url: string) => b.createEndpoint({ appId: app.id, url, description: null, events: null, status: 'active', secret: 'whsec_x', headers: {}, retrySchedule: null, timeoutMs: null, rateLimit: null, maxInFlight: null, disableAfterFailures: null, disableAfterSeconds: null, metadata: {} });
    const first = await endpoint('https://e.x/1');
    expect((await a.activeEndpoints(app.id)).map((e) => e.id)).toEqual([first.id]);
    await until(() => listening(a), (v) => v === 'on');
    const ids = async () => (await a.activeEndpoints(app.id)).map((e) => e.id).sort();
    // Cached: the same list, not read again.
    await ids();
    expect(await a.activeEndpoints(app.id)).toBe(await a.activeEndpoints(app.id));

    const second = await endpoint('https://e.x/2');
    await until(ids, (v) => v.length === 2, 2000);
    await b.updateEndpoint(app.id, second.id, { status: 'disabled' }, Date.now());
    await until(ids, (v) => v.length === 1 && v[0] === first.id, 2000);
    // A circuit opened by another process's worker (no updated_at change): the trigger sees circuit_state.
    const c = raw();
    await c.connect();
    try {
      await c.query(`UPDATE "${schema}".endpoints SET circuit_state = 'open', circuit_until = 1 WHERE id = $1`, [first.id]);
      await until(() => a.activeEndpoints(app.id), (v) => v[0]?.circuitState === 'open', 2000);
      // Health counters alone notify no one: the cache keeps answering.
      await c.query(`UPDATE "${schema}".endpoints SET consecutive_failures = 7 WHERE id = $1`, [first.id]);
      await sleep(200);
      expect((await a.activeEndpoints(app.id))[0].consecutiveFailures).toBe(0);
    } finally {
      await c.end();
    }
    await b.deleteEndpoint(app.id, first.id);
    await until(ids, (v) => v.length === 0, 2000);
  });
});
