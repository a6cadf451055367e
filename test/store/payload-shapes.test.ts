import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/core/secret-box.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import type { Store } from '../../src/store/types.js';
import { backends } from './backends.js';

/** The store's part of payload shapes, on every backend: envelope profiles, transforms and their stored outputs. */
const profile = { fields: { id: 'id', type: 'event', timestamp: 'created_at' }, timestampFormat: 'unix' as const, sequence: false, extra: ['workspaceId'] };

for (const backend of backends) {
  describe(`payload shapes in the store: ${backend.name}`, () => {
    let store: Store;
    let drop: () => Promise<void>;
    beforeEach(async () => {
      ({ store, drop } = await backend.open());
    });
    afterEach(async () => {
      await store.close();
      await drop();
    });

    it("keeps an app's envelope profile through create, update and the app cache", async () => {
      const app = await store.createApp({ name: 'A', uid: 'a', metadata: {}, signatureProfile: null, envelopeProfile: profile });
      expect((await store.getApp('a'))?.envelopeProfile).toEqual(profile);
      await store.updateApp(app.id, { name: 'B' });
      expect((await store.getApp(app.id))?.envelopeProfile).toEqual(profile);
      await store.updateApp(app.id, { envelopeProfile: null });
      expect((await store.getApp('a'))?.envelopeProfile).toBeNull();
      const plain = await store.createApp({ name: 'C', uid: null, metadata: {}, signatureProfile: null });
      expect(plain.envelopeProfile).toBeNull();
    });

    it("keeps an endpoint's transform (fan-out cache included), and a delivery's transformed request", async () => {
      const app = await store.createApp({ name: 'A', uid: null, metadata: {}, signatureProfile: null });
      const ep = await store.createEndpoint({ appId: app.id, url: 'https://e.x/h', description: null, events: null, status: 'active', secret: 'whsec_x', headers: {}, retrySchedule: null, timeoutMs: null, rateLimit: null, maxInFlight: null, disableAfterFailures: null, disableAfterSeconds: null, metadata: {}, transform: 'function transform(w) { return w; }' });
      expect(ep.transform).toBe('function transform(w) { return w; }');
      expect((await store.activeEndpoints(app.id))[0].transform).toBe(ep.transform);
      await store.updateEndpoint(app.id, ep.id, { transform: 'function transform(w) { return null; }' }, Date.now());
      expect((await store.activeEndpoints(app.id))[0].transform).toBe('function transform(w) { return null; }');
      await store.updateEndpoint(app.id, ep.id, { description: 'kept' }, Date.now());
      expect((await store.getEndpoint(app.id, ep.id))?.transform).toBe('function transform(w) { return null; }');

      const now = Date.now();
      const [r] = await store.publish(app.id, [{ id: 'evt_1', type: 't', timestamp: now, render: () => '{}', orderingKey: null, idempotencyKey: null, endpointIds: [ep.id] }], now);
      const id = r.deliveryIds[0];
      expect(await store.getTransformed(id)).toBeNull();
      const request = { url: 'https://e.x/h/other', headers: { authorization: 'Bearer tok_sécret' }, body: '{"only":"ë"}' };
      await store.saveTransformed([{ deliveryId: id, request }, { deliveryId: 'dlv_gone', request }]);
      expect(await store.getTransformed(id)).toEqual(request);
      const [claimed] = await store.claimDue('w', Date.now(), Date.now() + 60_000, 10);
      expect(claimed.endpoint.transform).toBe('function transform(w) { return null; }');
    });
  });
}

describe('stored transform outputs are sealed', () => {
  it('keeps header values out of the database file in the clear', async () => {
    const { mkdtempSync, readFileSync, readdirSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'herald-seal-'));
    const store = new SqliteStore(join(dir, 'h.db'), { box: new SecretBox(Buffer.alloc(32, 7)) });
    await store.migrate();
    const app = await store.createApp({ name: 'A', uid: null, metadata: {}, signatureProfile: null });
    const ep = await store.createEndpoint({ appId: app.id, url: 'https://e.x/h', description: null, events: null, status: 'active', secret: 'whsec_x', headers: {}, retrySchedule: null, timeoutMs: null, rateLimit: null, maxInFlight: null, disableAfterFailures: null, disableAfterSeconds: null, metadata: {} });
    const now = Date.now();
    const [r] = await store.publish(app.id, [{ id: 'evt_1', type: 't', timestamp: now, render: () => '{}', orderingKey: null, idempotencyKey: null, endpointIds: [ep.id] }], now);
    const token = `tok_${'q'.repeat(20)}`;
    await store.saveTransformed([{ deliveryId: r.deliveryIds[0], request: { url: 'https://e.x/h', headers: { authorization: token }, body: '{}' } }]);
    expect((await store.getTransformed(r.deliveryIds[0]))?.headers.authorization).toBe(token);
    await store.close();
    for (const f of readdirSync(dir)) expect(readFileSync(join(dir, f)).includes(Buffer.from(token)), f).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });
});
