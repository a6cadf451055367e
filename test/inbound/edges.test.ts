import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { fixtures } from '../helpers/fixtures.js';
import { API_KEY } from '../helpers/herald.js';
import { createSource } from './helpers.js';

const f = fixtures();

describe('sources: edges', () => {
  it('builds ingestUrl from the configured or listening address, never from the request\'s Host header', async () => {
    const t = await f.herald();
    // node:http, because fetch won't send a Host header of one's choosing.
    const source = await new Promise<{ id: string; ingestUrl: string }>((resolve, reject) => {
      const { hostname, port } = new URL(t.url);
      const req = request({
        hostname, port, path: '/v1/sources', method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', host: 'attacker.example' },
      }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve(JSON.parse(text)));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ name: 'x', verification: { scheme: 'none' }, destinations: [{ url: 'http://127.0.0.1:9/h' }] }));
    });
    expect(source.ingestUrl).toBe(`${t.url}/in/${source.id}`);
    const configured = await f.herald({ HERALD_PUBLIC_URL: 'https://hooks.example.com' });
    const other = await createSource(configured, { name: 'y', verification: { scheme: 'none' }, destinations: [{ url: 'http://127.0.0.1:9/h' }] });
    expect(other.ingestUrl).toBe(`https://hooks.example.com/in/${other.id}`);
  });

  it('keeps a relay destination a relay and an HTTP one HTTP (waiting deliveries would be stranded)', async () => {
    const t = await f.herald();
    const source = await createSource(t, {
      name: 'x', verification: { scheme: 'none' }, destinations: [{ type: 'relay' }, { url: 'http://127.0.0.1:9/h' }],
    });
    const [relay, http] = source.destinations;
    expect(relay.url).toBe('relay:');
    for (const change of [{ id: relay.id, url: 'http://127.0.0.1:9/x' }, { id: relay.id, type: 'http' }, { id: http.id, type: 'relay' }]) {
      const res = await t.api('PATCH', `/v1/sources/${source.id}`, { destinations: [change] });
      expect(res.status, JSON.stringify(change)).toBe(422);
      expect(res.body.error.message).toMatch(/stays one/);
    }
    // Nothing changed on the way.
    expect((await t.api('GET', `/v1/sources/${source.id}`)).body.destinations.map((d: any) => d.url)).toEqual(['relay:', 'http://127.0.0.1:9/h']);
    const kept = await t.api('PATCH', `/v1/sources/${source.id}`, { destinations: [{ id: relay.id }, { id: http.id, rateLimit: 3 }] });
    expect(kept.status).toBe(200);
    expect(kept.body.destinations[1]).toMatchObject({ url: 'http://127.0.0.1:9/h', rateLimit: 3 });
  });
});
