import Fastify from 'fastify';
import { Hono } from 'hono';
import { createAdaptorServer } from '@hono/node-server';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  errorResponse,
  fastifyWebhook,
  honoWebhook,
  verifyRequest,
  WebhookVerificationError,
  type HonoWebhookVariables,
} from '../../src/sdk/receiver/index.js';
import { listen, post, SECRET, signed, TRICKY_BODY, TRICKY_EVENT } from './helpers.js';

describe('Fastify fastifyWebhook plugin', () => {
  const app = Fastify();
  let url: string;
  const failures: string[] = [];

  beforeAll(async () => {
    app.register(async (scope) => {
      await scope.register(fastifyWebhook, { secret: SECRET, maxBodyBytes: 4096, onError: (e) => failures.push(e.code) });
      scope.post('/webhooks', async (req) => ({
        event: req.body,
        raw: new TextDecoder().decode(req.webhook!.rawBody),
        id: req.webhook!.id,
      }));
    });
    // A sibling route outside the scope keeps Fastify's normal JSON parsing.
    app.post('/api/other', async (req) => ({ parsed: req.body }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(() => app.close());

  it('verifies the raw body and exposes event, raw bytes and id', async () => {
    const { status, json } = await post(`${url}/webhooks`, TRICKY_BODY, await signed(TRICKY_BODY));
    expect(status).toBe(200);
    expect(json).toEqual({ event: TRICKY_EVENT, raw: TRICKY_BODY, id: 'msg_mw_1' });
  });

  it('accepts a body sent without a content-type', async () => {
    const res = await fetch(`${url}/webhooks`, {
      method: 'POST',
      body: new TextEncoder().encode(TRICKY_BODY),
      headers: await signed(TRICKY_BODY),
    });
    expect(res.status).toBe(200);
    expect((await res.json()).event).toEqual(TRICKY_EVENT);
  });

  it('answers 401 with the JSON error shape on a bad signature', async () => {
    const { status, json } = await post(`${url}/webhooks`, TRICKY_BODY.replace('😀', '😁'), await signed(TRICKY_BODY));
    expect(status).toBe(401);
    expect(json).toEqual({ error: { code: 'invalid_signature', message: expect.any(String) } });
    expect(failures).toContain('invalid_signature');
  });

  it('answers 401 missing_header when unsigned', async () => {
    const { status, json } = await post(`${url}/webhooks`, TRICKY_BODY, {});
    expect(status).toBe(401);
    expect(json.error.code).toBe('missing_header');
  });

  it('refuses bodies above maxBodyBytes with 413', async () => {
    const big = JSON.stringify({ pad: 'y'.repeat(5000) });
    const { status } = await post(`${url}/webhooks`, big, await signed(big));
    expect(status).toBe(413);
  });

  it('leaves routes outside its scope untouched', async () => {
    const { status, json } = await post(`${url}/api/other`, '{"x": 1}', {});
    expect(status).toBe(200);
    expect(json).toEqual({ parsed: { x: 1 } });
  });
});

describe('Hono honoWebhook middleware', () => {
  let url: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const app = new Hono<{ Variables: HonoWebhookVariables }>();
    app.post('/webhooks', honoWebhook({ secret: SECRET, maxBodyBytes: 4096 }), async (c) => {
      const webhook = c.get('webhook');
      // The body stays readable after the middleware (Hono caches it).
      const again = await c.req.text();
      return c.json({ event: webhook.event, raw: new TextDecoder().decode(webhook.rawBody), again, id: webhook.id });
    });
    ({ url, close } = await listen(createAdaptorServer({ fetch: app.fetch }) as Server));
  });
  afterAll(() => close());

  it('verifies the raw body and exposes event, raw bytes and id', async () => {
    const { status, json } = await post(`${url}/webhooks`, TRICKY_BODY, await signed(TRICKY_BODY));
    expect(status).toBe(200);
    expect(json).toEqual({ event: TRICKY_EVENT, raw: TRICKY_BODY, again: TRICKY_BODY, id: 'msg_mw_1' });
  });

  it('answers 401 with the JSON error shape on a re-serialised body', async () => {
    const { status, json } = await post(`${url}/webhooks`, JSON.stringify(TRICKY_EVENT), await signed(TRICKY_BODY));
    expect(status).toBe(401);
    expect(json).toEqual({ error: { code: 'invalid_signature', message: expect.any(String) } });
  });

  it('answers 401 missing_header when unsigned', async () => {
    const { status, json } = await post(`${url}/webhooks`, TRICKY_BODY, {});
    expect(status).toBe(401);
    expect(json.error.code).toBe('missing_header');
  });

  it('refuses bodies above maxBodyBytes with 413 body_too_large', async () => {
    const big = JSON.stringify({ pad: 'z'.repeat(5000) });
    const { status, json } = await post(`${url}/webhooks`, big, await signed(big));
    expect(status).toBe(413);
    expect(json.error.code).toBe('body_too_large');
  });
});

describe('Fetch API verifyRequest / errorResponse (in-process, no server)', () => {
  it('verifies a Request and builds a 401 Response for failures', async () => {
    const headers = await signed(TRICKY_BODY);
    const ok = await verifyRequest(new Request('http://x/webhooks', { method: 'POST', body: TRICKY_BODY, headers }), SECRET);
    expect(ok.event).toEqual(TRICKY_EVENT);

    const bad = new Request('http://x/webhooks', { method: 'POST', body: TRICKY_BODY + ' ', headers });
    const err = await verifyRequest(bad, SECRET).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebhookVerificationError);
    const res = errorResponse(err as WebhookVerificationError);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: { code: 'invalid_signature', message: expect.any(String) } });
  });
});
