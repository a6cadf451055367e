import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import type { HeraldConfig } from './config.js';
import { createLogger } from './logger.js';

export interface WarmUpOptions {
  /** single publishes to make (each one delivered) */
  events: number;
  /** publishes in flight at once */
  concurrency: number;
  /** stop early after this long, whatever is left */
  budgetMs: number;
}

export const WARMUP_DEFAULTS: WarmUpOptions = { events: 4000, concurrency: 32, budgetMs: 3000 };

/**
 * Runs the hot path (HTTP publish → validation → commit → hand-off → signing → HTTP delivery
 * → attempt record) a few thousand times on a throwaway Herald before the real one listens.
 *
 * Why: a fresh process runs that code in V8's interpreter and baseline tier, about half as fast
 * as once optimized, for the first second or two. Hit at a few thousand publishes a second from
 * its first second, it fell behind and queued: the bench's first 1-s window had a p99 of
 * 145–400 ms against 3–5 ms once warm. Optimized code and inline-cache feedback belong to the
 * functions, not to the objects that ran them, so warming a second instance of the same classes
 * warms the real one.
 *
 * The throwaway Herald is in-memory SQLite, on loopback ports of its own with a random key,
 * delivering to a receiver in this process: nothing touches the real database, its metrics or
 * its listeners, and nothing of it stays after.
 */
export async function warmUp(config: HeraldConfig, options: WarmUpOptions = WARMUP_DEFAULTS): Promise<{ events: number; delivered: number; ms: number }> {
  const started = performance.now();
  const deadline = started + options.budgetMs;
  // Imported here so that server.ts can import this file without a cycle at load time.
  const { createHerald } = await import('./server.js');
  let delivered = 0;
  let waiting: { target: number; resolve: () => void } | null = null;
  const receiver: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.end();
      delivered++;
      if (waiting && delivered >= waiting.target) waiting.resolve();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const apiKey = randomBytes(24).toString('base64url');
  const herald = await createHerald({
    ...config,
    databaseUrl: 'sqlite::memory:', host: '127.0.0.1', port: 0, dev: true, publicUrl: undefined,
    operatorApp: undefined, smtpUrl: undefined, retentionDays: 0, apiRateLimit: 0,
    encryptionKey: randomBytes(32).toString('base64'), roles: { api: true, worker: true }, logLevel: 'silent',
  }, { apiKey, logger: createLogger('silent') });
  const agent = new Agent({ connections: options.concurrency, pipelining: 1 });
  let published = 0;
  try {
    const url = (await herald.start())!;
    const call = async (path: string, body: unknown): Promise<any> => {
      const res = await post(agent, url + path, apiKey, body);
      if (res.status >= 300) throw new Error(`warm-up: ${path} answered ${res.status}: ${res.text.slice(0, 200)}`);
      return JSON.parse(res.text);
    };
    const app = await call('/v1/apps', { name: 'warm-up' });
    const port = (receiver.address() as AddressInfo).port;
    await call(`/v1/apps/${app.id}/endpoints`, { url: `http://127.0.0.1:${port}/warm-up`, events: ['*'] });
    published = await publishMany(options.events, options.concurrency, deadline, (body) => call(`/v1/apps/${app.id}/events`, body));
    if (delivered < published) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        waiting = { target: published, resolve };
        timer = setTimeout(resolve, Math.max(0, deadline - performance.now()));
      });
      clearTimeout(timer);
    }
  } finally {
    await agent.close();
    await herald.close(500);
    receiver.closeAllConnections();
    await new Promise((resolve) => receiver.close(resolve));
  }
  return { events: published, delivered, ms: Math.round(performance.now() - started) };
}

/**
 * The second half, on the real process once it listens, before it says so: publishes to an app
 * that doesn't exist, so each one runs this instance's own HTTP parser, Fastify request and
 * reply objects, hooks, authentication and body validation, and ends in a 404 without writing
 * anything. Fastify builds its request and reply classes per instance, so code optimized for
 * the throwaway instance's objects is thrown away ("wrong map") on meeting these: without this
 * the first real second paid for that.
 */
export async function warmListener(url: string, apiKey: string, requests: number, concurrency = 32): Promise<void> {
  const agent = new Agent({ connections: concurrency, pipelining: 1 });
  const path = `/v1/apps/app_${randomBytes(12).toString('hex')}/events`;
  try {
    await publishMany(requests, concurrency, Infinity, (body) => post(agent, url + path, apiKey, body));
  } finally {
    await agent.close();
  }
}

/** A JSON POST with the API key: the answer's status and text. */
async function post(agent: Agent, url: string, apiKey: string, body: unknown): Promise<{ status: number; text: string }> {
  const res = await request(url, {
    method: 'POST', dispatcher: agent, body: JSON.stringify(body),
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
  });
  return { status: res.statusCode, text: await res.body.text() };
}

/** `count` single-event publishes through `send`, `concurrency` at a time, until `deadline`: how many were sent. */
async function publishMany(count: number, concurrency: number, deadline: number, send: (body: unknown) => Promise<unknown>): Promise<number> {
  let sent = 0;
  const lane = async () => {
    while (sent < count && performance.now() < deadline) {
      sent++;
      await send({ type: 'warmup.ping', data: { n: sent, at: new Date().toISOString() } });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return sent;
}
