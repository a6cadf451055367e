import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AddressPolicy } from '../../src/core/address-policy.js';
import { endpointUrlProblem } from '../../src/core/endpoint-url.js';
import { eventually, type TestHerald } from '../helpers/herald.js';
import { fixtures } from '../helpers/fixtures.js';
import { heraldTargets } from '../helpers/postgres.js';
import { createSource, post } from '../inbound/helpers.js';

/**
 * Inputs that used to get a 500 or do something surprising (issue items 9 to 13), one test
 * per behaviour, on SQLite and on PostgreSQL when a database is given.
 */
const f = fixtures();

const targets = heraldTargets(f.cleanup);

/** JSON text of `{"a": {"a": … 1}}`, `depth` objects deep (built as text: JSON.stringify would overflow). */
const deep = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

const expectError = (res: { status: number; body: any }, status: number, code: string, message?: RegExp) => {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.error.code).toBe(code);
  if (message) expect(res.body.error.message).toMatch(message);
};

/** A raw request, to control the body, content type and key exactly. */
async function raw(t: TestHerald, method: string, path: string, init: { body?: string; headers?: Record<string, string>; key?: boolean } = {}) {
  const res = await fetch(t.url + path, {
    method, body: init.body,
    headers: { ...(init.key === false ? {} : { authorization: 'Bearer test-key-0123456789abcdef' }), ...init.headers },
  });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, headers: res.headers };
}

