import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, eventually, type TestHerald } from '../helpers/herald.js';
import { fixtures } from '../helpers/fixtures.js';
import { heraldTargets } from '../helpers/postgres.js';
import type { Receiver } from '../helpers/receiver.js';

/**
 * The customer portal's and the console's server side: one-time links, session cookies,
 * CSRF, and capabilities checked on every route; on SQLite and PostgreSQL.
 */
const f = fixtures();
const targets = heraldTargets(f.cleanup);
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** A browser of one Herald: keeps the session cookie it is given, sends its CSRF token on writes. */
class Browser {
  cookie = '';
  csrf = '';
  setCookie = '';
  constructor(private readonly t: TestHerald, private readonly kind?: 'portal' | 'console') {}

  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(this.t.url + path, {
      method,
      headers: {
        ...(this.cookie ? { cookie: this.cookie } : {}),
        ...(this.csrf && method !== 'GET' ? { 'x-herald-csrf': this.csrf } : {}),
        ...(this.kind ? { 'x-herald-session': this.kind } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const set = res.headers.get('set-cookie');
    if (set) {
      this.setCookie = set;
      this.cookie = set.split(';')[0];
    }
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  async open(token: string) {
    const res = await this.call('POST', '/v1/sessions', { portalToken: token });
    if (res.status === 201) this.csrf = res.body.csrfToken;
    return res;
  }
}

for (const target of targets) {
  describe(`portal and console sessions on ${target.name}`, () => {
    let t: TestHerald;
    let receiver: Receiver;
    let app: any;
    let other: any;
    let ep: any;
    const link = async (body: Record<string, unknown> = {}, appKey = app.id) => {
      const res = await t.api('POST', `/v1/apps/${appKey}/portal-access`, body);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body as { url: string; token: string; expiresAt: string };
    };
    const portal = async (capabilities?: string[]) => {
      const b = new Browser(t, 'portal');
      expect((await b.open((await link(capabilities ? { capabilities } : {})).token)).status).toBe(201);
      return b;
    };

    beforeAll(async () => {
      t = await f.herald(target.env());
      receiver = await f.receiver();
      app = (await t.api('POST', '/v1/apps', { name: 'Acme', uid: 'acme', portal: { productName: 'Acme CRM', primaryColor: '#4f46e5', darkMode: true } })).body;
      other = (await t.api('POST', '/v1/apps', { name: 'Other', uid: 'other' })).body;
      ep = (await t.api('POST', `/v1/apps/${app.id}/endpoints`, { url: `${receiver.url}/hook` })).body;
      await t.api('POST', `/v1/apps/${other.id}/endpoints`, { url: `${receiver.url}/other` });
    });

    it('a link opens one session, once: the token is in the fragment, stored only as a hash, and a second use is refused', async () => {
      const l = await link({ expiresInSeconds: 600 });
      expect(l.url).toBe(`${t.url}/portal/#token=${l.token}`);
      expect(Date.parse(l.expiresAt) - Date.now()).toBeGreaterThan(590_000);
      const b = new Browser(t);
      const s = await b.open(l.token);
      expect(s.status).toBe(201);
      expect(s.body).toMatchObject({
        kind: 'portal', app: { id: app.id, name: 'Acme' }, capabilities: ['view', 'manage_endpoints', 'reveal_secrets', 'rotate_secrets', 'send'],
        theme: { productName: 'Acme CRM', primaryColor: '#4f46e5', darkMode: true },
      });
      expect(Date.parse(s.body.expiresAt)).toBe(Date.parse(l.expiresAt));
      expect(b.setCookie).toMatch(/^herald_portal=hs_[\w-]{43}; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Strict$/);
      const res = await fetch(`${t.url}/v1/session`, { headers: { cookie: b.cookie } });
      expect(res.headers.get('cache-control')).toBe('no-store');
      // The database holds neither the token nor the cookie, only their hashes.
      expect(await t.herald.store.getSession(sha256(b.cookie.split('=')[1]), Date.now())).toMatchObject({ kind: 'portal', appId: app.id });
      expect(await t.herald.store.getSession(b.cookie.split('=')[1], Date.now())).toBeNull();

      const again = await new Browser(t).open(l.token);
      expect(again.status).toBe(401);
      expect(again.body.error.code).toBe('invalid_token');
      expect((await new Browser(t).open('hpt_made-up')).body.error.code).toBe('invalid_token');
      // After a reload the page has only the cookie: GET /v1/session gives the CSRF token back.
      const reloaded = new Browser(t);
      reloaded.cookie = b.cookie;
      expect((await reloaded.call('GET', '/v1/session')).body.csrfToken).toBe(s.body.csrfToken);
    });

    it('an expired link and an expired session are refused', async () => {
      const token = 'hpt_expired-token-for-the-test';
      await t.herald.store.createPortalToken(sha256(token), { appId: app.id, capabilities: ['view'], label: null, expiresAt: Date.now() - 1 }, Date.now() - 1000);
      expect((await new Browser(t).open(token)).body.error.code).toBe('invalid_token');
      const b = new Browser(t);
      b.cookie = 'herald_portal=hs_expired';
      await t.herald.store.createSession(sha256('hs_expired'), {
        kind: 'portal', appId: app.id, capabilities: ['view'], label: null, expiresAt: Date.now() - 1, createdAt: Date.now() - 1000,
      });
      const res = await b.call('GET', `/v1/apps/${app.id}/endpoints`);
      expect(res.status).toBe(401);
      expect(res.body.error.message).toMatch(/expired/);
    });

    it('lifetimes: 1 h by default, 7 days at most; capabilities are validated', async () => {
      const l = await link();
      expect(Math.abs(Date.parse(l.expiresAt) - Date.now() - 3600_000)).toBeLessThan(5000);
      expect((await t.api('POST', `/v1/apps/${app.id}/portal-access`, { expiresInSeconds: 7 * 86_400 + 1 })).status).toBe(400);
      expect((await t.api('POST', `/v1/apps/${app.id}/portal-access`, { capabilities: ['admin'] })).status).toBe(400);
      expect((await t.api('POST', '/v1/apps/nope/portal-access', {})).status).toBe(404);
      // Only the product's backend hands out links: not without the key, not from a portal session.
      expect((await fetch(`${t.url}/v1/apps/${app.id}/portal-access`, { method: 'POST' })).status).toBe(401);
      const b = await portal();
      expect((await b.call('POST', `/v1/apps/${app.id}/portal-access`, {})).body.error.code).toBe('forbidden');
    });

    it('a portal session sees its own app and nothing else: other apps and operator routes are 403', async () => {
      const b = await portal();
      for (const path of [`/v1/apps/${app.id}`, '/v1/apps/acme', `/v1/apps/${app.id}/endpoints`, `/v1/apps/${app.id}/deliveries`, `/v1/apps/${app.id}/events`, '/v1/event-types', `/v1/apps/${app.id}/endpoints/${ep.id}/stats/timeseries`]) {
        expect((await b.call('GET', path)).status, path).toBe(200);
      }
      const refused: Array<[string, string, unknown?]> = [
        ['GET', `/v1/apps/${other.id}`], ['GET', `/v1/apps/${other.id}/endpoints`], ['GET', '/v1/apps/other/deliveries'],
        ['GET', '/v1/apps/does-not-exist/endpoints'], ['POST', `/v1/apps/${other.id}/endpoints`, { url: `${receiver.url}/x` }],
        ['GET', '/v1/apps'], ['POST', '/v1/apps', { name: 'mine' }], ['PATCH', `/v1/apps/${app.id}`, { name: 'renamed' }], ['DELETE', `/v1/apps/${app.id}`],
        ['GET', '/v1/sources'], ['POST', '/v1/event-types', { name: 'x.y' }], ['POST', `/v1/apps/${app.id}/events`, { type: 'x.y', data: {} }],
        ['POST', `/v1/apps/${app.id}/portal-access/expire-all`, {}],
      ];
      for (const [method, path, body] of refused) {
        const res = await b.call(method, path, body);
        expect(res.status, `${method} ${path}`).toBe(403);
        expect(res.body.error.code).toBe('forbidden');
      }
      expect((await t.api('GET', `/v1/apps/${app.id}`)).body.name).toBe('Acme');
    });

    it('each capability allows exactly its routes, checked on the server', async () => {
      const d = await t.api('POST', `/v1/apps/${app.id}/endpoints/${ep.id}/test`);
      const since = new Date(Date.now() - 3600_000).toISOString();
      const calls: Record<string, Array<[string, string, unknown?]>> = {
        manage_endpoints: [['POST', `/v1/apps/${app.id}/endpoints`, { url: `${receiver.url}/cap` }], ['PATCH', `/v1/apps/${app.id}/endpoints/${ep.id}`, { description: 'changed' }]],
        reveal_secrets: [['GET', `/v1/apps/${app.id}/endpoints/${ep.id}/secret`]],
        rotate_secrets: [['POST', `/v1/apps/${app.id}/endpoints/${ep.id}/secret/rotate`, { graceSeconds: 60 }]],
        send: [['POST', `/v1/apps/${app.id}/endpoints/${ep.id}/test`, {}], ['POST', `/v1/apps/${app.id}/endpoints/${ep.id}/recover`, { since }]],
      };
      await eventually(async () => (await t.api('GET', `/v1/apps/${app.id}/deliveries/${d.body.deliveryId}`)).body.status === 'success');
      calls.send.push(['POST', `/v1/apps/${app.id}/deliveries/${d.body.deliveryId}/retry`]);
      for (const granted of Object.keys(calls)) {
        const b = await portal([granted]);
        expect((await b.call('GET', '/v1/session')).body.capabilities).toEqual(['view', granted]);
        for (const [capability, list] of Object.entries(calls)) {
          for (const [method, path, body] of list) {
            const res = await b.call(method, path, body);
            if (capability === granted) expect(res.status, `${granted}: ${method} ${path} ${JSON.stringify(res.body)}`).toBeLessThan(300);
            else expect([res.status, res.body.error?.code, res.body.error?.details], `${granted}: ${method} ${path}`).toEqual([403, 'forbidden', { capability }]);
          }
        }
      }
      const viewer = await portal(['view']);
      expect((await viewer.call('DELETE', `/v1/apps/${app.id}/endpoints/${ep.id}`)).status).toBe(403);
      expect((await t.api('GET', `/v1/apps/${app.id}/endpoints/${ep.id}`)).status).toBe(200);
    });

    it('a view-only session sees the names of custom headers, not their values (they carry receivers\' credentials)', async () => {
      const made = (await t.api('POST', `/v1/apps/${app.id}/endpoints`, { url: `${receiver.url}/with-auth`, headers: { authorization: 'Bearer receiver-secret' } })).body;
      const sent = await t.api('POST', `/v1/apps/${app.id}/endpoints/${made.id}/test`);
      const delivered = await eventually(async () => {
        const d = (await t.api('GET', `/v1/apps/${app.id}/deliveries/${sent.body.deliveryId}`)).body;
        return d.status === 'success' && d;
      });
      expect(delivered.request.headers.authorization).toBe('Bearer receiver-secret');
      const viewer = await portal(['view']);
      expect((await viewer.call('GET', `/v1/apps/${app.id}/endpoints/${made.id}`)).body.headers).toEqual({ authorization: '(hidden)' });
      const listed = (await viewer.call('GET', `/v1/apps/${app.id}/endpoints`)).body.data.find((e: any) => e.id === made.id);
      expect(listed.headers).toEqual({ authorization: '(hidden)' });
      expect((await viewer.call('GET', `/v1/apps/${app.id}/deliveries/${sent.body.deliveryId}`)).body.request.headers.authorization).toBe('(hidden)');
      // Whoever may edit the endpoint sees them, as the operator does.
      const editor = await portal(['manage_endpoints']);
      expect((await editor.call('GET', `/v1/apps/${app.id}/endpoints/${made.id}`)).body.headers).toEqual({ authorization: 'Bearer receiver-secret' });
    });

    it('changes made with the cookie need the CSRF token; reads do not', async () => {
      const b = await portal();
      const csrf = b.csrf;
      b.csrf = '';
      const body = { url: `${receiver.url}/csrf` };
      expect((await b.call('GET', `/v1/apps/${app.id}/endpoints`)).status).toBe(200);
      const missing = await b.call('POST', `/v1/apps/${app.id}/endpoints`, body);
      expect([missing.status, missing.body.error.code]).toEqual([403, 'csrf_failed']);
      expect((await b.call('POST', `/v1/apps/${app.id}/endpoints`, body, { 'x-herald-csrf': `${csrf}x` })).status).toBe(403);
      // Another session's token is no good either.
      const otherSession = await portal();
      expect((await b.call('POST', `/v1/apps/${app.id}/endpoints`, body, { 'x-herald-csrf': otherSession.csrf })).status).toBe(403);
      expect((await b.call('POST', `/v1/apps/${app.id}/endpoints`, body, { 'x-herald-csrf': csrf })).status).toBe(201);
    });

    it('expire-all ends an app\'s sessions, or only those of one sessionId, and voids unused links', async () => {
      const mine = new Browser(t, 'portal');
      await mine.open((await link({ sessionId: 'user-1' })).token);
      const theirs = new Browser(t, 'portal');
      await theirs.open((await link({ sessionId: 'user-2' })).token);
      const unused = await link({ sessionId: 'user-1' });
      const res = await t.api('POST', `/v1/apps/${app.id}/portal-access/expire-all`, { sessionId: 'user-1' });
      expect(res.body).toEqual({ expired: 1 });
      expect((await mine.call('GET', '/v1/session')).status).toBe(401);
      expect((await theirs.call('GET', '/v1/session')).status).toBe(200);
      expect((await new Browser(t).open(unused.token)).body.error.code).toBe('invalid_token');
      expect((await t.api('POST', `/v1/apps/${app.id}/portal-access/expire-all`, {})).body.expired).toBeGreaterThanOrEqual(1);
      expect((await theirs.call('GET', '/v1/session')).status).toBe(401);
    });

    it('the console: signs in with the API key (never with a wrong one), sees everything, signs out', async () => {
      const b = new Browser(t, 'console');
      const wrong = await b.call('POST', '/v1/sessions', { apiKey: 'not-the-key' });
      expect([wrong.status, wrong.body.error.code]).toEqual([401, 'unauthorized']);
      const s = await b.call('POST', '/v1/sessions', { apiKey: API_KEY });
      expect(s.status).toBe(201);
      expect(s.body).toMatchObject({ kind: 'operator', app: null, capabilities: ['view', 'manage_endpoints', 'reveal_secrets', 'rotate_secrets', 'send'] });
      expect(b.setCookie).toMatch(/^herald_console=hs_[\w-]+; Max-Age=43200; Path=\/; HttpOnly; SameSite=Strict$/);
      b.csrf = s.body.csrfToken;
      expect((await b.call('GET', '/v1/apps')).body.data.map((a: any) => a.id)).toEqual(expect.arrayContaining([app.id, other.id]));
      expect((await b.call('GET', '/v1/sources')).status).toBe(200);
      expect((await b.call('POST', '/v1/apps', { name: 'From the console' })).status).toBe(201);
      // The console and a portal in one browser: each request says which session it speaks for.
      const p = new Browser(t, 'portal');
      await p.open((await link()).token);
      const both = new Browser(t, 'portal');
      both.cookie = `${b.cookie}; ${p.cookie}`;
      expect((await both.call('GET', '/v1/session')).body.kind).toBe('portal');
      const asConsole = new Browser(t, 'console');
      asConsole.cookie = both.cookie;
      expect((await asConsole.call('GET', '/v1/session')).body.kind).toBe('operator');

      expect((await b.call('DELETE', '/v1/session')).status).toBe(204);
      expect(b.setCookie).toMatch(/^herald_console=; Max-Age=0; Path=\/; HttpOnly; SameSite=Strict$/);
      b.cookie = both.cookie.split('; ')[0];
      expect((await b.call('GET', '/v1/apps')).status).toBe(401);
    });

    it('themes: colours and logos are checked before the portal puts them into its page', async () => {
      for (const portalTheme of [{ primaryColor: 'red; background: url(x)' }, { logoUrl: 'javascript:alert(1)' }, { logoUrl: 'http://plain.example/logo.png' }, { extra: 1 }]) {
        const res = await t.api('PATCH', `/v1/apps/${other.id}`, { portal: portalTheme });
        expect(res.status, JSON.stringify(portalTheme)).toBe(400);
      }
      const ok = await t.api('PATCH', `/v1/apps/${other.id}`, { portal: { logoUrl: 'https://cdn.example/logo.png', primaryColor: '#0a0' } });
      expect(ok.body.portal).toEqual({ logoUrl: 'https://cdn.example/logo.png', primaryColor: '#0a0' });
      expect((await t.api('PATCH', `/v1/apps/${other.id}`, { portal: null })).body.portal).toBeNull();
    });
  });
}

describe('guessing the API key at sign-in', () => {
  it('counts toward the auth-failure throttle like a wrong Bearer key: then even the right key waits', async () => {
    const t = await f.herald({ HERALD_AUTH_FAILURES_PER_MINUTE: '6' });
    const signIn = (apiKey: string) => new Browser(t).call('POST', '/v1/sessions', { apiKey });
    // A browser coming back with an expired session answers 401 to each of its calls: those are no guesses.
    const stale = new Browser(t, 'console');
    stale.cookie = 'herald_console=hs_long-expired';
    for (let i = 0; i < 5; i++) expect((await stale.call('GET', '/v1/apps')).status).toBe(401);
    for (let i = 0; i < 3; i++) expect((await signIn(`guess-${i}`)).status).toBe(401);
    const refused = await signIn(API_KEY);
    expect([refused.status, refused.body.error.code]).toEqual([429, 'rate_limited']);
    // Portal tokens are 256-bit random: guessing them is hopeless, but their failures count too.
    expect((await new Browser(t).open('hpt_guess')).status).toBe(429);
  });

  it('leaves alone the signed-in browsers of a throttled address (they present no key), and behind a trusted proxy tells clients apart', async () => {
    const t = await f.herald({ HERALD_AUTH_FAILURES_PER_MINUTE: '6', HERALD_TRUST_PROXY: '127.0.0.1' });
    const console_ = new Browser(t, 'console');
    expect((await console_.call('POST', '/v1/sessions', { apiKey: API_KEY })).status).toBe(201);
    const guess = (from: string) => fetch(`${t.url}/v1/apps`, { headers: { authorization: 'Bearer wrong-key', 'x-forwarded-for': from } });
    for (let i = 0; i < 3; i++) expect((await guess('203.0.113.7')).status).toBe(401);
    expect((await guess('203.0.113.7')).status).toBe(429);
    // Another client behind the same proxy keeps its own bucket; the browser with a session keeps working.
    expect((await fetch(`${t.url}/v1/apps`, { headers: { authorization: `Bearer ${API_KEY}`, 'x-forwarded-for': '198.51.100.9' } })).status).toBe(200);
    expect((await console_.call('GET', '/v1/apps', undefined, { 'x-forwarded-for': '203.0.113.7' })).status).toBe(200);
    expect((await fetch(`${t.url}/v1/apps`, { headers: { authorization: `Bearer ${API_KEY}`, 'x-forwarded-for': '203.0.113.7' } })).status).toBe(429);
  });
});

describe('a portal that may be framed', () => {
  it('sets its cookie SameSite=None; Secure; Partitioned, so it works inside the product\'s page', async () => {
    const t = await f.herald({ HERALD_PORTAL_FRAME_ANCESTORS: 'https://app.example.com, https://*.example.org' });
    expect(t.herald.config.portalFrameAncestors).toEqual(['https://app.example.com', 'https://*.example.org']);
    const app = (await t.api('POST', '/v1/apps', { name: 'Framed' })).body;
    const { token } = (await t.api('POST', `/v1/apps/${app.id}/portal-access`, {})).body;
    const b = new Browser(t);
    await b.open(token);
    expect(b.setCookie).toMatch(/; Path=\/; HttpOnly; Secure; Partitioned; SameSite=None$/);
    const signedIn = b.cookie;
    expect((await b.call('DELETE', '/v1/session')).status).toBe(204);
    expect(b.setCookie).toBe('herald_portal=; Max-Age=0; Path=/; HttpOnly; Secure; Partitioned; SameSite=None');
    b.cookie = signedIn;
    // The console is never framed: its cookie stays Strict.
    await b.call('POST', '/v1/sessions', { apiKey: API_KEY });
    expect(b.setCookie).toMatch(/SameSite=Strict$/);
  });
});
