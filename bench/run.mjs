#!/usr/bin/env node
// Herald benchmark: raw signed-POST ceiling, Herald end-to-end throughput (1 and 50
// endpoints, and 50 endpoints with payload filters against 25 without), publish→delivery
// latency at a steady rate, memory while a million deliveries wait on a dead endpoint, and
// fairness (healthy endpoints' latency next to one that hangs). See bench/README.md. Entry point of `npm run bench`.
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import {
  API_KEY, BENCH_DIR, ROOT, closedPort, cpuSeconds, fmt, fmtInt, installCleanup, loadMeter, median, newSecret, now, openLoop, parseArgs,
  percentile, round, rssMB, signLegacy, signStandard, sleep, slope, standardKey, startHerald, startReceiver,
} from './lib.mjs';

const HELP = `usage: node bench/run.mjs [options]      (npm run bench -- [options])

  --quick               short smoke run (1 run, small N, 5 s latency phase, 100k waiting deliveries,
                        15 s fairness runs)
  --runs N              repetitions of each throughput scenario, median reported (default 3; --quick 1)
  --only LIST           comma-separated subset of: ceiling,b1,b2,b2f,latency,fairness,memory
  --events N            deliveries per throughput run (default 50000; --quick 5000); b2f's two
                        runs make as many as b2, 25 per event
  --mem-events N        events published for the memory scenario (default 1000000; --quick 100000)
  --latency-seconds S   length of the steady-rate phase of (c) (default 15; --quick 5)
  --fairness-seconds S  length of each of the two steady-rate runs of (e) (default 20; --quick 15)
  --rate R              events/s of the steady-rate phases of (c) and (e) (default 1000)
  --herald-env K=V      extra environment for every Herald process (repeatable), e.g.
                        --herald-env HERALD_CIRCUIT_THRESHOLD=1000000 to keep attempting a dead endpoint
`;

