#!/usr/bin/env node
// Inbound gateway benchmark (issue 6): how fast a source acknowledges signed webhooks.
//   (i1) accepted requests/s: N GitHub-signed requests, 64 in flight, into a source with
//        signature verification and dedup on x-github-delivery: `serve` (one process,
//        forwarding to a receiver at the same time) and `serve --api-only` (acknowledging
//        alone); next to a baseline measured in the same run: a bare node:http server that
//        verifies the same HMAC and answers 202 without storing anything.
//   (i2) acknowledgement latency at a steady 1,000 requests/s (open loop), p50/p99 after a
//        warm-up, and the receive→forward latency of the same requests.
// Loopback only, every loop bounded. SQLite by default; `--postgres URL` runs Herald on PostgreSQL
// instead (a fresh schema per Herald, dropped afterwards).
// Usage: npm run bench:inbound [-- --runs R --requests N --seconds S --rate R --postgres postgres://…]
import { fork } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { Pool } from 'undici';
import {
  BENCH_DIR, cpuSeconds, fmt, fmtInt, installCleanup, loadMeter, makeTempDir, median, now, openLoop, percentile, removeTempDir, round, sleep,
  startHerald, startReceiver, track,
} from './lib.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const pgIndex = args.indexOf('--postgres');
const postgres = pgIndex >= 0 ? args[pgIndex + 1] : null;
const cfg = {
  backend: postgres ? 'postgres' : 'sqlite',
  runs: opt('runs', 3),
  requests: opt('requests', 20_000),
  rate: opt('rate', 1000),
  seconds: opt('seconds', 15),
  warmupSeconds: 3,
  concurrency: 64,
};
const TARGETS = { acceptedPerSec: 5000, p99Ms: 10 };
const SECRET = randomBytes(24).toString('hex');
const log = (m) => process.stdout.write(`${m}\n`);
installCleanup();

const sign = (body) => `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
const payload = (i, sentAt) => JSON.stringify({
  action: 'edited', delivery: i, data: { sentAt, page: { id: i % 500, title: `Page ${i % 500}`, space: 'DOCS' } },
  sender: { login: 'octocat', id: 583231 },
});

// The baseline: what answering a signed webhook costs without Herald (verify, 202), in its own process.
const BASELINE = `
const http = require('node:http'); const { createHmac, timingSafeEqual } = require('node:crypto');
const secret = process.argv[2];
http.createServer((req, res) => {
  const chunks = []; req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const want = Buffer.from('sha256=' + createHmac('sha256', secret).update(body).digest('hex'));
    const got = Buffer.from(String(req.headers['x-hub-signature-256'] || ''));
    const ok = got.length === want.length && timingSafeEqual(got, want);
    res.writeHead(ok ? 202 : 401, { 'content-type': 'application/json' });
    res.end(ok ? '{"status":"accepted"}' : '{"error":"invalid_signature"}');
  });
}).listen(0, '127.0.0.1', function () { process.send(this.address().port); });`;

async function startBaseline() {
  const dir = makeTempDir();
  writeFileSync(join(dir, 'baseline.cjs'), BASELINE);
  const child = track(fork(join(dir, 'baseline.cjs'), [SECRET], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const port = await new Promise((r) => child.once('message', r));
  return {
    pid: child.pid, url: `http://127.0.0.1:${port}/in/baseline`,
    stop: async () => {
      child.kill('SIGKILL');
      removeTempDir(dir);
    },
  };
}

/** Herald on the chosen backend; on PostgreSQL in a schema of its own, dropped by `stop`. */
async function startOn({ label, args = [] }) {
  if (!postgres) return startHerald({ label, args });
  const schema = `herald_bench_in_${randomBytes(4).toString('hex')}`;
  const h = await startHerald({ label, args, databaseUrl: `${postgres}${postgres.includes('?') ? '&' : '?'}schema=${schema}` });
  const stop = h.stop.bind(h);
  h.stop = async () => {
    const out = await stop();
    const client = new pg.Client({ connectionString: postgres });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => client.end());
    return out;
  };
  return h;
}

async function createSource(herald, receiver) {
  const res = await herald.call('POST', '/v1/sources', {
    name: 'bench github', verification: { scheme: 'github', secrets: [SECRET] }, dedup: { key: 'header:x-github-delivery' },
    destinations: [{ url: `${receiver.origin}/inbound` }],
  }, 201);
  const source = res.json();
  receiver.setSecrets({ '/inbound': source.destinations[0].secret });
  return source;
}

