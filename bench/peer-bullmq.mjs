// The peer of issue 11: the webhook queue a team would write instead of running Herald, on
// BullMQ + Redis, forked by the bench (run.mjs) as its own process, like `herald serve`.
//
//   POST /events        {type, data}            → one `queue.add` per event, 202 {id, deliveries: 1}
//   POST /events/batch  {events: [{type, data}]} → one `queue.addBulk`, 202 {data: [{id, deliveries: 1}, …]}
//
// 202 is sent once Redis has acknowledged the add (no durable storage beyond Redis defaults:
// whatever the server's persistence settings are). A BullMQ Worker in the same process
// (concurrency PEER_CONCURRENCY, default 256 = Herald's worker concurrency) turns each job into
// the envelope Herald sends ({"id","type","timestamp","data"}), signs it like Herald
// (Standard Webhooks `webhook-signature` and the legacy `x-webhook-signature`, HMAC-SHA256) and
// POSTs it to PEER_TARGET through an undici Agent (64 keep-alive connections, like Herald's
// sender). A non-2xx answer or a network error fails the job, which BullMQ retries with
// exponential back-off (8 attempts); completed jobs are removed.
//
// Environment: PEER_REDIS_URL, PEER_QUEUE (queue name; every key under the prefix
// `herald-bench`), PEER_TARGET (URL), PEER_SECRET (whsec_…), PEER_CONCURRENCY.
// IPC: → parent {type:'ready', port}; parent → {cmd:'stats', reqId} → {type:'reply', reqId, …};
// {cmd:'stop'} (or SIGTERM) closes the worker, removes the queue's keys from Redis and exits.
import { createHmac, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { Queue, Worker } from 'bullmq';
import IORedis from 'ioredis';
import { Agent, request } from 'undici';

const REDIS_URL = process.env.PEER_REDIS_URL ?? 'redis://127.0.0.1:6379';
const QUEUE = process.env.PEER_QUEUE ?? `webhooks-${randomBytes(4).toString('hex')}`;
const TARGET = process.env.PEER_TARGET;
const SECRET = process.env.PEER_SECRET;
const CONCURRENCY = Number(process.env.PEER_CONCURRENCY ?? 256);
const PREFIX = 'herald-bench';
if (!TARGET || !SECRET) {
  process.stderr.write('peer-bullmq: PEER_TARGET and PEER_SECRET are required\n');
  process.exit(2);
}
const KEY = Buffer.from(SECRET.startsWith('whsec_') ? SECRET.slice(6) : SECRET, 'base64');

// One connection for the producer, one for the worker (BullMQ needs maxRetriesPerRequest: null there).
const queue = new Queue(QUEUE, {
  prefix: PREFIX,
  connection: new IORedis(REDIS_URL, { maxRetriesPerRequest: null }),
  defaultJobOptions: { attempts: 8, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: true, removeOnFail: 1000 },
});

const agent = new Agent({ connections: 64, pipelining: 1, keepAliveTimeout: 10_000, connect: { timeout: 10_000 } });
const stats = { added: 0, completed: 0, failedAttempts: 0, firstError: null };

const worker = new Worker(
  QUEUE,
  async (job) => {
    const { id, type, timestamp, data } = job.data;
    const body = JSON.stringify({ id, type, timestamp, data });
    const ts = Math.floor(Date.now() / 1000);
    const res = await request(TARGET, {
      method: 'POST',
      dispatcher: agent,
      headersTimeout: 15_000,
      bodyTimeout: 15_000,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'bullmq-webhooks',
        'webhook-id': id,
        'webhook-timestamp': String(ts),
        'webhook-signature': 'v1,' + createHmac('sha256', KEY).update(`${id}.${ts}.`).update(body).digest('base64'),
        'x-webhook-signature': 'sha256=' + createHmac('sha256', SECRET).update(body).digest('hex'),
        'x-webhook-event': type,
        'x-webhook-attempt': String(job.attemptsMade + 1),
      },
      body,
    });
    await res.body.dump();
    if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`HTTP ${res.statusCode}`);
  },
  { prefix: PREFIX, connection: new IORedis(REDIS_URL, { maxRetriesPerRequest: null }), concurrency: CONCURRENCY },
);
worker.on('completed', () => stats.completed++);
worker.on('failed', (_job, err) => {
  stats.failedAttempts++;
  stats.firstError ??= err?.message ?? String(err);
});
worker.on('error', (err) => {
  stats.firstError ??= err?.message ?? String(err);
});

let seq = 0;
const newId = () => `evt_${Date.now().toString(36)}${(seq++).toString(36).padStart(6, '0')}`;
const eventOf = (e) => {
  if (!e || typeof e.type !== 'string' || typeof e.data !== 'object' || e.data === null) throw new Error('an event needs a type (string) and data (object)');
  return { id: newId(), type: e.type, timestamp: new Date().toISOString(), data: e.data };
};

function reply(res, status, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    if (req.method !== 'POST' || (req.url !== '/events' && req.url !== '/events/batch')) return reply(res, 404, { error: 'not_found' });
    let input;
    try {
      input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return reply(res, 400, { error: 'invalid_json' });
    }
    try {
      if (req.url === '/events') {
        const e = eventOf(input);
        await queue.add(e.type, e);
        stats.added++;
        return reply(res, 202, { id: e.id, deliveries: 1 });
      }
      if (!Array.isArray(input?.events)) return reply(res, 400, { error: 'events must be an array' });
      const events = input.events.map(eventOf);
      await queue.addBulk(events.map((e) => ({ name: e.type, data: e })));
      stats.added += events.length;
      return reply(res, 202, { data: events.map((e) => ({ id: e.id, deliveries: 1 })) });
    } catch (err) {
      return reply(res, err?.message?.startsWith('an event needs') ? 400 : 500, { error: err?.message ?? String(err) });
    }
  });
});
server.keepAliveTimeout = 65_000;

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  const force = setTimeout(() => process.exit(0), 10_000);
  server.close();
  server.closeAllConnections?.();
  try {
    await worker.close(true);
    await queue.obliterate({ force: true });
    await queue.close();
    await agent.close();
  } catch {}
  clearTimeout(force);
  process.exit(0);
}

process.on('message', (m) => {
  if (m?.cmd === 'stats') process.send({ type: 'reply', reqId: m.reqId, ...stats });
  else if (m?.cmd === 'stop') stop();
});
process.on('SIGTERM', stop);
process.on('disconnect', stop);

await worker.waitUntilReady();
await queue.waitUntilReady();
server.listen(0, '127.0.0.1', () => process.send?.({ type: 'ready', port: server.address().port }));
