import { describe, expect, it } from 'vitest';
import { API_KEY, eventually, type TestHerald } from '../helpers/herald.js';
import { fixtures } from '../helpers/fixtures.js';
import { heraldTargets } from '../helpers/postgres.js';
import { createSource, post } from '../inbound/helpers.js';

/**
 * A hostile-input sweep over every operation of /openapi.json: wrong types for each body
 * field, huge and deeply nested values, invalid UTF-8, NUL in bodies, paths and queries, huge
 * limits, garbage iterators, missing bodies and wrong content types. Whatever the answer, it
 * must not be a 5xx, and the server must still be healthy afterwards.
 */
const f = fixtures();

const targets = heraldTargets(f.cleanup);

interface Probe {
  method: string;
  path: string;
  body?: string | Uint8Array<ArrayBuffer>;
  contentType?: string;
}

const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

/** JSON texts of values of every wrong kind, for any one field. */
const HOSTILE_VALUES = [
  '42', '-1', '1e308', '0.5', 'true', 'null', '[]', '{}', '""', '"x"', '"\\u0000"', '"a\\u0000b"', '"\\ud800"', '"日本"',
  JSON.stringify('x'.repeat(200_000)), '[' + '"x",'.repeat(5000) + '"x"]', deep(10_000), deepObject(10_000),
  '"http://127.0.0.1:9/x"', '"2016-12-31T23:59:60Z"', '{"__proto__":{"x":1}}', '"*"', '["*"]', '[[]]', '{"a b":"\\u0001"}',
];

/** Whole bodies that are wrong in themselves. */
const HOSTILE_BODIES: Array<Pick<Probe, 'body' | 'contentType'>> = [
  {}, { body: '', contentType: 'application/json' }, { body: 'null', contentType: 'application/json' },
  { body: '[]', contentType: 'application/json' }, { body: '"x"', contentType: 'application/json' }, { body: '42', contentType: 'application/json' },
  { body: '{"a":', contentType: 'application/json' }, { body: deepObject(10_000), contentType: 'application/json' },
  { body: deep(100_000), contentType: 'application/json' }, { body: '{"x":"\\u0000"}', contentType: 'application/json' },
  { body: Uint8Array.from(Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from('"}')])), contentType: 'application/json' },
  { body: '{"constructor":{"prototype":{"x":1}}}', contentType: 'application/json' },
  { body: '{"name":"x"}', contentType: 'text/plain' }, { body: 'name=x', contentType: 'application/x-www-form-urlencoded' },
  { body: '{"name":"x"}', contentType: 'application/octet-stream' }, { body: '{"name":"x"}', contentType: 'application/json; charset=latin1' },
  { body: `{"x":"${'x'.repeat(2 * 1024 * 1024)}"}`, contentType: 'application/json' },
];

const HOSTILE_PARAMS = ['%00', 'a%00b', 'x'.repeat(300), '%E0%A4%A', '%FF', '%2F..%2F', '..', '%E6%97%A5%E6%9C%AC', "'%20OR%201=1", '~', '%20'];
const HOSTILE_QUERY = ['1e999', '-1e999', 'Infinity', 'NaN', '-1', '0', '1.5', 'abc', '%00', 'a%00b', 'x'.repeat(5000), '%FF', 'true', '%5B%5D'];

type Schema = { $ref?: string; properties?: Record<string, unknown> };

function probes(doc: any, ids: Record<string, string>): Probe[] {
  const resolve = (s: Schema | undefined): Schema | undefined =>
    s?.$ref ? doc.components.schemas[s.$ref.split('/').pop()!] : s;
  const out: Probe[] = [];
  for (const [template, ops] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(ops)) {
      const m = method.toUpperCase();
      const pathFor = (own: Record<string, string> = {}) =>
        template.replace(/\{(\w+)\}/g, (_, name: string) => own[name] ?? ids[`${op.operationId}.${name}`] ?? ids[name]);
      const path = pathFor();
      // Path parameters, one at a time.
      for (const p of op.parameters.filter((x: any) => x.in === 'path')) {
        for (const v of HOSTILE_PARAMS) out.push({ method: m, path: pathFor({ [p.name]: v }) });
      }
      // Query parameters, one at a time, twice-given too (a route without any ignores the query:
      // DELETE with valid ids would just delete).
      const query = op.parameters.filter((x: any) => x.in === 'query');
      for (const q of query) {
        for (const v of HOSTILE_QUERY) out.push({ method: m, path: `${path}?${q.name}=${v}` });
        out.push({ method: m, path: `${path}?${q.name}=1&${q.name}=2` });
      }
      if (query.length > 0) out.push({ method: m, path: `${path}?iterator=garbage&limit=1e999&unknown=1` });
      const body = resolve(op.requestBody?.content['application/json'].schema);
      if (!body && !template.startsWith('/in/')) continue;
      for (const b of HOSTILE_BODIES) out.push({ method: m, path, ...b });
      // Each field of the body, with every wrong kind of value.
      for (const field of Object.keys(body?.properties ?? {})) {
        for (const v of HOSTILE_VALUES) out.push({ method: m, path, body: `{"${field}":${v}}`, contentType: 'application/json' });
      }
    }
  }
  return out;
}

