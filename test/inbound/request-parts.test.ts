import { describe, expect, it } from 'vitest';
import { forwardedHeaders, loggedHeaders } from '../../src/inbound/headers.js';
import { KEY_MAX_LENGTH, RequestView } from '../../src/inbound/selectors.js';

/** The parts of a received request the gateway picks out: forwarded headers, logged headers, keys. */
describe('inbound request parts', () => {
  it('forwards the provider\'s headers, not credentials, hop-by-hop headers or what a proxy in front added', () => {
    const received = {
      'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': 'sha256=ab',
      authorization: 'Bearer herald', cookie: 'sid=1', 'x-forwarded-for': '10.0.0.1', 'x-forwarded-access-token': 'ya29.secret',
      'x-forwarded-client-cert': 'Hash=…', 'x-forwarded-user': 'alice', forwarded: 'for=10.0.0.1', 'proxy-connection': 'keep-alive',
      connection: 'keep-alive, x-hop', 'x-hop': 'ends here', host: 'herald.example', 'content-length': '2', 'webhook-id': 'spoofed',
    };
    expect(forwardedHeaders(received, null)).toEqual({
      'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': 'sha256=ab',
    });
    expect(forwardedHeaders(received, ['X-GitHub-Event'])).toEqual({ 'content-type': 'application/json', 'x-github-event': 'push' });
    const logged = loggedHeaders(received);
    expect(logged).toMatchObject({ authorization: '[redacted]', cookie: '[redacted]', 'x-forwarded-access-token': '[redacted]', 'x-github-event': 'push' });
  });

  it('keeps keys as they are unless too long or holding a NUL, which are stored as their hash', () => {
    const view = (body: unknown) => new RequestView({}, Buffer.from(JSON.stringify(body)), 'application/json');
    expect(view({ k: 'page-1' }).selectKey('body:$.k')).toBe('page-1');
    expect(view({ k: 42 }).selectKey('body:$.k')).toBe('42');
    expect(view({}).selectKey('body:$.k')).toBeNull();
    const long = 'x'.repeat(KEY_MAX_LENGTH + 1);
    const hashed = view({ k: long }).selectKey('body:$.k');
    expect(hashed).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(view({ k: long }).selectKey('body:$.k')).toBe(hashed); // the same key each time
    expect(view({ k: 'x'.repeat(KEY_MAX_LENGTH) }).selectKey('body:$.k')).toBe('x'.repeat(KEY_MAX_LENGTH));
    const nul = view({ k: 'a\u0000b' }).selectKey('body:$.k');
    expect(nul).toMatch(/^sha256:/);
    expect(nul).not.toBe(view({ k: 'a\u0000c' }).selectKey('body:$.k'));
  });
});
