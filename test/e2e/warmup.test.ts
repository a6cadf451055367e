import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { warmUp } from '../../src/warmup.js';
import { fixtures } from '../helpers/fixtures.js';
import { runCli } from '../helpers/process.js';
import { freePort } from '../helpers/receiver.js';

/**
 * `herald serve` warms its hot path before it says it listens (src/warmup.ts). What matters to
 * a user: it then serves as usual, and the warm-up left nothing behind, in the database, in
 * /metrics or in the log.
 */
const f = fixtures();
const KEY = 'warmup-test-key-0123456789';

describe('warm-up before serving', () => {
  it('delivers every warm-up publish on its throwaway Herald', async () => {
    const dir = f.tempDir('herald-w-');
    const config = loadConfig({ HERALD_DATABASE_URL: `sqlite:${join(dir, 'never.db')}`, HERALD_LOG_LEVEL: 'silent' });
    const r = await warmUp(config, { events: 300, concurrency: 8, budgetMs: 20_000 });
    expect(r).toMatchObject({ events: 300, delivered: 300 });
    // The configured database is not the one it used.
    const { existsSync } = await import('node:fs');
    expect(existsSync(join(dir, 'never.db'))).toBe(false);
  }, 30_000);

  it('serve: warmed, then serves, with nothing of the warm-up in the database, /metrics or the output', async () => {
    const dir = f.tempDir('herald-w-');
    const db = join(dir, 'h.db');
    const port = await freePort();
    const receiver = await f.receiver();
    const p = runCli(['serve', '--dev', '--port', String(port), '--db', `sqlite:${db}`], { HERALD_API_KEY: KEY, HERALD_WARMUP_EVENTS: '1500' });
    f.cleanup(() => void p.child.kill('SIGKILL'));
    const deadline = Date.now() + 30_000;
    while (!p.output().includes('listening on') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(p.output()).toContain(`listening on http://127.0.0.1:${port}`);

    const base = `http://127.0.0.1:${port}`;
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(base + path, {
        method, headers: { authorization: `Bearer ${KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, text: await res.text() };
    };
    expect(JSON.parse((await api('GET', '/v1/apps')).text).data).toEqual([]);
    const metrics = (await api('GET', '/metrics')).text;
    expect(metrics).toMatch(/^herald_events_published_total 0$/m);
    expect(metrics).not.toMatch(/^herald_deliveries_total\{/m);

    const app = JSON.parse((await api('POST', '/v1/apps', { name: 'after warm-up' })).text);
    expect((await api('POST', `/v1/apps/${app.id}/endpoints`, { url: `${receiver.url}/hook` })).status).toBe(201);
    expect((await api('POST', `/v1/apps/${app.id}/events`, { type: 'order.created', data: { n: 1 } })).status).toBe(202);
    const [got] = await receiver.waitFor(1);
    expect(JSON.parse(got.body)).toMatchObject({ type: 'order.created', data: { n: 1 } });
    expect(receiver.requests).toHaveLength(1);

    const file = new Database(db, { readonly: true });
    try {
      expect(file.prepare('SELECT count(*) AS n FROM apps').get()).toEqual({ n: 1 });
      expect(file.prepare('SELECT count(*) AS n FROM events').get()).toEqual({ n: 1 });
      expect(file.prepare('SELECT count(*) AS n FROM deliveries').get()).toEqual({ n: 1 });
    } finally {
      file.close();
    }
    expect(p.output()).not.toMatch(/warm-up|warmup/i);
    expect(p.output()).not.toMatch(/"level":(40|50|60)/);
  }, 60_000);

  it('HERALD_WARMUP_EVENTS=0 turns it off, and a bad value is refused at start', async () => {
    const bad = runCli(['serve', '--port', String(await freePort())], { HERALD_WARMUP_EVENTS: 'lots', HERALD_API_KEY: KEY }, f.tempDir());
    expect(await bad.exited).toBe(2);
    expect(bad.output()).toContain('HERALD_WARMUP_EVENTS');
    expect(loadConfig({ HERALD_WARMUP_EVENTS: '0' }).warmupEvents).toBe(0);
    expect(loadConfig({}).warmupEvents).toBe(4000);
  }, 30_000);
});
