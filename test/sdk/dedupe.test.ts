import Database from 'better-sqlite3';
import pg from 'pg';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDeduper,
  memoryStore,
  postgresStore,
  redisStore,
  sqliteStore,
  type DedupeStore,
  DEFAULT_DEDUPE_TTL_SECONDS,
} from '../../src/sdk/receiver/index.js';

const DATABASE_URL = process.env.HERALD_TEST_DATABASE_URL;
const REDIS_URL = process.env.HERALD_TEST_REDIS_URL;
if (!DATABASE_URL) console.warn('[test/sdk/dedupe] HERALD_TEST_DATABASE_URL is unset: skipping the PostgreSQL store tests');
if (!REDIS_URL) console.warn('[test/sdk/dedupe] HERALD_TEST_REDIS_URL is unset: skipping the Redis store tests');

const runId = `${process.pid}_${randomBytes(4).toString('hex')}`;

/** A hand-driven clock, so expiry is tested without sleeping. */
function fakeClock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

interface Backend {
  /** A fresh, isolated store; `now` is honoured by stores that take a clock. */
  make(now?: () => number): DedupeStore;
  /** Stores whose expiry is the server's own (Redis) can't be driven by a fake clock. */
  clockDriven: boolean;
}

/** The conformance suite every store must pass (BullMQ-style: one suite, every backend). */
function conformance(backend: () => Backend) {
  it('reports an id as unseen once, then seen', async () => {
    const dedupe = createDeduper({ store: backend().make() });
    expect(await dedupe.seen('evt_a')).toBe(false);
    expect(await dedupe.seen('evt_a')).toBe(true);
    expect(await dedupe.seen('evt_a')).toBe(true);
    expect(await dedupe.seen('evt_b')).toBe(false);
  });

  it('lets exactly one of 50 concurrent seen() calls for one id proceed', async () => {
    const dedupe = createDeduper({ store: backend().make() });
    const results = await Promise.all(Array.from({ length: 50 }, () => dedupe.seen('evt_race')));
    expect(results.filter((r) => r === false)).toHaveLength(1);
    expect(results.filter((r) => r === true)).toHaveLength(49);
  });

  it('keeps concurrent claims of different ids independent', async () => {
    const dedupe = createDeduper({ store: backend().make() });
    const ids = Array.from({ length: 20 }, (_, i) => `evt_${i}`);
    const results = await Promise.all([...ids, ...ids].map((id) => dedupe.seen(id)));
    expect(results.filter((r) => r === false)).toHaveLength(20);
  });

  it('forget() lets the next delivery through (processing failed, sender retries)', async () => {
    const dedupe = createDeduper({ store: backend().make() });
    expect(await dedupe.seen('evt_f')).toBe(false);
    await dedupe.forget('evt_f');
    expect(await dedupe.seen('evt_f')).toBe(false);
    expect(await dedupe.seen('evt_f')).toBe(true);
  });

  it('separates namespaces sharing one store', async () => {
    const store = backend().make();
    const github = createDeduper({ store, namespace: 'github:' });
    const stripe = createDeduper({ store, namespace: 'stripe:' });
    expect(await github.seen('1')).toBe(false);
    expect(await stripe.seen('1')).toBe(false);
    expect(await github.seen('1')).toBe(true);
  });

  it('forgets an id once its TTL has passed, and not before', async (ctx) => {
    if (!backend().clockDriven) ctx.skip();
    const clock = fakeClock();
    const dedupe = createDeduper({ store: backend().make(clock.now), ttlSeconds: 60 });
    expect(await dedupe.seen('evt_ttl')).toBe(false);
    clock.advance(59_999);
    expect(await dedupe.seen('evt_ttl')).toBe(true);
    clock.advance(1);
    expect(await dedupe.seen('evt_ttl')).toBe(false);
    expect(await dedupe.seen('evt_ttl')).toBe(true);
  });
}

describe('createDeduper', () => {
  it('defaults to a 48 h TTL and validates its input', async () => {
    expect(DEFAULT_DEDUPE_TTL_SECONDS).toBe(172_800);
    const ttls: number[] = [];
    const spy: DedupeStore = { claim: async (_k, ttl) => (ttls.push(ttl), true), release: async () => {} };
    await createDeduper({ store: spy }).seen('x');
    expect(ttls).toEqual([172_800]);
    expect(() => createDeduper({ ttlSeconds: 0 })).toThrow(expect.objectContaining({ code: 'invalid_options' }));
    await expect(createDeduper().seen('')).rejects.toMatchObject({ code: 'invalid_options' });
  });
});

describe('memoryStore', () => {
  conformance(() => ({ make: (now) => memoryStore({ now }), clockDriven: true }));

  it('is bounded: evicts the least recently used id', async () => {
    const store = memoryStore({ maxEntries: 3 });
    const dedupe = createDeduper({ store });
    for (const id of ['a', 'b', 'c']) await dedupe.seen(id);
    expect(await dedupe.seen('a')).toBe(true); // touch a: b is now the LRU
    expect(await dedupe.seen('d')).toBe(false); // evicts b
    expect(store.size).toBe(3);
    expect(await dedupe.seen('a')).toBe(true);
    expect(await dedupe.seen('b')).toBe(false);
  });
});

