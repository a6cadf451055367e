import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, Receiver } from '../helpers/receiver.js';
import { runCli, waitForHealth, type Proc } from '../helpers/process.js';

/**
 * Several Herald processes on one PostgreSQL database: started at once on an empty schema
 * (migrations race), one killed with SIGKILL mid-run and another restarted. Every
 * acknowledged event must arrive at least once, in publish order per ordering key.
 */
const BASE = process.env.HERALD_TEST_DATABASE_URL;
const KEY = 'chaos-test-key-0123456789';
const schema = `herald_chaos_${process.pid}_${Date.now().toString(36)}`;
const procs: Proc[] = [];
// A fresh data dir each run, shared by the processes: they race to create its keys at start.
const DATA_DIR = mkdtempSync(join(tmpdir(), 'herald-chaos-'));
let receiver: Receiver | undefined;

if (!BASE) console.log('PostgreSQL chaos test skipped: set HERALD_TEST_DATABASE_URL to run it');

afterAll(async () => {
  for (const p of procs) p.child.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited)); // gone before their schema is dropped
  await receiver?.stop();
  rmSync(DATA_DIR, { recursive: true, force: true });
  if (BASE) {
    const client = new pg.Client({ connectionString: BASE });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  }
});

describe.skipIf(!BASE)('PostgreSQL: many processes, kill -9, restart', () => {
  it('delivers all 10,000 events at least once, per-key order intact', async () => {
    receiver = await new Receiver().start();
    const url = `${BASE}${BASE!.includes('?') ? '&' : '?'}schema=${schema}`;
    const ports = [await freePort(), await freePort(), await freePort()];
    const start = (i: number) => {
      const p = runCli(['serve', '--dev', '--port', String(ports[i]), '--db', url], {
        HERALD_API_KEY: KEY, HERALD_REQUEST_TIMEOUT_MS: '2000', HERALD_API_RATE_LIMIT: '0', HERALD_DATA_DIR: DATA_DIR,
      });
      procs[i] = p;
      return p;
    };
    // Three processes at once on a schema that doesn't exist yet: migrations race.
    [0, 1, 2].forEach(start);
    await Promise.all(ports.map((p, i) => waitForHealth(`http://127.0.0.1:${p}`, 30_000, procs[i])));
    const api = async (i: number, method: string, path: string, body?: unknown) => {
      const res = await fetch(`http://127.0.0.1:${ports[i]}${path}`, {
        method, headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    const app = (await api(0, 'POST', '/v1/apps', { name: 'Chaos' })).body;
    await api(0, 'POST', `/v1/apps/${app.id}/endpoints`, { url: `${receiver.url}/hook`, retrySchedule: [0.2, 0.5, 1, 2, 5] });

    const acknowledged = new Set<string>();
    const KEYS = 50;
    let stop = false;
    const publisher = async (w: number) => {
      for (let b = w; b < 100 && !stop; b += 3) {
        const events = Array.from({ length: 100 }, (_, i) => ({ type: 'doc.updated', orderingKey: `doc-${(b * 100 + i) % KEYS}`, data: { b, i } }));
        try {
          const res = await api(b % 3 === 1 && procs[1].child.exitCode !== null ? 0 : b % 3, 'POST', `/v1/apps/${app.id}/events/batch`, { events });
          if (res.status === 202) for (const e of res.body.data) acknowledged.add(e.id);
        } catch {
          /* that process was killed under this request: not acknowledged */
        }
      }
    };
    const publishing = Promise.all([0, 1, 2].map(publisher));
    await receiver.waitFor(3000, 60_000);
    procs[1].child.kill('SIGKILL');
    await procs[1].exited;
    procs[2].child.kill('SIGTERM');
    await procs[2].exited;
    await waitForHealth(`http://127.0.0.1:${ports[2]}`, 30_000, start(2));
    await publishing;
    stop = true;

    const delivered = () => new Set(receiver!.requests.map((r) => r.headers['webhook-id'] as string));
    const deadline = Date.now() + 90_000;
    for (;;) {
      // One Set per check: building it per id would block this process, receiver included.
      const seen = delivered();
      if (Date.now() >= deadline || [...acknowledged].every((id) => seen.has(id))) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const finalSeen = delivered();
    const missing = [...acknowledged].filter((id) => !finalSeen.has(id));
    const duplicates = receiver.requests.length - finalSeen.size;
    console.log(`chaos: ${acknowledged.size} acknowledged, ${finalSeen.size} distinct delivered, ${duplicates} duplicates, ${missing.length} missing`);
    if (missing.length > 0) {
      // Say where the missing ones are stuck, for whoever debugs this.
      const client = new pg.Client({ connectionString: BASE });
      await client.connect();
      const states = await client.query(`SELECT status, lease_owner IS NOT NULL AS leased,
          CASE WHEN next_attempt_at >= 9000000000000000 THEN 'order_held' WHEN next_attempt_at >= 8000000000000000 THEN 'parked'
               WHEN next_attempt_at > $1 THEN 'future' ELSE 'due' END AS at, COUNT(*)::int AS n
        FROM ${schema}.deliveries GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, [Date.now()]);
      const circuits = await client.query(`SELECT status, circuit_state, circuit_until - $1::bigint AS until_ms, consecutive_failures FROM ${schema}.endpoints`, [Date.now()]);
      const errors = await client.query(`SELECT error, status_code, COUNT(*)::int AS n FROM ${schema}.attempts WHERE status_code IS DISTINCT FROM 200 GROUP BY 1, 2`);
      console.log('failed attempts', JSON.stringify(errors.rows));
      console.log('delivery states', JSON.stringify(states.rows), 'endpoints', JSON.stringify(circuits.rows));
      await client.end();
    }
    expect(acknowledged.size).toBeGreaterThanOrEqual(9000);
    expect(missing).toEqual([]);

    // Per ordering key, arrivals never go back in publish order (a duplicate repeats the last one).
    const byKey = new Map<string, number[]>();
    for (const r of receiver.requests) {
      const body = JSON.parse(r.body) as { sequence: number; data: { b: number; i: number } };
      const key = `doc-${(body.data.b * 100 + body.data.i) % KEYS}`;
      byKey.set(key, [...(byKey.get(key) ?? []), body.sequence]);
    }
    for (const [key, seqs] of byKey) {
      const backwards = seqs.findIndex((s, i) => i > 0 && s < seqs[i - 1]);
      expect(backwards, `${key} went back in order: ${seqs.slice(Math.max(0, backwards - 2), backwards + 2)}`).toBe(-1);
    }
  }, 240_000);

  it('keeps an endpoint to its rate limit across worker processes', async () => {
    const r = await new Receiver().start();
    const url = `${BASE}${BASE!.includes('?') ? '&' : '?'}schema=${schema}_limits`;
    const apiPort = await freePort();
    const env = { HERALD_API_KEY: KEY, HERALD_API_RATE_LIMIT: '0', HERALD_DATA_DIR: DATA_DIR };
    const mine: Proc[] = [];
    try {
      // One API process and two worker processes: the roles scale apart.
      mine.push(runCli(['serve', '--api-only', '--dev', '--port', String(apiPort), '--db', url], env));
      await waitForHealth(`http://127.0.0.1:${apiPort}`, 30_000, mine[0]);
      mine.push(runCli(['worker', '--dev', '--db', url], env), runCli(['worker', '--dev', '--db', url], env));
      procs.push(...mine);
      const call = async (method: string, path: string, body?: unknown) => (await fetch(`http://127.0.0.1:${apiPort}${path}`, {
        method, headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
      })).json() as Promise<any>;
      const app = await call('POST', '/v1/apps', { name: 'Limits' });
      await call('POST', `/v1/apps/${app.id}/endpoints`, { url: r.url, rateLimit: 20 });
      await new Promise((res) => setTimeout(res, 2500)); // both workers have seen each other's heartbeat
      const t0 = Date.now();
      await call('POST', `/v1/apps/${app.id}/events/batch`, { events: Array.from({ length: 100 }, (_, i) => ({ type: 'x.y', data: { i } })) });
      const reqs = await r.waitFor(100, 40_000);
      const seconds = (reqs[99].at - t0) / 1000;
      console.log(`rate limit across 2 workers: 100 deliveries in ${seconds.toFixed(2)} s (limit 20/s)`);
      expect(seconds).toBeGreaterThanOrEqual(100 / 20 - 1.5);
    } finally {
      await r.stop();
      // Stop the processes before dropping their schema: DROP … CASCADE under their running
      // queries can deadlock with them.
      for (const p of mine) p.child.kill('SIGKILL');
      await Promise.all(mine.map((p) => p.exited));
      const client = new pg.Client({ connectionString: BASE });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema}_limits CASCADE`);
      await client.end();
    }
  }, 60_000);
});
