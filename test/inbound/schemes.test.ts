import { createHmac } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sign as octokitSign } from '@octokit/webhooks-methods';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { Webhook as SvixWebhook } from 'svix';
import { describe, expect, it } from 'vitest';
import { API_KEY, eventually } from '../helpers/herald.js';
import { fixtures } from '../helpers/fixtures.js';
import { createSource, post, requestLog } from './helpers.js';

/**
 * Real signed requests, made with the providers' own packages where they exist, through a
 * real Herald to a real destination on loopback: accepted ones are forwarded byte for byte
 * with the provider's headers and Herald's own signature; bad ones are 401 and logged.
 */
const f = fixtures();
const stripe = new Stripe('sk_test_placeholder');
const now = () => Math.floor(Date.now() / 1000);
const BODY = JSON.stringify({ id: 'evt_1', type: 'page.updated', note: 'caf\u00e9 ☕', page_id: 7 });

interface Case {
  scheme: string;
  secret: string;
  extra?: Record<string, unknown>;
  /** headers a real sender would attach to BODY, signed at `ts` */
  sign: (body: string, ts: number) => Promise<Record<string, string>> | Record<string, string>;
  /** timestamped schemes: a signature from 10 minutes ago is a replay */
  timestamped: boolean;
  /** a provider header that must reach the destination */
  passes?: [string, string];
}

