import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiContext } from '../../src/api/context.js';
import { contentSecurityPolicy, uiRoutes } from '../../src/api/routes/ui.js';

/** How the server hands out the web UI: no browser needed. */
const ctx = (portalFrameAncestors: string[]) => ({ config: { portalFrameAncestors } }) as unknown as ApiContext;

describe('UI routes', () => {
  let dir: string;
  let f: FastifyInstance;
  let framed: FastifyInstance;
  let missing: FastifyInstance;

  beforeAll(async () => {
    dir = `${mkdtempSync(join(tmpdir(), 'herald-ui-dist-'))}/`;
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="/ui/assets/app-abc123.js"></script>');
    writeFileSync(join(dir, 'assets/app-abc123.js'), 'console.log(1)');
    writeFileSync(join(dir, 'assets/app-abc123.js.gz'), gzipSync('console.log(1)'));
    writeFileSync(join(dir, 'secret.txt'), 'not an asset');
    f = Fastify();
    uiRoutes(f, ctx([]), { dir });
    framed = Fastify();
    uiRoutes(framed, ctx(['https://app.example.com', "https://evil.example; script-src *"]), { dir });
    missing = Fastify();
    uiRoutes(missing, ctx([]), { dir: join(dir, 'nope/') });
    await Promise.all([f.ready(), framed.ready(), missing.ready()]);
  });
  afterAll(async () => {
    await Promise.all([f.close(), framed.close(), missing.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers every path under /ui/ and /portal/ with the app, never cached', async () => {
    for (const url of ['/ui/', '/ui/apps/acme/endpoints/ep_1', '/portal/', '/portal/deliveries/dlv_1?dark=1']) {
      const res = await f.inject({ url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toContain('text/html');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).toContain('/ui/assets/app-abc123.js');
    }
    const bare = await f.inject({ url: '/portal?primaryColor=%23000' });
    expect(bare.statusCode).toBe(302);
    expect(bare.headers.location).toBe('/portal/?primaryColor=%23000');
  });

  it('sends the strict CSP, nosniff and no-referrer; frames the portal only where configured', async () => {
    const ui = await f.inject({ url: '/ui/' });
    expect(ui.headers['content-security-policy']).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; connect-src 'self'; base-uri 'none'; form-action 'self'; object-src 'none'; frame-ancestors 'none'",
    );
    expect(ui.headers['x-content-type-options']).toBe('nosniff');
    expect(ui.headers['referrer-policy']).toBe('no-referrer');
    expect(ui.headers['x-frame-options']).toBe('DENY');
    expect((await f.inject({ url: '/portal/' })).headers['content-security-policy']).toContain("frame-ancestors 'none'");

    const portal = await framed.inject({ url: '/portal/' });
    // The malformed origin is dropped, not spliced into the header.
    expect(portal.headers['content-security-policy']).toMatch(/frame-ancestors https:\/\/app\.example\.com$/);
    expect(portal.headers['x-frame-options']).toBeUndefined();
    const console = await framed.inject({ url: '/ui/' });
    expect(console.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(console.headers['x-frame-options']).toBe('DENY');
  });

  it('serves hashed assets for a year, compressed when the browser takes it', async () => {
    const res = await f.inject({ url: '/ui/assets/app-abc123.js', headers: { 'accept-encoding': 'gzip, br' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    const plain = await f.inject({ url: '/portal/assets/app-abc123.js' });
    expect(plain.body).toBe('console.log(1)');
  });

  it('serves nothing outside assets/, and no missing asset as the app', async () => {
    expect((await f.inject({ url: '/ui/assets/missing.js' })).statusCode).toBe(404);
    for (const url of ['/ui/assets/../secret.txt', '/ui/assets/%2e%2e/secret.txt', '/ui/assets/..%2fsecret.txt']) {
      const res = await f.inject({ url });
      expect(res.body, url).not.toContain('not an asset');
    }
  });

  it('says to build the UI when dist/ui is missing', async () => {
    const res = await missing.inject({ url: '/ui/' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ error: { code: 'ui_not_built', message: expect.stringContaining('npm run build') } });
  });

  it('builds frame-ancestors from origins only', () => {
    expect(contentSecurityPolicy([])).toContain("frame-ancestors 'none'");
    expect(contentSecurityPolicy(['https://a.example', 'http://localhost:3000', "'self'"])).toContain("frame-ancestors https://a.example http://localhost:3000 'self'");
    expect(contentSecurityPolicy(['javascript:alert(1)', 'https://a.example/path', '*'])).toContain("frame-ancestors 'none'");
  });
});
