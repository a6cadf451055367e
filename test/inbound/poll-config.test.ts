import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LookupFunction } from '../../src/delivery/guard.js';
import { nextCursor, nextPollAt } from '../../src/inbound/poll-config.js';
import { fixtures } from '../helpers/fixtures.js';
import { eventually } from '../helpers/herald.js';
import { createSource } from './helpers.js';
import { Provider } from './provider.js';

/** A source's `poll` as the API takes it: what is refused (422 naming the field), what is never shown back, and the SSRF guard. */
const f = fixtures();

const base = (poll: Record<string, unknown>, over: Record<string, unknown> = {}) => ({
  name: 'pages', verification: { scheme: 'none' }, dedup: { key: 'body:$.id' }, destinations: [{ url: 'http://127.0.0.1:9/hook' }],
  poll: { url: 'https://api.provider.example/changes', items: '$.results', key: '$.id', intervalSeconds: 3600, ...poll }, ...over,
});

describe('a source\'s poll configuration', () => {
  it('is refused with 422 naming the bad part, and nothing is created', async () => {
    const t = await f.herald();
    const cases: Array<[Record<string, unknown>, Record<string, unknown>, string]> = [
      [{ items: 'results' }, {}, 'poll.items'],
      [{ key: '$.a b' }, {}, 'poll.key'],
      [{ cursor: { param: 'since', from: 'next' } }, {}, 'poll.cursor.from'],
      [{ cursor: { param: 'since', fromItems: '$' } }, {}, 'poll.cursor.fromItems'],
      [{ url: 'ftp://api.provider.example/x' }, {}, 'poll.url'],
      [{ url: 'https://user:pw@api.provider.example/x' }, {}, 'poll.url'],
      [{ headers: { authorization: 'Bearer a\r\nx-injected: 1' } }, {}, 'poll.headers.authorization'],
      [{}, { dedup: null }, 'dedup'],
      [{}, { dedup: { key: 'hash' } }, 'dedup.key'],
      // GitHub signs no timestamp: its webhooks are deduplicated on the body hash, which no item can match.
      [{}, { verification: { scheme: 'github', secrets: ['s'] }, dedup: { key: 'header:x-github-delivery' } }, 'dedup.key'],
    ];
    for (const [poll, over, field] of cases) {
      const res = await t.api('POST', '/v1/sources', base(poll, over));
      expect(res.status, JSON.stringify([poll, over])).toBe(422);
      expect(res.body.error).toMatchObject({ code: 'invalid_source', message: expect.stringContaining(field), details: { field } });
    }
    expect((await t.api('GET', '/v1/sources')).body.data).toEqual([]);
    // Wrong types are the schema's 400, as everywhere in the API.
    expect((await t.api('POST', '/v1/sources', base({ intervalSeconds: 'often' }))).status).toBe(400);
    expect((await t.api('POST', '/v1/sources', base({ maxPages: 0 }))).status).toBe(400);

    // A PATCH that would make an existing poll unusable is refused too, and changes nothing.
    const ok = await createSource(t, base({}));
    const bad = await t.api('PATCH', `/v1/sources/${ok.id}`, { dedup: { key: 'hash' } });
    expect(bad).toMatchObject({ status: 422, body: { error: { details: { field: 'dedup.key' } } } });
    expect((await t.api('GET', `/v1/sources/${ok.id}`)).body.dedup.key).toBe('body:$.id');
    expect((await t.api('POST', `/v1/sources/${ok.id}/poll`, { cursor: 42 })).status).toBe(400);
    expect((await t.api('POST', '/v1/sources/src_nope/poll', {})).status).toBe(404);
    const plain = await createSource(t, { ...base({}), poll: undefined });
    expect(await t.api('POST', `/v1/sources/${plain.id}/poll`, {})).toMatchObject({ status: 409, body: { error: { code: 'conflict' } } });
  });

  it('keeps header values encrypted at rest, shows only their names, and keeps them across a PATCH that omits them', async () => {
    const t = await f.herald();
    const p = await new Provider().start();
    f.cleanup(() => p.stop());
    p.change('a');
    const source = await createSource(t, base({ url: `${p.url}/changes`, headers: { Authorization: 'Bearer s3cret-token' } }));
    expect(source.poll).toMatchObject({ headerNames: ['authorization'] });
    expect(JSON.stringify(source)).not.toContain('s3cret-token');
    const db = new Database(join(t.dir, 'herald.db'), { readonly: true });
    const stored = (db.prepare('SELECT poll FROM sources WHERE id = ?').get(source.id) as { poll: string }).poll;
    db.close();
    expect(stored).not.toContain('s3cret-token');
    expect(JSON.parse(stored).headers.authorization).toMatch(/^enc:/);

    const patched = await t.api('PATCH', `/v1/sources/${source.id}`, { poll: { url: `${p.url}/changes`, items: '$.results', key: '$.id', maxPages: 3 } });
    expect(patched.body.poll).toMatchObject({ headerNames: ['authorization'], maxPages: 3 });
    const before = p.requests.length;
    const run = await eventually(async () => {
      const r = await t.api('POST', `/v1/sources/${source.id}/poll`, { cursor: null });
      return r.status === 200 ? r.body : null; // 409 while the worker's first run is under way
    });
    expect(run).toMatchObject({ fetched: 1, error: null });
    expect(p.requests.slice(before).every((r) => r.headers.authorization === 'Bearer s3cret-token')).toBe(true);
    expect((await t.api('PATCH', `/v1/sources/${source.id}`, { poll: null })).body).toMatchObject({ poll: null, nextPollAt: null });
  });

  it('outside dev mode refuses a loopback poll URL, and a hostname that resolves to one at connect time', async () => {
    const toLoopback: LookupFunction = (_host, options, cb) =>
      options.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4);
    const t = await f.herald({ HERALD_DEV: '0' }, { resolve: toLoopback });
    const res = await t.api('POST', '/v1/sources', base({ url: 'http://127.0.0.1:8080/changes' }, { destinations: [{ url: 'https://app.example/hook' }] }));
    expect(res).toMatchObject({ status: 422, body: { error: { details: { field: 'poll.url' } } } });
    const source = await createSource(t, base({ url: 'https://provider.example/changes' }, { destinations: [{ url: 'https://app.example/hook' }] }));
    // 409 while the worker's first run of the new source holds the lease: asked again then.
    const result = await eventually(async () => {
      const run = await t.api('POST', `/v1/sources/${source.id}/poll`, {});
      return run.status === 200 ? run.body : null;
    });
    expect(result).toMatchObject({ error: { code: 'blocked_address' }, fetched: 0 });
  });
});