const STANDARD_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const OLD_STANDARD_SECRET = 'whsec_b2xkLXNlY3JldC1mb3Itcm90YXRpb24=';
const cases: Case[] = [
  {
    scheme: 'github', secret: 'gh-secret', timestamped: false, passes: ['x-github-event', 'issues'],
    sign: async (body) => ({ 'x-hub-signature-256': await octokitSign('gh-secret', body), 'x-github-event': 'issues', 'x-github-delivery': 'd-1' }),
  },
  {
    scheme: 'stripe', secret: 'whsec_stripe_test', timestamped: true,
    sign: (body, ts) => ({ 'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload: body, secret: 'whsec_stripe_test', timestamp: ts }) }),
  },
  {
    scheme: 'standard', secret: STANDARD_SECRET, timestamped: true,
    sign: (body, ts) => {
      const sig = new StandardWebhook(STANDARD_SECRET).sign('msg_1', new Date(ts * 1000), body);
      return { 'webhook-id': 'msg_1', 'webhook-timestamp': String(ts), 'webhook-signature': sig };
    },
  },
  {
    scheme: 'standard', secret: STANDARD_SECRET, timestamped: true, passes: ['svix-id', 'msg_2'],
    sign: (body, ts) => {
      const sig = new SvixWebhook(STANDARD_SECRET).sign('msg_2', new Date(ts * 1000), body);
      return { 'svix-id': 'msg_2', 'svix-timestamp': String(ts), 'svix-signature': sig };
    },
  },
  {
    // No official signing package: the signature per Slack's documentation, by hand.
    scheme: 'slack', secret: 'slack-signing-secret', timestamped: true,
    sign: (body, ts) => ({
      'x-slack-request-timestamp': String(ts),
      'x-slack-signature': `v0=${createHmac('sha256', 'slack-signing-secret').update(`v0:${ts}:${body}`).digest('hex')}`,
    }),
  },
  {
    scheme: 'shopify', secret: 'shpss_secret', timestamped: false, passes: ['x-shopify-topic', 'orders/create'],
    sign: (body) => ({ 'x-shopify-hmac-sha256': createHmac('sha256', 'shpss_secret').update(body).digest('base64'), 'x-shopify-topic': 'orders/create' }),
  },
  {
    // A Confluence-style sender: X-Hub-Signature with sha256= (seed 004), through the generic scheme.
    scheme: 'hmac', secret: 'confluence-secret', timestamped: false, extra: { header: 'x-hub-signature', prefix: 'sha256=' },
    sign: (body) => ({ 'x-hub-signature': `sha256=${createHmac('sha256', 'confluence-secret').update(body).digest('hex')}` }),
  },
];

describe('inbound verification per scheme', () => {
  for (const c of cases) {
    const label = `${c.scheme}${c.passes ? ` (${c.passes[0]})` : ''}`;
    it(`${label}: accepts and forwards a signed request, rejects a bad or missing signature${c.timestamped ? ' and a replay' : ''}`, async () => {
      const t = await f.herald();
      const dest = await f.receiver();
      const source = await createSource(t, {
        name: label, verification: { scheme: c.scheme, secrets: [c.scheme === 'standard' ? OLD_STANDARD_SECRET : 'an-old-secret', c.secret], ...c.extra },
        destinations: [{ url: `${dest.url}/hook` }],
      });
      expect(source.ingestUrl).toBe(`${t.url}/in/${source.id}`);
      expect(source.verification).toMatchObject({ scheme: c.scheme, secretCount: 2 });
      expect(JSON.stringify(source)).not.toContain(c.secret);

      const signed = await c.sign(BODY, now());
      const ok = await post(source.ingestUrl, BODY, signed);
      expect(ok.status).toBe(202);
      expect(ok.body).toMatchObject({ status: 'accepted', forwarding: 'pending' });

      const [got] = await dest.waitFor(1);
      expect(got.body).toBe(BODY);
      expect(got.headers['content-type']).toBe('application/json');
      if (c.passes) expect(got.headers[c.passes[0]]).toBe(c.passes[1]);
      // Herald's own signature over the same bytes, with the destination's secret.
      const verified = new StandardWebhook(source.destinations[0].secret).verify(BODY, {
        'webhook-id': got.headers['webhook-id'] as string,
        'webhook-timestamp': got.headers['webhook-timestamp'] as string,
        'webhook-signature': got.headers['webhook-signature'] as string,
      });
      expect(verified).toMatchObject({ page_id: 7 });
      expect(got.headers['webhook-id']).toBe(ok.body.id);

      const tampered = await post(source.ingestUrl, BODY.replace('7', '8'), signed);
      expect(tampered.status).toBe(401);
      expect(tampered.body.error).toMatchObject({ code: 'verification_failed', details: { reason: 'invalid_signature' } });
      const unsigned = await post(source.ingestUrl, BODY, {});
      expect(unsigned.status).toBe(401);
      expect(unsigned.body.error.details.reason).toBe('missing_header');
      if (c.timestamped) {
        const replay = await post(source.ingestUrl, BODY, await c.sign(BODY, now() - 600));
        expect(replay.status).toBe(401);
        expect(replay.body.error.details.reason).toBe('timestamp_too_old');
      }

      const rejected = await requestLog(t, source.id, 'rejected');
      expect(rejected.map((r) => r.reason).sort()).toEqual(
        ['invalid_signature', 'missing_header', ...(c.timestamped ? ['timestamp_too_old'] : [])].sort(),
      );
      expect(rejected[0]).toMatchObject({ forwarding: 'none', bodySize: expect.any(Number) });
      await new Promise((r) => setTimeout(r, 200));
      expect(dest.requests).toHaveLength(1); // nothing rejected was forwarded
      const accepted = await eventually(async () => {
        const [r] = await requestLog(t, source.id, 'accepted');
        return r?.forwarding === 'delivered' ? r : null;
      });
      expect(accepted).toMatchObject({ id: ok.body.id, deliveries: { success: 1, pending: 0, failed: 0 } });
    });
  }

  it("deduplicates on the scheme's own delivery id (Stripe's event id, in the body)", async () => {
    const t = await f.herald();
    const dest = await f.receiver();
    const source = await createSource(t, {
      name: 'stripe', verification: { scheme: 'stripe', secrets: ['whsec_stripe_test'] }, dedup: { key: 'id' },
      destinations: [{ url: `${dest.url}/hook` }],
    });
    const send = (body: string) => post(source.ingestUrl, body, {
      'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload: body, secret: 'whsec_stripe_test' }),
    });
    expect((await send('{"id":"evt_A","type":"charge.succeeded"}')).body.status).toBe('accepted');
    // Stripe's retry: same event id, a new signature (and here a different body).
    expect((await send('{"id":"evt_A","type":"charge.succeeded","retry":1}')).body).toMatchObject({ status: 'duplicate' });
    expect((await send('{"id":"evt_B","type":"charge.succeeded"}')).body.status).toBe('accepted');
    const log = await requestLog(t, source.id);
    expect(log.map((r) => r.dedupKey)).toEqual(['evt_B', 'evt_A', 'evt_A']);
    await dest.waitFor(2);
  });

  it("keeps the provider's secrets encrypted in the database file and out of every answer", async () => {
    const t = await f.herald();
    const secret = 'provider-secret-4f1c9e2b7a';
    const source = await createSource(t, { name: 'gh', verification: { scheme: 'github', secrets: [secret] }, destinations: [{ url: 'https://example.com/h' }] });
    for (const path of [`/v1/sources/${source.id}`, '/v1/sources']) expect(JSON.stringify((await t.api('GET', path)).body)).not.toContain(secret);
    const raw = readdirSync(t.dir).filter((f) => f.startsWith('herald.db')).map((f) => readFileSync(join(t.dir, f)));
    for (const file of raw) expect(file.includes(Buffer.from(secret))).toBe(false);
    expect(raw.some((file) => file.includes(Buffer.from('enc:v1:')))).toBe(true);
  });

  it('answers Slack url_verification with the challenge, after verifying it', async () => {
    const t = await f.herald();
    const dest = await f.receiver();
    const source = await createSource(t, {
      name: 'slack', verification: { scheme: 'slack', secrets: ['slack-signing-secret'] }, destinations: [{ url: `${dest.url}/hook` }],
    });
    const body = JSON.stringify({ token: 't', challenge: 'chal-123', type: 'url_verification' });
    const ts = now();
    const sig = `v0=${createHmac('sha256', 'slack-signing-secret').update(`v0:${ts}:${body}`).digest('hex')}`;
    const res = await post(source.ingestUrl, body, { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': sig });
    expect(res).toMatchObject({ status: 200, body: { challenge: 'chal-123' } });
    const forged = await post(source.ingestUrl, body, { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': 'v0=00' });
    expect(forged.status).toBe(401);
    await new Promise((r) => setTimeout(r, 150));
    expect(dest.requests).toHaveLength(0);
  });

  it('accepts any content type as raw bytes, and redacts credentials in the request log', async () => {
    const t = await f.herald();
    const dest = await f.receiver();
    const source = await createSource(t, { name: 'open', verification: { scheme: 'none' }, destinations: [{ url: `${dest.url}/hook` }] });
    const form = 'payload=%7B%22a%22%3A1%7D&token=abc';
    const res = await post(source.ingestUrl, form, {
      'content-type': 'application/x-www-form-urlencoded', authorization: 'Bearer provider-token', 'x-api-key': 'k-123', 'x-custom': 'kept',
    });
    expect(res.status).toBe(202);
    const [got] = await dest.waitFor(1);
    expect(got.body).toBe(form);
    expect(got.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(got.headers['x-custom']).toBe('kept');
    expect(got.headers.authorization).toBeUndefined(); // credentials meant for Herald are not passed on
    const [logged] = await requestLog(t, source.id);
    expect(logged.headers).toMatchObject({ authorization: '[redacted]', 'x-api-key': '[redacted]', 'x-custom': 'kept' });
    expect(logged.bodySize).toBe(Buffer.byteLength(form));
    const stored = await fetch(`${t.url}/v1/sources/${source.id}/requests/${logged.id}/body`, { headers: { authorization: `Bearer ${API_KEY}` } });
    expect([stored.status, stored.headers.get('content-type'), await stored.text()]).toEqual([200, 'application/x-www-form-urlencoded', form]);
    expect((await t.api('GET', `/v1/sources/${source.id}/requests/req_nope/body`)).status).toBe(404);
    const empty = await fetch(source.ingestUrl, { method: 'POST' });
    expect(empty.status).toBe(202);
  });
});
