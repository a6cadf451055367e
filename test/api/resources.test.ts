import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHerald, type TestHerald } from '../helpers/herald.js';

let t: TestHerald;
beforeAll(async () => {
  t = await startHerald();
});
afterAll(async () => t.close());

const expectError = (res: { status: number; body: any }, status: number, code: string) => {
  expect(res.status).toBe(status);
  expect(res.body.error.code).toBe(code);
  expect(typeof res.body.error.message).toBe('string');
};

describe('auth and errors', () => {
  it('rejects /v1 without a valid bearer key, but serves health, metrics and openapi', async () => {
    const none = await fetch(`${t.url}/v1/apps`);
    expect(none.status).toBe(401);
    expect((await none.json()).error.code).toBe('unauthorized');
    expectError(await t.api('GET', '/v1/apps', undefined, { authorization: 'Bearer wrong' }), 401, 'unauthorized');
    expect((await fetch(`${t.url}/health`)).status).toBe(200);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toContain('herald_queue_depth');
    expect(metrics).toContain('herald_events_published_total');
  });

  it('answers malformed JSON, unknown fields and unknown routes with JSON errors', async () => {
    expectError(await t.api('POST', '/v1/apps', '{"name": '), 400, 'invalid_json');
    const unknown = await t.api('POST', '/v1/apps', { name: 'x', nmae: 'typo' });
    expectError(unknown, 400, 'validation_failed');
    expect(unknown.body.error.message).toContain("unknown property 'nmae'");
    expectError(await t.api('POST', '/v1/apps', {}), 400, 'validation_failed');
    expectError(await t.api('GET', '/v1/nothing-here'), 404, 'not_found');
    expectError(await t.api('GET', '/v1/apps?limit=1000'), 400, 'validation_failed');
  });

  it('serves an OpenAPI 3.1 document built from the validation schemas', async () => {
    const doc = await (await fetch(`${t.url}/openapi.json`)).json();
    expect(doc.openapi).toBe('3.1.0');
    // Request bodies are named components, referenced by the operations.
    const body = (path: string) => {
      const ref = doc.paths[path].post.requestBody.content['application/json'].schema.$ref as string;
      return doc.components.schemas[ref.split('/').pop()!];
    };
    expect(body('/v1/apps/{app}/endpoints').properties.url.maxLength).toBe(2048);
    expect(body('/v1/apps/{app}/events/batch').properties.events.maxItems).toBe(1000);
    expect(Object.keys(doc.paths)).toContain('/v1/apps/{app}/deliveries/{id}/retry');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/sources', '/v1/sources/{id}/requests/{req}/replay', '/in/{sourceId}']));
    expect(body('/v1/sources').properties.destinations.maxItems).toBe(20);
  });
});

describe('apps', () => {
  it('creates, reads by id and uid, updates, lists with pagination, and deletes', async () => {
    const a = await t.api('POST', '/v1/apps', { name: 'Acme', uid: 'acme-inc', metadata: { plan: 'pro' } });
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({ name: 'Acme', uid: 'acme-inc', metadata: { plan: 'pro' } });
    expect(a.body.id).toMatch(/^app_/);
    expect(new Date(a.body.createdAt).toISOString()).toBe(a.body.createdAt);
    expect((await t.api('GET', '/v1/apps/acme-inc')).body.id).toBe(a.body.id);
    expect((await t.api('GET', `/v1/apps/${a.body.id}`)).body.uid).toBe('acme-inc');
    expectError(await t.api('POST', '/v1/apps', { name: 'Other', uid: 'acme-inc' }), 409, 'conflict');
    const patched = await t.api('PATCH', '/v1/apps/acme-inc', { name: 'Acme Corp' });
    expect(patched.body).toMatchObject({ name: 'Acme Corp', uid: 'acme-inc' });

    for (let i = 0; i < 4; i++) await t.api('POST', '/v1/apps', { name: `Tenant ${i}` });
    const seen: string[] = [];
    let iterator: string | null = null;
    for (let page = 0; page < 10; page++) {
      const res: { body: any } = await t.api('GET', `/v1/apps?limit=2${iterator ? `&iterator=${iterator}` : ''}`);
      seen.push(...res.body.data.map((x: any) => x.id));
      iterator = res.body.iterator;
      if (res.body.done) break;
    }
    expect(seen.length).toBeGreaterThanOrEqual(5);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual(seen);

    expect((await t.api('DELETE', '/v1/apps/acme-inc')).status).toBe(204);
    expectError(await t.api('GET', '/v1/apps/acme-inc'), 404, 'not_found');
  });
});

