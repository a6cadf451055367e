import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { embeddedIPv4, isBlockedAddress } from '../../src/core/address.js';
import { decideHealth, type HealthState } from '../../src/core/health.js';
import { AddressPolicy } from '../../src/core/address-policy.js';
import { endpointUrlProblem } from '../../src/core/endpoint-url.js';
import { subscribes } from '../../src/core/match.js';
import { decide, parseRetryAfter } from '../../src/core/retry.js';
import { generateSecret, isValidSecret, signLegacyHex, signStandard, standardKey } from '../../src/core/signing.js';
import { loadConfig } from '../../src/config.js';
import { newId } from '../../src/ids.js';

const policy = { schedule: [5, 300, 1800], jitter: 0.2, maxRetryAfterSeconds: 3600 };

describe('retry policy', () => {
  it('succeeds on any 2xx and fails for good after the last retry', () => {
    expect(decide({ statusCode: 204 }, 1, false, policy)).toEqual({ status: 'success' });
    expect(decide({ statusCode: 500 }, 4, false, policy)).toEqual({ status: 'failed' });
    expect(decide({ statusCode: null }, 3, false, policy).status).toBe('pending');
  });

  it('applies the schedule with bounded jitter', () => {
    expect(decide({ statusCode: 500 }, 2, false, policy, () => 0)).toEqual({ status: 'pending', delayMs: 240_000 });
    expect(decide({ statusCode: 500 }, 2, false, policy, () => 0.5)).toEqual({ status: 'pending', delayMs: 300_000 });
    const high = decide({ statusCode: 500 }, 2, false, policy, () => 0.999999);
    expect(high.status === 'pending' && high.delayMs).toBeLessThanOrEqual(360_000);
    expect(high.status === 'pending' && high.delayMs).toBeGreaterThan(359_000);
  });

  it('honours Retry-After on 429/503 within the bound, and only there', () => {
    expect(decide({ statusCode: 429, retryAfterSeconds: 60 }, 1, false, policy, () => 0.5)).toEqual({ status: 'pending', delayMs: 60_000 });
    expect(decide({ statusCode: 503, retryAfterSeconds: 999_999 }, 1, false, policy, () => 0.5)).toEqual({ status: 'pending', delayMs: 3_600_000 });
    // A shorter Retry-After than the schedule never makes Herald retry sooner.
    expect(decide({ statusCode: 429, retryAfterSeconds: 1 }, 2, false, policy, () => 0.5)).toEqual({ status: 'pending', delayMs: 300_000 });
    expect(decide({ statusCode: 500, retryAfterSeconds: 60 }, 1, false, policy, () => 0.5)).toEqual({ status: 'pending', delayMs: 5000 });
  });

  it('treats 410 as gone and one-shot retries as final', () => {
    expect(decide({ statusCode: 410 }, 1, false, policy)).toEqual({ status: 'failed', disableEndpoint: 'gone' });
    expect(decide({ statusCode: 500 }, 1, true, policy)).toEqual({ status: 'failed' });
  });

  it('parses Retry-After seconds and HTTP dates', () => {
    expect(parseRetryAfter('120')).toBe(120);
    expect(parseRetryAfter(new Date(Date.UTC(2030, 0, 1, 0, 1)).toUTCString(), Date.UTC(2030, 0, 1))).toBe(60);
    expect(parseRetryAfter('soon')).toBeNull();
    expect(parseRetryAfter(undefined)).toBeNull();
  });
});

describe('subscriptions', () => {
  it('matches exact names, * and trailing wildcard segments', () => {
    expect(subscribes(null, 'person.created')).toBe(true);
    expect(subscribes(['*'], 'x')).toBe(true);
    expect(subscribes(['person.*'], 'person.created')).toBe(true);
    expect(subscribes(['person.*'], 'person.note.added')).toBe(true);
    expect(subscribes(['person.*'], 'personal.created')).toBe(false);
    expect(subscribes(['person.*'], 'person')).toBe(false);
    expect(subscribes(['company.created'], 'company.updated')).toBe(false);
  });
});

