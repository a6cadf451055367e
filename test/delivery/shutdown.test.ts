import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { appWithEndpoint, startHerald } from '../helpers/herald.js';
import { Receiver } from '../helpers/receiver.js';

describe('graceful shutdown', () => {
  it('stops serving, waits for the in-flight attempt to end, and records it before closing', async () => {
    const r = await new Receiver().start();
    const t = await startHerald();
    // Hold the first request open: it is in flight when shutdown begins.
    r.respond = () => ({ hang: true });
    const { appId } = await appWithEndpoint(t, r.url, { timeoutMs: 5000 });
    const pub = await t.api('POST', `/v1/apps/${appId}/events`, { type: 'x.y', data: {} });
    await r.waitFor(1);
    const closing = t.herald.close(5000);
    await new Promise((res) => setTimeout(res, 50));
    expect((await fetch(`${t.url}/health`).catch(() => null))?.status ?? 503).not.toBe(200);
    await r.stop(); // ends the hung request: the attempt finishes (as a failure) during the grace period
    await closing;
    const store = new SqliteStore(join(t.dir, 'herald.db'));
    await store.migrate();
    const list = await store.listDeliveries(appId, { eventId: pub.body.id }, { limit: 5 });
    const found = await store.getDelivery(appId, list.data[0].id);
    expect(found?.attempts).toHaveLength(1);
    expect(found?.attempts[0].error).toBe('connection_reset');
    expect(found?.delivery.status).toBe('pending');
    await store.close();
    rmSync(t.dir, { recursive: true, force: true });
  });
});