/** Closed loop: `n` requests, `concurrency` in flight; returns accepted/s. */
async function blast(url, n, tag) {
  const pool = new Pool(new URL(url).origin, { connections: cfg.concurrency, pipelining: 1, keepAliveTimeout: 10_000 });
  const path = new URL(url).pathname;
  let next = 0;
  let accepted = 0;
  let other = 0;
  let firstOther = null;
  const t0 = now();
  await Promise.all(Array.from({ length: cfg.concurrency }, async () => {
    while (next < n) {
      const i = next++;
      const body = payload(i, now());
      const res = await pool.request({
        method: 'POST', path, body,
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(body), 'x-github-event': 'page_updated', 'x-github-delivery': `${tag}-${i}` },
      });
      const text = await res.body.text();
      if (res.statusCode === 202) accepted++;
      else {
        other++;
        firstOther ??= `${res.statusCode} ${text.slice(0, 200)}`;
      }
    }
  }));
  const seconds = (now() - t0) / 1000;
  await pool.close();
  if (other > 0) throw new Error(`${tag}: ${other} of ${n} requests were not 202 (first: ${firstOther})`);
  return { acceptedPerSec: round(accepted / seconds, 0), seconds: round(seconds, 2) };
}

/** Herald with `--api-only`: acknowledging alone, the deliveries left waiting in the database. */
async function apiOnlyRun(receiver, run) {
  const herald = await startOn({ label: `inbound api-only run ${run}`, args: ['--api-only'] });
  try {
    const source = await createSource(herald, receiver);
    const cpu0 = cpuSeconds(herald.pid);
    const load = loadMeter([herald.pid]);
    const h = await blast(source.ingestUrl, cfg.requests, `a${run}`);
    return { ...h, ...load(), heraldCpuPct: round(((cpuSeconds(herald.pid) - cpu0) / h.seconds) * 100, 0) };
  } finally {
    await herald.stop();
  }
}

async function throughputRun(receiver, run) {
  const baseline = await startBaseline();
  let base;
  try {
    const load = loadMeter([baseline.pid]);
    base = { ...(await blast(baseline.url, cfg.requests, `base${run}`)), ...load() };
  } finally {
    await baseline.stop();
  }
  const apiOnly = await apiOnlyRun(receiver, run);
  const herald = await startOn({ label: `inbound run ${run}` });
  try {
    const source = await createSource(herald, receiver);
    receiver.reset();
    const reached = receiver.arm(cfg.requests);
    const cpu0 = cpuSeconds(herald.pid);
    const load = loadMeter([herald.pid, receiver.pid]);
    const t0 = now();
    const h = await blast(source.ingestUrl, cfg.requests, `h${run}`);
    const m = load();
    const heraldCpuPct = round(((cpuSeconds(herald.pid) - cpu0) / h.seconds) * 100, 0);
    const r = await Promise.race([reached, sleep(120_000).then(() => null)]);
    const st = await receiver.stats();
    if (!r) throw new Error(`inbound run ${run}: only ${st.distinct} of ${cfg.requests} forwarded within 120 s`);
    if (st.sigBad > 0) throw new Error(`inbound run ${run}: ${st.sigBad} forwarded signatures did not verify`);
    return {
      baseline: base, apiOnly, herald: { ...h, ...m, heraldCpuPct, allForwardedAfterSeconds: round((r.at - t0) / 1000, 2), duplicates: st.duplicates, sigChecked: st.sigChecked },
      ratio: round(h.acceptedPerSec / base.acceptedPerSec, 3),
    };
  } finally {
    await herald.stop();
  }
}

/** Acknowledgement latency at cfg.rate/s, open loop (see openLoop). */
async function latencyRun(receiver) {
  const herald = await startOn({ label: 'inbound latency' });
  try {
    const source = await createSource(herald, receiver);
    receiver.reset();
    const total = cfg.rate * cfg.seconds;
    const reached = receiver.arm(total);
    const url = new URL(source.ingestUrl);
    const pool = new Pool(url.origin, { connections: cfg.concurrency, pipelining: 1, keepAliveTimeout: 10_000 });
    const ack = [];
    const cpu0 = cpuSeconds(herald.pid);
    const load = loadMeter([herald.pid, receiver.pid]);
    const t0 = now();
    const tWarm = t0 + cfg.warmupSeconds * 1000;
    const { errors, firstError } = await openLoop({
      total, rate: cfg.rate, t0,
      send: async (i) => {
        const sentAt = now();
        const body = payload(i, sentAt);
        const res = await pool.request({
          method: 'POST', path: url.pathname, body,
          headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(body), 'x-github-event': 'page_updated', 'x-github-delivery': `lat-${i}` },
        });
        await res.body.text();
        if (res.statusCode !== 202) throw new Error(`HTTP ${res.statusCode}`);
        if (sentAt >= tWarm) ack.push(now() - sentAt);
      },
    });
    const seconds = (now() - t0) / 1000;
    const m = load();
    const heraldCpuPct = round(((cpuSeconds(herald.pid) - cpu0) / seconds) * 100, 0);
    await pool.close();
    if (errors > 0) throw new Error(`latency: ${errors} of ${total} requests failed (first: ${firstError})`);
    const r = await Promise.race([reached, sleep(60_000).then(() => null)]);
    if (!r) throw new Error('latency: not everything was forwarded within 60 s');
    const { lat } = await receiver.samples(tWarm);
    return {
      rate: cfg.rate, seconds: cfg.seconds, samples: ack.length, ...m, heraldCpuPct,
      ackP50: round(percentile(ack, 50), 2), ackP90: round(percentile(ack, 90), 2), ackP99: round(percentile(ack, 99), 2), ackMax: round(Math.max(...ack), 2),
      forwardP50: round(percentile(lat, 50), 2), forwardP99: round(percentile(lat, 99), 2),
    };
  } finally {
    await herald.stop();
  }
}