describe('event types', () => {
  it('creates, lists, patches and archives; validates payloads against the schema', async () => {
    const schema = { type: 'object', required: ['email'], properties: { email: { type: 'string', format: 'email' } } };
    const created = await t.api('POST', '/v1/event-types', { name: 'person.created', description: 'A person was added', schema });
    expect(created.status).toBe(201);
    expectError(await t.api('POST', '/v1/event-types', { name: 'person.created' }), 409, 'conflict');
    expectError(await t.api('POST', '/v1/event-types', { name: 'bad name!' }), 400, 'validation_failed');
    expectError(await t.api('POST', '/v1/event-types', { name: 'x.y', schema: { type: 'nonsense' } }), 422, 'invalid_schema');

    const app = (await t.api('POST', '/v1/apps', { name: 'Schemas' })).body;
    const bad = await t.api('POST', `/v1/apps/${app.id}/events`, { type: 'person.created', data: { email: 'not-an-email' } });
    expectError(bad, 422, 'schema_validation_failed');
    expect(bad.body.error.details.errors[0].path).toBe('/email');
    const missing = await t.api('POST', `/v1/apps/${app.id}/events/batch`, { events: [{ type: 'person.created', data: { email: 'a@b.co' } }, { type: 'person.created', data: {} }] });
    expectError(missing, 422, 'schema_validation_failed');
    expect(missing.body.error.message).toContain('events[1]');
    expect((await t.api('POST', `/v1/apps/${app.id}/events`, { type: 'person.created', data: { email: 'a@b.co' } })).status).toBe(202);

    expect((await t.api('PATCH', '/v1/event-types/person.created', { description: 'changed' })).body.description).toBe('changed');
    expect((await t.api('GET', '/v1/event-types/person.created')).body.schema).toEqual(schema);
    expect((await t.api('DELETE', '/v1/event-types/person.created')).body.archived).toBe(true);
    const list = await t.api('GET', '/v1/event-types');
    expect(list.body.data.map((x: any) => x.name)).not.toContain('person.created');
    const all = await t.api('GET', '/v1/event-types?includeArchived=true');
    expect(all.body.data.map((x: any) => x.name)).toContain('person.created');
    expectError(await t.api('GET', '/v1/event-types/nope.nothing'), 404, 'not_found');
  });
});

describe('endpoints', () => {
  it('creates with a generated secret shown only on create and via /secret', async () => {
    const app = (await t.api('POST', '/v1/apps', { name: 'Endpoints' })).body;
    const created = await t.api('POST', `/v1/apps/${app.id}/endpoints`, {
      url: 'https://example.com/hooks', events: ['person.*', 'company.created'], headers: { 'x-tenant': 'acme' },
      retrySchedule: [1, 2.5], timeoutMs: 2000, description: 'CRM sync',
    });
    expect(created.status).toBe(201);
    const ep = created.body;
    expect(ep).toMatchObject({ url: 'https://example.com/hooks', status: 'active', events: ['person.*', 'company.created'], retrySchedule: [1, 2.5], timeoutMs: 2000, headers: { 'x-tenant': 'acme' } });
    expect(ep.id).toMatch(/^ep_/);
    expect(ep.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const got = await t.api('GET', `/v1/apps/${app.id}/endpoints/${ep.id}`);
    expect(got.body.secret).toBeUndefined();
    const list = await t.api('GET', `/v1/apps/${app.id}/endpoints`);
    expect(list.body.data[0].secret).toBeUndefined();
    expect((await t.api('GET', `/v1/apps/${app.id}/endpoints/${ep.id}/secret`)).body).toEqual({ secret: ep.secret });

    const all = await t.api('POST', `/v1/apps/${app.id}/endpoints`, { url: 'https://example.org/all', status: 'disabled' });
    expect(all.body.events).toEqual(['*']);
    expect(all.body.disabledReason).toBe('manual');
    const disabled = await t.api('GET', `/v1/apps/${app.id}/endpoints?status=disabled`);
    expect(disabled.body.data.map((e: any) => e.id)).toEqual([all.body.id]);

    const patched = await t.api('PATCH', `/v1/apps/${app.id}/endpoints/${all.body.id}`, { status: 'active', events: ['*'] });
    expect(patched.body).toMatchObject({ status: 'active', disabledReason: null, disabledAt: null, events: ['*'] });
    expect((await t.api('DELETE', `/v1/apps/${app.id}/endpoints/${all.body.id}`)).status).toBe(204);
    expectError(await t.api('GET', `/v1/apps/${app.id}/endpoints/${all.body.id}`), 404, 'not_found');
  });

  it('rejects what can never work with 422, and bad shapes with 400', async () => {
    const app = (await t.api('POST', '/v1/apps', { name: 'Bad endpoints' })).body;
    const base = `/v1/apps/${app.id}/endpoints`;
    expectError(await t.api('POST', base, { url: 'not a url' }), 422, 'invalid_endpoint_url');
    expectError(await t.api('POST', base, { url: 'https://x.com', headers: { 'webhook-signature': 'forged' } }), 422, 'invalid_header');
    expectError(await t.api('POST', base, { url: 'https://x.com', secret: 'hunter2' }), 422, 'invalid_secret');
    expectError(await t.api('POST', base, { url: 'https://x.com', events: ['bad event!'] }), 400, 'validation_failed');
    expectError(await t.api('POST', base, { url: 'https://x.com', retrySchedule: [-1] }), 400, 'validation_failed');
    expectError(await t.api('POST', base, { url: 'https://x.com', timeoutMs: 10 }), 400, 'validation_failed');
    expectError(await t.api('POST', '/v1/apps/app_missing/endpoints', { url: 'https://x.com' }), 404, 'not_found');
  });
});

describe('production mode URL rules', () => {
  it('requires https and public addresses when HERALD_DEV is off', async () => {
    const prod = await startHerald({ HERALD_DEV: '0' });
    try {
      const app = (await prod.api('POST', '/v1/apps', { name: 'Prod' })).body;
      const base = `/v1/apps/${app.id}/endpoints`;
      const http = await prod.api('POST', base, { url: 'http://example.com/hook' });
      expectError(http, 422, 'invalid_endpoint_url');
      expect(http.body.error.message).toMatch(/https/);
      expectError(await prod.api('POST', base, { url: 'https://127.0.0.1/hook' }), 422, 'invalid_endpoint_url');
      expectError(await prod.api('POST', base, { url: 'https://[::ffff:127.0.0.1]/hook' }), 422, 'invalid_endpoint_url');
      expect((await prod.api('POST', base, { url: 'https://example.com/hook' })).status).toBe(201);
    } finally {
      await prod.close();
    }
  });
});
