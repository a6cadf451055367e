import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { fixtures } from '../helpers/fixtures.js';

/**
 * Another process holding SQLite's write lock (here: a second connection with BEGIN
 * IMMEDIATE, which SQLite treats exactly like another process).
 */
const f = fixtures();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SQLite locked by another process', () => {
  it('keeps serving while a publish waits for the lock, then answers 503 storage_unavailable with Retry-After; /health says degraded; all resumes after', async () => {
    const t = await f.herald();
    const r = await f.receiver();
    const app = (await t.api('POST', '/v1/apps', { name: 'Locked' })).body.id;
    await t.api('POST', `/v1/apps/${app}/endpoints`, { url: `${r.url}/h` });
    const other = new Database(join(t.dir, 'herald.db'));
    other.exec('BEGIN IMMEDIATE');
    try {
      const health: Array<{ ms: number; status: number; body: any }> = [];
      let polling = true;
      const poller = (async () => {
        while (polling) {
          const t0 = performance.now();
          const h = await t.api('GET', '/health');
          health.push({ ms: performance.now() - t0, status: h.status, body: h.body });
          await sleep(20);
        }
      })();
      const t0 = Date.now();
      const res = await t.api('POST', `/v1/apps/${app}/events`, { type: 'a.b', data: { n: 1 } });
      const took = Date.now() - t0;
      polling = false;
      await poller;
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('storage_unavailable');
      expect(res.headers.get('retry-after')).toBe('1');
      expect(took).toBeGreaterThanOrEqual(2500); // it waited for the lock…
      expect(took).toBeLessThan(8000);
      // …without holding up the event loop: /health kept answering all along.
      expect(health.length).toBeGreaterThan(20);
      expect(Math.max(...health.map((h) => h.ms))).toBeLessThan(500);
      expect(health.every((h) => h.status === 503 && h.body.status === 'degraded')).toBe(true);
      expect(health[0].body.storage).toMatch(/locked/);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect((await t.api('GET', '/health')).body).toEqual({ status: 'ok' });
    const ok = await t.api('POST', `/v1/apps/${app}/events`, { type: 'a.b', data: { n: 2 } });
    expect(ok.status).toBe(202);
    // Only the event that got a 202 exists, and it is delivered.
    const [got] = await r.waitFor(1);
    expect(JSON.parse(got.body).data).toEqual({ n: 2 });
    expect((await t.api('GET', `/v1/apps/${app}/events`)).body.data).toHaveLength(1);
  });

  it('a lock held for a moment is waited out: the publish succeeds', async () => {
    const t = await f.herald();
    const app = (await t.api('POST', '/v1/apps', { name: 'Brief' })).body.id;
    const other = new Database(join(t.dir, 'herald.db'));
    other.exec('BEGIN IMMEDIATE');
    setTimeout(() => {
      other.exec('ROLLBACK');
      other.close();
    }, 400);
    const res = await t.api('POST', `/v1/apps/${app}/events`, { type: 'a.b', data: {} });
    expect(res.status).toBe(202);
  });
});

describe('SQLite locked while attempts finish', () => {
  it('writes their results once the lock is gone, instead of leaving the deliveries leased for good', async () => {
    const t = await f.herald();
    const r = await f.receiver();
    const app = (await t.api('POST', '/v1/apps', { name: 'Late' })).body.id;
    await t.api('POST', `/v1/apps/${app}/endpoints`, { url: `${r.url}/slow` });
    const other = new Database(join(t.dir, 'herald.db'));
    let released = false;
    // The lock is taken as the receiver answers, so the attempt's result meets it, for longer
    // than one store call waits (3 s).
    r.respond = () => {
      other.exec('BEGIN IMMEDIATE');
      setTimeout(() => {
        other.exec('ROLLBACK');
        other.close();
        released = true;
      }, 4500);
      return { status: 200, body: 'ok' };
    };
    expect((await t.api('POST', `/v1/apps/${app}/events`, { type: 'a.b', data: {} })).status).toBe(202);
    await r.waitFor(1);
    let d: any = null;
    for (let i = 0; i < 150 && d?.status !== 'success'; i++) {
      await sleep(50);
      if (released) d = (await t.api('GET', `/v1/apps/${app}/deliveries`)).body.data[0];
    }
    expect(d).toMatchObject({ status: 'success', attemptCount: 1, lastStatusCode: 200 });
    expect(r.requests).toHaveLength(1); // recorded, not sent again
  });
});
