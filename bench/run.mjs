#!/usr/bin/env node
// Herald benchmark: raw signed-POST ceiling, Herald end-to-end throughput (1 and 50
// endpoints, and 50 endpoints with payload filters against 25 without), publish→delivery
// latency at a steady rate, memory while a million deliveries wait on a dead endpoint, and
// fairness (healthy endpoints' latency next to one that hangs), single-publish capacity and a
// cold start (issue 11), and the same batch and single-publish scenarios through a BullMQ + Redis
// peer when Redis is reachable. See bench/README.md. Entry point of `npm run bench`.
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'undici';
import {
  API_KEY, BENCH_DIR, REDIS_URL, ROOT, closedPort, cpuSeconds, dropPeerQueue, fmt, fmtInt, installCleanup, loadMeter, median, newSecret, now,
  openLoop, parseArgs, percentile, redisReachable, round, rssMB, signLegacy, signStandard, sleep, slope, standardKey, startHerald, startPeer,
  startReceiver,
} from './lib.mjs';

const HELP = `usage: node bench/run.mjs [options]      (npm run bench -- [options])

  --quick               short smoke run (1 run, small N, 5 s latency phase, 100k waiting deliveries,
                        15 s fairness runs)
  --runs N              repetitions of each throughput scenario, median reported (default 3; --quick 1)
  --only LIST           comma-separated subset of: ceiling,b1,b2,b2f,b2t,latency,fairness,memory,
                        capacity,coldstart,peer (capacity runs one ceiling run if ceiling isn't
                        selected; peer compares with b1 and capacity when they run too)
  --events N            deliveries per throughput run (default 50000; --quick 5000); b2f's two
                        runs make as many as b2, 25 per event
  --mem-events N        events published for the memory scenario (default 1000000; --quick 100000)
  --latency-seconds S   length of the steady-rate phase of (c) (default 15; --quick 5)
  --fairness-seconds S  length of each of the two steady-rate runs of (e) (default 20; --quick 15)
  --rate R              events/s of the steady-rate phases of (c) and (e) (default 1000)
  --herald-env K=V      extra environment for every Herald process (repeatable), e.g.
                        --herald-env HERALD_CIRCUIT_THRESHOLD=1000000 to keep attempting a dead endpoint
  --capacity-seconds S  length of each step of (f) and of the cold start (default 15; --quick 5)
  --capacity-start R    first rate of (f)'s ladder, events/s (default 300)
  --capacity-budget S   time after which (f)'s ladder stops climbing, per search (default 150;
                        --quick 45); R is then a lower bound. The bisection step comes on top
  --coldstart-rate R    rate of the cold start (default 0.5 × (f)'s 1-endpoint R on the same backend)
  --backend LIST        sqlite (default), postgres, or sqlite,postgres: where (f) and the cold
                        start run (one Herald process, a fresh schema per Herald on PostgreSQL)
  --database-url URL    PostgreSQL for --backend postgres (default $HERALD_BENCH_DATABASE_URL or
                        postgres://postgres@127.0.0.1:5432/postgres)
  Redis for the peer: $BENCH_REDIS_URL (default redis://127.0.0.1:6379); not reachable → not run.
`;

// "Flat" memory: RSS must not keep growing while deliveries wait (slope over the last 10 s
// at most +6 MB/min; shrinking is fine), and must not grow with the number of waiting
// deliveries (at most 5 MB per 100k deliveries between 50 % and 100 % published; the first
// half is left out because it includes heap and SQLite page-cache warm-up).
// Fairness: with one endpoint of 50 hanging, the healthy endpoints' p99 publish→delivery
// latency may be at most twice that of the same run with all 50 healthy.
// Filters (issue 12): 50 endpoints with a 5-condition filter each, 25 of them matching, must
// keep ≥ 90 % of the deliveries/s and of the publish rate of 25 endpoints without filters.
// Single-publish capacity (issue 11): R, the highest rate whose 15-s run had p99 ≤ 25 ms with
// everything delivered, ≥ 0.35 × the raw ceiling with 1 and with 50 endpoints; a cold start at
// 0.5 × R: every 1-s window's p99 ≤ 50 ms, the first included; Herald ÷ the BullMQ peer ≥ 1.5 on
// batch throughput (b1) and ≥ 1.0 on single-publish capacity (1 endpoint).
const TARGETS = {
  transformPctOfPlain: 70,
  pctOfCeiling: 50, p99Ms: 25, flatSlopeMBPerMin: 6, growthMBPer100k: 5, fairnessRatio: 2, filterPctOfUnfiltered: 90,
  capacityOfCeiling: 0.35, capacityP99Ms: 25, coldStartWindowP99Ms: 50, peerBatchRatio: 1.5, peerCapacityRatio: 1.0,
};

// ── configuration ────────────────────────────────────────────────────────
let opts;
try {
  opts = parseArgs(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`bench: ${err.message}\n`);
  process.exit(2);
}
if (opts.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const cfg = {
  mode: opts.quick ? 'quick' : 'full',
  runs: opts.runs ?? (opts.quick ? 1 : 3),
  deliveries: opts.events ?? (opts.quick ? 5_000 : 50_000),
  fanout: 50,
  batchSize: 1000,
  publishConcurrency: 4,
  ceilingConcurrency: 256, // = Herald's default HERALD_WORKER_CONCURRENCY
  ceilingConnections: 64, // = Herald's sender: 64 keep-alive connections per origin
  rate: opts.rate ?? 1000,
  latencySeconds: opts.latencySeconds ?? (opts.quick ? 5 : 15),
  warmupSeconds: 1,
  fairnessSeconds: opts.fairnessSeconds ?? (opts.quick ? 15 : 20),
  fairnessWarmupSeconds: 2,
  memEvents: opts.memEvents ?? (opts.quick ? 100_000 : 1_000_000),
  memAfterSeconds: opts.quick ? 10 : 20,
  memChurnMaxSeconds: opts.quick ? 60 : 180,
  only: opts.only,
  heraldEnv: opts.heraldEnv,
  // (f) single-publish capacity and the cold start
  capacitySeconds: opts.capacitySeconds ?? (opts.quick ? 5 : 15),
  capacityWarmupSeconds: 1,
  capacityStart: opts.capacityStart ?? 300,
  // ×1.5 a step: on a quiet day the ladder reaches R within the budget (+20 % from 300/s stopped at 1,289/s)
  capacityGrowth: 1.5,
  capacityBudgetSeconds: opts.capacityBudget ?? (opts.quick ? 45 : 150),
  capacityMaxSteps: 16,
  // a step fails early once this many seconds' worth of events are published but not delivered
  capacityBehindSeconds: 0.5,
  // after the last publish was answered, deliveries get this long to arrive
  capacityDrainSeconds: 10,
  coldstartRate: opts.coldstartRate ?? null,
  coldstartDrainSeconds: 30,
  backends: opts.backends ?? ['sqlite'],
  databaseUrl: opts.databaseUrl ?? process.env.HERALD_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  redisUrl: REDIS_URL,
};
// 50 endpoints × events = deliveries: round to a whole number of events per endpoint
cfg.deliveries50 = Math.max(cfg.fanout, Math.round(cfg.deliveries / cfg.fanout) * cfg.fanout);
// (b2f): of the 50 filtered endpoints, this many match every event; the unfiltered reference
// has this many endpoints. Both make cfg.deliveries50 deliveries, from deliveries50 / 25 events.
cfg.filterMatching = cfg.fanout / 2;
const wanted = (s) => !cfg.only || cfg.only.includes(s);
for (const s of cfg.only ?? []) {
  if (!['ceiling', 'b1', 'b2', 'b2f', 'b2t', 'latency', 'fairness', 'memory', 'capacity', 'coldstart', 'peer'].includes(s)) {
    process.stderr.write(`bench: unknown scenario '${s}' in --only\n`);
    process.exit(2);
  }
}

installCleanup();
if (!existsSync(join(ROOT, 'dist/cli/main.js'))) {
  process.stderr.write('bench: dist/cli/main.js is missing; run `npm run build` first (npm run bench does)\n');
  process.exit(2);
}

const log = (msg) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const failures = [];

function payload(i, sentAt) {
  return {
    orderId: `ord_${String(i).padStart(8, '0')}`,
    amount: 1999 + (i % 100),
    currency: 'EUR',
    customer: { id: `cus_${i % 997}`, email: `customer${i % 997}@example.com` },
    items: 1 + (i % 5),
    sentAt,
  };
}

/**
 * (b2f) The filter of a filtered endpoint: five conditions on fields of payload(). A filter is
 * an AND of its keys, tested in order, that stops at the first false one: the first four hold
 * for every event, the fifth for `matching` endpoints only, so an endpoint that does not match
 * still tests all five (the most a 5-condition filter costs).
 */
function fiveConditionFilter(matching) {
  return {
    'data.amount': { $gte: 100 },
    'data.currency': { $in: ['EUR', 'USD'] },
    'data.customer.email': { $endsWith: '@example.com' },
    'data.items': { $lte: 5 },
    'data.customer.id': { $startsWith: matching ? 'cus_' : 'acct_' },
  };
}

/** Waits for the receiver's "reached" message; fails if deliveries stall or take too long. */

/** Rates and latency percentiles of a steady-rate phase, shared by (c) and (e). */
function steadyStats({ total, t0, lastDone, tIssued, maxInflight, lat }) {
  return {
    achievedPublishRate: round(total / ((lastDone - t0) / 1000), 0),
    issueRate: round(total / ((tIssued - t0) / 1000), 0),
    maxInflight,
    samples: lat.length,
    p50: round(percentile(lat, 50), 2),
    p90: round(percentile(lat, 90), 2),
    p99: round(percentile(lat, 99), 2),
    max: round(Math.max(...lat), 2),
  };
}

async function awaitDeliveries(receiver, reached, target, { herald, stallMs = 30_000, maxMs = 180_000, label }) {
  const start = Date.now();
  let lastDistinct = -1;
  let lastChange = Date.now();
  let result = null;
  reached.then((r) => (result = r));
  while (result === null) {
    await Promise.race([reached, sleep(1000)]);
    if (result) break;
    if (herald?.exited) {
      const st = await receiver.stats();
      throw new Error(`${label}: Herald exited (${JSON.stringify(herald.exited)}) after ${st.distinct} of ${target} distinct deliveries arrived. Last output:\n${herald.tail.slice(-15).join('\n')}`);
    }
    const st = await receiver.stats();
    if (st.distinct !== lastDistinct) {
      lastDistinct = st.distinct;
      lastChange = Date.now();
    }
    const stalled = Date.now() - lastChange > stallMs;
    if (stalled || Date.now() - start > maxMs) {
      let m = '';
      if (herald) {
        try {
          m = `; Herald /metrics: ${JSON.stringify(await herald.metrics(5000))}`;
        } catch (err) {
          m = `; /metrics failed: ${err.message}`;
        }
      }
      throw new Error(
        `${label}: timed out (${stalled ? `no new delivery for ${stallMs / 1000} s` : `over ${maxMs / 1000} s`}): ` +
          `${st.distinct} of ${target} distinct deliveries arrived (${st.total} requests, ${st.duplicates} duplicates)${m}`,
      );
    }
  }
  return result;
}

// ── (a) raw ceiling ──────────────────────────────────────────────────────
async function rawCeiling(receiver, run) {
  const n = cfg.deliveries;
  const secret = newSecret();
  const key = standardKey(secret);
  receiver.reset();
  receiver.setSecrets({ '/raw': secret });
  const agent = new Agent({ connections: cfg.ceilingConnections, pipelining: 1, keepAliveTimeout: 10_000, connect: { timeout: 10_000 } });
  const url = `${receiver.origin}/raw`;
  const reached = receiver.arm(n);
  const rcpu0 = cpuSeconds(receiver.pid);
  const bcpu0 = process.cpuUsage();
  const load = loadMeter([receiver.pid]);
  const t0 = now();
  let next = 0;
  let errors = 0;
  let firstError = null;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const id = `evt_raw_${run}_${i}`;
      const body = JSON.stringify({ id, type: 'order.created', timestamp: new Date().toISOString(), data: payload(i, now()) });
      const ts = Math.floor(Date.now() / 1000);
      const headers = {
        'content-type': 'application/json',
        'user-agent': 'Herald-bench/raw',
        'webhook-id': id,
        'webhook-timestamp': String(ts),
        'webhook-signature': signStandard(key, id, ts, body),
        'x-webhook-signature': signLegacy(secret, body),
        'x-webhook-event': 'order.created',
        'x-webhook-id': 'ep_raw',
        'x-webhook-delivery-id': `dlv_raw_${i}`,
        'x-webhook-attempt': '1',
      };
      try {
        const res = await request(url, { method: 'POST', headers, body, dispatcher: agent, headersTimeout: 15_000, bodyTimeout: 15_000 });
        await res.body.text();
        if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
      } catch (err) {
        errors++;
        firstError ??= err.message;
      }
    }
  };
  await Promise.all(Array.from({ length: cfg.ceilingConcurrency }, worker));
  const tClient = now();
  if (errors > 0) {
    await agent.close();
    throw new Error(`ceiling run ${run}: ${errors} of ${n} requests failed (first: ${firstError})`);
  }
  const r = await awaitDeliveries(receiver, reached, n, { label: `ceiling run ${run}`, maxMs: 60_000 });
  const seconds = (r.at - t0) / 1000;
  const machine = load();
  const st = await receiver.stats();
  await agent.close();
  const out = {
    reqPerSec: round(n / seconds, 0),
    ...machine,
    seconds: round(seconds, 3),
    clientSeconds: round((tClient - t0) / 1000, 3),
    requests: st.total,
    duplicates: st.duplicates,
    receiverCpuPct: round(((cpuSeconds(receiver.pid) - rcpu0) / seconds) * 100, 0),
    benchCpuPct: round((((u) => (u.user + u.system) / 1e6)(process.cpuUsage(bcpu0)) / seconds) * 100, 0),
    sigChecked: st.sigChecked,
    sigBad: st.sigBad,
  };
  if (st.sigBad > 0) throw new Error(`ceiling run ${run}: ${st.sigBad} of ${st.sigChecked} checked signatures did not verify`);
  return out;
}

