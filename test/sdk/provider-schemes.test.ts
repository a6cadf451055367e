import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import Stripe from 'stripe';
import { sign as octokitSign, verify as octokitVerify } from '@octokit/webhooks-methods';
import {
  hmacScheme,
  legacyScheme,
  sign,
  verify,
  verifyWebhook,
  WebhookVerificationError,
} from '../../src/sdk/receiver/index.js';

// Independent reference HMACs via node:crypto, so a bug shared by our sign()
// and verify() can't cancel itself out.
const hmac = (alg: string, key: string | Buffer, data: string) => createHmac(alg, key).update(data);

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WebhookVerificationError);
  return (err as WebhookVerificationError).code;
}

const BODY = '{"id":"evt_1","type":"charge.succeeded","note":"caf\u00e9  ☕","n":1.50}';

describe('stripe scheme (interop with the stripe package)', () => {
  const stripe = new Stripe('sk_test_placeholder');
  const SECRET = 'whsec_test_secret_for_stripe';
  const T = 1_700_000_000;

  it('verifies a header from stripe.webhooks.generateTestHeaderString', async () => {
    const header = stripe.webhooks.generateTestHeaderString({ payload: BODY, secret: SECRET, timestamp: T });
    const result = await verifyWebhook(BODY, { 'Stripe-Signature': header }, SECRET, { scheme: 'stripe', now: T + 10 });
    expect(result.event).toMatchObject({ id: 'evt_1', type: 'charge.succeeded' });
    expect(result).toMatchObject({ id: 'evt_1', timestamp: T, scheme: 'stripe' });
  });

  it('keys the HMAC with the literal whsec_ string, not its base64 decoding', async () => {
    const theirs = stripe.webhooks.generateTestHeaderString({ payload: BODY, secret: SECRET, timestamp: T });
    const ours = await sign(BODY, SECRET, { scheme: 'stripe', timestamp: T });
    expect(ours).toEqual({ 'stripe-signature': theirs });
    expect(theirs.split('v1=')[1]).toBe(hmac('sha256', SECRET, `${T}.${BODY}`).digest('hex'));
  });

  it('produces a header stripe.webhooks.constructEvent accepts', async () => {
    const h = await sign(BODY, SECRET, { scheme: 'stripe', timestamp: T });
    const event = stripe.webhooks.constructEvent(BODY, h['stripe-signature'], SECRET, 300, undefined, (T + 5) * 1000);
    expect(event.id).toBe('evt_1');
    expect(() =>
      stripe.webhooks.constructEvent(BODY.replace('1.50', '1.5'), h['stripe-signature'], SECRET, 300, undefined, T * 1000),
    ).toThrow();
  });

  it('accepts any of several v1 signatures (Stripe secret roll) and ignores v0', async () => {
    const good = hmac('sha256', SECRET, `${T}.${BODY}`).digest('hex');
    const header = `t=${T},v0=${'ab'.repeat(32)},v1=${'00'.repeat(32)},v1=${good}`;
    expect(await verify(BODY, { 'stripe-signature': header }, SECRET, { scheme: 'stripe', now: T })).toMatchObject({ id: 'evt_1' });
  });

  it('enforces the tolerance in both directions and rejects tampering', async () => {
    const header = stripe.webhooks.generateTestHeaderString({ payload: BODY, secret: SECRET, timestamp: T });
    const h = { 'stripe-signature': header };
    expect(await codeOf(verify(BODY, h, SECRET, { scheme: 'stripe', now: T + 301 }))).toBe('timestamp_too_old');
    expect(await codeOf(verify(BODY, h, SECRET, { scheme: 'stripe', now: T - 301 }))).toBe('timestamp_in_future');
    expect(await codeOf(verify(BODY + '\n', h, SECRET, { scheme: 'stripe', now: T }))).toBe('invalid_signature');
    const retimed = { 'stripe-signature': header.replace(`t=${T}`, `t=${T + 1}`) };
    expect(await codeOf(verify(BODY, retimed, SECRET, { scheme: 'stripe', now: T }))).toBe('invalid_signature');
  });

  it('maps malformed headers to stable codes', async () => {
    const opts = { scheme: 'stripe' as const, now: T };
    expect(await codeOf(verify(BODY, {}, SECRET, opts))).toBe('missing_header');
    expect(await codeOf(verify(BODY, { 'stripe-signature': 'v1=abcd' }, SECRET, opts))).toBe('invalid_header');
    expect(await codeOf(verify(BODY, { 'stripe-signature': `t=${T}` }, SECRET, opts))).toBe('invalid_signature');
    expect(await codeOf(verify(BODY, { 'stripe-signature': `t=${T},v1=` }, SECRET, opts))).toBe('invalid_signature');
  });
});

