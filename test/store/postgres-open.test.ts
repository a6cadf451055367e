import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/core/secret-box.js';
import { openStore, type Store } from '../../src/store/index.js';
import { dropSchema, pgUrl, testSchema } from '../helpers/postgres.js';

/** openStore's PostgreSQL URLs, and what the backend keeps at rest. */
describe.skipIf(!pgUrl)('openStore with PostgreSQL', () => {
  const stores: Store[] = [];
  const schemas: string[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    for (const schema of schemas.splice(0)) await dropSchema(schema);
  });

  const urlFor = (schema: string, scheme = 'postgres') => {
    const url = new URL(pgUrl!);
    url.protocol = `${scheme}:`;
    url.searchParams.set('schema', schema);
    return url.toString();
  };

  const column = async (schema: string, text: string): Promise<unknown> => {
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    try {
      return Object.values((await client.query(text.replaceAll('$schema', `"${schema}"`))).rows[0] ?? {})[0];
    } finally {
      await client.end();
    }
  };

  it('migrates into the schema named by ?schema=, for postgres:// and postgresql:// alike', async () => {
    const schema = testSchema();
    schemas.push(schema);
    const a = await openStore(urlFor(schema));
    const b = await openStore(urlFor(schema, 'postgresql'));
    stores.push(a, b);
    expect(a.kind).toBe('postgres');
    expect(a.leasesExpire).toBe(true);
    const app = await a.createApp({ name: 'A', uid: 'shared', metadata: { z: 1, a: [1, 2] }, signatureProfile: null });
    expect((await b.getApp('shared'))?.metadata).toEqual({ z: 1, a: [1, 2] });
    expect(Object.keys((await b.getApp(app.id))!.metadata)).toEqual(['z', 'a']); // key order kept (json, not jsonb)
    expect(await column(schema, `SELECT count(*)::int FROM $schema.apps`)).toBe(1);
    await expect(b.createApp({ name: 'B', uid: 'shared', metadata: {}, signatureProfile: null })).rejects.toMatchObject({ code: 'conflict' });
    await a.createEventType({ name: 'a.b', description: null, schema: null });
    await expect(b.createEventType({ name: 'a.b', description: null, schema: null })).rejects.toMatchObject({ code: 'conflict' });
  });

  it('keeps endpoint secrets sealed at rest when given a box, and hands them out opened', async () => {
    const schema = testSchema();
    schemas.push(schema);
    const box = new SecretBox(Buffer.alloc(32, 7));
    const store = await openStore(urlFor(schema), { box });
    stores.push(store);
    const appId = (await store.createApp({ name: 'A', uid: null, metadata: {}, signatureProfile: { header: 'x-sig', format: 'hex', eventHeader: 'x-ev' } })).id;
    const ep = await store.createEndpoint({
      appId, url: 'https://e.x/h', description: null, events: ['a.b'], status: 'active', secret: 'whsec_plain', headers: { 'x-a': '1' },
      retrySchedule: [1, 2], timeoutMs: 1000, rateLimit: 2.5, maxInFlight: 3, disableAfterFailures: null, disableAfterSeconds: null, metadata: {},
    });
    expect(String(await column(schema, `SELECT secret FROM $schema.endpoints`))).toMatch(/^enc:v1:/);
    await store.rotateSecret(appId, ep.id, 'whsec_new', Date.now() + 60_000, Date.now());
    expect(JSON.stringify(await column(schema, `SELECT previous_secrets FROM $schema.endpoints`))).not.toContain('whsec_plain');
    await store.publish(appId, [{ id: 'evt_1', type: 'a.b', timestamp: 1, render: () => '{}', orderingKey: null, idempotencyKey: null, endpointIds: [ep.id] }], Date.now());
    const [claimed] = await store.claimDue('w', Date.now(), Date.now() + 1000, 10);
    expect(claimed.endpoint).toMatchObject({
      secret: 'whsec_new', previousSecrets: [{ secret: 'whsec_plain' }], events: ['a.b'], headers: { 'x-a': '1' }, retrySchedule: [1, 2], rateLimit: 2.5,
    });
    expect(claimed.profile).toEqual({ header: 'x-sig', format: 'hex', eventHeader: 'x-ev' });
  });
});