describe('sqliteStore (better-sqlite3)', () => {
  const db = new Database(':memory:');
  let n = 0;
  afterAll(() => db.close());
  conformance(() => ({ make: (now) => sqliteStore(db, { table: `dedupe_${n++}`, now }), clockDriven: true }));

  it('prune() removes only expired rows', async () => {
    const clock = fakeClock();
    const store = sqliteStore(db, { table: 'dedupe_prune', now: clock.now });
    await store.claim('old', 10);
    await store.claim('new', 100);
    clock.advance(50_000);
    expect(store.prune()).toBe(1);
    expect(await store.claim('new', 100)).toBe(false);
  });

  it('shares claims between two connections to one file', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'herald-dedupe-'));
    const a = new Database(join(dir, 'd.db'));
    const b = new Database(join(dir, 'd.db'));
    try {
      const da = createDeduper({ store: sqliteStore(a) });
      const db2 = createDeduper({ store: sqliteStore(b) });
      expect(await da.seen('evt_shared')).toBe(false);
      expect(await db2.seen('evt_shared')).toBe(true);
    } finally {
      a.close();
      b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects a table name that is not a plain identifier', () => {
    expect(() => sqliteStore(db, { table: 'x; DROP TABLE y' })).toThrow(expect.objectContaining({ code: 'invalid_options' }));
  });
});

describe('postgresStore table creation', () => {
  // Another process creating the table at the same moment makes PostgreSQL report one of
  // these codes (seen racing real pools; rare, so not reproducible on demand): not an error.
  for (const code of ['23505', '42P07', '42710']) {
    it(`treats ${code} from a concurrent CREATE TABLE as the table being there`, async () => {
      const seen: string[] = [];
      const client = {
        async query(text: string) {
          seen.push(text.split(' ')[0]);
          if (text.startsWith('CREATE')) throw Object.assign(new Error('created concurrently'), { code });
          return { rowCount: 1 };
        },
      };
      expect(await postgresStore(client).claim('evt_1', 60)).toBe(true);
      expect(seen).toEqual(['CREATE', 'INSERT']);
    });
  }

  it('fails on any other error and tries to create the table again next time', async () => {
    let fail = true;
    const client = {
      async query(text: string) {
        if (text.startsWith('CREATE') && fail) throw Object.assign(new Error('permission denied'), { code: '42501' });
        return { rowCount: 1 };
      },
    };
    const store = postgresStore(client);
    await expect(store.claim('evt_1', 60)).rejects.toThrow('permission denied');
    fail = false;
    expect(await store.claim('evt_1', 60)).toBe(true);
  });
});

describe.skipIf(!DATABASE_URL)('postgresStore (pg)', () => {
  const schema = `herald_sdk_test_${runId}`;
  let pool: pg.Pool;
  let n = 0;

  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: DATABASE_URL, max: 10 });
    await pool.query(`CREATE SCHEMA "${schema}"`);
  });
  afterAll(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  });

  conformance(() => ({ make: (now) => postgresStore(pool, { schema, table: `dedupe_${n++}`, now }), clockDriven: true }));

  it('is atomic across two pools racing (two app processes)', async () => {
    const other = new pg.Pool({ connectionString: DATABASE_URL, max: 10 });
    try {
      const table = 'dedupe_two_pools';
      const a = createDeduper({ store: postgresStore(pool, { schema, table }) });
      const b = createDeduper({ store: postgresStore(other, { schema, table }) });
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).seen('evt_multi')));
      expect(results.filter((r) => r === false)).toHaveLength(1);
    } finally {
      await other.end();
    }
  });

  it('prune() removes only expired rows', async () => {
    const clock = fakeClock();
    const store = postgresStore(pool, { schema, table: 'dedupe_prune', now: clock.now });
    await store.claim('old', 10);
    await store.claim('new', 100);
    clock.advance(50_000);
    expect(await store.prune()).toBe(1);
    expect(await store.claim('new', 100)).toBe(false);
  });
});

describe.skipIf(!REDIS_URL)('redisStore (ioredis)', () => {
  const prefix = `herald:sdk-test:${runId}:`;
  let redis: Redis;
  let n = 0;

  beforeAll(() => {
    redis = new Redis(REDIS_URL!, { lazyConnect: false, maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  conformance(() => ({ make: () => redisStore(redis, { prefix: `${prefix}${n++}:` }), clockDriven: false }));

  it('sets the TTL on the key (Redis expires it, no sweep)', async () => {
    const p = `${prefix}ttl:`;
    const dedupe = createDeduper({ store: redisStore(redis, { prefix: p }), ttlSeconds: 90 });
    expect(await dedupe.seen('evt_ttl')).toBe(false);
    const ttl = await redis.ttl(`${p}evt_ttl`);
    expect(ttl).toBeGreaterThan(85);
    expect(ttl).toBeLessThanOrEqual(90);
  });
});