/** Sends `list` a few at a time; counts answers by status class. */
async function sweep(t: TestHerald, list: Probe[]): Promise<{ counts: Record<string, number>; failures: string[] }> {
  const counts: Record<string, number> = {};
  const failures: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < list.length) {
      const p = list[next++];
      const headers: Record<string, string> = { authorization: `Bearer ${API_KEY}` };
      if (p.contentType) headers['content-type'] = p.contentType;
      try {
        const res = await fetch(t.url + p.path, { method: p.method, headers, body: p.body });
        const text = await res.text();
        const cls = `${Math.floor(res.status / 100)}xx`;
        counts[cls] = (counts[cls] ?? 0) + 1;
        if (res.status >= 500) failures.push(`${p.method} ${p.path.slice(0, 120)} ${String(p.body ?? '').slice(0, 80)} → ${res.status} ${text.slice(0, 200)}`);
      } catch (err) {
        counts.network = (counts.network ?? 0) + 1;
        failures.push(`${p.method} ${p.path.slice(0, 120)} → ${(err as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return { counts, failures };
}

for (const target of targets) {
  describe(`hostile-input sweep on ${target.name}`, () => {
    it('answers every hostile variant of every operation without a 5xx, and stays healthy', async () => {
      const t = await f.herald(target.env());
      const app = (await t.api('POST', '/v1/apps', { name: 'Acme' })).body.id;
      const ep = (await t.api('POST', `/v1/apps/${app}/endpoints`, { url: 'http://127.0.0.1:9/never' })).body.id;
      await t.api('POST', '/v1/event-types', { name: 'a.b', schema: { type: 'object' } });
      const evt = (await t.api('POST', `/v1/apps/${app}/events`, { type: 'a.b', data: {} })).body.id;
      const dlv = await eventually(async () => (await t.api('GET', `/v1/apps/${app}/deliveries`)).body.data[0]?.id);
      const source = await createSource(t, {
        name: 's', verification: { scheme: 'none' }, dedup: { key: 'body:$.a' }, ordering: { key: 'body:$.b', sequence: 'body:$.n' },
        destinations: [{ url: 'http://127.0.0.1:9/never' }, { app, eventType: 'body:$.type' }],
      });
      const req = (await post(source.ingestUrl, '{"a":"1"}')).body.id;
      const ids = {
        app, ep, name: 'a.b', req, sourceId: source.id,
        // {id} means a different resource per path
        'getEvent.id': evt, 'getDelivery.id': dlv, 'retryDelivery.id': dlv,
        id: source.id,
      };
      const doc = (await t.api('GET', '/openapi.json')).body;
      const list = probes(doc, ids);
      const started = Date.now();
      const { counts, failures } = await sweep(t, list);
      console.log(`hostile sweep on ${target.name}: ${list.length} requests over ${Object.keys(doc.paths).length} paths in ${Date.now() - started} ms: ${JSON.stringify(counts)}`);
      expect(failures).toEqual([]);
      expect(await (await fetch(`${t.url}/health`)).json()).toEqual({ status: 'ok' });
      // The forwarder got hostile requests for the app destination too: none may block it. (A new
      // source: the sweep has edited the first one into anything.)
      const after = await createSource(t, { name: 'after', verification: { scheme: 'none' }, destinations: [{ app, eventType: 'a.b' }] });
      const last = await post(after.ingestUrl, '{"a":"last"}');
      expect(last.status).toBe(202);
      await eventually(async () => (await t.api('GET', `/v1/apps/${app}/events/${last.body.id}`)).status === 200);
    }, 120_000);
  });
}