// ── publishing helpers ───────────────────────────────────────────────────
/** Publishes `count` events through events/batch with `concurrency` requests in flight. */
async function publishBatches(herald, appId, count, { concurrency = cfg.publishConcurrency, type = 'order.created', onProgress, path = `/v1/apps/${appId}/events/batch` } = {}) {
  let nextStart = 0;
  let accepted = 0;
  let deliveries = 0;
  const t0 = now();
  const worker = async () => {
    while (nextStart < count) {
      const start = nextStart;
      const size = Math.min(cfg.batchSize, count - start);
      nextStart += size;
      const sentAt = now();
      const events = new Array(size);
      for (let j = 0; j < size; j++) events[j] = { type, data: payload(start + j, sentAt) };
      const res = await herald.call('POST', path, { events });
      if (res.status !== 202) throw new Error(`publish batch at ${start}: HTTP ${res.status}: ${res.text.slice(0, 300)}`);
      const data = res.json().data;
      if (data.length !== size) throw new Error(`publish batch at ${start}: ${data.length} results for ${size} events`);
      for (const e of data) {
        if (e.duplicate) throw new Error(`publish batch at ${start}: event ${e.id} reported as duplicate`);
        deliveries += e.deliveries;
      }
      accepted += size;
      onProgress?.(accepted);
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } catch (err) {
    await sleep(200); // so that an exit of Herald is noticed
    const exited = herald.exited ? `; Herald exited (code ${herald.exited.code}, signal ${herald.exited.signal})` : '';
    throw new Error(`publishing failed after ${accepted} of ${count} events were accepted: ${err.message}${exited}`);
  }
  return { accepted, deliveries, seconds: (now() - t0) / 1000 };
}

/**
 * Publishes `total` single events through POST …/events (or `path`) at `rate`/s (default
 * cfg.rate) from `t0` on, open loop (see openLoop: requests queue in the client pool if Herald
 * falls behind; `stop()` returning true ends publishing early). `event(n, sentAt)` is the n-th
 * event; the API latency (and send time) of those sent from `tWarm` on is kept.
 */
async function publishSteady(herald, appId, total, { t0, tWarm, event, rate = cfg.rate, path = `/v1/apps/${appId}/events`, stop = null }) {
  const apiLat = [];
  const apiSent = [];
  const loop = await openLoop({
    total, rate, t0, stop,
    send: async (n) => {
      const sentAt = now();
      const res = await herald.call('POST', path, JSON.stringify(event(n, sentAt)));
      if (res.status !== 202) throw new Error(`HTTP ${res.status}: ${res.text.slice(0, 200)}`);
      if (sentAt >= tWarm) {
        apiLat.push(now() - sentAt);
        apiSent.push(sentAt);
      }
    },
  });
  return { apiLat, apiSent, ...loop };
}

// ── (b1)/(b2)/(b2f) Herald end to end ────────────────────────────────────
/**
 * `endpoints` endpoints at /ep/<j>; with `filter`, endpoint j gets `filter(j)` and the first
 * `matching` of them match every event (the others none), so an event makes `matching`
 * deliveries and `deliveries / matching` events are published.
 */
/**
 * (b2t, issue 13) The endpoints' transform: picks five fields of the envelope, as a customer
 * asking for "just the fields I need" would.
 */
const PICK_TRANSFORM = `function transform(webhook) {
  const d = webhook.payload.data;
  webhook.payload = { id: webhook.payload.id, type: webhook.type, order: d.orderId, amount: d.amount, currency: d.currency };
  return webhook;
}`;

async function heraldThroughput(receiver, { endpoints, deliveries, label, filter = null, matching = endpoints, transform = null }) {
  const herald = await startHerald({ label, env: cfg.heraldEnv });
  try {
    const app = await herald.createApp(`bench ${label}`);
    const secrets = {};
    for (let j = 0; j < endpoints; j++) {
      const path = `/ep/${j}`;
      const ep = await herald.createEndpoint(app.id, { url: receiver.origin + path, ...(filter ? { filter: filter(j) } : {}), ...(transform ? { transform } : {}) });
      secrets[path] = ep.secret;
    }
    const events = deliveries / matching;
    receiver.reset();
    receiver.setSecrets(secrets);
    const reached = receiver.arm(deliveries);
    const hcpu0 = cpuSeconds(herald.pid);
    const rcpu0 = cpuSeconds(receiver.pid);
    const rssBefore = rssMB(herald.pid);
    let rssMax = rssBefore;
    const rssTimer = setInterval(() => (rssMax = Math.max(rssMax, rssMB(herald.pid) ?? 0)), 500);
    const load = loadMeter([receiver.pid, herald.pid]);
    const t0 = now();
    let pub;
    try {
      pub = await publishBatches(herald, app.id, events);
      if (pub.deliveries !== deliveries) throw new Error(`${label}: publish reported ${pub.deliveries} deliveries, expected ${deliveries}`);
      const r = await awaitDeliveries(receiver, reached, deliveries, { herald, label });
      const seconds = (r.at - t0) / 1000;
      const machine = load();
      const hcpu = cpuSeconds(herald.pid) - hcpu0;
      const rcpu = cpuSeconds(receiver.pid) - rcpu0;
      await sleep(1000); // let stray duplicates or retries show up, and the last results be written
      const st = await receiver.stats();
      if (st.paths !== matching) throw new Error(`${label}: deliveries reached ${st.paths} endpoints, expected ${matching}`);
      const m = await herald.metrics();
      const out = {
        deliveriesPerSec: round(deliveries / seconds, 0),
        ...machine,
        seconds: round(seconds, 3),
        publishSeconds: round(pub.seconds, 3),
        ingestEventsPerSec: round(events / pub.seconds, 0),
        ingestDeliveriesPerSec: round(deliveries / pub.seconds, 0),
        events,
        endpoints,
        matchingEndpoints: matching,
        requests: st.total,
        duplicates: st.duplicates,
        perEndpointMin: st.minPerPath,
        perEndpointMax: st.maxPerPath,
        heraldCpuPct: round((hcpu / seconds) * 100, 0),
        receiverCpuPct: round((rcpu / seconds) * 100, 0),
        heraldRssMaxMB: round(rssMax, 0),
        metricsAfter: m,
        sigChecked: st.sigChecked,
        sigBad: st.sigBad,
      };
      if (st.sigBad > 0) throw new Error(`${label}: ${st.sigBad} of ${st.sigChecked} checked signatures did not verify (${JSON.stringify(st.sigBadExamples)})`);
      if (st.parseErrors > 0) throw new Error(`${label}: ${st.parseErrors} delivery bodies were not valid JSON`);
      return out;
    } finally {
      clearInterval(rssTimer);
    }
  } finally {
    const problems = herald.problems();
    const stopped = await herald.stop();
    if (problems.count > 0) log(`${label}: Herald logged ${problems.count} warn/error line(s), e.g.:\n  ${problems.examples.slice(0, 3).join('\n  ')}`);
    if (!stopped.graceful) log(`${label}: Herald did not exit within 20 s of SIGTERM; killed`);
    heraldNotes.push({ label, logProblems: problems, stop: stopped });
  }
}
const heraldNotes = [];

// ── (c) latency at a steady rate ─────────────────────────────────────────
async function latency(receiver) {
  const label = 'latency';
  const herald = await startHerald({ label, env: cfg.heraldEnv });
  try {
    const app = await herald.createApp('bench latency');
    const ep = await herald.createEndpoint(app.id, { url: `${receiver.origin}/lat` });
    receiver.reset();
    receiver.setSecrets({ '/lat': ep.secret });
    const total = cfg.rate * cfg.latencySeconds;
    const reached = receiver.arm(total);
    const hcpu0 = cpuSeconds(herald.pid);
    const load = loadMeter([receiver.pid, herald.pid]);
    const t0 = now();
    const tWarm = t0 + cfg.warmupSeconds * 1000;
    const { apiLat, maxInflight, errors, firstError, lastDone, tIssued } = await publishSteady(herald, app.id, total, {
      t0,
      tWarm,
      event: (n, sentAt) => ({ type: 'order.created', data: payload(n, sentAt) }),
    });
    if (errors > 0) throw new Error(`${label}: ${errors} of ${total} publishes failed (first: ${firstError})`);
    const r = await awaitDeliveries(receiver, reached, total, { herald, label, maxMs: 120_000 });
    const hcpu = cpuSeconds(herald.pid) - hcpu0;
    const machine = load();
    await sleep(500);
    const st = await receiver.stats();
    const { sent, lat } = await receiver.samples(tWarm);
    // When the slowest deliveries were published (seconds after the start): shows whether
    // the tail is spread out or comes in bursts (GC, WAL checkpoints, timers).
    const order = lat.map((_, i) => i).sort((a, b) => lat[b] - lat[a]);
    const slowest = order.slice(0, 8).map((i) => ({ atSec: round((sent[i] - t0) / 1000, 3), ms: round(lat[i], 1) }));
    const over25 = lat.filter((x) => x > TARGETS.p99Ms).length;
    const perSecondP99 = [];
    for (let sec = cfg.warmupSeconds; sec < cfg.latencySeconds; sec++) {
      const xs = lat.filter((_, i) => sent[i] - t0 >= sec * 1000 && sent[i] - t0 < (sec + 1) * 1000);
      perSecondP99.push(round(percentile(xs, 99), 1));
    }
    const out = {
      rate: cfg.rate,
      seconds: cfg.latencySeconds,
      ...machine,
      events: total,
      ...steadyStats({ total, t0, lastDone, tIssued, maxInflight, lat }),
      over25ms: over25,
      perSecondP99,
      slowest,
      apiP50: round(percentile(apiLat, 50), 2),
      apiP99: round(percentile(apiLat, 99), 2),
      apiMax: round(Math.max(...apiLat), 2),
      allDeliveredAfterSeconds: round((r.at - t0) / 1000, 2),
      duplicates: st.duplicates,
      heraldCpuPct: round((hcpu / ((r.at - t0) / 1000)) * 100, 0),
      sigChecked: st.sigChecked,
      sigBad: st.sigBad,
    };
    if (st.sigBad > 0) throw new Error(`${label}: ${st.sigBad} of ${st.sigChecked} checked signatures did not verify`);
    return out;
  } finally {
    const problems = herald.problems();
    const stopped = await herald.stop();
    if (problems.count > 0) log(`${label}: Herald logged ${problems.count} warn/error line(s), e.g.:\n  ${problems.examples.slice(0, 3).join('\n  ')}`);
    heraldNotes.push({ label, logProblems: problems, stop: stopped });
  }
}

// ── (e) fairness: one hanging endpoint among 50 ──────────────────────────
/**
 * One run of (e): fresh Herald, one app, cfg.fanout endpoints, endpoint i subscribed only to
 * `fair.e<i>`, single events published round-robin over the types at cfg.rate/s. Endpoints
 * 1…49 are healthy (/fair/<i>); endpoint 0 is healthy too (/fair/0) or, with `hanging`, at
 * a receiver path that never answers (/hang/fair/0), with Herald's default timeout and
 * circuit breaker. Latency is measured on deliveries to endpoints 1…49 only, in both runs.
 */
async function fairnessRun(receiver, { hanging, label }) {
  const herald = await startHerald({ label, env: cfg.heraldEnv });
  let poller = null;
  let pollAgent = null;
  try {
    const app = await herald.createApp(`bench ${label}`);
    const zeroPath = hanging ? '/hang/fair/0' : '/fair/0';
    const secrets = {};
    let zero = null;
    for (let i = 0; i < cfg.fanout; i++) {
      const path = i === 0 ? zeroPath : `/fair/${i}`;
      const ep = await herald.createEndpoint(app.id, { url: receiver.origin + path, events: [`fair.e${i}`] });
      if (i === 0) zero = ep;
      secrets[path] = ep.secret;
    }
    const total = cfg.rate * cfg.fairnessSeconds;
    // event n has type fair.e<n % fanout>, so endpoint 0 gets every fanout-th event
    const toZero = Math.ceil(total / cfg.fanout);
    const healthyTotal = total - toZero;
    // Every delivery that can arrive: to the healthy endpoints, and to endpoint 0 unless it hangs.
    const expected = hanging ? healthyTotal : total;
    receiver.reset();
    receiver.setSecrets(secrets);
    const reached = receiver.arm(expected);
    // Endpoint 0's circuit as the API shows it, polled twice a second (in both runs, so the
    // load is the same) on a connection of its own, so the polls don't queue behind the
    // publishes: the changes are kept, with the time since the start of publishing.
    const zeroUrl = `/v1/apps/${app.id}/endpoints/${zero.id}`;
    const circuit = [];
    let polling = false;
    pollAgent = new Agent({ connections: 1, pipelining: 1 });
    const hcpu0 = cpuSeconds(herald.pid);
    const load = loadMeter([receiver.pid, herald.pid]);
    const t0 = now();
    const tWarm = t0 + cfg.fairnessWarmupSeconds * 1000;
    const poll = async () => {
      if (polling) return;
      polling = true;
      try {
        const res = await request(herald.url + zeroUrl, {
          dispatcher: pollAgent,
          headers: { authorization: `Bearer ${API_KEY}` },
          headersTimeout: 5000,
          bodyTimeout: 5000,
        });
        const text = await res.body.text();
        if (res.statusCode !== 200) return;
        const e = JSON.parse(text);
        const last = circuit.at(-1);
        if (!last || last.circuitState !== e.circuitState || last.consecutiveFailures !== e.consecutiveFailures || last.status !== e.status) {
          circuit.push({ t: round((now() - t0) / 1000, 1), circuitState: e.circuitState, consecutiveFailures: e.consecutiveFailures, status: e.status });
        }
      } catch {
        // a missed poll only makes the timeline coarser
      } finally {
        polling = false;
      }
    };
    poller = setInterval(poll, 500);
    const { apiLat, maxInflight, errors, firstError, lastDone, tIssued } = await publishSteady(herald, app.id, total, {
      t0,
      tWarm,
      event: (n, sentAt) => ({ type: `fair.e${n % cfg.fanout}`, data: payload(n, sentAt) }),
    });
    if (errors > 0) throw new Error(`${label}: ${errors} of ${total} publishes failed (first: ${firstError})`);
    const r = await awaitDeliveries(receiver, reached, expected, { herald, label: `${label} (healthy deliveries)`, maxMs: 120_000 });
    const hcpu = cpuSeconds(herald.pid) - hcpu0;
    const machine = load();
    await sleep(500);
    clearInterval(poller);
    poller = null;
    const epEnd = (await herald.call('GET', zeroUrl, undefined, 200)).json();
    const st = await receiver.stats();
    const m = await herald.metrics();
    // endpoint 1…49 only; in the faulty run endpoint 0's path has no samples anyway
    const { sent, lat } = await receiver.samples(tWarm, [zeroPath]);
    if (lat.length === 0) throw new Error(`${label}: no latency samples after the warm-up`);
    const perSecondP99 = [];
    const perSecondP50 = [];
    for (let sec = cfg.fairnessWarmupSeconds; sec < cfg.fairnessSeconds; sec++) {
      const xs = lat.filter((_, i) => sent[i] - t0 >= sec * 1000 && sent[i] - t0 < (sec + 1) * 1000);
      perSecondP99.push(round(percentile(xs, 99), 1));
      perSecondP50.push(round(percentile(xs, 50), 1));
    }
    const order = lat.map((_, i) => i).sort((a, b) => lat[b] - lat[a]);
    const slowest = order.slice(0, 8).map((i) => ({ atSec: round((sent[i] - t0) / 1000, 3), ms: round(lat[i], 1) }));
    const opened = circuit.find((c) => c.circuitState !== 'closed');
    const out = {
      hanging,
      endpoints: cfg.fanout,
      rate: cfg.rate,
      seconds: cfg.fairnessSeconds,
      ...machine,
      events: total,
      healthyDeliveries: healthyTotal,
      ...steadyStats({ total, t0, lastDone, tIssued, maxInflight, lat }),
      perSecondP50,
      perSecondP99,
      slowest,
      apiP50: round(percentile(apiLat, 50), 2),
      apiP99: round(percentile(apiLat, 99), 2),
      apiMax: round(Math.max(...apiLat), 2),
      allDeliveredAfterSeconds: round((r.at - t0) / 1000, 2),
      duplicates: st.duplicates,
      heraldCpuPct: round((hcpu / ((r.at - t0) / 1000)) * 100, 0),
      // endpoint 0: requests that reached the never-answering path (0 in the all-healthy run),
      // when they arrived, and its state in the API after the run
      hungRequests: st.hung,
      hungAtSec: st.hungTimes.map((t) => round((t - t0) / 1000, 1)),
      endpoint0: { status: epEnd.status, circuitState: epEnd.circuitState, consecutiveFailures: epEnd.consecutiveFailures },
      circuitOpenedAtSec: opened ? opened.t : null,
      circuitTimeline: circuit,
      metricsAfter: m,
      sigChecked: st.sigChecked,
      sigBad: st.sigBad,
    };
    if (st.sigBad > 0) throw new Error(`${label}: ${st.sigBad} of ${st.sigChecked} checked signatures did not verify (${JSON.stringify(st.sigBadExamples)})`);
    if (st.parseErrors > 0) throw new Error(`${label}: ${st.parseErrors} delivery bodies were not valid JSON`);
    return out;
  } finally {
    if (poller) clearInterval(poller);
    await pollAgent?.destroy().catch(() => {});
    // Close the requests left hanging, so Herald's shutdown doesn't wait for them.
    if (hanging) receiver.reset();
    const problems = herald.problems();
    const stopped = await herald.stop();
    if (problems.count > 0) log(`${label}: Herald logged ${problems.count} warn/error line(s), e.g.:\n  ${problems.examples.slice(0, 3).join('\n  ')}`);
    if (!stopped.graceful) log(`${label}: Herald did not exit within 20 s of SIGTERM; killed`);
    heraldNotes.push({ label, logProblems: problems, stop: stopped });
  }
}

/** Share of the publish rate both runs of (e) must achieve for the ratio to be judged. */
const FAIR_MIN_PUBLISH_SHARE = 0.95;

/** (e): the all-healthy run, then the run with endpoint 0 hanging, back to back. */
async function fairness(receiver) {
  const allHealthy = await fairnessRun(receiver, { hanging: false, label: 'fairness all-healthy' });
  log(`(e) fairness, all healthy: healthy p50 ${allHealthy.p50} ms, p99 ${allHealthy.p99} ms (other load ${allHealthy.otherCpuPct}%)`);
  const oneHanging = await fairnessRun(receiver, { hanging: true, label: 'fairness one-hanging' });
  log(`(e) fairness, 1 hanging: healthy p50 ${oneHanging.p50} ms, p99 ${oneHanging.p99} ms; ${oneHanging.hungRequests} requests to the hanging path, ` +
    `circuit ${oneHanging.endpoint0.circuitState} (other load ${oneHanging.otherCpuPct}%)`);
  const ratio = (a, b) => (a === null || b === null || b <= 0 ? null : round(a / b, 2));
  const ratioP99 = ratio(oneHanging.p99, allHealthy.p99);
  // The ratio only means something if Herald took the events as fast as they were published
  // in both runs; otherwise both latencies are mostly time spent queued before the publish
  // was even accepted, and grow with the length of the run.
  const keptUp = (x) => x.achievedPublishRate !== null && x.achievedPublishRate >= FAIR_MIN_PUBLISH_SHARE * x.rate;
  const judged = keptUp(allHealthy) && keptUp(oneHanging);
  if (!judged) {
    log(`(e) fairness: publishing fell behind (achieved ${allHealthy.achievedPublishRate} / ${oneHanging.achievedPublishRate} of ${cfg.rate} events/s); the ratio is reported but not judged`);
  }
  return {
    allHealthy,
    oneHanging,
    ratioP99,
    ratioP50: ratio(oneHanging.p50, allHealthy.p50),
    judged,
    pass: ratioP99 === null || !judged ? null : ratioP99 <= TARGETS.fairnessRatio,
  };
}

// ── (d) memory with a million waiting deliveries ─────────────────────────
async function memory() {
  const label = 'memory';
  const port = await closedPort();
  const herald = await startHerald({ label, env: cfg.heraldEnv });
  const samples = [];
  let timer = null;
  try {
    const app = await herald.createApp('bench memory');
    const ep = await herald.createEndpoint(app.id, { url: `http://127.0.0.1:${port}/dead`, retrySchedule: [3600] });
    await sleep(1000);
    const rssStart = rssMB(herald.pid);
    const load = loadMeter([herald.pid]);
    const t0 = now();
    let published = 0;
    let phase = 'publish';
    const sample = () => samples.push({ t: round((now() - t0) / 1000, 2), rssMB: round(rssMB(herald.pid), 1), published, phase });
    sample();
    timer = setInterval(sample, 1000);
    let lastLog = 0;
    const pub = await publishBatches(herald, app.id, cfg.memEvents, {
      concurrency: 2,
      onProgress: (n) => {
        published = n;
        if (n - lastLog >= cfg.memEvents / 5) {
          lastLog = n;
          log(`memory: ${fmtInt(n)} of ${fmtInt(cfg.memEvents)} events published, RSS ${fmt(rssMB(herald.pid), 0)} MB`);
        }
      },
    });
    const tPub = now();
    sample();
    const rssAtPublishEnd = rssMB(herald.pid);
    const mPub = await herald.metrics();
    // The worker makes deliveries' first attempts (connection refused → retry in an hour)
    // while and after publishing, unless something (a circuit breaker) holds them back.
    // Wait until every delivery had its attempt or attempts stop (no progress for 15 s),
    // at most memChurnMaxSeconds; then watch the quiet phase in which deliveries just wait.
    phase = 'churn';
    const churn = [];
    const churnDeadline = Date.now() + cfg.memChurnMaxSeconds * 1000;
    const attempts = (m) => m.retry + m.failed + m.success;
    let mChurn = mPub;
    let lastProgress = Date.now();
    let churnEnd = 'all';
    while (attempts(mChurn) < cfg.memEvents) {
      if (Date.now() >= churnDeadline) {
        churnEnd = 'deadline';
        break;
      }
      if (Date.now() - lastProgress >= 15_000) {
        churnEnd = 'stopped';
        break;
      }
      await sleep(5000);
      const before = attempts(mChurn);
      mChurn = await herald.metrics();
      if (attempts(mChurn) > before) lastProgress = Date.now();
      churn.push({ t: round((now() - t0) / 1000, 1), firstAttempts: attempts(mChurn), rssMB: round(rssMB(herald.pid), 1) });
      log(`memory: ${fmtInt(churn.at(-1).firstAttempts)} of ${fmtInt(cfg.memEvents)} first attempts made, RSS ${fmt(churn.at(-1).rssMB, 0)} MB`);
    }
    const churnDone = churnEnd === 'all';
    const tChurn = now();
    const rssAtChurnEnd = rssMB(herald.pid);
    if (churnEnd === 'deadline') log(`memory: first attempts not finished after ${cfg.memChurnMaxSeconds} s; measuring the quiet phase anyway`);
    if (churnEnd === 'stopped') log(`memory: Herald stopped making attempts after ${fmtInt(attempts(mChurn))} of ${fmtInt(cfg.memEvents)} (no progress for 15 s); measuring the quiet phase`);
    phase = 'wait';
    await sleep(cfg.memAfterSeconds * 1000);
    clearInterval(timer);
    timer = null;
    sample();
    const machine = load();
    const mEnd = await herald.metrics();
    const tEnd = now();
    const epEnd = (await herald.call('GET', `/v1/apps/${app.id}/endpoints/${ep.id}`, undefined, 200)).json();
    const oneDelivery = (await herald.call('GET', `/v1/apps/${app.id}/deliveries?limit=1`, undefined, 200)).json().data[0];
    const last10 = samples.filter((s) => s.t >= (tEnd - t0) / 1000 - 10.5 && s.rssMB !== null).map((s) => [s.t, s.rssMB]);
    const slopePerSec = slope(last10);
    const valid = samples.filter((s) => s.rssMB !== null);
    const at10pct = valid.find((s) => s.published >= cfg.memEvents * 0.1);
    const at50pct = valid.find((s) => s.published >= cfg.memEvents * 0.5);
    // Least-squares slope of RSS over the number of published events, second half of
    // publishing (one sample a second, so single GC swings don't decide it).
    const secondHalf = valid.filter((s) => s.phase === 'publish' && s.published >= cfg.memEvents * 0.5).map((s) => [s.published, s.rssMB]);
    const perEvent = secondHalf.length >= 3 ? slope(secondHalf) : null;
    const growthPer100k = perEvent === null ? null : perEvent * 100_000;
    const rssEnd = valid[valid.length - 1].rssMB;
    const rssMax = Math.max(...valid.map((s) => s.rssMB));
    const slopeMBPerMin = slopePerSec === null ? null : slopePerSec * 60;
    return {
      events: cfg.memEvents,
      ...machine,
      publishSeconds: round(pub.seconds, 1),
      ingestEventsPerSec: round(pub.accepted / pub.seconds, 0),
      churnSeconds: round((tChurn - tPub) / 1000, 1),
      churnDone,
      churnEnd,
      endpointEnd: { status: epEnd.status, circuitState: epEnd.circuitState ?? null, disabledReason: epEnd.disabledReason ?? null },
      sampleDelivery: oneDelivery
        ? { status: oneDelivery.status, attemptCount: oneDelivery.attemptCount, lastError: oneDelivery.lastError, nextAttemptAt: oneDelivery.nextAttemptAt }
        : null,
      waitSeconds: round((tEnd - tChurn) / 1000, 1),
      rssStartMB: round(rssStart, 1),
      rssAt10pctPublishedMB: at10pct ? at10pct.rssMB : null,
      rssAt50pctPublishedMB: at50pct ? at50pct.rssMB : null,
      growthMBPer100kSecondHalf: round(growthPer100k, 2),
      rssAtPublishEndMB: round(rssAtPublishEnd, 1),
      rssAtChurnEndMB: round(rssAtChurnEnd, 1),
      rssMaxMB: round(rssMax, 1),
      rssEndMB: round(rssEnd, 1),
      slopeLast10sMBPerMin: round(slopeMBPerMin, 2),
      // Below 500k deliveries the second half of publishing still includes cache warm-up,
      // so growth is reported but not judged.
      growthJudged: cfg.memEvents >= 500_000,
      flat: slopeMBPerMin !== null && slopeMBPerMin <= TARGETS.flatSlopeMBPerMin &&
        (cfg.memEvents < 500_000 || (growthPer100k !== null && growthPer100k <= TARGETS.growthMBPer100k)),
      queueDepthAtPublishEnd: mPub.queueDepth,
      firstAttemptsAtPublishEnd: mPub.retry + mPub.failed + mPub.success,
      queueDepthEnd: mEnd.queueDepth,
      firstAttemptsAtEnd: mEnd.retry + mEnd.failed + mEnd.success,
      metricsEnd: mEnd,
      churn,
      samples,
    };
  } finally {
    if (timer) clearInterval(timer);
    const problems = herald.problems();
    const stopped = await herald.stop();
    if (problems.count > 0) log(`${label}: Herald logged ${problems.count} warn/error line(s), e.g.:\n  ${problems.examples.slice(0, 3).join('\n  ')}`);
    if (!stopped.graceful) log(`${label}: Herald did not exit within 20 s of SIGTERM; killed`);
    heraldNotes.push({ label, logProblems: problems, stop: stopped });
  }
}

// ── (f) single-publish capacity, the cold start, and the BullMQ peer ─────
/** Whether the peer can run (bullmq installed, Redis reachable), found out once in main(). */
let peerEnv = { ok: false, reason: 'not checked' };

async function dropSchema(schema) {
  if (!schema) return;
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: cfg.databaseUrl });
  try {
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } catch (err) {
    log(`could not drop schema ${schema}: ${err.message}`);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * A fresh system to publish single events to: Herald (`serve`, one process, on SQLite or in a
 * fresh PostgreSQL schema) with one app and `endpoints` endpoints at /cap/<i> on the receiver
 * (with more than one, endpoint i takes only type cap.e<i>, and event n has type
 * cap.e<n % endpoints>, as in (e)), or the BullMQ peer delivering to /peer/0.
 */
async function startTarget(receiver, { kind, backend = 'sqlite', endpoints = 1, label }) {
  if (kind === 'peer') {
    if (endpoints !== 1) throw new Error(`${label}: the peer runs with 1 endpoint only`);
    const secret = newSecret();
    const path = '/peer/0';
    const peer = await startPeer({ target: receiver.origin + path, secret, redisUrl: cfg.redisUrl, label });
    return {
      sys: peer,
      pids: [peer.pid, ...(peerEnv.pid ? [peerEnv.pid] : [])],
      secrets: { [path]: secret },
      singlePath: '/events',
      batchPath: '/events/batch',
      event: (n, sentAt) => ({ type: 'order.created', data: payload(n, sentAt) }),
      async stop({ kill = false } = {}) {
        const problems = peer.problems();
        const stopped = await peer.stop({ kill });
        if (kill) await dropPeerQueue(peer.queueName, cfg.redisUrl);
        if (problems.count > 0) log(`${label}: the peer wrote ${problems.count} line(s) to stderr, e.g.:\n  ${problems.examples.slice(0, 3).join('\n  ')}`);
        return stopped;
      },
    };
  }
  const schema = backend === 'postgres' ? `herald_bench_cap_${randomBytes(4).toString('hex')}` : null;
  const databaseUrl = schema ? `${cfg.databaseUrl}${cfg.databaseUrl.includes('?') ? '&' : '?'}schema=${schema}` : null;
  let herald;
  try {
    herald = await startHerald({ label, env: cfg.heraldEnv, databaseUrl });
  } catch (err) {
    await dropSchema(schema);
    throw err;
  }
  const stop = async ({ kill = false } = {}) => {
    const problems = herald.problems();
    const stopped = await herald.stop({ kill });
    await dropSchema(schema);
    if (problems.count > 0) log(`${label}: Herald logged ${problems.count} warn/error line(s), e.g.:\n  ${problems.examples.slice(0, 3).join('\n  ')}`);
    if (!stopped.graceful && !stopped.killed) log(`${label}: Herald did not exit within 20 s of SIGTERM; killed`);
    heraldNotes.push({ label, logProblems: problems, stop: stopped });
    return stopped;
  };
  try {
    const app = await herald.createApp(`bench ${label}`);
    const secrets = {};
    for (let i = 0; i < endpoints; i++) {
      const path = `/cap/${i}`;
      const ep = await herald.createEndpoint(app.id, { url: receiver.origin + path, ...(endpoints > 1 ? { events: [`cap.e${i}`] } : {}) });
      secrets[path] = ep.secret;
    }
    return {
      sys: herald,
      pids: [herald.pid],
      secrets,
      singlePath: `/v1/apps/${app.id}/events`,
      batchPath: `/v1/apps/${app.id}/events/batch`,
      event: endpoints > 1
        ? (n, sentAt) => ({ type: `cap.e${n % endpoints}`, data: payload(n, sentAt) })
        : (n, sentAt) => ({ type: 'order.created', data: payload(n, sentAt) }),
      stop,
    };
  } catch (err) {
    await stop({ kill: true });
    throw err;
  }
}

/**
 * One open-loop run of single publishes (POST …/events, one event per request) at `rate`/s for
 * `seconds` on a fresh system, each event carrying data.sentAt. Latency figures leave out
 * the events sent in the first `warmupSeconds`; the 1-s windows start there too. With
 * `abortWhenBehind`, publishing stops early once more than capacityBehindSeconds' worth of
 * events are published but not delivered (from the 2nd second on): such a run has failed
 * anyway, and a backlog only makes it longer. After the last publish was answered,
 * deliveries get `drainSeconds` to arrive. `complete` says whether every event was published
 * and delivered; `failReason` why not.
 */
async function singleRun(receiver, { kind = 'herald', backend = 'sqlite', endpoints = 1, rate, seconds, warmupSeconds, label, abortWhenBehind, drainSeconds }) {
  const t = await startTarget(receiver, { kind, backend, endpoints, label });
  let complete = false;
  let monitor = null;
  try {
    const total = Math.max(1, Math.round(rate * seconds));
    receiver.reset();
    receiver.setSecrets(t.secrets);
    const reached = receiver.arm(total);
    let arrived = null;
    reached.then((r) => (arrived = r));
    const cpu0 = t.pids.map((p) => cpuSeconds(p) ?? 0);
    const load = loadMeter([receiver.pid, ...t.pids]);
    let issued = 0;
    let behind = null;
    let checking = false;
    const t0 = now();
    const tWarm = t0 + warmupSeconds * 1000;
    if (abortWhenBehind) {
      monitor = setInterval(async () => {
        const el = (now() - t0) / 1000;
        if (checking || behind || el < 2) return;
        checking = true;
        try {
          const st = await receiver.stats();
          const lag = issued - st.distinct;
          if (lag > rate * cfg.capacityBehindSeconds) behind = { atSec: round(el, 1), undelivered: lag };
        } catch {
        } finally {
          checking = false;
        }
      }, 1000);
    }
    const pub = await publishSteady(t.sys, null, total, {
      t0, tWarm, rate, path: t.singlePath, stop: () => behind !== null,
      event: (n, sentAt) => {
        issued = Math.max(issued, n + 1);
        return t.event(n, sentAt);
      },
    });
    if (monitor) clearInterval(monitor);
    monitor = null;
    let failReason = null;
    if (behind) failReason = `fell behind: ${fmtInt(behind.undelivered)} events published but not delivered at ${behind.atSec} s; stopped publishing`;
    else if (pub.errors > 0) failReason = `${pub.errors} of ${pub.issued} publishes failed (first: ${pub.firstError})`;
    else {
      const deadline = now() + drainSeconds * 1000;
      while (!arrived && now() < deadline && !t.sys.exited) await Promise.race([reached, sleep(250)]);
      if (t.sys.exited) failReason = `exited (${JSON.stringify(t.sys.exited)})`;
      else if (!arrived) {
        const st = await receiver.stats();
        failReason = `${fmtInt(st.distinct)} of ${fmtInt(total)} delivered ${drainSeconds} s after the last publish was answered`;
      }
    }
    complete = failReason === null;
    const tEnd = arrived ? arrived.at : now();
    const machine = load();
    const cpu = t.pids.reduce((a, p, i) => a + ((cpuSeconds(p) ?? cpu0[i]) - cpu0[i]), 0);
    const st = await receiver.stats();
    const { sent, lat } = await receiver.samples(tWarm);
    const perSecondP99 = [];
    const perSecondApiP99 = [];
    const inWindow = (t, sec) => t - t0 >= sec * 1000 && t - t0 < (sec + 1) * 1000;
    for (let sec = warmupSeconds; sec < seconds; sec++) {
      perSecondP99.push(round(percentile(lat.filter((_, i) => inWindow(sent[i], sec)), 99), 1));
      perSecondApiP99.push(round(percentile(pub.apiLat.filter((_, i) => inWindow(pub.apiSent[i], sec)), 99), 1));
    }
    // when the slowest deliveries were published (s after the first publish)
    const slowest = lat.map((_, i) => i).sort((a, b) => lat[b] - lat[a]).slice(0, 8).map((i) => ({ atSec: round((sent[i] - t0) / 1000, 3), ms: round(lat[i], 1) }));
    if (st.sigBad > 0) throw new Error(`${label}: ${st.sigBad} of ${st.sigChecked} checked signatures did not verify (${JSON.stringify(st.sigBadExamples)})`);
    if (st.parseErrors > 0) throw new Error(`${label}: ${st.parseErrors} delivery bodies were not valid JSON`);
    return {
      rate,
      seconds,
      endpoints,
      complete,
      failReason,
      ...machine,
      events: pub.issued,
      delivered: st.distinct,
      duplicates: st.duplicates,
      ...(lat.length ? steadyStats({ total: pub.issued, t0, lastDone: pub.lastDone, tIssued: pub.tIssued, maxInflight: pub.maxInflight, lat })
        : { samples: 0, p50: null, p90: null, p99: null, max: null, achievedPublishRate: null, maxInflight: pub.maxInflight }),
      perSecondP99,
      perSecondApiP99,
      slowest,
      apiP50: round(percentile(pub.apiLat, 50), 2),
      apiP99: round(percentile(pub.apiLat, 99), 2),
      apiMax: pub.apiLat.length ? round(Math.max(...pub.apiLat), 2) : null,
      allDeliveredAfterSeconds: arrived ? round((arrived.at - t0) / 1000, 2) : null,
      cpuPct: round((cpu / ((tEnd - t0) / 1000)) * 100, 0),
    };
  } finally {
    if (monitor) clearInterval(monitor);
    await t.stop({ kill: !complete }).catch((err) => log(`${label}: stop failed: ${err.message}`));
    receiver.reset();
  }
}

/**
 * (f) The highest rate R of single publishes whose run (capacitySeconds, fresh system each
 * step) had publish→delivery p99 ≤ 25 ms (first second left out) with every event delivered.
 * Rates: capacityStart, then +50 % per step until a step fails or the time budget is spent;
 * then one step halfway between the last pass and the first fail. If the first step fails,
 * the rate is halved (twice at most).
 */
async function capacitySearch(receiver, { kind = 'herald', backend = 'sqlite', endpoints, label }) {
  const start = Date.now();
  const steps = [];
  const step = async (rate, why) => {
    const w0 = Date.now();
    const r = await singleRun(receiver, {
      kind, backend, endpoints, rate, seconds: cfg.capacitySeconds, warmupSeconds: cfg.capacityWarmupSeconds,
      label: `${label} @ ${rate}/s`, abortWhenBehind: true, drainSeconds: cfg.capacityDrainSeconds,
    });
    r.stepSeconds = round((Date.now() - w0) / 1000, 1);
    r.why = why;
    r.pass = r.complete && r.p99 !== null && r.p99 <= TARGETS.capacityP99Ms;
    if (r.complete && !r.pass) r.failReason = `p99 ${fmt(r.p99, 1)} ms > ${TARGETS.capacityP99Ms} ms`;
    steps.push(r);
    log(`(f) ${label} @ ${fmtInt(rate)}/s: ${r.pass ? 'pass' : 'FAIL'} — p50 ${fmt(r.p50, 2)} ms, p99 ${fmt(r.p99, 2)} ms, ` +
      `API p99 ${fmt(r.apiP99, 2)} ms, achieved ${fmtInt(r.achievedPublishRate)}/s, CPU ${r.cpuPct}%, other load ${r.otherCpuPct}%` +
      `${r.pass ? '' : `; ${r.failReason}`} (${r.stepSeconds} s)`);
    return r;
  };
  let pass = null;
  let fail = null;
  let budgetHit = false;
  let rate = cfg.capacityStart;
  for (;;) {
    const r = await step(rate, steps.length ? 'ladder' : 'start');
    if (!r.pass) {
      fail = r;
      break;
    }
    pass = r;
    const elapsed = (Date.now() - start) / 1000;
    if (steps.length >= cfg.capacityMaxSteps || elapsed + r.stepSeconds > cfg.capacityBudgetSeconds) {
      budgetHit = true;
      break;
    }
    rate = Math.round(rate * cfg.capacityGrowth);
  }
  if (!pass) {
    for (const r0 of [Math.round(cfg.capacityStart / 2), Math.round(cfg.capacityStart / 4)]) {
      const r = await step(r0, 'below start');
      if (r.pass) {
        pass = r;
        break;
      }
      fail = r;
    }
  }
  // one bisection between the last pass and the lowest failing rate above it
  const failAbove = pass ? steps.filter((x) => !x.pass && x.rate > pass.rate).sort((x, y) => x.rate - y.rate)[0] : null;
  if (pass && failAbove) {
    const mid = Math.round((pass.rate + failAbove.rate) / 2);
    if (mid > pass.rate && mid < failAbove.rate) {
      const r = await step(mid, 'bisect');
      if (r.pass) pass = r;
    }
  }
  const out = {
    kind,
    backend: kind === 'peer' ? null : backend,
    endpoints,
    R: pass ? pass.rate : null,
    // the ladder stopped on time, not on a failing step: the true R is at least this
    lowerBound: budgetHit,
    firstFailRate: steps.filter((s) => !s.pass && (!pass || s.rate > pass.rate)).reduce((a, s) => (a === null || s.rate < a ? s.rate : a), null),
    atR: pass ? (({ perSecondP99, perSecondApiP99, slowest, ...x }) => x)(pass) : null,
    seconds: round((Date.now() - start) / 1000, 0),
    steps,
  };
  log(`(f) ${label}: R = ${out.R === null ? `none (below ${Math.round(cfg.capacityStart / 4)}/s)` : `${out.lowerBound ? '≥ ' : ''}${fmtInt(out.R)}/s`} (${steps.length} steps, ${out.seconds} s)`);
  return out;
}

/**
 * Cold start: a fresh Herald (1 endpoint) hit at `rate` from the moment its app and endpoint
 * exist, for capacitySeconds; every 1-s window's p99 from the very first one.
 */
async function coldStart(receiver, { backend, rate, label }) {
  const r = await singleRun(receiver, {
    backend, endpoints: 1, rate, seconds: cfg.capacitySeconds, warmupSeconds: 0, label, abortWhenBehind: false, drainSeconds: cfg.coldstartDrainSeconds,
  });
  const ws = r.perSecondP99.filter((x) => x !== null);
  r.maxWindowP99 = ws.length ? Math.max(...ws) : null;
  r.windowsOver = r.perSecondP99.map((x, i) => [i, x]).filter(([, x]) => x !== null && x > TARGETS.coldStartWindowP99Ms).map(([i]) => i);
  r.pass = r.complete && r.maxWindowP99 !== null && r.maxWindowP99 <= TARGETS.coldStartWindowP99Ms;
  log(`(f) ${label} @ ${fmtInt(rate)}/s: 1-s window p99s ${r.perSecondP99.join(', ')} ms (max ${r.maxWindowP99})${r.complete ? '' : `; ${r.failReason}`}`);
  return r;
}

/** (b1) through the BullMQ peer: N events via /events/batch (queue.addBulk), 1,000 per request, 4 in flight. */
async function peerThroughput(receiver, run) {
  const label = `peer b1 run ${run}`;
  const n = cfg.deliveries;
  const t = await startTarget(receiver, { kind: 'peer', label });
  let ok = false;
  try {
    receiver.reset();
    receiver.setSecrets(t.secrets);
    const reached = receiver.arm(n);
    const cpu0 = t.pids.map((p) => cpuSeconds(p) ?? 0);
    const load = loadMeter([receiver.pid, ...t.pids]);
    const t0 = now();
    const pub = await publishBatches(t.sys, null, n, { path: t.batchPath });
    const r = await awaitDeliveries(receiver, reached, n, { herald: t.sys, label });
    const seconds = (r.at - t0) / 1000;
    const machine = load();
    const cpus = t.pids.map((p, i) => ((cpuSeconds(p) ?? cpu0[i]) - cpu0[i]) / seconds * 100);
    await sleep(500);
    const st = await receiver.stats();
    const ps = await t.sys.stats();
    if (st.sigBad > 0) throw new Error(`${label}: ${st.sigBad} of ${st.sigChecked} checked signatures did not verify`);
    ok = true;
    return {
      deliveriesPerSec: round(n / seconds, 0),
      ...machine,
      seconds: round(seconds, 3),
      publishSeconds: round(pub.seconds, 3),
      ingestEventsPerSec: round(n / pub.seconds, 0),
      duplicates: st.duplicates,
      peerCpuPct: round(cpus[0], 0),
      redisCpuPct: cpus.length > 1 ? round(cpus[1], 0) : null,
      failedAttempts: ps?.failedAttempts ?? null,
      sigChecked: st.sigChecked,
    };
  } finally {
    await t.stop({ kill: !ok });
  }
}

// ── (b2f) filtered against unfiltered ────────────────────────────────────
/**
 * (b2f)'s figures against its reference (25 endpoints, no filter): same events, same 25
 * deliveries per event, same deliveries, so deliveries/s and events/s compare directly; per
 * event and per delivery are the same ratio here. Judged on the ratio of the medians; the
 * ratio within each run (filtered and reference ran back to back) is shown beside it. Against
 * (b2) (50 unfiltered endpoints, 50 deliveries per event) only for information.
 */
function filterComparison(r) {
  const f = r.herald50f.runs;
  const ref = r.herald25.runs;
  const pct = (a, b) => (a && b ? round((a / b) * 100, 1) : null);
  const med = (xs, key) => median(xs.map((x) => x[key]));
  const perRun = (key) => f.map((x) => ({ run: x.run, pct: pct(x[key], ref.find((y) => y.run === x.run)?.[key]) })).filter((x) => x.pct !== null);
  const out = {
    filteredEndpoints: cfg.fanout,
    matchingEndpoints: cfg.filterMatching,
    referenceEndpoints: cfg.filterMatching,
    conditionsPerFilter: Object.keys(fiveConditionFilter(true)).length,
    events: cfg.deliveries50 / cfg.filterMatching,
    deliveries: cfg.deliveries50,
    filtered: { deliveriesPerSec: med(f, 'deliveriesPerSec'), ingestEventsPerSec: med(f, 'ingestEventsPerSec'), ingestDeliveriesPerSec: med(f, 'ingestDeliveriesPerSec') },
    reference: { deliveriesPerSec: med(ref, 'deliveriesPerSec'), ingestEventsPerSec: med(ref, 'ingestEventsPerSec'), ingestDeliveriesPerSec: med(ref, 'ingestDeliveriesPerSec') },
    deliveriesPctOfReference: null,
    ingestPctOfReference: null,
    deliveriesPctPerRun: perRun('deliveriesPerSec'),
    ingestPctPerRun: perRun('ingestEventsPerSec'),
    vsB2: null,
  };
  out.deliveriesPctOfReference = pct(out.filtered.deliveriesPerSec, out.reference.deliveriesPerSec);
  out.ingestPctOfReference = pct(out.filtered.ingestEventsPerSec, out.reference.ingestEventsPerSec);
  out.deliveriesPass = out.deliveriesPctOfReference === null ? null : out.deliveriesPctOfReference >= TARGETS.filterPctOfUnfiltered;
  out.ingestPass = out.ingestPctOfReference === null ? null : out.ingestPctOfReference >= TARGETS.filterPctOfUnfiltered;
  const b2 = r.herald50.runs;
  if (b2.length && f.length) {
    out.vsB2 = {
      deliveriesPct: pct(out.filtered.deliveriesPerSec, med(b2, 'deliveriesPerSec')),
      ingestEventsPct: pct(out.filtered.ingestEventsPerSec, med(b2, 'ingestEventsPerSec')),
      ingestDeliveriesPct: pct(out.filtered.ingestDeliveriesPerSec, med(b2, 'ingestDeliveriesPerSec')),
    };
  }
  return out;
}

// ── main ─────────────────────────────────────────────────────────────────
async function attempt(name, fn) {
  try {
    return await fn();
  } catch (err) {
    let message = err?.message ?? String(err);
    if (message.startsWith(`${name}: `)) message = message.slice(name.length + 2);
    failures.push({ scenario: name, error: message });
    log(`FAILED ${name}: ${message}`);
    return null;
  }
}

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

function srcDirty() {
  try {
    return execFileSync('git', ['status', '--porcelain', '--', 'src', 'package.json'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
  } catch {
    return null;
  }
}

const maskUrl = (u) => String(u).replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');

async function main() {
  const started = Date.now();
  log(`Herald bench (${cfg.mode}): runs=${cfg.runs}, ${fmtInt(cfg.deliveries)} deliveries per throughput run, ` +
    `${cfg.rate}/s for ${cfg.latencySeconds} s, fairness ${cfg.rate}/s for 2 × ${cfg.fairnessSeconds} s, ${fmtInt(cfg.memEvents)} waiting deliveries, ` +
    `capacity steps of ${cfg.capacitySeconds} s from ${cfg.capacityStart}/s on ${cfg.backends.join(' and ')}`);
  // How busy is the machine before we start? (A shared 2-CPU box: say so if it is.)
  const idle = loadMeter([]);
  await sleep(1000);
  const before = idle();
  if (before.otherCpuPct !== null && before.otherCpuPct > 20) {
    log(`WARNING: other processes are using ${before.otherCpuPct}% of one CPU before the bench starts; figures will be noisy`);
  }
  if (wanted('peer')) {
    peerEnv = await redisReachable(cfg.redisUrl);
    log(peerEnv.ok ? `peer: Redis ${peerEnv.version ?? '?'} at ${cfg.redisUrl}${peerEnv.pid ? ` (pid ${peerEnv.pid}, its CPU counted with the peer's)` : ''}`
      : `peer: not run (${peerEnv.reason} at ${cfg.redisUrl})`);
  }
  const runPeer = wanted('peer') && peerEnv.ok;
  const receiver = await startReceiver();
  const results = {
    meta: {
      date: new Date().toISOString(),
      commit: gitCommit(),
      // dist/ is built from the working tree, which may differ from the commit
      srcDirty: srcDirty(),
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? null,
      otherCpuPctBeforeStart: before.otherCpuPct,
      // (passwords in the database and Redis URLs masked)
      config: { ...cfg, databaseUrl: maskUrl(cfg.databaseUrl), redisUrl: maskUrl(cfg.redisUrl) },
    },
    ceiling: { runs: [] },
    herald1: { runs: [] },
    herald50: { runs: [] },
    // (b2f): 50 filtered endpoints (25 match), and its reference, 25 endpoints without filters
    herald50f: { runs: [] },
    herald25: { runs: [] },
    // (b2t): 50 endpoints, each with a small transform (compared with b2, same run)
    herald50t: { runs: [] },
    filters: null,
    latency: null,
    fairness: null,
    memory: null,
    // (f) per backend: {one, fifty} capacity searches; the cold start per backend
    capacity: null,
    coldstart: null,
    // the BullMQ peer: b1 runs and its 1-endpoint capacity search, and Herald ÷ peer
    peer: wanted('peer') ? { run: runPeer, reason: runPeer ? null : peerEnv.reason, redisUrl: cfg.redisUrl, b1: { runs: [] }, capacity: null } : null,
  };
  try {
    // Interleaved (a, b1, b2, b2f, a, b1, b2, b2f, …) so that each scenario sees the same noise.
    for (let run = 1; run <= cfg.runs; run++) {
      if (wanted('ceiling')) {
        const r = await attempt(`ceiling run ${run}`, () => rawCeiling(receiver, run));
        if (r) {
          results.ceiling.runs.push(r);
          log(`(a) ceiling run ${run}/${cfg.runs}: ${fmtInt(r.reqPerSec)} req/s (${r.seconds} s, receiver CPU ${r.receiverCpuPct}%, bench CPU ${r.benchCpuPct}%, other load ${r.otherCpuPct}%)`);
        }
      }
      if (wanted('b1')) {
        const r = await attempt(`b1 run ${run}`, () => heraldThroughput(receiver, { endpoints: 1, deliveries: cfg.deliveries, label: `b1 run ${run}` }));
        if (r) {
          results.herald1.runs.push(r);
          log(`(b1) Herald 1 endpoint run ${run}/${cfg.runs}: ${fmtInt(r.deliveriesPerSec)} deliveries/s (${r.seconds} s; publish ${r.publishSeconds} s; Herald CPU ${r.heraldCpuPct}%, other load ${r.otherCpuPct}%, dup ${r.duplicates})`);
        }
      }
      if (runPeer) {
        const r = await attempt(`peer b1 run ${run}`, () => peerThroughput(receiver, run));
        if (r) {
          results.peer.b1.runs.push(r);
          log(`(b1) BullMQ peer run ${run}/${cfg.runs}: ${fmtInt(r.deliveriesPerSec)} deliveries/s (${r.seconds} s; publish ${r.publishSeconds} s; peer CPU ${r.peerCpuPct}%, Redis CPU ${r.redisCpuPct ?? '—'}%, other load ${r.otherCpuPct}%, dup ${r.duplicates})`);
        }
      }
      if (wanted('b2')) {
        const r = await attempt(`b2 run ${run}`, () => heraldThroughput(receiver, { endpoints: cfg.fanout, deliveries: cfg.deliveries50, label: `b2 run ${run}` }));
        if (r) {
          results.herald50.runs.push(r);
          log(`(b2) Herald ${cfg.fanout} endpoints run ${run}/${cfg.runs}: ${fmtInt(r.deliveriesPerSec)} deliveries/s (${r.seconds} s; publish ${r.publishSeconds} s; Herald CPU ${r.heraldCpuPct}%, other load ${r.otherCpuPct}%, dup ${r.duplicates})`);
        }
      }
      if (wanted('b2t')) {
        const r = await attempt(`b2t run ${run}`, () => heraldThroughput(receiver, { endpoints: cfg.fanout, deliveries: cfg.deliveries50, label: `b2t run ${run}`, transform: PICK_TRANSFORM }));
        if (r) {
          results.herald50t.runs.push(r);
          log(`(b2t) Herald ${cfg.fanout} transformed endpoints run ${run}/${cfg.runs}: ${fmtInt(r.deliveriesPerSec)} deliveries/s (${r.seconds} s; publish ${r.publishSeconds} s; Herald CPU ${r.heraldCpuPct}%, other load ${r.otherCpuPct}%, dup ${r.duplicates})`);
        }
      }
      if (wanted('b2f')) {
        // The filtered run and its unfiltered reference back to back, in turn first, so that
        // neither always runs on a machine warmed (or disturbed) by the other.
        const k = cfg.filterMatching;
        const pair = [
          ['herald50f', `b2f run ${run}`, { endpoints: cfg.fanout, matching: k, filter: (j) => fiveConditionFilter(j < k) }, `${cfg.fanout} filtered endpoints (${k} match)`],
          ['herald25', `b2f-ref run ${run}`, { endpoints: k }, `${k} endpoints, no filter`],
        ];
        for (const [key, label, shape, what] of run % 2 ? pair : pair.reverse()) {
          const r = await attempt(label, () => heraldThroughput(receiver, { ...shape, deliveries: cfg.deliveries50, label }));
          if (r) {
            results[key].runs.push({ run, ...r });
            log(`(b2f) Herald ${what} run ${run}/${cfg.runs}: ${fmtInt(r.deliveriesPerSec)} deliveries/s (${r.seconds} s; publish ${r.publishSeconds} s, ${fmtInt(r.ingestEventsPerSec)} events/s; Herald CPU ${r.heraldCpuPct}%, other load ${r.otherCpuPct}%, dup ${r.duplicates})`);
          }
        }
      }
    }
    if (wanted('latency')) {
      results.latency = await attempt('latency', () => latency(receiver));
      if (results.latency) log(`(c) latency at ${cfg.rate}/s: p50 ${results.latency.p50} ms, p99 ${results.latency.p99} ms`);
    }
    if (wanted('fairness')) {
      results.fairness = await attempt('fairness', () => fairness(receiver));
      if (results.fairness) log(`(e) fairness: healthy p99 ${results.fairness.allHealthy.p99} ms all healthy, ${results.fairness.oneHanging.p99} ms with one hanging endpoint (${results.fairness.ratioP99}×)`);
    }
    // (f): R is judged against the ceiling of the same run: one ceiling run if none was asked for.
    if ((wanted('capacity') || runPeer) && results.ceiling.runs.length === 0) {
      const r = await attempt('ceiling for (f)', () => rawCeiling(receiver, 1));
      if (r) {
        results.ceiling.runs.push(r);
        results.ceiling.forCapacityOnly = true;
        log(`(a) ceiling (for (f)): ${fmtInt(r.reqPerSec)} req/s (other load ${r.otherCpuPct}%)`);
      }
    }
    if (wanted('capacity') || wanted('coldstart')) {
      results.capacity = {};
      results.coldstart = {};
    }
    for (const backend of wanted('capacity') ? cfg.backends : []) {
      const c = (results.capacity[backend] = { one: null, fifty: null });
      c.one = await attempt(`capacity ${backend} 1 endpoint`, () => capacitySearch(receiver, { backend, endpoints: 1, label: `capacity ${backend} 1 endpoint` }));
      // the peer's search right after Herald's 1-endpoint one, so both see the same machine
      if (runPeer && backend === cfg.backends[0]) {
        results.peer.capacity = await attempt('peer capacity', () => capacitySearch(receiver, { kind: 'peer', endpoints: 1, label: 'peer capacity 1 endpoint' }));
      }
      c.fifty = await attempt(`capacity ${backend} ${cfg.fanout} endpoints`, () =>
        capacitySearch(receiver, { backend, endpoints: cfg.fanout, label: `capacity ${backend} ${cfg.fanout} endpoints` }));
    }
    if (runPeer && !wanted('capacity')) {
      results.peer.capacity = await attempt('peer capacity', () => capacitySearch(receiver, { kind: 'peer', endpoints: 1, label: 'peer capacity 1 endpoint' }));
    }
    for (const backend of wanted('coldstart') ? cfg.backends : []) {
      let rate = cfg.coldstartRate;
      let basis = '--coldstart-rate';
      if (rate === null) {
        let R = results.capacity[backend]?.one?.R ?? null;
        if (R === null && !wanted('capacity')) {
          log(`(f) cold start on ${backend}: no R yet, searching it first (1 endpoint)`);
          const one = await attempt(`capacity ${backend} 1 endpoint`, () => capacitySearch(receiver, { backend, endpoints: 1, label: `capacity ${backend} 1 endpoint` }));
          results.capacity[backend] = { one, fifty: null, forColdstartOnly: true };
          R = one?.R ?? null;
        }
        if (R !== null) {
          rate = Math.max(1, Math.round(R / 2));
          basis = `0.5 × R (${R}/s)`;
        } else {
          // no step passed: half the lowest rate the search tried, so there is a figure anyway
          const lowest = Math.min(...(results.capacity[backend]?.one?.steps ?? []).map((x) => x.rate), Math.round(cfg.capacityStart / 4));
          rate = Math.max(1, Math.round(lowest / 2));
          basis = `no R: 0.5 × lowest step (${lowest}/s)`;
          log(`(f) cold start on ${backend}: no 1-endpoint step passed; running at ${rate}/s (${basis})`);
        }
      }
      const r = await attempt(`coldstart ${backend}`, () => coldStart(receiver, { backend, rate, label: `coldstart ${backend}` }));
      if (r) results.coldstart[backend] = { ...r, basis };
    }
  } finally {
    await receiver.stop();
  }
  if (wanted('memory')) {
    results.memory = await attempt('memory', () => memory());
    if (results.memory) log(`(d) memory: RSS start ${results.memory.rssStartMB} MB, max ${results.memory.rssMaxMB} MB, end ${results.memory.rssEndMB} MB`);
  }

  const ceiling = median(results.ceiling.runs.map((r) => r.reqPerSec));
  const h1 = median(results.herald1.runs.map((r) => r.deliveriesPerSec));
  const h50 = median(results.herald50.runs.map((r) => r.deliveriesPerSec));
  results.ceiling.median = ceiling;
  results.herald1.median = h1;
  results.herald50.median = h50;
  results.herald50t.median = median(results.herald50t.runs.map((r) => r.deliveriesPerSec));
  results.herald50t.pctOfB2 = h50 && results.herald50t.median ? round((results.herald50t.median / h50) * 100, 1) : null;
  results.herald1.pctOfCeiling = ceiling && h1 ? round((h1 / ceiling) * 100, 1) : null;
  results.herald50.pctOfCeiling = ceiling && h50 ? round((h50 / ceiling) * 100, 1) : null;
  if (wanted('b2f')) results.filters = filterComparison(results);
  for (const c of Object.values(results.capacity ?? {})) {
    for (const s of [c.one, c.fifty]) if (s) s.ofCeiling = ceiling && s.R !== null ? round(s.R / ceiling, 3) : null;
  }
  if (results.peer?.run) {
    const p = results.peer;
    p.b1.median = median(p.b1.runs.map((r) => r.deliveriesPerSec));
    p.b1.pctOfCeiling = ceiling && p.b1.median ? round((p.b1.median / ceiling) * 100, 1) : null;
    if (p.capacity) p.capacity.ofCeiling = ceiling && p.capacity.R !== null ? round(p.capacity.R / ceiling, 3) : null;
    const hR = results.capacity?.[cfg.backends[0]]?.one ?? null;
    p.heraldBackendForCapacity = cfg.backends[0];
    p.batchRatio = h1 && p.b1.median ? round(h1 / p.b1.median, 2) : null;
    p.capacityRatio = hR?.R && p.capacity?.R ? round(hR.R / p.capacity.R, 2) : null;
    // a ladder stopped by its time budget gives a lower bound of R, so the ratio is a bound too
    p.capacityRatioBound = hR?.lowerBound && p.capacity?.lowerBound ? 'both R lower bounds' : hR?.lowerBound ? 'lower bound' : p.capacity?.lowerBound ? 'upper bound' : null;
  }
  results.targets = TARGETS;
  results.heraldNotes = heraldNotes.filter((n) => n.logProblems.count > 0 || (!n.stop.graceful && !n.stop.killed));
  results.failures = failures;
  results.meta.durationSeconds = Math.round((Date.now() - started) / 1000);

  printTable(results);
  // The full memory time series goes to the file only; the JSON line keeps the summary.
  const { samples, ...memSummary } = results.memory ?? {};
  const line = { ...results, memory: results.memory ? memSummary : null };
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(line)}\n`);
  mkdirSync(join(BENCH_DIR, 'results'), { recursive: true });
  writeFileSync(join(BENCH_DIR, 'results', 'latest.json'), JSON.stringify(results, null, 2) + '\n');
  log(`wrote bench/results/latest.json (${results.meta.durationSeconds} s in all)`);
  process.exitCode = failures.length > 0 ? 1 : 0;
}

function printTable(r) {
  const verdict = (ok) => (ok === null ? '' : ok ? 'PASS' : 'MISS');
  const runsOf = (xs, key) => (xs.length > 1 ? `  [runs: ${xs.map((x) => fmtInt(x[key])).join(', ')}]` : '');
  const loads = (xs, key = 'otherCpuPct') => (xs.length ? xs.map((x) => (x?.[key] ?? '—')).join(', ') : '—');
  const rows = [];
  const row = (name, value, target = '', status = '') => rows.push([name, value, target, status]);
  const c = r.ceiling;
  const missing = (scenario) => (wanted(scenario) ? 'FAILED (see below)' : 'not run (--only)');
  row('(a) raw ceiling: signed POSTs, undici → receiver', c.median ? `${fmtInt(c.median)} req/s${runsOf(c.runs, 'reqPerSec')}` : missing('ceiling'));
  for (const [key, name, scenario] of [
    ['herald1', `(b1) Herald, 1 endpoint, ${fmtInt(cfg.deliveries)} deliveries`, 'b1'],
    ['herald50', `(b2) Herald, ${cfg.fanout} endpoints × ${fmtInt(cfg.deliveries50 / cfg.fanout)} events`, 'b2'],
  ]) {
    const h = r[key];
    if (!h.median) {
      row(name, missing(scenario));
      continue;
    }
    row(name, `${fmtInt(h.median)} deliveries/s${runsOf(h.runs, 'deliveriesPerSec')}`);
    const pct = h.pctOfCeiling;
    row('     % of raw ceiling', pct === null ? '—' : `${fmt(pct)} %`, `≥ ${TARGETS.pctOfCeiling} %`, pct === null ? '' : verdict(pct >= TARGETS.pctOfCeiling));
    const dups = h.runs.reduce((a, x) => a + x.duplicates, 0);
    const retries = h.runs.reduce((a, x) => a + (x.metricsAfter?.retry ?? 0) + (x.metricsAfter?.failed ?? 0), 0);
    row('     duplicates / failed attempts (all runs)', `${fmtInt(dups)} / ${fmtInt(retries)}`);
    row('     publish (ingest) rate, median', `${fmtInt(median(h.runs.map((x) => x.ingestEventsPerSec)))} events/s = ${fmtInt(median(h.runs.map((x) => x.ingestDeliveriesPerSec)))} deliveries/s`);
  }
  const ht = r.herald50t;
  if (ht.median) {
    row(`(b2t) Herald, ${cfg.fanout} endpoints with a transform × ${fmtInt(cfg.deliveries50 / cfg.fanout)} events`, `${fmtInt(ht.median)} deliveries/s${runsOf(ht.runs, 'deliveriesPerSec')}`);
    row('     deliveries/s, transformed ÷ (b2) untransformed', ht.pctOfB2 === null ? '— (b2 not run)' : `${fmt(ht.pctOfB2)} %`,
      `≥ ${TARGETS.transformPctOfPlain} %`, ht.pctOfB2 === null ? '' : verdict(ht.pctOfB2 >= TARGETS.transformPctOfPlain));
  } else row('(b2t) Herald, endpoints with a transform', missing('b2t'));
  const fc = r.filters;
  if (fc && r.herald50f.runs.length && r.herald25.runs.length) {
    const [hf, h25] = [r.herald50f, r.herald25];
    const ratios = (xs) => (xs.length > 1 ? `  [runs: ${xs.map((x) => fmt(x.pct)).join(', ')} %]` : '');
    row(`(b2f) Herald, ${fc.filteredEndpoints} endpoints × ${fc.conditionsPerFilter}-condition filter, ${fc.matchingEndpoints} match, × ${fmtInt(fc.events)} events`,
      `${fmtInt(fc.filtered.deliveriesPerSec)} deliveries/s${runsOf(hf.runs, 'deliveriesPerSec')}`);
    row(`     reference: ${fc.referenceEndpoints} endpoints, no filter, × ${fmtInt(fc.events)} events`, `${fmtInt(fc.reference.deliveriesPerSec)} deliveries/s${runsOf(h25.runs, 'deliveriesPerSec')}`);
    row(`     deliveries/s, filtered ÷ reference (${fc.matchingEndpoints} deliveries per event in both)`, `${fmt(fc.deliveriesPctOfReference)} %${ratios(fc.deliveriesPctPerRun)}`,
      `≥ ${TARGETS.filterPctOfUnfiltered} %`, verdict(fc.deliveriesPass));
    row('     publish (ingest) rate, filtered / reference, median', `${fmtInt(fc.filtered.ingestEventsPerSec)} / ${fmtInt(fc.reference.ingestEventsPerSec)} events/s` +
      ` = ${fmtInt(fc.filtered.ingestDeliveriesPerSec)} / ${fmtInt(fc.reference.ingestDeliveriesPerSec)} deliveries/s`);
    row('     events/s accepted, filtered ÷ reference (= per delivery)', `${fmt(fc.ingestPctOfReference)} %${ratios(fc.ingestPctPerRun)}`,
      `≥ ${TARGETS.filterPctOfUnfiltered} %`, verdict(fc.ingestPass));
    if (fc.vsB2) {
      row(`     vs (b2), ${cfg.fanout} deliveries per event: not judged`,
        `deliveries/s ${fmt(fc.vsB2.deliveriesPct)} %; ingest per event ${fmt(fc.vsB2.ingestEventsPct)} %, per delivery ${fmt(fc.vsB2.ingestDeliveriesPct)} %`);
    }
    const dups = [...hf.runs, ...h25.runs].reduce((a, x) => a + x.duplicates, 0);
    const retries = [...hf.runs, ...h25.runs].reduce((a, x) => a + (x.metricsAfter?.retry ?? 0) + (x.metricsAfter?.failed ?? 0), 0);
    row('     duplicates / failed attempts (all runs, both)', `${fmtInt(dups)} / ${fmtInt(retries)}`);
  } else row('(b2f) Herald, filtered endpoints', missing('b2f'));
  const l = r.latency;
  if (l) {
    row(`(c) publish→delivery latency @ ${fmtInt(l.rate)} ev/s, p50 / p99`, `${fmt(l.p50, 2)} / ${fmt(l.p99, 2)} ms`, `p99 ≤ ${TARGETS.p99Ms} ms`, verdict(l.p99 <= TARGETS.p99Ms));
    row('     p90 / max', `${fmt(l.p90, 2)} / ${fmt(l.max, 2)} ms  (${fmtInt(l.samples)} samples, first ${cfg.warmupSeconds} s dropped)`);
    const ps = l.perSecondP99.filter((x) => x !== null);
    row('     p99 of each 1-s window (min / median / max)', `${fmt(Math.min(...ps))} / ${fmt(median(ps))} / ${fmt(Math.max(...ps))} ms`);
    row(`     deliveries slower than ${TARGETS.p99Ms} ms`, `${fmtInt(l.over25ms)} of ${fmtInt(l.samples)} (${fmt((l.over25ms / l.samples) * 100, 2)} %)`);
    row('     publish API latency p50 / p99', `${fmt(l.apiP50, 2)} / ${fmt(l.apiP99, 2)} ms`);
    row('     achieved publish rate', `${fmtInt(l.achievedPublishRate)} events/s over ${l.seconds} s (max ${l.maxInflight} in flight)`);
  } else row('(c) latency', missing('latency'));
  const m = r.memory;
  if (m) {
    row(`(d) memory, ${fmtInt(m.events)} deliveries waiting on a dead endpoint`, `RSS start ${fmt(m.rssStartMB, 0)} MB, max ${fmt(m.rssMaxMB, 0)} MB, end ${fmt(m.rssEndMB, 0)} MB`);
    row('     RSS at 10 % / 50 % / 100 % published', `${fmt(m.rssAt10pctPublishedMB, 0)} / ${fmt(m.rssAt50pctPublishedMB, 0)} / ${fmt(m.rssAtPublishEndMB, 0)} MB  (publish ${m.publishSeconds} s, ${fmtInt(m.ingestEventsPerSec)} events/s)`);
    row('     RSS growth 50 % → 100 % published (fitted)', `${fmt(m.growthMBPer100kSecondHalf, 1)} MB per 100k deliveries`,
      m.growthJudged ? `≤ ${TARGETS.growthMBPer100k}` : 'not judged < 500k',
      m.growthJudged ? verdict(m.growthMBPer100kSecondHalf !== null && m.growthMBPer100kSecondHalf <= TARGETS.growthMBPer100k) : '');
    const churnText = m.churnEnd === 'all'
      ? `all made ${m.churnSeconds} s after publishing ended`
      : m.churnEnd === 'stopped'
        ? `attempts stopped at ${fmtInt(m.firstAttemptsAtEnd)}; endpoint ${m.endpointEnd.status}, circuit ${m.endpointEnd.circuitState ?? '—'}`
        : `NOT all made ${m.churnSeconds} s after publishing ended`;
    row('     RSS when first attempts ended', `${fmt(m.rssAtChurnEndMB, 0)} MB  (${churnText})`);
    row(`     RSS slope over the last 10 s (of ${m.waitSeconds} s of waiting)`, `${fmt(m.slopeLast10sMBPerMin, 2)} MB/min`, `≤ +${TARGETS.flatSlopeMBPerMin}`, verdict(m.slopeLast10sMBPerMin !== null && m.slopeLast10sMBPerMin <= TARGETS.flatSlopeMBPerMin));
    row(`     memory flat (${m.growthJudged ? 'both of the above' : 'slope only'})`, m.flat ? 'yes' : 'no', 'flat', verdict(m.flat));
    row('     queue depth at end / first attempts made', `${fmtInt(m.queueDepthEnd)} / ${fmtInt(m.firstAttemptsAtEnd)}`);
  } else row('(d) memory', missing('memory'));
  const f = r.fairness;
  if (f) {
    const [a, b] = [f.allHealthy, f.oneHanging];
    const pair = (key, d = 2) => `${fmt(a[key], d)} / ${fmt(b[key], d)} ms`;
    row(`(e) fairness @ ${fmtInt(a.rate)} ev/s over ${a.endpoints} endpoints: healthy p99, all healthy / 1 hanging`, pair('p99'));
    row('     ratio of healthy p99 (1 hanging ÷ all healthy)', f.ratioP99 === null ? '—' : `${fmt(f.ratioP99, 2)}×`,
      f.judged ? `≤ ${TARGETS.fairnessRatio}×` : `≤ ${TARGETS.fairnessRatio}×, not judged`, verdict(f.pass));
    row('     healthy p50, all healthy / 1 hanging', `${pair('p50')}  (ratio ${fmt(f.ratioP50, 2)}×)`);
    row('     healthy max, all healthy / 1 hanging', `${pair('max', 1)}  (${fmtInt(a.samples)} / ${fmtInt(b.samples)} samples, first ${cfg.fairnessWarmupSeconds} s dropped)`);
    const win = (x) => {
      const ps = x.perSecondP99.filter((v) => v !== null);
      return ps.length ? `${fmt(Math.min(...ps))} / ${fmt(median(ps))} / ${fmt(Math.max(...ps))}` : '—';
    };
    row('     healthy p99 of each 1-s window (min / median / max)', `all healthy ${win(a)} ms; 1 hanging ${win(b)} ms`);
    row('     publish API latency p99, all healthy / 1 hanging', pair('apiP99'));
    row('     achieved publish rate, all healthy / 1 hanging', `${fmtInt(a.achievedPublishRate)} / ${fmtInt(b.achievedPublishRate)} events/s over ${a.seconds} s` +
      (f.judged ? '' : ` — below ${FAIR_MIN_PUBLISH_SHARE * 100} % of ${fmtInt(a.rate)}/s: Herald fell behind publishing, ratio not judged`));
    const e0 = b.endpoint0;
    row('     hanging endpoint: requests reaching it; state after the run',
      `${fmtInt(b.hungRequests)} requests; circuit ${e0.circuitState}, ${fmtInt(e0.consecutiveFailures)} consecutive failures` +
        (b.circuitOpenedAtSec !== null ? ` (circuit left 'closed' at ~${fmt(b.circuitOpenedAtSec)} s)` : ' (circuit never left \'closed\' while polled)'));
  } else row('(e) fairness', missing('fairness'));
  const backendName = { sqlite: 'SQLite', postgres: 'PostgreSQL' };
  const capRows = (s, name) => {
    if (!s) return row(name, 'FAILED (see below)');
    const ratioOk = s.ofCeiling === null || s.ofCeiling === undefined ? null : s.ofCeiling >= TARGETS.capacityOfCeiling;
    const rText = s.R === null ? `none passed (down to ${fmtInt(Math.round(cfg.capacityStart / 4))}/s)` : `R = ${s.lowerBound ? '≥ ' : ''}${fmtInt(s.R)} events/s`;
    row(name, `${rText}${s.firstFailRate ? `; first fail ${fmtInt(s.firstFailRate)}/s` : ''}${s.lowerBound ? ' (time budget reached)' : ''}`);
    row('     R ÷ raw ceiling', s.ofCeiling === null || s.ofCeiling === undefined ? '—' : `${fmt(s.ofCeiling, 3)}`, s.kind === 'peer' ? '' : `≥ ${TARGETS.capacityOfCeiling}`, s.kind === 'peer' ? '' : verdict(ratioOk));
    if (s.atR) {
      const a = s.atR;
      row('     at R: publish→delivery p50 / p99 / max', `${fmt(a.p50, 2)} / ${fmt(a.p99, 2)} / ${fmt(a.max, 1)} ms  (first ${cfg.capacityWarmupSeconds} s dropped)`);
      row('     at R: publish API p50 / p99', `${fmt(a.apiP50, 2)} / ${fmt(a.apiP99, 2)} ms  (achieved ${fmtInt(a.achievedPublishRate)}/s, CPU ${a.cpuPct}%${s.kind === 'peer' ? ' peer + Redis' : ''})`);
    }
    row('     steps (rate: p99 ms, ✓ pass / ✗ fail)', s.steps.map((x) => `${fmtInt(x.rate)}: ${x.p99 === null ? '—' : fmt(x.p99, 1)} ${x.pass ? '✓' : '✗'}`).join(', ') + `  (${s.seconds} s)`);
    const fails = s.steps.filter((x) => !x.pass && x.failReason);
    if (fails.length) row('     why the failing steps failed', fails.map((x) => `${fmtInt(x.rate)}: ${x.failReason}`).join('; '));
  };
  for (const [backend, c] of Object.entries(r.capacity ?? {})) {
    const bn = backendName[backend];
    if (c.one !== undefined) capRows(c.one, `(f) single-publish capacity, 1 endpoint, ${bn}`);
    if (!c.forColdstartOnly) capRows(c.fifty, `(f) single-publish capacity, ${cfg.fanout} endpoints (1 type each, round-robin), ${bn}`);
  }
  if (!r.capacity || Object.keys(r.capacity).length === 0) row('(f) single-publish capacity', missing('capacity'));
  if (!wanted('coldstart')) row('(f) cold start', 'not run (--only)');
  for (const backend of wanted('coldstart') ? cfg.backends : []) {
    const cs = r.coldstart?.[backend];
    const bn = backendName[backend];
    if (!cs) {
      row(`(f) cold start, ${bn}`, 'FAILED (see below)');
      continue;
    }
    row(`(f) cold start @ ${fmtInt(cs.rate)} ev/s = ${cs.basis}, ${bn}: worst 1-s window p99`, `${fmt(cs.maxWindowP99, 1)} ms${cs.complete ? '' : `; ${cs.failReason}`}`,
      `every window ≤ ${TARGETS.coldStartWindowP99Ms} ms`, verdict(cs.pass));
    row('     p99 of each 1-s window from the first (ms)', cs.perSecondP99.map((x) => fmt(x, 1)).join(', '));
    row('     publish API p99 of each 1-s window (ms)', cs.perSecondApiP99.map((x) => fmt(x, 1)).join(', '));
    row('     p50 / p99 overall; publish API p50 / p99', `${fmt(cs.p50, 2)} / ${fmt(cs.p99, 2)} ms; ${fmt(cs.apiP50, 2)} / ${fmt(cs.apiP99, 2)} ms (achieved ${fmtInt(cs.achievedPublishRate)}/s)`);
  }
  const p = r.peer;
  if (!p) row('(p) BullMQ + Redis peer', 'not run (--only)');
  else if (!p.run) row('(p) BullMQ + Redis peer', `not run (${p.reason})`);
  else if (p) {
    const b = p.b1;
    row(`(p) BullMQ peer, batch (b1): ${fmtInt(cfg.deliveries)} events via addBulk, 1 endpoint`, b.median ? `${fmtInt(b.median)} deliveries/s${runsOf(b.runs, 'deliveriesPerSec')}  (${fmt(b.pctOfCeiling)} % of ceiling)` : 'FAILED (see below)');
    if (b.runs.length) row('     peer CPU / Redis CPU, median', `${fmtInt(median(b.runs.map((x) => x.peerCpuPct)))} % / ${fmtInt(median(b.runs.map((x) => x.redisCpuPct)))} %  (failed attempts ${fmtInt(b.runs.reduce((a, x) => a + (x.failedAttempts ?? 0), 0))})`);
    row('     Herald ÷ peer, batch deliveries/s (b1 medians)', p.batchRatio === null ? `— (${r.herald1.median ? 'peer failed' : 'b1 not run'})` : `${fmt(p.batchRatio, 2)}×`,
      `≥ ${TARGETS.peerBatchRatio}×`, p.batchRatio === null ? '' : verdict(p.batchRatio >= TARGETS.peerBatchRatio));
    if (p.capacity !== undefined) capRows(p.capacity, '(p) BullMQ peer, single-publish capacity, 1 endpoint');
    row(`     Herald (${backendName[p.heraldBackendForCapacity]}) ÷ peer, single-publish capacity R`, p.capacityRatio === null ? '—' : `${fmt(p.capacityRatio, 2)}×${p.capacityRatioBound ? ` (${p.capacityRatioBound})` : ''}`,
      `≥ ${fmt(TARGETS.peerCapacityRatio, 1)}×`, p.capacityRatio === null ? '' : verdict(p.capacityRatio >= TARGETS.peerCapacityRatio));
  }
  const one = (x) => (x ? [x] : []);
  const fr = f ? [f.allHealthy, f.oneHanging] : [];
  row("noise: other processes' CPU, % of one CPU", `(a) ${loads(c.runs)}  (b1) ${loads(r.herald1.runs)}  (b2) ${loads(r.herald50.runs)}  (b2f) ${loads(r.herald50f.runs)} ref ${loads(r.herald25.runs)}  (c) ${loads(one(l))}  (d) ${loads(one(m))}  (e) ${loads(fr)}`);
  row('       hypervisor steal, % of one CPU', `(a) ${loads(c.runs, 'stealPct')}  (b1) ${loads(r.herald1.runs, 'stealPct')}  (b2) ${loads(r.herald50.runs, 'stealPct')}  (b2f) ${loads(r.herald50f.runs, 'stealPct')} ref ${loads(r.herald25.runs, 'stealPct')}  (c) ${loads(one(l), 'stealPct')}  (d) ${loads(one(m), 'stealPct')}  (e) ${loads(fr, 'stealPct')}`);
  // (f), the cold start and the peer: per capacity search, the range over its steps
  const range = (xs, key) => {
    const v = xs.map((x) => x?.[key]).filter((x) => Number.isFinite(x));
    return v.length ? (Math.min(...v) === Math.max(...v) ? `${v[0]}` : `${Math.min(...v)}–${Math.max(...v)}`) : '—';
  };
  const extra = [];
  for (const [backend, cap] of Object.entries(r.capacity ?? {})) {
    for (const [k, srch] of [['1', cap.one], [String(cfg.fanout), cap.fifty]]) if (srch) extra.push([`(f) ${backend} ${k} ep`, srch.steps]);
  }
  for (const [backend, cs] of Object.entries(r.coldstart ?? {})) if (cs) extra.push([`cold ${backend}`, [cs]]);
  if (p?.run) {
    if (p.b1.runs.length) extra.push(['(p) b1', p.b1.runs]);
    if (p.capacity) extra.push(['(p) f', p.capacity.steps]);
  }
  if (extra.length) {
    row("       other CPU, (f)/cold start/peer (range over steps)", extra.map(([n, xs]) => `${n} ${range(xs, 'otherCpuPct')}`).join('  '));
    row('       steal, (f)/cold start/peer (range over steps)', extra.map(([n, xs]) => `${n} ${range(xs, 'stealPct')}`).join('  '));
  }

  const w = [0, 1, 2].map((i) => Math.max(...rows.map((x) => x[i].length)));
  const line = (x) => `${x[0].padEnd(w[0])}  ${x[1].padEnd(w[1])}  ${x[2].padEnd(w[2])}  ${x[3]}`.trimEnd();
  const title = `Herald benchmark — ${r.meta.date.slice(0, 19)}Z, commit ${r.meta.commit ?? '?'}${r.meta.srcDirty ? '+dirty src' : ''}, node ${r.meta.node}, ${r.meta.cpus} CPUs, ` +
    `${cfg.mode}, ${cfg.runs} run(s), median` +
    (Object.keys(cfg.heraldEnv).length ? `, Herald env ${Object.entries(cfg.heraldEnv).map(([k, v]) => `${k}=${v}`).join(' ')}` : '');
  const out = ['', title, '-'.repeat(Math.max(title.length, line(['', '', '', '']).length + 4)), line(['scenario', 'result', 'target', '']), ...rows.map(line)];
  if (r.failures.length) out.push('', 'FAILURES:', ...r.failures.map((f) => `  ${f.scenario}: ${f.error}`));
  for (const n of r.heraldNotes) {
    out.push('', `note (${n.label}): Herald logged ${n.logProblems.count} warn/error line(s)${n.stop.graceful ? '' : '; did not stop within 20 s of SIGTERM'}`);
    for (const e of n.logProblems.examples.slice(0, 3)) out.push(`  ${e}`);
  }
  out.push('');
  process.stdout.write(out.join('\n') + '\n');
}

main().catch((err) => {
  process.stderr.write(`bench: ${err?.stack ?? err}\n`);
  process.exit(1);
});
