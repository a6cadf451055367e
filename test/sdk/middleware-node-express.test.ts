import { createServer } from 'node:http';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  nodeWebhook,
  expressWebhook,
  webhookOf,
  type WebhookVerificationError,
} from '../../src/sdk/receiver/index.js';
import { listen, post, SECRET, signed, TRICKY_BODY, TRICKY_EVENT } from './helpers.js';

type Echo = { event: unknown; raw: string; id?: string };

describe("node:http nodeWebhook", () => {
  let url: string;
  let close: () => Promise<void>;
  const failures: string[] = [];
  let calls = 0;

  beforeAll(async () => {
    const server = createServer(
      nodeWebhook({ secret: SECRET, maxBodyBytes: 1024, onError: (e: WebhookVerificationError) => failures.push(e.code) }, (req, res) => {
        calls++;
        if ((req.webhook.event as { boom?: boolean }).boom) throw new Error('handler bug with secret details');
        const echo: Echo = { event: req.webhook.event, raw: new TextDecoder().decode(req.webhook.rawBody), id: req.webhook.id };
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(echo));
      }),
    );
    ({ url, close } = await listen(server));
  });
  afterAll(() => close());

  it('passes the verified event and the exact raw bytes to the handler', async () => {
    const { status, json } = await post(url, TRICKY_BODY, await signed(TRICKY_BODY));
    expect(status).toBe(200);
    expect(json).toEqual({ event: TRICKY_EVENT, raw: TRICKY_BODY, id: 'msg_mw_1' });
  });

  it('answers 401 with a JSON error and never calls the handler on a bad signature', async () => {
    const before = calls;
    const headers = await signed(TRICKY_BODY);
    const { status, json } = await post(url, TRICKY_BODY.replace('1.0', '1'), headers);
    expect(status).toBe(401);
    expect(json).toEqual({ error: { code: 'invalid_signature', message: expect.any(String) } });
    expect(calls).toBe(before);
    expect(failures).toContain('invalid_signature');
  });

  it('answers 401 missing_header without signature headers', async () => {
    const { status, json } = await post(url, TRICKY_BODY, {});
    expect(status).toBe(401);
    expect(json.error.code).toBe('missing_header');
  });

  it('answers 413 body_too_large above maxBodyBytes', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(2000) });
    const { status, json } = await post(url, big, await signed(big));
    expect(status).toBe(413);
    expect(json.error.code).toBe('body_too_large');
  });

  it('turns a handler exception into a 500 without leaking its message', async () => {
    const body = '{"boom":true}';
    const { status, json } = await post(url, body, await signed(body));
    expect(status).toBe(500);
    expect(JSON.stringify(json)).not.toContain('secret details');
  });
});

describe("Express expressWebhook", () => {
  let url: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const app = express();
    app.post('/webhooks', expressWebhook({ secret: SECRET }), (req, res) => {
      const webhook = webhookOf(req);
      res.json({ event: req.body, raw: new TextDecoder().decode(webhook.rawBody), id: webhook.id } satisfies Echo);
    });
    // After express.raw() the Buffer on req.body is used as the raw body.
    app.post('/after-raw', express.raw({ type: '*/*' }), expressWebhook({ secret: SECRET }), (req, res) => {
      res.json({ event: req.body, raw: new TextDecoder().decode(webhookOf(req).rawBody) });
    });
    // Express 4's body-parser leaves `req.body = {}` on requests it skips, without reading the stream.
    app.post(
      '/placeholder-body',
      (req, _res, next) => {
        req.body = {};
        next();
      },
      expressWebhook({ secret: SECRET }),
      (req, res) => {
        res.json({ event: req.body });
      },
    );
    // The classic mistake: a JSON parser ran first, the bytes are gone.
    app.post('/after-json', express.json(), expressWebhook({ secret: SECRET }), (_req, res) => {
      res.json({ reached: true });
    });
    ({ url, close } = await listen(createServer(app)));
  });
  afterAll(() => close());

  it('keeps the raw body, verifies, and sets req.body to the parsed event', async () => {
    const { status, json } = await post(`${url}/webhooks`, TRICKY_BODY, await signed(TRICKY_BODY));
    expect(status).toBe(200);
    expect(json).toEqual({ event: TRICKY_EVENT, raw: TRICKY_BODY, id: 'msg_mw_1' });
  });

  it('works after express.raw()', async () => {
    const { status, json } = await post(`${url}/after-raw`, TRICKY_BODY, await signed(TRICKY_BODY));
    expect(status).toBe(200);
    expect(json).toEqual({ event: TRICKY_EVENT, raw: TRICKY_BODY });
  });

  it('reads the stream when an earlier parser only left a placeholder {} on req.body', async () => {
    const { status, json } = await post(`${url}/placeholder-body`, TRICKY_BODY, await signed(TRICKY_BODY));
    expect(status).toBe(200);
    expect(json).toEqual({ event: TRICKY_EVENT });
  });

  it('answers 401 with a JSON error on a re-serialised body', async () => {
    const { status, json } = await post(`${url}/webhooks`, JSON.stringify(TRICKY_EVENT), await signed(TRICKY_BODY));
    expect(status).toBe(401);
    expect(json).toEqual({ error: { code: 'invalid_signature', message: expect.any(String) } });
  });

  it('answers 401 timestamp_too_old for an authentic but stale delivery', async () => {
    const { sign } = await import('../../src/sdk/receiver/index.js');
    const stale = await sign(TRICKY_BODY, SECRET, { timestamp: Math.floor(Date.now() / 1000) - 3600 });
    const { status, json } = await post(`${url}/webhooks`, TRICKY_BODY, stale);
    expect(status).toBe(401);
    expect(json.error.code).toBe('timestamp_too_old');
  });

  it('explains body_already_parsed when express.json() ran first', async () => {
    const { status, json } = await post(`${url}/after-json`, TRICKY_BODY, await signed(TRICKY_BODY));
    expect(status).toBe(500);
    expect(json.error.code).toBe('body_already_parsed');
    expect(json.error.message).toContain('express.raw()');
  });
});
