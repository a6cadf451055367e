import { describe, expect, it } from 'vitest';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { sign, verify, verifyWebhook, WebhookVerificationError } from '../../src/sdk/receiver/index.js';

// Official Standard Webhooks test vector.
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const TS = 1614265330;
const BODY = '{"test": 2432232314}';
const SIGNATURE = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';

const headers = (signature = SIGNATURE, ts = TS) => ({
  'webhook-id': ID,
  'webhook-timestamp': String(ts),
  'webhook-signature': signature,
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(WebhookVerificationError);
    return (err as WebhookVerificationError).code;
  }
  throw new Error('expected verification to fail');
}

describe('Standard Webhooks test vector', () => {
  it('verifies the official vector and parses the body', async () => {
    const event = await verify(BODY, headers(), SECRET, { now: TS });
    expect(event).toEqual({ test: 2432232314 });
  });

  it('signs the official vector byte for byte', async () => {
    expect(await sign(BODY, SECRET, { id: ID, timestamp: TS })).toEqual(headers());
  });

  it('accepts the secret without the whsec_ prefix', async () => {
    expect(await verify(BODY, headers(), SECRET.slice('whsec_'.length), { now: TS })).toEqual({ test: 2432232314 });
  });

  it('returns id and timestamp for deduplication', async () => {
    const result = await verifyWebhook(BODY, headers(), SECRET, { now: TS });
    expect(result).toMatchObject({ id: ID, timestamp: TS, scheme: 'standard' });
    expect(new TextDecoder().decode(result.rawBody)).toBe(BODY);
  });

  it('accepts every body type: string, Buffer, Uint8Array, ArrayBuffer', async () => {
    const bytes = new TextEncoder().encode(BODY);
    for (const body of [BODY, Buffer.from(BODY), bytes, bytes.buffer.slice(0)]) {
      expect(await verify(body, headers(), SECRET, { now: TS })).toEqual({ test: 2432232314 });
    }
  });

  it('reads headers in any letter case, from a Headers instance or Node-style arrays', async () => {
    const upper = { 'Webhook-Id': ID, 'WEBHOOK-TIMESTAMP': String(TS), 'Webhook-Signature': SIGNATURE };
    expect(await verify(BODY, upper, SECRET, { now: TS })).toEqual({ test: 2432232314 });
    expect(await verify(BODY, new Headers(upper), SECRET, { now: new Date(TS * 1000) })).toEqual({ test: 2432232314 });
    const node = { 'webhook-id': [ID], 'webhook-timestamp': String(TS), 'webhook-signature': SIGNATURE, host: undefined };
    expect(await verify(BODY, node, SECRET, { now: TS })).toEqual({ test: 2432232314 });
  });
});

describe('Standard Webhooks negative cases', () => {
  const sig = SIGNATURE.slice(3);

  it('rejects a truncated signature', async () => {
    expect(await codeOf(verify(BODY, headers(SIGNATURE.slice(0, -5)), SECRET, { now: TS }))).toBe('invalid_signature');
  });

  it('rejects "v1," alone', async () => {
    expect(await codeOf(verify(BODY, headers('v1,'), SECRET, { now: TS }))).toBe('invalid_signature');
  });

  it('ignores unknown versions but accepts the valid v1 among them', async () => {
    const mixed = `v2,${sig} v1a,${sig} v1,AAAA ${SIGNATURE} v0,xyz`;
    expect(await verify(BODY, headers(mixed), SECRET, { now: TS })).toEqual({ test: 2432232314 });
    expect(await codeOf(verify(BODY, headers(`v2,${sig} v1a,${sig}`), SECRET, { now: TS }))).toBe('invalid_signature');
  });

  it('rejects a timestamp 301 s old and 301 s ahead, accepts 300 s', async () => {
    expect(await codeOf(verify(BODY, headers(), SECRET, { now: TS + 301 }))).toBe('timestamp_too_old');
    expect(await codeOf(verify(BODY, headers(), SECRET, { now: TS - 301 }))).toBe('timestamp_in_future');
    expect(await verify(BODY, headers(), SECRET, { now: TS + 300 })).toEqual({ test: 2432232314 });
    expect(await verify(BODY, headers(), SECRET, { now: TS - 300 })).toEqual({ test: 2432232314 });
  });

  it('honours a custom tolerance', async () => {
    expect(await codeOf(verify(BODY, headers(), SECRET, { now: TS + 61, toleranceSeconds: 60 }))).toBe('timestamp_too_old');
    expect(await verify(BODY, headers(), SECRET, { now: TS + 3600, toleranceSeconds: 7200 })).toEqual({ test: 2432232314 });
  });

  it('rejects a body altered by one byte', async () => {
    expect(await codeOf(verify('{"test": 2432232315}', headers(), SECRET, { now: TS }))).toBe('invalid_signature');
    const bytes = Buffer.from(BODY);
    bytes[bytes.length - 1] ^= 1;
    expect(await codeOf(verify(bytes, headers(), SECRET, { now: TS }))).toBe('invalid_signature');
  });

  it('rejects the body re-serialised with different spacing (why the raw body matters)', async () => {
    const reserialised = JSON.stringify(JSON.parse(BODY));
    expect(reserialised).not.toBe(BODY);
    expect(await codeOf(verify(reserialised, headers(), SECRET, { now: TS }))).toBe('invalid_signature');
  });

  it('rejects a timestamp changed after signing even within tolerance', async () => {
    expect(await codeOf(verify(BODY, headers(SIGNATURE, TS + 1), SECRET, { now: TS }))).toBe('invalid_signature');
  });

  it('rejects the wrong secret', async () => {
    expect(await codeOf(verify(BODY, headers(), 'whsec_' + btoa('another secret'), { now: TS }))).toBe('invalid_signature');
  });

  it('reports each missing header by name', async () => {
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const) {
      const h: Record<string, string> = headers();
      delete h[name];
      const err = (await verify(BODY, h, SECRET, { now: TS }).catch((e: unknown) => e)) as WebhookVerificationError;
      expect(err.code).toBe('missing_header');
      expect(err.message).toContain(name);
    }
  });

  it('rejects a non-numeric timestamp as invalid_header', async () => {
    const h = { ...headers(), 'webhook-timestamp': '1614265330.5' };
    expect(await codeOf(verify(BODY, h, SECRET, { now: TS }))).toBe('invalid_header');
  });

  it('rejects a secret that is not base64 as invalid_secret, and an empty secret list', async () => {
    expect(await codeOf(verify(BODY, headers(), 'whsec_not base64!', { now: TS }))).toBe('invalid_secret');
    expect(await codeOf(verify(BODY, headers(), [], { now: TS }))).toBe('invalid_secret');
    expect(await codeOf(verify(BODY, headers(), '', { now: TS }))).toBe('invalid_secret');
  });

  it('rejects an authentic body that is not JSON as invalid_body, but returns text on request', async () => {
    const body = 'not json';
    const h = await sign(body, SECRET, { id: ID, timestamp: TS });
    expect(await codeOf(verify(body, h, SECRET, { now: TS }))).toBe('invalid_body');
    expect(await verify(body, h, SECRET, { now: TS, parse: 'text' })).toBe('not json');
    expect(await verify(body, h, SECRET, { now: TS, parse: (t) => t.toUpperCase() })).toBe('NOT JSON');
  });

  it('rejects a parsed object passed as the body instead of the raw bytes', async () => {
    const parsed = JSON.parse(BODY) as unknown as string;
    expect(await codeOf(verify(parsed, headers(), SECRET, { now: TS }))).toBe('invalid_body');
  });
});