// "Flat" memory: RSS must not keep growing while deliveries wait (slope over the last 10 s
// at most +6 MB/min; shrinking is fine), and must not grow with the number of waiting
// deliveries (at most 5 MB per 100k deliveries between 50 % and 100 % published; the first
// half is left out because it includes heap and SQLite page-cache warm-up).
// Fairness: with one endpoint of 50 hanging, the healthy endpoints' p99 publish→delivery
// latency may be at most twice that of the same run with all 50 healthy.
// Filters (issue 12): 50 endpoints with a 5-condition filter each, 25 of them matching, must
// keep ≥ 90 % of the deliveries/s and of the publish rate of 25 endpoints without filters.
const TARGETS = { pctOfCeiling: 50, p99Ms: 25, flatSlopeMBPerMin: 6, growthMBPer100k: 5, fairnessRatio: 2, filterPctOfUnfiltered: 90 };

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
};
// 50 endpoints × events = deliveries: round to a whole number of events per endpoint
cfg.deliveries50 = Math.max(cfg.fanout, Math.round(cfg.deliveries / cfg.fanout) * cfg.fanout);
// (b2f): of the 50 filtered endpoints, this many match every event; the unfiltered reference
// has this many endpoints. Both make cfg.deliveries50 deliveries, from deliveries50 / 25 events.
cfg.filterMatching = cfg.fanout / 2;
const wanted = (s) => !cfg.only || cfg.only.includes(s);
for (const s of cfg.only ?? []) {
  if (!['ceiling', 'b1', 'b2', 'b2f', 'latency', 'fairness', 'memory'].includes(s)) {
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
async function publishBatches(herald, appId, count, { concurrency = cfg.publishConcurrency, type = 'order.created', onProgress } = {}) {
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
      const res = await herald.call('POST', `/v1/apps/${appId}/events/batch`, { events });
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
 * Publishes `total` single events through POST …/events at cfg.rate/s from `t0` on, open
 * loop (see openLoop: requests queue in the client pool if Herald falls behind).
 * `event(n, sentAt)` is the n-th event; the API latency of those sent from `tWarm` on is kept.
 */
async function publishSteady(herald, appId, total, { t0, tWarm, event }) {
  const path = `/v1/apps/${appId}/events`;
  const apiLat = [];
  const loop = await openLoop({
    total, rate: cfg.rate, t0,
    send: async (n) => {
      const sentAt = now();
      const res = await herald.call('POST', path, JSON.stringify(event(n, sentAt)));
      if (res.status !== 202) throw new Error(`HTTP ${res.status}: ${res.text.slice(0, 200)}`);
      if (sentAt >= tWarm) apiLat.push(now() - sentAt);
    },
  });
  return { apiLat, ...loop };
}

// ── (b1)/(b2)/(b2f) Herald end to end ────────────────────────────────────
/**
 * `endpoints` endpoints at /ep/<j>; with `filter`, endpoint j gets `filter(j)` and the first
 * `matching` of them match every event (the others none), so an event makes `matching`
 * deliveries and `deliveries / matching` events are published.
 */
async function heraldThroughput(receiver, { endpoints, deliveries, label, filter = null, matching = endpoints }) {
  const herald = await startHerald({ label, env: cfg.heraldEnv });
  try {
    const app = await herald.createApp(`bench ${label}`);
    const secrets = {};
    for (let j = 0; j < endpoints; j++) {
      const path = `/ep/${j}`;
      const ep = await herald.createEndpoint(app.id, { url: receiver.origin + path, ...(filter ? { filter: filter(j) } : {}) });
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

async function main() {
  const started = Date.now();
  log(`Herald bench (${cfg.mode}): runs=${cfg.runs}, ${fmtInt(cfg.deliveries)} deliveries per throughput run, ` +
    `${cfg.rate}/s for ${cfg.latencySeconds} s, fairness ${cfg.rate}/s for 2 × ${cfg.fairnessSeconds} s, ${fmtInt(cfg.memEvents)} waiting deliveries`);
  // How busy is the machine before we start? (A shared 2-CPU box: say so if it is.)
  const idle = loadMeter([]);
  await sleep(1000);
  const before = idle();
  if (before.otherCpuPct !== null && before.otherCpuPct > 20) {
    log(`WARNING: other processes are using ${before.otherCpuPct}% of one CPU before the bench starts; figures will be noisy`);
  }
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
      config: { ...cfg },
    },
    ceiling: { runs: [] },
    herald1: { runs: [] },
    herald50: { runs: [] },
    // (b2f): 50 filtered endpoints (25 match), and its reference, 25 endpoints without filters
    herald50f: { runs: [] },
    herald25: { runs: [] },
    filters: null,
    latency: null,
    fairness: null,
    memory: null,
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
      if (wanted('b2')) {
        const r = await attempt(`b2 run ${run}`, () => heraldThroughput(receiver, { endpoints: cfg.fanout, deliveries: cfg.deliveries50, label: `b2 run ${run}` }));
        if (r) {
          results.herald50.runs.push(r);
          log(`(b2) Herald ${cfg.fanout} endpoints run ${run}/${cfg.runs}: ${fmtInt(r.deliveriesPerSec)} deliveries/s (${r.seconds} s; publish ${r.publishSeconds} s; Herald CPU ${r.heraldCpuPct}%, other load ${r.otherCpuPct}%, dup ${r.duplicates})`);
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
  results.herald1.pctOfCeiling = ceiling && h1 ? round((h1 / ceiling) * 100, 1) : null;
  results.herald50.pctOfCeiling = ceiling && h50 ? round((h50 / ceiling) * 100, 1) : null;
  if (wanted('b2f')) results.filters = filterComparison(results);
  results.targets = TARGETS;
  results.heraldNotes = heraldNotes.filter((n) => n.logProblems.count > 0 || !n.stop.graceful);
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
  const one = (x) => (x ? [x] : []);
  const fr = f ? [f.allHealthy, f.oneHanging] : [];
  row("noise: other processes' CPU, % of one CPU", `(a) ${loads(c.runs)}  (b1) ${loads(r.herald1.runs)}  (b2) ${loads(r.herald50.runs)}  (b2f) ${loads(r.herald50f.runs)} ref ${loads(r.herald25.runs)}  (c) ${loads(one(l))}  (d) ${loads(one(m))}  (e) ${loads(fr)}`);
  row('       hypervisor steal, % of one CPU', `(a) ${loads(c.runs, 'stealPct')}  (b1) ${loads(r.herald1.runs, 'stealPct')}  (b2) ${loads(r.herald50.runs, 'stealPct')}  (b2f) ${loads(r.herald50f.runs, 'stealPct')} ref ${loads(r.herald25.runs, 'stealPct')}  (c) ${loads(one(l), 'stealPct')}  (d) ${loads(one(m), 'stealPct')}  (e) ${loads(fr, 'stealPct')}`);

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
