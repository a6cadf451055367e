import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { fixtures } from '../helpers/fixtures.js';
import { API_KEY } from '../helpers/herald.js';

/** Slow clients, connection hoarding and key guessing: what one client address may cost the server. */
const f = fixtures();

function socketTo(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), hostname, () => resolve(s));
    s.on('error', reject);
  });
}

/** Resolves with how long the server took to close the socket (and what it said, if anything). */
function closed(s: Socket, since = Date.now()): Promise<{ ms: number; said: string }> {
  let said = '';
  s.on('data', (d) => (said += d));
  return new Promise((resolve) => s.on('close', () => resolve({ ms: Date.now() - since, said })));
}

describe('slow clients', () => {
  it('closes a connection that trickles its headers, or its body, instead of holding it forever', async () => {
    const t = await f.herald({ HERALD_HTTP_HEADERS_TIMEOUT_MS: '400', HERALD_HTTP_REQUEST_TIMEOUT_MS: '1000' });
    const headers = await socketTo(t.url);
    headers.write('POST /in/src_x HTTP/1.1\r\nHost: x\r\nX-Slow: '); // never finishes its headers
    const body = await socketTo(t.url);
    body.write('POST /in/src_x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"a":');
    const trickle = setInterval(() => body.write(' '), 100); // bytes keep coming, far too slowly
    const [h, b] = await Promise.all([closed(headers), closed(body)]);
    clearInterval(trickle);
    expect(h.ms).toBeLessThan(2500);
    expect(b.ms).toBeLessThan(3500);
    expect(b.ms).toBeGreaterThanOrEqual(900);
    expect((await t.api('GET', '/health')).status).toBe(200);
  });

  it('caps the connections one client address holds', async () => {
    const t = await f.herald({ HERALD_MAX_CONNECTIONS_PER_CLIENT: '5' });
    const sockets = await Promise.all(Array.from({ length: 8 }, () => socketTo(t.url)));
    const results = sockets.map((s) => closed(s));
    await new Promise((r) => setTimeout(r, 300));
    const gone = sockets.filter((s) => s.destroyed || s.readyState === 'closed').length;
    expect(gone).toBe(3);
    for (const s of sockets) s.destroy();
    await Promise.all(results);
    // The cap counts open connections: once they're gone, the address gets its share back.
    expect((await t.api('GET', '/v1/apps')).status).toBe(200);
  });
});

describe('API key guessing', () => {
  it('throttles an address after repeated failed authentications, whatever key it sends next', async () => {
    const t = await f.herald({ HERALD_AUTH_FAILURES_PER_MINUTE: '30' }); // a burst of 10
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await t.api('GET', '/v1/apps', undefined, { authorization: `Bearer guess-${i}` })).status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(30);
    const right = await t.api('GET', '/v1/apps', undefined, { authorization: `Bearer ${API_KEY}` });
    expect(right.status).toBe(429); // a right guess teaches nothing while throttled
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(right.body.error.code).toBe('rate_limited');
    // Routes without a key are not part of it.
    expect((await t.api('GET', '/health')).status).toBe(200);
    expect((await fetch(`${t.url}/in/src_nope`, { method: 'POST', body: '{}' })).status).toBe(404);
  });

  it('leaves a client with the right key alone', async () => {
    const t = await f.herald({ HERALD_AUTH_FAILURES_PER_MINUTE: '30' });
    for (let i = 0; i < 50; i++) expect((await t.api('GET', '/v1/apps')).status).toBe(200);
  });
});

describe('long path parameters', () => {
  it('fetches an app by a uid as long as the API accepts (256 characters)', async () => {
    const t = await f.herald();
    const uid = 'u'.repeat(256);
    expect((await t.api('POST', '/v1/apps', { name: 'Long', uid })).status).toBe(201);
    expect((await t.api('GET', `/v1/apps/${uid}`)).body.uid).toBe(uid);
  });
});

describe('event-type schema patterns', () => {
  it('run in linear time: a catastrophic pattern costs nothing, and one that needs backtracking is refused', async () => {
    const t = await f.herald();
    const app = (await t.api('POST', '/v1/apps', { name: 'ReDoS' })).body.id;
    const created = await t.api('POST', '/v1/event-types', {
      name: 'evil.pattern', schema: { type: 'object', properties: { v: { type: 'string', pattern: '^(a+)+$' } } },
    });
    expect(created.status).toBe(201);
    const t0 = performance.now();
    const bad = await t.api('POST', `/v1/apps/${app}/events`, { type: 'evil.pattern', data: { v: `${'a'.repeat(30)}!` } });
    expect(performance.now() - t0).toBeLessThan(500); // backtracking: ~6 s, doubling per extra a
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe('schema_validation_failed');
    expect((await t.api('POST', `/v1/apps/${app}/events`, { type: 'evil.pattern', data: { v: 'aaaa' } })).status).toBe(202);
    const backref = await t.api('POST', '/v1/event-types', { name: 'backref.pattern', schema: { type: 'string', pattern: '(a)\\1' } });
    expect(backref.status).toBe(422);
    expect(backref.body.error).toMatchObject({ code: 'invalid_schema' });
    expect(backref.body.error.message).toMatch(/linear time/);
  });
});
