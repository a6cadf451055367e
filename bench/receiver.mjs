// Webhook receiver for the benchmark, run as its own process (child_process.fork from run.mjs).
//
// Answers every POST with 200 "OK" as soon as the body has arrived, then does its
// bookkeeping: total requests, distinct (path, webhook-id) pairs (so duplicates show up as
// total > distinct), publish→arrival latency from data.sentAt, and a sampled check of both
// signatures for paths whose secret the parent has told it.
//
// Paths starting with /hang/ are the exception: such a request is counted (`hung`, with its
// arrival time) and then left open, never answered, like an endpoint that hangs until the
// sender's timeout. Those sockets are destroyed on reset and when the receiver exits.
//
// IPC (parent → receiver): {cmd:'reset'}, {cmd:'secrets', secrets:{[path]: secret}},
// {cmd:'arm', target}, {cmd:'stats', reqId}, {cmd:'samples', reqId, since, exclude},
// {cmd:'stop'}.
// Receiver → parent: {type:'ready', port}, {type:'reached', at, total, distinct},
// {type:'reply', reqId, ...}.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';

// Milliseconds on the machine's monotonic clock (CLOCK_MONOTONIC, shared by every process), so
// a time taken in the bench and one taken in the receiver compare. timeOrigin + performance.now()
// doesn't: each process fixes its timeOrigin from the wall clock when it starts, and while NTP
// slews the wall clock (a machine just booted) two processes disagree by milliseconds, which
// showed as negative publish→delivery latencies.
const now = () => Number(process.hrtime.bigint()) / 1e6;
const SIG_SAMPLE_EVERY = 97; // verify the first request of each path, then every 97th
const HANG_PREFIX = '/hang/';
const HUNG_TIMES_MAX = 10_000;

// requests to /hang/… that are still open
const hanging = new Set();
function dropHanging() {
  for (const req of hanging) req.socket?.destroy();
  hanging.clear();
}

let state;
function reset() {
  dropHanging();
  state = {
    total: 0,
    distinct: 0,
    keys: new Set(),
    perPath: new Map(),
    firstAt: null,
    lastAt: null,
    target: null,
    targetAt: null,
    parseErrors: 0,
    nonPost: 0,
    sigChecked: 0,
    sigBad: 0,
    sigBadExamples: [],
    // requests to /hang/… paths (never answered) and when they arrived
    hung: 0,
    hungTimes: [],
    // latency samples: parallel growable arrays of sentAt, arrival - sentAt (ms) and the
    // number of the path the delivery went to (index into `paths`)
    sent: new Float64Array(1 << 14),
    lat: new Float64Array(1 << 14),
    pathNo: new Int32Array(1 << 14),
    paths: [],
    nSamples: 0,
  };
}
reset();
let secrets = new Map(); // path -> { secret, key }

function pushSample(sentAt, latency, pathNo) {
  if (state.nSamples === state.sent.length) {
    const grow = (a) => {
      const b = new a.constructor(a.length * 2);
      b.set(a);
      return b;
    };
    state.sent = grow(state.sent);
    state.lat = grow(state.lat);
    state.pathNo = grow(state.pathNo);
  }
  state.sent[state.nSamples] = sentAt;
  state.lat[state.nSamples] = latency;
  state.pathNo[state.nSamples] = pathNo;
  state.nSamples++;
}