for (const target of targets) {
  describe(`hardening on ${target.name}`, () => {
    let t: TestHerald;
    let app: string;
    let ep: string;
    let source: any;
    beforeAll(async () => {
      t = await f.herald(target.env());
      app = (await t.api('POST', '/v1/apps', { name: 'Acme' })).body.id;
      ep = (await t.api('POST', `/v1/apps/${app}/endpoints`, { url: 'http://127.0.0.1:9/never' })).body.id;
      source = await createSource(t, { name: 's', verification: { scheme: 'none' }, destinations: [{ url: 'http://127.0.0.1:9/never' }] });
    });
    afterAll(async () => {
      expect((await fetch(`${t.url}/health`)).status).toBe(200);
    });

    const lists = () => [
      '/v1/apps', '/v1/event-types', `/v1/apps/${app}/endpoints`, `/v1/apps/${app}/events`, `/v1/apps/${app}/deliveries`,
      `/v1/apps/${app}/endpoints/${ep}/deliveries`, '/v1/sources', `/v1/sources/${source.id}/requests`,
    ];

    describe('item 9: deep JSON', () => {
      it('refuses data, metadata or any body nested more than 64 deep with 422 payload_too_deep', async () => {
        const tooDeep = /more than 64 levels deep/;
        expectError(await t.api('POST', `/v1/apps/${app}/events`, `{"type":"a.b","data":${deep(10_000)}}`), 422, 'payload_too_deep', tooDeep);
        expectError(await t.api('POST', `/v1/apps/${app}/events/batch`, `{"events":[{"type":"a.b","data":${deep(5000)}}]}`), 422, 'payload_too_deep', tooDeep);
        expectError(await t.api('POST', '/v1/apps', `{"name":"x","metadata":${deep(5000)}}`), 422, 'payload_too_deep', /body\/metadata/);
        expectError(await t.api('POST', '/v1/event-types', `{"name":"deep.schema","schema":${deep(5000)}}`), 422, 'payload_too_deep');
        // 64 levels in all (the body itself being the first) are fine.
        expect((await t.api('POST', `/v1/apps/${app}/events`, `{"type":"a.b","data":${deep(63)}}`)).status).toBe(202);
        expect((await t.api('POST', '/v1/apps', `{"name":"x","metadata":${deep(63)}}`)).status).toBe(201);
      });

      it('answers a deep value picked by a body:$ dedup key 422, no API key needed', async () => {
        const s = await createSource(t, {
          name: 'dedup', verification: { scheme: 'none' }, dedup: { key: 'body:$.a' }, destinations: [{ url: 'http://127.0.0.1:9/never' }],
        });
        expectError(await post(s.ingestUrl, `{"a":${deep(10_000)}}`), 422, 'payload_too_deep', /body:\$\.a/);
        expect((await post(s.ingestUrl, `{"a":${deep(10)}}`)).status).toBe(202);
      });

      it('records a deep request forwarded to an app as that request\'s app error instead of retrying it forever', async () => {
        const target = (await t.api('POST', '/v1/apps', { name: 'forwarded to' })).body.id;
        const s = await createSource(t, { name: 'to app', verification: { scheme: 'none' }, destinations: [{ app: target, eventType: 'in.deep' }] });
        const accepted = await post(s.ingestUrl, `{"a":${deep(10_000)}}`);
        expect(accepted.status).toBe(202);
        const request = await eventually(async () => {
          const r = await t.api('GET', `/v1/sources/${s.id}/requests/${accepted.body.id}`);
          return r.body.appError ? r.body : null;
        });
        expect(request.appError).toMatch(/more than 64 levels deep/);
      });
    });

    describe('item 10: huge limits, leap seconds, NUL', () => {
      it('refuses ?limit=1e999 (and Infinity, -1e999) on every list with 400', async () => {
        for (const path of lists()) {
          for (const limit of ['1e999', '-1e999', 'Infinity']) {
            expectError(await t.api('GET', `${path}?limit=${limit}`), 400, 'validation_failed', /limit must be a finite number/);
          }
          expect((await t.api('GET', `${path}?limit=1e1`)).status).toBe(200);
        }
      });

      it('refuses a leap second (23:59:60) with 400 wherever a timestamp is taken', async () => {
        const leap = '2016-12-31T23:59:60Z';
        const notATime = /timestamp must be a valid date-time|since must be a valid date-time|until must be a valid date-time/;
        expectError(await t.api('POST', `/v1/apps/${app}/events`, { type: 'a.b', data: {}, timestamp: leap }), 400, 'validation_failed', notATime);
        expectError(await t.api('POST', `/v1/apps/${app}/events/batch`, { events: [{ type: 'a.b', data: {}, timestamp: leap }] }), 400, 'validation_failed', notATime);
        expectError(await t.api('POST', `/v1/apps/${app}/endpoints/${ep}/recover`, { since: leap }), 400, 'validation_failed', notATime);
        expectError(await t.api('POST', `/v1/apps/${app}/endpoints/${ep}/recover`, { since: '2016-01-01T00:00:00Z', until: leap }), 400, 'validation_failed', notATime);
        expectError(await t.api('POST', `/v1/sources/${source.id}/replay`, { since: leap }), 400, 'validation_failed', notATime);
        expect((await t.api('POST', `/v1/apps/${app}/events`, { type: 'a.b', data: {}, timestamp: '2016-12-31T23:59:59.999+01:00' })).status).toBe(202);
      });

      it('refuses a NUL in any string of a body, query or path with 400 saying where', async () => {
        const nul = /must not contain a NUL/;
        expectError(await t.api('POST', '/v1/apps', { name: 'a\u0000b' }), 400, 'validation_failed', /body\/name must not contain a NUL/);
        expectError(await t.api('POST', '/v1/apps', { name: 'a', metadata: { 'k\u0000': 1 } }), 400, 'validation_failed', nul);
        expectError(await t.api('POST', `/v1/apps/${app}/events`, { type: 'a.b', data: { s: ['\u0000'] } }), 400, 'validation_failed', /body\/data\/s\/0/);
        expectError(await t.api('PATCH', `/v1/apps/${app}/endpoints/${ep}`, { description: '\u0000' }), 400, 'validation_failed', nul);
        expectError(await t.api('POST', '/v1/sources', { name: '\u0000', verification: { scheme: 'none' }, destinations: [{ url: 'http://127.0.0.1:9/x' }] }), 400, 'validation_failed', nul);
        expectError(await t.api('GET', `/v1/apps/${app}/deliveries?eventId=a%00b`), 400, 'validation_failed', /querystring\/eventId must not contain a NUL/);
        expectError(await t.api('GET', '/v1/apps/a%00b'), 400, 'validation_failed', /params\/app must not contain a NUL/);
        expectError(await t.api('GET', '/v1/sources/a%00b/requests'), 400, 'validation_failed', nul);
        expectError(await post(`${t.url}/in/a%00b`, '{}'), 400, 'validation_failed', nul);
        // An escaped backslash before "u0000" is no NUL.
        expect((await t.api('POST', '/v1/apps', '{"name":"a\\\\u0000b"}')).body.name).toBe('a\\u0000b');
      });

      it('still takes a NUL inside a raw /in/ body, also as a body:$ dedup key', async () => {
        const s = await createSource(t, {
          name: 'nul', verification: { scheme: 'none' }, dedup: { key: 'body:$.a' }, destinations: [{ url: 'http://127.0.0.1:9/never' }],
        });
        const body = '{"a":"x\\u0000y","b":"\\u0000"}';
        const first = await post(s.ingestUrl, body);
        expect(first.status).toBe(202);
        expect((await post(s.ingestUrl, body)).body).toMatchObject({ status: 'duplicate', duplicateOf: first.body.id });
        const stored = await fetch(`${t.url}/v1/sources/${s.id}/requests/${first.body.id}/body`, { headers: { authorization: 'Bearer test-key-0123456789abcdef' } });
        expect(await stored.text()).toBe(body);
      });
    });

    describe('item 11: event type schemas with $id', () => {
      it('publishes to, and updates, types whose schemas have an $id, however often', async () => {
        const schema = { $id: 'https://example.com/person.json', type: 'object', required: ['name'] };
        expect((await t.api('POST', '/v1/event-types', { name: 'person.created', schema })).status).toBe(201);
        expect((await t.api('POST', '/v1/event-types', { name: 'person.updated', schema })).status).toBe(201);
        for (const type of ['person.created', 'person.updated', 'person.created']) {
          expect((await t.api('POST', `/v1/apps/${app}/events`, { type, data: { name: 'Ada' } })).status).toBe(202);
          expectError(await t.api('POST', `/v1/apps/${app}/events`, { type, data: {} }), 422, 'schema_validation_failed');
        }
        const patched = await t.api('PATCH', '/v1/event-types/person.created', { schema: { ...schema, required: ['id'] } });
        expect(patched.status, JSON.stringify(patched.body)).toBe(200);
        expect((await t.api('POST', `/v1/apps/${app}/events`, { type: 'person.created', data: { id: 1 } })).status).toBe(202);
        expectError(await t.api('POST', `/v1/apps/${app}/events`, { type: 'person.created', data: { name: 'Ada' } }), 422, 'schema_validation_failed');
      });
    });

    describe('item 12: API behaviour people trip over', () => {
      it('refuses "events": [] on create and update, saying what to send instead', async () => {
        const empty = /events must not be empty.*\["\*"\]/;
        expectError(await t.api('POST', `/v1/apps/${app}/endpoints`, { url: 'http://127.0.0.1:9/x', events: [] }), 400, 'validation_failed', empty);
        expectError(await t.api('PATCH', `/v1/apps/${app}/endpoints/${ep}`, { events: [] }), 400, 'validation_failed', empty);
        expect((await t.api('GET', `/v1/apps/${app}/endpoints/${ep}`)).body.events).toEqual(['*']);
      });

      it('takes body fields as sent (no coercion) but still coerces the querystring', async () => {
        expectError(await t.api('POST', '/v1/apps', { name: 42 }), 400, 'validation_failed', /body\/name must be string/);
        expectError(await t.api('PATCH', `/v1/apps/${app}/endpoints/${ep}`, { timeoutMs: '1000' }), 400, 'validation_failed', /timeoutMs must be integer/);
        expectError(await t.api('POST', `/v1/apps/${app}/endpoints`, { url: 'http://127.0.0.1:9/x', events: 'a.b' }), 400, 'validation_failed', /events must be array/);
        const page = await t.api('GET', '/v1/event-types?limit=1&includeArchived=true');
        expect(page.status).toBe(200);
      });

      it('answers a text/plain body 415, like a form', async () => {
        const res = await raw(t, 'POST', '/v1/apps', { body: '{"name":"x"}', headers: { 'content-type': 'text/plain' } });
        expectError(res, 415, 'unsupported_media_type');
      });

      it('takes no body (or an empty JSON one) as {} where every field is optional, and names what is required elsewhere', async () => {
        const rotate = `/v1/apps/${app}/endpoints/${ep}/secret/rotate`;
        expect((await raw(t, 'POST', rotate)).status).toBe(200);
        expect((await raw(t, 'POST', rotate, { body: '', headers: { 'content-type': 'application/json' } })).status).toBe(200);
        expect((await raw(t, 'PATCH', `/v1/apps/${app}/endpoints/${ep}`)).status).toBe(200);
        expect((await raw(t, 'PATCH', `/v1/apps/${app}`, { body: '', headers: { 'content-type': 'application/json' } })).status).toBe(200);
        const since = /body must have required property 'since'/;
        expectError(await raw(t, 'POST', `/v1/apps/${app}/endpoints/${ep}/recover`), 400, 'validation_failed', since);
        expectError(await raw(t, 'POST', `/v1/apps/${app}/endpoints/${ep}/recover`, { body: '', headers: { 'content-type': 'application/json' } }), 400, 'validation_failed', since);
      });

      it('refuses an iterator no page returned, on every list', async () => {
        for (const path of lists()) {
          // Any event type name is a valid iterator of that list (it lists the names after it).
          const garbage = path === '/v1/event-types' ? [] : ['garbage', 'app_x'];
          for (const iterator of [...garbage, "'; --", '~', 'a..b', 'x'.repeat(300)]) {
            expectError(await t.api('GET', `${path}?iterator=${encodeURIComponent(iterator)}`), 400, 'validation_failed', /iterator must be a value returned by a previous page/);
          }
        }
        const first = (await t.api('GET', `/v1/apps/${app}/endpoints?limit=1`)).body;
        expect((await t.api('GET', `/v1/apps/${app}/endpoints?iterator=${first.iterator}`)).status).toBe(200);
      });

      it('refuses header values that can never be sent with 422 invalid_header naming the header', async () => {
        for (const value of ['日本', 'a\u0001b', 'a\u007fb', 'é', 'a\r\nb']) {
          const named = /header 'x-tenant'/;
          expectError(await t.api('POST', `/v1/apps/${app}/endpoints`, { url: 'http://127.0.0.1:9/x', headers: { 'x-tenant': value } }), 422, 'invalid_header', named);
          expectError(await t.api('PATCH', `/v1/apps/${app}/endpoints/${ep}`, { headers: { 'x-tenant': value } }), 422, 'invalid_header', named);
          expectError(await t.api('PATCH', `/v1/sources/${source.id}`, { destinations: [{ url: 'http://127.0.0.1:9/x', headers: { 'x-tenant': value } }] }), 422, 'invalid_header', named);
        }
        const ok = await t.api('PATCH', `/v1/apps/${app}/endpoints/${ep}`, { headers: { 'x-tenant': 'Acme Inc.\t~!' } });
        expect(ok.body.headers).toEqual({ 'x-tenant': 'Acme Inc.\t~!' });
      });
    });

    describe('item 13: messages and one error shape', () => {
      it('says what a pattern wants rather than quoting it', async () => {
        const bad = [
          [await t.api('POST', '/v1/event-types', { name: 'person created' }), /body\/name must be an event type name like person\.created/],
          [await t.api('POST', `/v1/apps/${app}/endpoints`, { url: 'http://127.0.0.1:9/x', events: ['a b'] }), /a prefix like person\.\*/],
          [await t.api('POST', '/v1/apps', { name: 'x', uid: 'a b' }), /body\/uid may contain only letters, digits/],
          [await t.api('POST', '/v1/apps', { name: 'x', signatureProfile: { header: 'a b' } }), /must be an HTTP header name/],
          [await t.api('POST', `/v1/apps/${app}/endpoints`, { url: 'http://127.0.0.1:9/x', headers: { 'a b': 'v' } }), /'a b', which is not an HTTP header name/],
          [await t.api('PATCH', `/v1/sources/${source.id}`, { dedup: { key: 'body.a' } }), /must be a selector: header:<name>, body:\$\.path/],
          [await t.api('GET', `/v1/apps/${app}/events?type=a%20b`), /querystring\/type must be an event type name/],
        ] as const;
        for (const [res, message] of bad) {
          expectError(res, 400, 'validation_failed', message);
          expect(res.body.error.message).not.toMatch(/must match pattern/);
        }
      });

      it('names http:// as well as https:// for another scheme in dev mode, https:// only otherwise', async () => {
        expectError(await t.api('POST', `/v1/apps/${app}/endpoints`, { url: 'ftp://example.com/x' }), 422, 'invalid_endpoint_url', /must be an http:\/\/ or https:\/\/ URL \(got ftp:\/\/\)/);
        expect(endpointUrlProblem('ftp://example.com/x', new AddressPolicy(false))).toBe('must be an https:// URL (got ftp://)');
      });

      it('answers Fastify\'s and Node\'s own refusals in the API\'s error shape', async () => {
        expectError(await raw(t, 'GET', '/v1/apps/%E0%A4%A'), 400, 'bad_request');
        expectError(await raw(t, 'GET', `/v1/apps/${'a'.repeat(400)}`), 414, 'uri_too_long');
        expectError(await raw(t, 'GET', '/v1/apps', { headers: { 'x-big': 'a'.repeat(20_000) } }), 431, 'headers_too_large');
        expectError(await raw(t, 'GET', `/v1/apps?uid=${'a'.repeat(20_000)}`), 431, 'headers_too_large');
      });

      it('answers unknown routes 404 and wrong methods 405 with Allow, without a key; known routes still need one', async () => {
        expectError(await raw(t, 'GET', '/', { key: false }), 404, 'not_found', /\/openapi\.json/);
        expectError(await raw(t, 'GET', '/v1/nothing-here', { key: false }), 404, 'not_found');
        const put = await raw(t, 'PUT', '/v1/apps', { key: false });
        expectError(put, 405, 'method_not_allowed');
        expect(put.headers.get('allow')).toBe('POST, GET, HEAD');
        const del = await raw(t, 'DELETE', `/v1/apps/${app}/endpoints/${ep}/stats`, { key: false });
        expectError(del, 405, 'method_not_allowed');
        expect(del.headers.get('allow')).toBe('GET, HEAD');
        expect((await raw(t, 'GET', '/in/src_x', { key: false })).headers.get('allow')).toBe('POST');
        for (const [method, path] of [['GET', '/v1/apps'], ['POST', '/v1/apps'], ['DELETE', `/v1/apps/${app}`], ['GET', `/v1/apps/${app}/endpoints/${ep}/relay`]]) {
          expectError(await raw(t, method, path, { key: false }), 401, 'unauthorized');
        }
      });
    });
  });
}
