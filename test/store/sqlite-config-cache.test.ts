import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { DATA_VERSION_MS } from '../../src/store/sqlite/connection.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';

/**
 * The SQLite store keeps apps and event types in memory for the publish path. What it hands
 * out must never be older than the file: changes through the store itself, and changes
 * another connection (a CLI, a second process) committed to the same file.
 */
describe('SQLite store: cached apps and event types', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  async function open(): Promise<{ store: SqliteStore; path: string }> {
    const dir = mkdtempSync(join(tmpdir(), 'herald-cache-'));
    dirs.push(dir);
    const path = join(dir, 'h.db');
    const store = new SqliteStore(path);
    await store.migrate();
    return { store, path };
  }

  it('sees its own changes at once: app renamed, uid moved, app deleted, event type created, changed', async () => {
    const { store } = await open();
    const app = await store.createApp({ name: 'A', uid: 'acme', metadata: {}, signatureProfile: null });
    expect((await store.getApp('acme'))?.name).toBe('A');
    expect(await store.getEventType('person.created')).toBeNull();
    await store.updateApp(app.id, { name: 'B', uid: 'acme2' });
    expect((await store.getApp(app.id))?.name).toBe('B');
    expect(await store.getApp('acme')).toBeNull();
    expect((await store.getApp('acme2'))?.id).toBe(app.id);
    await store.createEventType({ name: 'person.created', description: 'one', schema: null, examples: [] });
    expect((await store.getEventType('person.created'))?.description).toBe('one');
    await store.updateEventType('person.created', { schema: { type: 'object', required: ['id'] } });
    expect((await store.getEventType('person.created'))?.schema).toEqual({ type: 'object', required: ['id'] });
    await store.deleteApp(app.id);
    expect(await store.getApp(app.id)).toBeNull();
    expect(await store.getApp('acme2')).toBeNull();
    await store.close();
  });

  it("sees what another connection committed to the file within DATA_VERSION_MS (PRAGMA data_version)", async () => {
    const { store, path } = await open();
    const app = await store.createApp({ name: 'A', uid: 'acme', metadata: {}, signatureProfile: null });
    await store.createEventType({ name: 'order.paid', description: 'v1', schema: null, examples: [] });
    expect((await store.getApp('acme'))?.name).toBe('A');
    expect((await store.getEventType('order.paid'))?.description).toBe('v1');
    expect(await store.getEventType('order.refunded')).toBeNull();
    const other = new Database(path);
    try {
      other.prepare("UPDATE apps SET name = 'renamed elsewhere' WHERE id = ?").run(app.id);
      other.prepare("UPDATE event_types SET description = 'v2' WHERE name = 'order.paid'").run();
      other.prepare("INSERT INTO event_types (name, description, schema, examples, created_at, updated_at) VALUES ('order.refunded', 'new', NULL, '[]', 1, 1)").run();
    } finally {
      other.close();
    }
    await new Promise((r) => setTimeout(r, DATA_VERSION_MS + 5));
    expect((await store.getApp('acme'))?.name).toBe('renamed elsewhere');
    expect((await store.getEventType('order.paid'))?.description).toBe('v2');
    expect((await store.getEventType('order.refunded'))?.description).toBe('new');
    await store.close();
  });

  it("an app's active endpoints (cached for publishes): another connection's change shows within DATA_VERSION_MS", async () => {
    const { store, path } = await open();
    const app = await store.createApp({ name: 'A', uid: 'acme', metadata: {}, signatureProfile: null });
    const ep = await store.createEndpoint({ appId: app.id, url: 'https://e.x/h', description: null, events: null, status: 'active', secret: 'whsec_x', headers: {}, retrySchedule: null, timeoutMs: null, rateLimit: null, maxInFlight: null, disableAfterFailures: null, disableAfterSeconds: null, metadata: {} });
    expect((await store.activeEndpoints(app.id)).map((e) => e.circuitState)).toEqual(['closed']);
    // The same list again: nothing read from the file.
    expect(await store.activeEndpoints(app.id)).toBe(await store.activeEndpoints(app.id));
    const other = new Database(path);
    try {
      other.prepare("UPDATE endpoints SET circuit_state = 'open', circuit_until = 1 WHERE id = ?").run(ep.id);
    } finally {
      other.close();
    }
    await new Promise((r) => setTimeout(r, DATA_VERSION_MS + 5));
    expect((await store.activeEndpoints(app.id)).map((e) => e.circuitState)).toEqual(['open']);
    await store.close();
  });
});