describe('poll arithmetic', () => {
  it('takes the largest item value as the cursor, numbers as numbers and text as text', () => {
    expect(nextCursor({ param: 'p', fromItems: '$.v' }, {}, [{ v: 9 }, { v: 10 }, { v: 2 }])).toBe('10');
    expect(nextCursor({ param: 'p', fromItems: '$.at' }, {}, [{ at: '2024-05-06T10:00:00Z' }, { at: '2024-05-06T09:59:59Z' }, {}])).toBe('2024-05-06T10:00:00Z');
    expect(nextCursor({ param: 'p', fromItems: '$.at' }, {}, [])).toBeNull();
    expect(nextCursor({ param: 'p', from: '$.meta.next' }, { meta: { next: 'abc' } }, [])).toBe('abc');
    expect(nextCursor({ param: 'p', from: '$.meta.next' }, { meta: { next: null } }, [])).toBeNull();
  });

  it('backs off exponentially after failures, caps it, and never polls before Retry-After', () => {
    expect(nextPollAt(0, 60, 0)).toBe(60_000);
    expect(nextPollAt(0, 60, 1)).toBe(120_000);
    expect(nextPollAt(0, 60, 3)).toBe(480_000);
    expect(nextPollAt(0, 60, 40)).toBe(6 * 3600_000);
    expect(nextPollAt(0, 60, 1, 900)).toBe(900_000);
    expect(nextPollAt(0, 60, 0, 10)).toBe(60_000);
  });
});