describe('github scheme (interop with @octokit/webhooks-methods)', () => {
  const SECRET = 'It\u2019s a Secret to Everybody';

  it('verifies what octokit signs, and octokit verifies what we sign', async () => {
    const signature = await octokitSign(SECRET, BODY);
    const headers = { 'X-Hub-Signature-256': signature, 'X-GitHub-Delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958' };
    const result = await verifyWebhook(BODY, headers, SECRET, { scheme: 'github' });
    expect(result.event).toMatchObject({ type: 'charge.succeeded' });
    expect(result.id).toBe('72d3162e-cc78-11e3-81ab-4c9367dc0958');

    const ours = await sign(BODY, SECRET, { scheme: 'github' });
    expect(ours['x-hub-signature-256']).toBe(signature);
    expect(await octokitVerify(SECRET, BODY, ours['x-hub-signature-256'])).toBe(true);
    expect(await octokitVerify(SECRET, BODY + ' ', ours['x-hub-signature-256'])).toBe(false);
  });

  it('requires the sha256= prefix and rejects a flipped character', async () => {
    const signature = await octokitSign(SECRET, BODY);
    const bare = { 'x-hub-signature-256': signature.slice('sha256='.length) };
    expect(await codeOf(verify(BODY, bare, SECRET, { scheme: 'github' }))).toBe('invalid_signature');
    const last = signature.at(-1) === '0' ? '1' : '0';
    const flipped = { 'x-hub-signature-256': signature.slice(0, -1) + last };
    expect(await codeOf(verify(BODY, flipped, SECRET, { scheme: 'github' }))).toBe('invalid_signature');
    expect(await codeOf(verify(BODY, {}, SECRET, { scheme: 'github' }))).toBe('missing_header');
  });
});

describe('slack scheme', () => {
  const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
  const T = 1_531_420_618;
  const body = 'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&command=%2Fweather&text=94070';
  const reference = 'v0=' + hmac('sha256', SECRET, `v0:${T}:${body}`).digest('hex');

  it('verifies a reference v0 signature over v0:{ts}:{body}', async () => {
    const headers = { 'X-Slack-Signature': reference, 'X-Slack-Request-Timestamp': String(T) };
    expect(await verify(body, headers, SECRET, { scheme: 'slack', now: T, parse: 'text' })).toBe(body);
    expect(await sign(body, SECRET, { scheme: 'slack', timestamp: T })).toEqual({
      'x-slack-signature': reference,
      'x-slack-request-timestamp': String(T),
    });
  });

  it('takes the dedupe id from the event_id of Events API payloads', async () => {
    const json = '{"type":"event_callback","event_id":"Ev0PV52K25"}';
    const h = await sign(json, SECRET, { scheme: 'slack', timestamp: T });
    expect((await verifyWebhook(json, h, SECRET, { scheme: 'slack', now: T })).id).toBe('Ev0PV52K25');
  });

  it('rejects stale, future, missing-timestamp and tampered requests', async () => {
    const headers = { 'x-slack-signature': reference, 'x-slack-request-timestamp': String(T) };
    const opts = { scheme: 'slack' as const, parse: 'text' as const };
    expect(await codeOf(verify(body, headers, SECRET, { ...opts, now: T + 301 }))).toBe('timestamp_too_old');
    expect(await codeOf(verify(body, headers, SECRET, { ...opts, now: T - 301 }))).toBe('timestamp_in_future');
    expect(await codeOf(verify(body, { 'x-slack-signature': reference }, SECRET, { ...opts, now: T }))).toBe('missing_header');
    expect(await codeOf(verify(body + '1', headers, SECRET, { ...opts, now: T }))).toBe('invalid_signature');
  });
});