describe('secret rotation', () => {
  const OLD = 'whsec_' + btoa('old secret bytes');
  const NEW = 'whsec_' + btoa('new secret bytes');

  it('accepts a request signed with either of several secrets', async () => {
    const byOld = await sign(BODY, OLD, { timestamp: TS });
    const byNew = await sign(BODY, NEW, { timestamp: TS });
    expect(await verify(BODY, byOld, [NEW, OLD], { now: TS })).toEqual({ test: 2432232314 });
    expect(await verify(BODY, byNew, [NEW, OLD], { now: TS })).toEqual({ test: 2432232314 });
    expect(await codeOf(verify(BODY, byOld, [NEW], { now: TS }))).toBe('invalid_signature');
  });

  it('signs with several secrets as several space-separated signatures', async () => {
    const h = await sign(BODY, [OLD, NEW], { timestamp: TS });
    expect(h['webhook-signature'].split(' ')).toHaveLength(2);
    expect(await verify(BODY, h, NEW, { now: TS })).toEqual({ test: 2432232314 });
    expect(await verify(BODY, h, OLD, { now: TS })).toEqual({ test: 2432232314 });
  });
});

describe('interop with the standardwebhooks package', () => {
  const now = () => Math.floor(Date.now() / 1000);

  it('verifies what standardwebhooks signs', async () => {
    const theirs = new StandardWebhook(SECRET);
    const ts = now();
    const body = '{"type":"invoice.paid","data":{"amount":42,"name":"Zoë"}}';
    const signature = theirs.sign('msg_interop1', new Date(ts * 1000), body);
    const h = { 'webhook-id': 'msg_interop1', 'webhook-timestamp': String(ts), 'webhook-signature': signature };
    expect(await verify(body, h, SECRET, { now: ts })).toEqual({ type: 'invoice.paid', data: { amount: 42, name: 'Zoë' } });
    expect(await codeOf(verify(body + ' ', h, SECRET, { now: ts }))).toBe('invalid_signature');
  });

  it('produces headers standardwebhooks accepts (and it rejects a tampered body)', async () => {
    const body = '{"hello":  "world"}';
    const h = await sign(body, SECRET, { id: 'msg_interop2' });
    expect(new StandardWebhook(SECRET).verify(body, h)).toEqual({ hello: 'world' });
    expect(() => new StandardWebhook(SECRET).verify(body.replace('world', 'World'), h)).toThrow();
  });
});

describe('interop with the svix package', () => {
  it('verifies what svix signs, sent under svix-* header names', async () => {
    const ts = Math.floor(Date.now() / 1000);
    const body = '{"event":"user.created","id":7}';
    const signature = new SvixWebhook(SECRET).sign('msg_svix1', new Date(ts * 1000), body);
    const h = { 'svix-id': 'msg_svix1', 'svix-timestamp': String(ts), 'svix-signature': signature };
    const result = await verifyWebhook(body, h, SECRET, { now: ts });
    expect(result.event).toEqual({ event: 'user.created', id: 7 });
    expect(result.id).toBe('msg_svix1');
  });

  it('produces headers svix accepts under both header families', async () => {
    const body = '{"event":"user.deleted"}';
    const h = await sign(body, SECRET, { id: 'msg_svix2' });
    expect(new SvixWebhook(SECRET).verify(body, h)).toEqual({ event: 'user.deleted' });
    const svixNames = {
      'svix-id': h['webhook-id'],
      'svix-timestamp': h['webhook-timestamp'],
      'svix-signature': h['webhook-signature'],
    };
    expect(new SvixWebhook(SECRET).verify(body, svixNames)).toEqual({ event: 'user.deleted' });
    expect(() => new SvixWebhook(SECRET).verify('{"event":"user.created"}', h)).toThrow();
  });
});
