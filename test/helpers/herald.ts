import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig, type HeraldConfig } from '../../src/config.js';
import { createHerald, type Herald, type HeraldOptions } from '../../src/server.js';

export const API_KEY = 'test-key-0123456789abcdef';

export interface TestHerald {
  herald: Herald;
  url: string;
  dir: string;
  /** fetch against the API with the key and JSON handling */
  api: (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<{ status: number; body: any; headers: Headers }>;
  close: () => Promise<void>;
}

/** An in-process Herald on a fresh SQLite file in a temp dir, listening on a random loopback port. */
export async function startHerald(
  env: Record<string, string> = {},
  tweak: (c: HeraldConfig) => void = () => {},
  options: Partial<HeraldOptions> = {},
): Promise<TestHerald> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-test-'));
  const config = loadConfig({
    HERALD_DATABASE_URL: `sqlite:${join(dir, 'herald.db')}`,
    HERALD_PORT: '0',
    HERALD_DEV: '1',
    HERALD_RETRY_JITTER: '0',
    HERALD_LOG_LEVEL: 'silent',
    HERALD_ENCRYPTION_KEY: 'MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=',
    HERALD_API_RATE_LIMIT: '0',
    ...env,
  });
  tweak(config);
  const herald = await createHerald(config, { apiKey: API_KEY, logger: pino({ level: env.HERALD_LOG_LEVEL ?? 'silent' }), ...options });
  const url = (await herald.start())!;
  const api: TestHerald['api'] = async (method, path, body, headers = {}) => {
    const res = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${API_KEY}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON: keep the text */
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };
  return {
    herald, url, dir, api,
    close: async () => {
      await herald.close(2000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns a truthy value. */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 10_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
}

/** Creates an app and an endpoint pointing at `url`; returns their ids and the secret. */
export async function appWithEndpoint(t: TestHerald, url: string, endpoint: Record<string, unknown> = {}) {
  const app = await t.api('POST', '/v1/apps', { name: 'Acme' });
  const ep = await t.api('POST', `/v1/apps/${app.body.id}/endpoints`, { url, ...endpoint });
  if (ep.status !== 201) throw new Error(`endpoint create failed: ${JSON.stringify(ep.body)}`);
  return { appId: app.body.id as string, endpointId: ep.body.id as string, secret: ep.body.secret as string };
}