describe('shopify scheme', () => {
  const SECRET = 'shpss_0123456789abcdef';

  it('verifies a reference base64 signature and reads the webhook id', async () => {
    const headers = {
      'X-Shopify-Hmac-Sha256': hmac('sha256', SECRET, BODY).digest('base64'),
      'X-Shopify-Webhook-Id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
    };
    const result = await verifyWebhook(BODY, headers, SECRET, { scheme: 'shopify' });
    expect(result).toMatchObject({ id: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043', scheme: 'shopify' });
    expect((await sign(BODY, SECRET, { scheme: 'shopify' }))['x-shopify-hmac-sha256']).toBe(headers['X-Shopify-Hmac-Sha256']);
  });

  it('rejects a hex signature where base64 is expected', async () => {
    const headers = { 'x-shopify-hmac-sha256': hmac('sha256', SECRET, BODY).digest('hex') };
    expect(await codeOf(verify(BODY, headers, SECRET, { scheme: 'shopify' }))).toBe('invalid_signature');
  });
});

describe('legacy scheme (Herald legacy header, the seeds’ x-*-signature)', () => {
  const SECRET = 'whsec_legacyKeyUsedAsIs';
  const hex = hmac('sha256', Buffer.from(SECRET, 'utf8'), BODY).digest('hex');

  it('accepts sha256=<hex> and bare hex, keyed by the full whsec_ string', async () => {
    expect(await verify(BODY, { 'x-webhook-signature': `sha256=${hex}` }, SECRET, { scheme: 'legacy' })).toMatchObject({ id: 'evt_1' });
    expect(await verify(BODY, { 'X-Webhook-Signature': hex.toUpperCase() }, SECRET, { scheme: 'legacy' })).toMatchObject({ id: 'evt_1' });
    const result = await verifyWebhook(BODY, { 'x-webhook-signature': hex }, SECRET, { scheme: 'legacy' });
    expect(result.id).toBe('evt_1');
  });

  it('reads a configurable header name: x-twig-signature, x-twenty-signature', async () => {
    for (const header of ['x-twig-signature', 'X-Twenty-Signature']) {
      const scheme = legacyScheme({ header });
      expect(await verify(BODY, { [header]: hex }, SECRET, { scheme })).toMatchObject({ type: 'charge.succeeded' });
      expect(await codeOf(verify(BODY, { 'x-webhook-signature': hex }, SECRET, { scheme }))).toBe('missing_header');
      expect(Object.keys(await sign(BODY, SECRET, { scheme }))).toEqual([header.toLowerCase()]);
    }
  });

  it('signs as sha256=<hex>', async () => {
    expect(await sign(BODY, SECRET, { scheme: 'legacy' })).toEqual({ 'x-webhook-signature': `sha256=${hex}` });
  });

  it('rejects a wrong-length or malformed hex signature', async () => {
    for (const bad of [hex.slice(0, -2), `sha256=${hex}00`, 'sha256=zz', `sha1=${hex}`]) {
      expect(await codeOf(verify(BODY, { 'x-webhook-signature': bad }, SECRET, { scheme: 'legacy' }))).toBe('invalid_signature');
    }
  });
});

describe('hmacScheme (generic)', () => {
  const SECRET = 'generic-secret';
  const T = 1_650_000_000;

  it('covers algorithm × encoding against node:crypto', async () => {
    for (const algorithm of ['sha1', 'sha256', 'sha512'] as const) {
      for (const encoding of ['hex', 'base64'] as const) {
        const scheme = hmacScheme({ header: 'x-sig', algorithm, encoding, prefix: `${algorithm}=` });
        const headers = { 'x-sig': `${algorithm}=${hmac(algorithm, SECRET, BODY).digest(encoding)}` };
        expect(await verify(BODY, headers, SECRET, { scheme })).toMatchObject({ id: 'evt_1' });
        expect(await sign(BODY, SECRET, { scheme })).toEqual(headers);
        const other = hmacScheme({ header: 'x-sig', algorithm: algorithm === 'sha1' ? 'sha256' : 'sha1', encoding, prefix: `${algorithm}=` });
        expect(await codeOf(verify(BODY, headers, SECRET, { scheme: other }))).toBe('invalid_signature');
      }
    }
  });

  it('signs a template over {id}, {timestamp} and {body} with a replay window', async () => {
    const scheme = hmacScheme({
      name: 'acme',
      header: 'X-Acme-Signature',
      signedContent: '{id}:{timestamp}:{body}',
      timestampHeader: 'X-Acme-Timestamp',
      idHeader: 'X-Acme-Delivery',
      toleranceSeconds: 60,
    });
    const headers = {
      'x-acme-signature': hmac('sha256', SECRET, `d-1:${T}:${BODY}`).digest('hex'),
      'x-acme-timestamp': String(T),
      'x-acme-delivery': 'd-1',
    };
    const result = await verifyWebhook(BODY, headers, SECRET, { scheme, now: T + 60 });
    expect(result).toMatchObject({ id: 'd-1', timestamp: T, scheme: 'acme' });
    expect(await sign(BODY, SECRET, { scheme, id: 'd-1', timestamp: T })).toEqual(headers);
    expect(await codeOf(verify(BODY, headers, SECRET, { scheme, now: T + 61 }))).toBe('timestamp_too_old');
    expect(await codeOf(verify(BODY, { ...headers, 'x-acme-delivery': 'd-2' }, SECRET, { scheme, now: T }))).toBe('invalid_signature');
  });

  it('accepts base64 or hex secrets and several signatures with a separator', async () => {
    const key = Buffer.from('raw key bytes \u0000\u00ff', 'latin1');
    const scheme = hmacScheme({ header: 'x-sig', secretEncoding: 'base64', separator: ',' });
    const good = hmac('sha256', key, BODY).digest('hex');
    const headers = { 'x-sig': `${'0'.repeat(64)},${good}` };
    expect(await verify(BODY, headers, key.toString('base64'), { scheme })).toMatchObject({ id: 'evt_1' });
    const hexScheme = hmacScheme({ header: 'x-sig', secretEncoding: 'hex' });
    expect(await verify(BODY, { 'x-sig': good }, key.toString('hex'), { scheme: hexScheme })).toMatchObject({ id: 'evt_1' });
    expect(await codeOf(verify(BODY, { 'x-sig': good }, 'not hex', { scheme: hexScheme }))).toBe('invalid_secret');
  });

  it('rejects inconsistent configuration up front with invalid_options', () => {
    const bad: Array<Parameters<typeof hmacScheme>[0]> = [
      { header: '' },
      { header: 'x', signedContent: '{timestamp}.{body}' },
      { header: 'x', signedContent: '{id}.{body}' },
      { header: 'x', signedContent: '{timestamp}' },
      { header: 'x', signedContent: '{body}{body}' },
      { header: 'x', signedContent: '{ts}.{body}', timestampHeader: 't' },
      { header: 'x', timestampHeader: 'x-ts' },
      { header: 'x', algorithm: 'md5' as never },
    ];
    for (const options of bad) {
      expect(() => hmacScheme(options)).toThrow(expect.objectContaining({ code: 'invalid_options' }));
    }
  });

  it('rejects an unknown scheme name', async () => {
    expect(await codeOf(verify(BODY, {}, SECRET, { scheme: 'paypal' as never }))).toBe('invalid_options');
  });
});

describe('every named scheme round-trips through sign() and verify()', () => {
  it.each(['standard', 'legacy', 'github', 'stripe', 'slack', 'shopify'] as const)('%s', async (scheme) => {
    const secret = scheme === 'standard' ? 'whsec_' + Buffer.from('k'.repeat(24)).toString('base64') : 'plain-secret';
    const headers = await sign(BODY, secret, { scheme, timestamp: 1_000_000, id: 'msg_rt' });
    expect(await verify(BODY, headers, secret, { scheme, now: 1_000_000 })).toMatchObject({ id: 'evt_1' });
    // Rotation: the right secret anywhere in the list is enough; a list without it is not.
    const wrong = scheme === 'standard' ? 'whsec_' + Buffer.from('w'.repeat(24)).toString('base64') : 'wrong-secret';
    expect(await verify(BODY, headers, [wrong, secret], { scheme, now: 1_000_000 })).toMatchObject({ id: 'evt_1' });
    expect(await codeOf(verify(BODY, headers, [wrong], { scheme, now: 1_000_000 }))).toBe('invalid_signature');
    expect(await codeOf(verify(BODY.replace('evt_1', 'evt_2'), headers, secret, { scheme, now: 1_000_000 }))).toBe(
      'invalid_signature',
    );
  });
});