function safeEqual(a, b) {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function checkSignatures(path, headers, body) {
  const s = secrets.get(path);
  if (!s) return;
  state.sigChecked++;
  const id = headers['webhook-id'];
  const ts = headers['webhook-timestamp'];
  const std = 'v1,' + createHmac('sha256', s.key).update(`${id}.${ts}.`).update(body).digest('base64');
  const legacy = 'sha256=' + createHmac('sha256', s.secret).update(body).digest('hex');
  const gotStd = String(headers['webhook-signature'] ?? '').split(' ');
  const ok = gotStd.some((g) => safeEqual(g, std)) && safeEqual(String(headers['x-webhook-signature'] ?? ''), legacy);
  if (!ok) {
    state.sigBad++;
    if (state.sigBadExamples.length < 3) state.sigBadExamples.push({ path, id, ts });
  }
}

function account(path, headers, body, arrival) {
  const st = state;
  st.total++;
  if (st.firstAt === null) st.firstAt = arrival;
  st.lastAt = arrival;
  let pp = st.perPath.get(path);
  if (!pp) {
    pp = { total: 0, distinct: 0, no: st.paths.length };
    st.paths.push(path);
    st.perPath.set(path, pp);
  }
  pp.total++;
  const key = path + ' ' + headers['webhook-id'];
  if (!st.keys.has(key)) {
    st.keys.add(key);
    st.distinct++;
    pp.distinct++;
    if (st.target !== null && st.targetAt === null && st.distinct >= st.target) {
      st.targetAt = arrival;
      process.send?.({ type: 'reached', at: arrival, total: st.total, distinct: st.distinct });
    }
  }
  if (pp.total === 1 || pp.total % SIG_SAMPLE_EVERY === 0) checkSignatures(path, headers, body);
  let sentAt;
  try {
    sentAt = JSON.parse(body)?.data?.sentAt;
  } catch {
    st.parseErrors++;
    return;
  }
  if (typeof sentAt === 'number') pushSample(sentAt, arrival - sentAt, pp.no);
}

const server = createServer((req, res) => {
  if (req.method !== 'POST') {
    state.nonPost++;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('OK');
    req.resume();
    return;
  }
  if (req.url.startsWith(HANG_PREFIX)) {
    // Never answered: the sender's timeout (or its shutdown) ends it.
    state.hung++;
    if (state.hungTimes.length < HUNG_TIMES_MAX) state.hungTimes.push(now());
    hanging.add(req);
    // (the response's 'close', not the request's: that one fires once the body is read)
    res.once('close', () => hanging.delete(req));
    req.resume();
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const arrival = now();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('OK');
    const body = chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8');
    account(req.url, req.headers, body, arrival);
  });
});
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.requestTimeout = 0;
server.maxRequestsPerSocket = 0;

function statsReply() {
  const st = state;
  let minPath = Infinity;
  let maxPath = 0;
  for (const pp of st.perPath.values()) {
    minPath = Math.min(minPath, pp.distinct);
    maxPath = Math.max(maxPath, pp.distinct);
  }
  return {
    total: st.total,
    distinct: st.distinct,
    duplicates: st.total - st.distinct,
    paths: st.perPath.size,
    minPerPath: st.perPath.size ? minPath : 0,
    maxPerPath: maxPath,
    firstAt: st.firstAt,
    lastAt: st.lastAt,
    targetAt: st.targetAt,
    parseErrors: st.parseErrors,
    nonPost: st.nonPost,
    sigChecked: st.sigChecked,
    sigBad: st.sigBad,
    sigBadExamples: st.sigBadExamples,
    samples: st.nSamples,
    hung: st.hung,
    hungOpen: hanging.size,
    hungTimes: st.hungTimes,
  };
}

process.on('message', (m) => {
  switch (m?.cmd) {
    case 'reset':
      reset();
      break;
    case 'secrets':
      secrets = new Map(
        Object.entries(m.secrets).map(([path, secret]) => [
          path,
          { secret, key: Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64') },
        ]),
      );
      break;
    case 'arm':
      state.target = m.target;
      state.targetAt = null;
      if (state.distinct >= m.target) {
        state.targetAt = state.lastAt;
        process.send({ type: 'reached', at: state.lastAt, total: state.total, distinct: state.distinct });
      }
      break;
    case 'stats':
      process.send({ type: 'reply', reqId: m.reqId, ...statsReply() });
      break;
    case 'samples': {
      // only samples sent at or after `since` (warm-up discarded by the caller's choice),
      // and none of deliveries to the paths in `exclude`
      const skip = new Uint8Array(state.paths.length);
      for (const p of m.exclude ?? []) {
        const pp = state.perPath.get(p);
        if (pp) skip[pp.no] = 1;
      }
      const sent = [];
      const lat = [];
      for (let i = 0; i < state.nSamples; i++) {
        if (state.sent[i] >= (m.since ?? 0) && !skip[state.pathNo[i]]) {
          sent.push(state.sent[i]);
          lat.push(state.lat[i]);
        }
      }
      process.send({ type: 'reply', reqId: m.reqId, sent, lat });
      break;
    }
    case 'stop':
      dropHanging();
      server.close();
      server.closeAllConnections?.();
      process.exit(0);
  }
});
// The parent went away (crash, kill): don't linger.
process.on('disconnect', () => {
  dropHanging();
  process.exit(0);
});

server.listen(0, '127.0.0.1', () => process.send?.({ type: 'ready', port: server.address().port }));