describe('ids', () => {
  it('are prefixed and sort in creation order, also within one millisecond', () => {
    const ids = Array.from({ length: 2000 }, () => newId('dlv'));
    expect(ids[0]).toMatch(/^dlv_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(newId('evt', Date.UTC(2030, 0, 1)) < newId('evt', Date.UTC(2030, 0, 2))).toBe(true);
  });
});

describe('signing', () => {
  it('produces Standard Webhooks signatures the standardwebhooks package verifies', () => {
    const secret = generateSecret();
    expect(isValidSecret(secret)).toBe(true);
    const body = '{"id":"evt_1","type":"person.created","data":{"name":"Zoë"}}';
    const ts = Math.floor(Date.now() / 1000);
    const sig = signStandard(standardKey(secret), 'evt_1', ts, body);
    const wh = new Webhook(secret);
    expect(wh.verify(body, { 'webhook-id': 'evt_1', 'webhook-timestamp': String(ts), 'webhook-signature': sig })).toEqual(JSON.parse(body));
    expect(() => wh.verify(body + ' ', { 'webhook-id': 'evt_1', 'webhook-timestamp': String(ts), 'webhook-signature': sig })).toThrow();
  });

  it('matches the official Standard Webhooks test vector', () => {
    const sig = signStandard(standardKey('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'), 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}');
    expect(sig).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('keys the legacy hex signature with the secret string itself', () => {
    expect(signLegacyHex('key', 'The quick brown fox jumps over the lazy dog')).toBe('f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8');
  });

  it('rejects weak or malformed secrets', () => {
    expect(isValidSecret('whsec_c2hvcnQ=')).toBe(false);
    expect(isValidSecret('not-a-secret')).toBe(false);
  });
});

describe('addresses and endpoint URLs', () => {
  const prod = new AddressPolicy(false);
  const dev = new AddressPolicy(true);
  it('blocks private, loopback, link-local and mapped addresses in every spelling', () => {
    for (const ip of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '100.64.0.1', '169.254.169.254', '0.0.0.0', '224.0.0.1', '::1', '::', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '[::ffff:10.0.0.1]']) {
      expect(isBlockedAddress(ip), ip).toBe(true);
    }
    for (const ip of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111']) expect(isBlockedAddress(ip), ip).toBe(false);
  });

  it('judges IPv6 forms that embed an IPv4 address by that address: compatible, translated, 6to4, NAT64', () => {
    const cases: Array<[string, string]> = [
      ['::7f00:1', '127.0.0.1'], ['::127.0.0.1', '127.0.0.1'], ['::ffff:0:7f00:1', '127.0.0.1'], ['::ffff:0:127.0.0.1', '127.0.0.1'],
      ['2002:7f00:1::', '127.0.0.1'], ['2002:a9fe:a9fe:1234::1', '169.254.169.254'], ['::a9fe:a9fe', '169.254.169.254'],
      ['64:ff9b::a00:1', '10.0.0.1'], ['64:ff9b::10.0.0.1', '10.0.0.1'], ['64:ff9b:1:c0a8:1:100::', '192.168.1.1'],
      ['0:0:0:0:0:ffff:7f00:1', '127.0.0.1'], ['::FFFF:7F00:1', '127.0.0.1'],
    ];
    for (const [ip, v4] of cases) {
      expect(embeddedIPv4(ip), ip).toBe(v4);
      expect(isBlockedAddress(ip), ip).toBe(true);
      expect(prod.permits(ip), ip).toBe(false);
      expect(endpointUrlProblem(`https://[${ip}]/hook`, prod), ip).toMatch(/private|loopback/);
    }
    // A public IPv4 behind 6to4 or NAT64 is public.
    for (const ip of ['2002:808:808::1', '64:ff9b::808:808']) {
      expect(embeddedIPv4(ip), ip).toBe('8.8.8.8');
      expect(isBlockedAddress(ip), ip).toBe(false);
    }
    for (const ip of ['2606:4700:4700::1111', 'fe80::1', '2001:db8::1']) expect(embeddedIPv4(ip), ip).toBeNull();
    // The operator can allow a private network, whatever the spelling used to reach it.
    expect(new AddressPolicy(false, ['10.0.0.0/8']).permits('::ffff:0:a00:1')).toBe(true);
  });

  it('requires https and public hosts unless dev mode', () => {
    expect(endpointUrlProblem('https://example.com/hook', prod)).toBeNull();
    expect(endpointUrlProblem('http://example.com/hook', prod)).toMatch(/https/);
    for (const u of ['https://127.0.0.1/', 'https://0x7f000001/', 'https://2130706433/', 'https://[::ffff:127.0.0.1]/', 'https://localhost/', 'https://169.254.169.254/latest']) {
      expect(endpointUrlProblem(u, prod), u).toMatch(/private|loopback/);
    }
    expect(endpointUrlProblem('http://127.0.0.1:9/x', dev)).toBeNull();
    expect(endpointUrlProblem('ftp://example.com/', dev)).toMatch(/https/);
    expect(endpointUrlProblem('https://user:pw@example.com/', prod)).toMatch(/credentials/);
    expect(endpointUrlProblem('not a url', dev)).toMatch(/valid/);
  });
});

describe('config', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ databaseUrl: 'sqlite:./data/herald.db', host: '127.0.0.1', port: 8400, dev: false, retrySchedule: [5, 300, 1800, 7200, 18000, 36000, 36000], requestTimeoutMs: 15000 });
  });

  it('lets flags override the environment', () => {
    const c = loadConfig({ HERALD_PORT: '9000', HERALD_DEV: '0' }, { port: '9100', dev: true, db: 'sqlite:/tmp/x/h.db' });
    expect(c.port).toBe(9100);
    expect(c.dev).toBe(true);
    expect(c.dataDir).toBe('/tmp/x');
  });

  it('explains bad values', () => {
    expect(() => loadConfig({ HERALD_PORT: 'eighty' })).toThrow(/HERALD_PORT="eighty" is invalid/);
    expect(() => loadConfig({ HERALD_RETRY_SCHEDULE: '5,abc' })).toThrow(/HERALD_RETRY_SCHEDULE/);
    expect(() => loadConfig({ HERALD_DEV: 'maybe' })).toThrow(/HERALD_DEV/);
    expect(() => loadConfig({ HERALD_DATABASE_URL: 'mysql://x' })).toThrow(/HERALD_DATABASE_URL/);
    expect(loadConfig({ HERALD_RETRY_SCHEDULE: '0.5, 2' }).retrySchedule).toEqual([0.5, 2]);
  });
});

