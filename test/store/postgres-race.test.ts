import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { newId } from '../../src/ids.js';
import { PostgresStore } from '../../src/store/postgres/store.js';
import { ORDER_HELD_AT, type ClaimedDelivery, type HealthPolicy, type NewEvent } from '../../src/store/types.js';
import { dropSchema, pgUrl, testSchema } from '../helpers/postgres.js';

/**
 * What only a shared database can get wrong: several PostgresStore instances (separate pools,
 * as separate processes would have) on one schema, racing each other.
 */
const policy: HealthPolicy = {
  disableAfterFailures: 1000, disableAfterSeconds: 86_400, failingThreshold: 100, circuitThreshold: 500, circuitBaseMs: 5000, circuitMaxMs: 300_000,
};

const event = (endpointIds: string[], id = newId('evt'), orderingKey: string | null = null): NewEvent => ({
  id, type: 'a.b', timestamp: Date.now(), render: (sequence) => JSON.stringify({ id, sequence }), idempotencyKey: null,
  endpointIds, orderingKey,
});

const success = (d: ClaimedDelivery) => ({
  deliveryId: d.id, endpointId: d.endpoint.id, status: 'success' as const, nextAttemptAt: null, orderingKey: d.orderingKey,
  attempt: { id: newId('att'), deliveryId: d.id, endpointId: d.endpoint.id, number: d.attemptCount + 1, startedAt: Date.now(), durationMs: 1, statusCode: 200, responseBody: null, error: null },
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!pgUrl)('PostgreSQL store under concurrency', () => {
  const opened: PostgresStore[] = [];
  const schemas: string[] = [];

  /** `n` stores (own pools) on one fresh schema; the first is migrated unless told not to. */
  async function open(n: number, migrate = true): Promise<{ stores: PostgresStore[]; schema: string }> {
    const schema = testSchema();
    schemas.push(schema);
    const stores = Array.from({ length: n }, () => new PostgresStore(pgUrl!, { schema, poolSize: 4 }));
    opened.push(...stores);
    if (migrate) await stores[0].migrate();
    return { stores, schema };
  }

  async function appWithEndpoint(store: PostgresStore): Promise<{ appId: string; epId: string }> {
    const appId = (await store.createApp({ name: 'A', uid: null, metadata: {}, signatureProfile: null })).id;
    const epId = (await store.createEndpoint({
      appId, url: 'https://e.x/h', description: null, events: null, status: 'active', secret: 'whsec_x', headers: {},
      retrySchedule: null, timeoutMs: null, rateLimit: null, maxInFlight: null, disableAfterFailures: null, disableAfterSeconds: null, metadata: {},
    })).id;
    return { appId, epId };
  }

  async function sql<R extends Record<string, any>>(text: string, values: unknown[] = []): Promise<R[]> {
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    try {
      return (await client.query<R>(text, values)).rows;
    } finally {
      await client.end();
    }
  }

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    for (const schema of schemas.splice(0)) await dropSchema(schema);
  });

  it('applies each migration once when three processes migrate a new schema at once', async () => {
    const { stores, schema } = await open(3, false);
    await Promise.all(stores.map((s) => s.migrate()));
    const rows = await sql<{ version: number; n: string }>(`SELECT version, count(*) AS n FROM "${schema}".herald_migrations GROUP BY version ORDER BY version`);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => Number(r.n) === 1)).toBe(true);
    await stores[2].migrate(); // and again, later: nothing to do
    expect(await stores[1].queueDepth()).toBe(0);
  });

  it('hands every delivery to exactly one of several concurrent claimers', async () => {
    const { stores } = await open(3);
    const { appId, epId } = await appWithEndpoint(stores[0]);
    for (let i = 0; i < 2; i++) await stores[0].publish(appId, Array.from({ length: 1000 }, () => event([epId])), Date.now());
    const claimedBy = await Promise.all(stores.map(async (store, w) => {
      const ids: string[] = [];
      for (let empty = 0; empty < 3;) {
        const now = Date.now();
        const batch = await store.claimDue(`w${w}`, now, now + 600_000, 50);
        if (batch.length === 0) empty++;
        else ids.push(...batch.map((d) => d.id));
      }
      return ids;
    }));
    const all = claimedBy.flat();
    expect(all).toHaveLength(2000);
    expect(new Set(all).size).toBe(2000);
    expect(claimedBy.filter((ids) => ids.length > 0).length).toBeGreaterThan(1); // they really raced
  });

  it('lets another worker take a claim once its lease has run out', async () => {
    const { stores } = await open(2);
    const { appId, epId } = await appWithEndpoint(stores[0]);
    await stores[0].publish(appId, [event([epId]), event([epId])], Date.now());
    const now = Date.now();
    const first = await stores[0].claimDue('dies', now, now + 300, 10);
    expect(first).toHaveLength(2);
    expect(await stores[1].claimDue('b', Date.now(), Date.now() + 60_000, 10)).toEqual([]);
    expect(await stores[1].nextDueAt()).toBe(now + 300); // an idle worker knows when to look again
    await sleep(350);
    const taken = await stores[1].claimDue('b', Date.now(), Date.now() + 60_000, 10);
    expect(taken.map((d) => d.id).sort()).toEqual(first.map((d) => d.id).sort());
    // The late worker's result for the same attempt is dropped once the new holder recorded it.
    await stores[1].recordOutcomes(taken.map(success), Date.now(), policy);
    await stores[0].recordOutcomes(first.map((d) => ({ ...success(d), status: 'pending' as const, nextAttemptAt: Date.now() })), Date.now(), policy);
    const d = await stores[0].getDelivery(appId, first[0].id);
    expect(d?.delivery.status).toBe('success');
    expect(d?.attempts).toHaveLength(1);
  });

  it('creates an event once when two processes publish the same id (or idempotency key) at once', async () => {
    const { stores } = await open(2);
    const { appId, epId } = await appWithEndpoint(stores[0]);
    for (let i = 0; i < 20; i++) {
      const id = newId('evt');
      const key = i % 2 === 0 ? null : `key-${i}`;
      const [a, b] = await Promise.all(stores.map((s) => s.publish(appId, [{ ...event([epId], key ? newId('evt') : id), idempotencyKey: key }], Date.now())));
      expect([a[0].created, b[0].created].sort()).toEqual([false, true]);
      expect(a[0].event.id).toBe(b[0].event.id);
      expect(a[0].event.sequence).toBe(b[0].event.sequence);
    }
    const events = await stores[1].listEvents(appId, { limit: 100 });
    expect(events.data.map((e) => e.sequence)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(await stores[1].queueDepth()).toBe(20);
  });

  it('keeps one delivery per ordering key in progress while other processes publish and complete', async () => {
    const { stores, schema } = await open(3);
    const { appId, epId } = await appWithEndpoint(stores[0]);
    const keys = ['doc-1', 'doc-2', 'doc-3'];
    const total = 240;
    let published = 0;
    let publishing = true;
    const completed: Array<{ key: string; id: string }> = [];
    const violations: unknown[] = [];
    const sequences = new Map<string, number>();

    const publisher = (async () => {
      // Small batches, some with two events of a key, so in-batch and cross-process turns both happen.
      while (published < total) {
        const n = Math.min(1 + (published % 3), total - published);
        const batch = Array.from({ length: n }, (_, i) => event([epId], newId('evt'), keys[(published + i) % keys.length]));
        for (const r of await stores[0].publish(appId, batch, Date.now())) sequences.set(r.deliveryIds[0], r.event.sequence);
        published += n;
        await sleep(published % 4);
      }
      publishing = false;
    })();
    const worker = (store: PostgresStore, name: string) => (async () => {
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && (publishing || completed.length < total)) {
        const now = Date.now();
        const batch = await store.claimDue(name, now, now + 60_000, 4);
        if (batch.length === 0) {
          await sleep(2);
          continue;
        }
        await store.recordOutcomes(batch.map(success), Date.now(), policy);
        // Sequences are looked up at the end: a claim can complete before the publisher's await resumes.
        for (const d of batch) completed.push({ key: d.orderingKey!, id: d.id });
      }
    })();
    let watching = true;
    const watcher = (async () => {
      // From outside, all along: never two deliveries of one key due or in flight at once.
      const client = new pg.Client({ connectionString: pgUrl });
      await client.connect();
      while (watching) {
        const { rows } = await client.query(
          `SELECT ordering_key, count(*) AS n FROM "${schema}".deliveries WHERE status = 'pending' AND next_attempt_at <> $1
           GROUP BY endpoint_id, ordering_key HAVING count(*) > 1`, [ORDER_HELD_AT]);
        violations.push(...rows);
      }
      await client.end();
    })();
    await Promise.all([publisher, worker(stores[1], 'b'), worker(stores[2], 'c')]);
    watching = false;
    await watcher;

    expect(violations).toEqual([]);
    expect(completed).toHaveLength(total); // none left held
    expect(await stores[0].queueDepth()).toBe(0);
    for (const key of keys) {
      const order = completed.filter((c) => c.key === key).map((c) => sequences.get(c.id)!);
      expect(order.every((seq) => Number.isInteger(seq))).toBe(true);
      expect(order).toEqual([...order].sort((x, y) => x - y)); // publish order, per key
    }
  });

  it('never leaves a request held back for a destination enabled while the request was being written', async () => {
    const { stores, schema } = await open(1);
    const [store] = stores;
    const s = await store.createSource({
      id: newId('src'), appId: newId('app'), name: 'x', verification: { scheme: 'none', secrets: [] } as never, dedup: null,
      ordering: { key: 'body:$.k', sequence: null, gapTimeoutSeconds: 5, firstSequence: null },
      destinations: [], forwardHeaders: null, rateLimit: null, response: null,
    });
    const ep = await store.createEndpoint({
      appId: s.appId, url: 'https://dest.example/h', description: null, events: null, status: 'disabled', secret: 'whsec_x',
      headers: {}, retrySchedule: null, timeoutMs: null, rateLimit: null, maxInFlight: null, disableAfterFailures: null,
      disableAfterSeconds: null, metadata: {},
    });
    const source = (await store.updateSource(s.id, { destinations: [{ type: 'http', endpointId: ep.id }] }, Date.now()))!;
    // Another transaction holds the app's row: the ingest stops there, after reading its destination's state.
    const blocker = new pg.Client({ connectionString: pgUrl });
    await blocker.connect();
    try {
      await blocker.query(`SET search_path TO "${schema}"`);
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM apps WHERE id = $1 FOR UPDATE', [s.appId]);
      const now = Date.now();
      const ingest = store.ingest(source, {
        id: newId('req'), receivedAt: now, loggedHeaders: {}, forwardHeaders: {}, contentType: 'application/json',
        body: Buffer.from('{"k":"a"}'), dedupKey: null, dedupTtlMs: 60_000, orderingKey: 'a', sequence: null, endpointIds: [ep.id], routes: null,
      }, now);
      await sleep(300);
      // The destination is enabled meanwhile, and a worker probes it as soon as that commits.
      const enabled = store.updateEndpoint(s.appId, ep.id, { status: 'active' }, Date.now()).then(async (e) => {
        const probe = await store.claimProbe(e!, 'w', Date.now() + 60_000, Date.now());
        return probe ? 1 : 0;
      });
      await sleep(300);
      await blocker.query('COMMIT');
      expect((await ingest).request.status).toBe('accepted');
      // The request goes either as the probe (it was held back before the enable) or as a due delivery.
      const probed = await enabled;
      const due = await store.claimDue('w', Date.now(), Date.now() + 60_000, 10);
      expect(probed + due.length).toBe(1);
    } finally {
      await blocker.end();
    }
  });

  it("wakes a listener when another process publishes, and not for another schema's work", async () => {
    const { stores } = await open(2);
    const other = await open(1);
    const { appId, epId } = await appWithEndpoint(stores[1]);
    const { appId: otherApp, epId: otherEp } = await appWithEndpoint(other.stores[0]);
    let wakes = 0;
    let woke: () => void = () => undefined;
    const unlisten = await stores[0].listen(() => {
      wakes++;
      woke();
    });
    await other.stores[0].publish(otherApp, [event([otherEp])], Date.now());
    await sleep(200);
    expect(wakes).toBe(0);
    const started = Date.now();
    const wake = new Promise<void>((resolve) => (woke = resolve));
    await stores[1].publish(appId, [event([epId])], Date.now());
    await Promise.race([wake, sleep(1000)]);
    expect(wakes).toBe(1);
    expect(Date.now() - started).toBeLessThan(1000);
    await unlisten();
    await stores[1].publish(appId, [event([epId])], Date.now());
    await sleep(200);
    expect(wakes).toBe(1);
  });

  it('listens again after its connection is killed, and wakes once it is back', async () => {
    const { stores, schema } = await open(2);
    const { appId, epId } = await appWithEndpoint(stores[1]);
    let wakes = 0;
    const unlisten = await stores[0].listen(() => wakes++);
    const killed = await sql<{ ok: boolean }>(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1`, [`herald-listen:${schema}`]);
    expect(killed).toEqual([{ ok: true }]);
    for (let i = 0; i < 40 && wakes === 0; i++) await sleep(100); // reconnects after 1 s
    expect(wakes).toBe(1); // the catch-up wake: notifications may have been missed meanwhile
    await stores[1].publish(appId, [event([epId])], Date.now());
    for (let i = 0; i < 20 && wakes === 1; i++) await sleep(50);
    expect(wakes).toBe(2);
    await unlisten();
  });
});
