import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtures } from '../helpers/fixtures.js';
import { eventually } from '../helpers/herald.js';
import { startListen } from '../helpers/listen.js';
import { pgUrl, testSchema } from '../helpers/postgres.js';
import { freePort } from '../helpers/receiver.js';
import { runCli, waitForHealth, type Proc } from '../helpers/process.js';

/**
 * The relay with two Herald processes on one PostgreSQL database: the listener's socket is
 * held by one of them, while events are published through (and claimed by) the other.
 */
const f = fixtures();
const KEY = 'relay-pg-key-0123456789';
const schema = testSchema();
const procs: Proc[] = [];

if (!pgUrl) console.log('PostgreSQL relay test skipped: set HERALD_TEST_DATABASE_URL to run it');

afterAll(async () => {
  for (const p of procs) p.child.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
  if (pgUrl) {
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  }
});

describe.skipIf(!pgUrl)('herald listen with several processes on PostgreSQL', () => {
  it('deliveries claimed by a process without the socket reach the listener through the one that has it', async () => {
    const url = `${pgUrl}${pgUrl!.includes('?') ? '&' : '?'}schema=${schema}`;
    const ports = [await freePort(), await freePort()];
    const dataDir = f.tempDir('herald-relay-pg-data-');
    for (const port of ports) {
      procs.push(runCli(['serve', '--dev', '--port', String(port), '--db', url], { HERALD_API_KEY: KEY, HERALD_API_RATE_LIMIT: '0', HERALD_DATA_DIR: dataDir }));
    }
    const bases = ports.map((p) => `http://127.0.0.1:${p}`);
    await Promise.all(bases.map((b, i) => waitForHealth(b, 30_000, procs[i])));
    const api = async (i: number, method: string, path: string, body?: unknown) => {
      const res = await fetch(bases[i] + path, {
        method, headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    await api(0, 'POST', '/v1/apps', { name: 'Acme', uid: 'acme' });
    const receiver = await f.receiver();
    const l = startListen([`${receiver.url}/hook`, '--app', 'acme'], {
      HERALD_URL: bases[0], HERALD_API_KEY: KEY, HERALD_CONFIG_DIR: f.tempDir('herald-relay-pg-'),
    }, f.cleanup);
    const ready = await l.waitFor((x) => x.event === 'ready');
    await l.waitFor((x) => x.event === 'connected');
    // The other process knows the endpoint is connected, from the listener table.
    expect((await api(1, 'GET', `/v1/apps/acme/endpoints/${ready.endpointId}`)).body.relay).toMatchObject({ connected: true, listeners: 1 });

    const published: string[] = [];
    for (let i = 0; i < 20; i++) published.push((await api(1, 'POST', '/v1/apps/acme/events', { type: 'person.created', data: { i } })).body.id);
    await eventually(async () => new Set(receiver.requests.map((r) => r.headers['webhook-id'])).size === 20, 15_000);
    expect(new Set(receiver.requests.map((r) => r.headers['webhook-id']))).toEqual(new Set(published));
    await eventually(async () => {
      const { body } = await api(1, 'GET', '/v1/apps/acme/deliveries?status=success&limit=250');
      return body.data.length === 20;
    });

    l.child.kill('SIGKILL');
    await eventually(async () => (await api(1, 'GET', `/v1/apps/acme/endpoints/${ready.endpointId}`)).body.relay.connected === false, 10_000);
  });
});