async function main() {
  log(`Herald inbound bench on ${cfg.backend}: ${cfg.runs} runs of ${fmtInt(cfg.requests)} signed requests (${cfg.concurrency} in flight); ${cfg.rate}/s for ${cfg.seconds} s`);
  const receiver = await startReceiver();
  const runs = [];
  try {
    for (let run = 1; run <= cfg.runs; run++) {
      const r = await throughputRun(receiver, run);
      runs.push(r);
      log(`(i1) run ${run}/${cfg.runs}: baseline ${fmtInt(r.baseline.acceptedPerSec)}/s; Herald --api-only ${fmtInt(r.apiOnly.acceptedPerSec)}/s ` +
        `(CPU ${r.apiOnly.heraldCpuPct}%); Herald serve ${fmtInt(r.herald.acceptedPerSec)}/s accepted while forwarding ` +
        `(= ${fmt(r.ratio * 100)} % of baseline; Herald CPU ${r.herald.heraldCpuPct}%, other load ${r.herald.otherCpuPct}%; all forwarded after ${r.herald.allForwardedAfterSeconds} s)`);
    }
    const lat = await latencyRun(receiver);
    log(`(i2) ${lat.rate}/s for ${lat.seconds} s: ack p50 ${lat.ackP50} ms, p90 ${lat.ackP90} ms, p99 ${lat.ackP99} ms, max ${lat.ackMax} ms; ` +
      `receive→forward p50 ${lat.forwardP50} ms, p99 ${lat.forwardP99} ms (Herald CPU ${lat.heraldCpuPct}%)`);
    const acceptedMedian = median(runs.map((r) => r.herald.acceptedPerSec));
    const baselineMedian = median(runs.map((r) => r.baseline.acceptedPerSec));
    log('');
    log(`summary (medians)${postgres ? '; the targets are set for SQLite, and PostgreSQL itself counts as "other load" here' : ''}`);
    log(`  baseline (verify + 202, nothing stored): ${fmtInt(baselineMedian)} req/s`);
    const apiOnlyMedian = median(runs.map((r) => r.apiOnly.acceptedPerSec));
    log(`  Herald --api-only (acknowledging alone): ${fmtInt(apiOnlyMedian)} req/s = ${fmt((apiOnlyMedian / baselineMedian) * 100)} % of baseline`);
    log(`  Herald serve, accepted while forwarding: ${fmtInt(acceptedMedian)} req/s = ${fmt((acceptedMedian / baselineMedian) * 100)} % of baseline ` +
      `(target ≥ ${fmtInt(TARGETS.acceptedPerSec)}): ${acceptedMedian >= TARGETS.acceptedPerSec ? 'PASS' : 'MISS'}`);
    log(`  ack p99 at ${lat.rate}/s:                     ${lat.ackP99} ms (target ≤ ${TARGETS.p99Ms} ms): ${lat.ackP99 <= TARGETS.p99Ms ? 'PASS' : 'MISS'}`);
    mkdirSync(join(BENCH_DIR, 'results'), { recursive: true });
    writeFileSync(join(BENCH_DIR, 'results', `inbound-${cfg.backend}-latest.json`), `${JSON.stringify({ date: new Date().toISOString(), config: cfg, runs, latency: lat }, null, 2)}\n`);
    log(`  results: bench/results/inbound-${cfg.backend}-latest.json`);
  } finally {
    await receiver.stop();
  }
}

main().then(() => process.exit(0), (err) => {
  log(`inbound bench failed: ${err.stack ?? err}`);
  process.exit(1);
});