describe('health policy', () => {
  const policy = { disableAfterFailures: 10, disableAfterSeconds: 86_400, failingThreshold: 5, circuitThreshold: 5, circuitBaseMs: 5000, circuitMaxMs: 300_000 };
  const state = (over: Partial<HealthState>): HealthState => ({
    consecutiveFailures: 0, failingSince: null, status: 'active', circuitState: 'closed', circuitSince: null,
    disableAfterFailures: null, disableAfterSeconds: null, ...over,
  });
  const t = 1_000_000_000;

  it('opens the circuit at the threshold with the base cooldown, even when many fail at once', () => {
    expect(decideHealth(state({ consecutiveFailures: 4, failingSince: t }), { fails: 4, reset: false }, t, policy).circuit).toBeNull();
    const d = decideHealth(state({ consecutiveFailures: 50, failingSince: t }), { fails: 50, reset: false }, t, policy);
    expect(d).toEqual({ failing: true, disable: null, circuit: { state: 'open', until: t + 5000 } });
  });

  it('grows the probe cooldown with the outage, up to the maximum', () => {
    const open = (since: number, now: number) => decideHealth(state({ consecutiveFailures: 7, failingSince: since, circuitState: 'half_open', circuitSince: since }), { fails: 1, reset: false, probe: false }, now, policy).circuit;
    expect(open(t, t + 5000)).toEqual({ state: 'open', until: t + 10_000 });
    expect(open(t, t + 40_000)).toEqual({ state: 'open', until: t + 80_000 });
    expect(open(t, t + 3_600_000)).toEqual({ state: 'open', until: t + 3_900_000 });
    expect(decideHealth(state({ circuitState: 'half_open' }), { fails: 0, reset: true, probe: true }, t, policy).circuit).toEqual({ state: 'recovering' });
  });

  it('disables after N failures only once they span the minimum time, and at once on 410', () => {
    const s = state({ consecutiveFailures: 10, failingSince: t });
    expect(decideHealth(s, { fails: 1, reset: false }, t + 3_600_000, policy).disable).toBeNull();
    expect(decideHealth(s, { fails: 1, reset: false }, t + 86_400_000, policy).disable).toBe('consecutive_failures');
    expect(decideHealth(state({ disableAfterFailures: 3, disableAfterSeconds: 1, consecutiveFailures: 3, failingSince: t }), { fails: 1, reset: false }, t + 1000, policy).disable).toBe('consecutive_failures');
    expect(decideHealth(state({}), { fails: 1, reset: false, gone: 'gone' }, t, policy).disable).toBe('gone');
  });
});
