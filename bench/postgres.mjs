#!/usr/bin/env node
// PostgreSQL scale-out: deliveries/s with 1 process (`serve`) and with an API process plus
// 1, 2 and 4 `herald worker` processes, next to the raw ceiling and SQLite measured in the
// same run. Loopback only; every loop bounded. Usage: npm run bench:postgres [-- --events N --runs R]
// Needs PostgreSQL (HERALD_BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres);
// each measurement uses its own schema, dropped afterwards.
import { fork, spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Agent, request } from 'undici';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? Number(args[i + 1]) : dflt; };
const EVENTS = opt('events', 30_000);
const RUNS = opt('runs', 3);
const BASE = process.env.HERALD_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const KEY = randomBytes(24).toString('base64url');
const RECEIVER_PORT = 18499;
const children = new Set();
const cleanup = () => { for (const c of children) c.kill('SIGKILL'); };
process.on('exit', cleanup);
process.on('SIGINT', () => { cleanup(); process.exit(130); });

// A receiver in its own process: answers 200 at once and counts.
const receiverSource = `
const http = require('node:http'); let n = 0;
http.createServer((q, s) => { q.resume(); q.on('end', () => { n++; s.end('OK'); }); }).listen(${RECEIVER_PORT}, '127.0.0.1', () => process.send('ready'));
process.on('message', (m) => process.send(m === 'reset' ? (n = 0) : n));`;
const receiverDir = mkdtempSync(join(tmpdir(), 'herald-bench-recv-'));
writeFileSync(join(receiverDir, 'receiver.cjs'), receiverSource);
const receiver = fork(join(receiverDir, 'receiver.cjs'));
process.on('exit', () => rmSync(receiverDir, { recursive: true, force: true }));
children.add(receiver);
await new Promise((r) => receiver.once('message', r));
const ask = (m) => new Promise((r) => { receiver.once('message', r); receiver.send(m); });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function ceiling() {
  const agent = new Agent({ connections: 64 });
  const key = randomBytes(32); const secret = `whsec_${key.toString('base64')}`;
  await ask('reset');
  let sent = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 256 }, async () => {
    while (sent < EVENTS) {
      const id = `evt_${++sent}`;
      const body = JSON.stringify({ id, type: 'bench.raw', timestamp: new Date().toISOString(), data: { n: sent } });
      const ts = Math.floor(Date.now() / 1000);
      const res = await request(`http://127.0.0.1:${RECEIVER_PORT}/raw`, { method: 'POST', dispatcher: agent, body, headers: {
        'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(ts),
        'webhook-signature': `v1,${createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64')}`,
        'x-webhook-signature': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
      } });
      await res.body.dump();
    }
  }));
  await agent.close();
  return EVENTS / ((performance.now() - t0) / 1000);
}

function start(argv, port) {
  const child = spawn(process.execPath, [CLI, ...argv], {
    env: { ...process.env, HERALD_API_KEY: KEY, HERALD_LOG_LEVEL: 'warn', HERALD_API_RATE_LIMIT: '0' }, stdio: 'ignore',
  });
  children.add(child);
  return child;
}

async function healthy(port) {
  for (let i = 0; i < 300; i++) {
    try { if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) return; } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Herald on ${port} did not start`);
}

/** One measurement: `workers` = 0 runs a single `serve` (API + worker); otherwise `serve --api-only` + N workers. */
async function herald(db, workers) {
  const port = 18400 + Math.floor(Math.random() * 90);
  const procs = [start(workers === 0 ? ['serve', '--dev', '--port', String(port), '--db', db] : ['serve', '--api-only', '--dev', '--port', String(port), '--db', db])];
  await healthy(port);
  for (let i = 0; i < workers; i++) procs.push(start(['worker', '--dev', '--db', db]));
  if (workers > 0) await new Promise((r) => setTimeout(r, 2500)); // workers up, heartbeats seen
  const api = async (path, body) => (await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  })).json();
  const app = await api('/v1/apps', { name: 'bench' });
  await api(`/v1/apps/${app.id}/endpoints`, { url: `http://127.0.0.1:${RECEIVER_PORT}/hook` });
  await ask('reset');
  const t0 = performance.now();
  const publishing = (async () => {
    const inflight = [];
    for (let b = 0; b < EVENTS / 1000; b++) {
      inflight.push(api(`/v1/apps/${app.id}/events/batch`, { events: Array.from({ length: 1000 }, (_, i) => ({ type: 'bench.pg', data: { b, i } })) }));
      if (inflight.length >= 2) await inflight.shift();
    }
    await Promise.all(inflight);
  })();
  const deadline = Date.now() + 120_000;
  let got = 0;
  while ((got = await ask('count')) < EVENTS) {
    if (Date.now() > deadline) throw new Error(`timed out: ${got} of ${EVENTS} delivered`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const rate = EVENTS / ((performance.now() - t0) / 1000);
  await publishing;
  for (const p of procs) { p.kill('SIGTERM'); children.delete(p); }
  await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null ? r() : p.once('exit', r)))));
  return rate;
}

async function withSchema(fn) {
  const schema = `herald_bench_${randomBytes(4).toString('hex')}`;
  try {
    return await fn(`${BASE}${BASE.includes('?') ? '&' : '?'}schema=${schema}`);
  } finally {
    const c = new pg.Client({ connectionString: BASE });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c.end();
  }
}

async function withSqlite(fn) {
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-pg-'));
  try { return await fn(`sqlite:${join(dir, 'h.db')}`); } finally { rmSync(dir, { recursive: true, force: true }); }
}

const rows = [['raw ceiling (signed POSTs, no persistence)', []], ['SQLite, 1 process (serve)', []], ['PostgreSQL, 1 process (serve)', []],
  ['PostgreSQL, API + 1 worker', []], ['PostgreSQL, API + 2 workers', []], ['PostgreSQL, API + 4 workers', []]];
for (let run = 0; run < RUNS; run++) {
  // Interleaved, so every configuration sees the same noise.
  rows[0][1].push(await ceiling());
  rows[1][1].push(await withSqlite((db) => herald(db, 0)));
  rows[2][1].push(await withSchema((db) => herald(db, 0)));
  for (const [i, w] of [[3, 1], [4, 2], [5, 4]]) rows[i][1].push(await withSchema((db) => herald(db, w)));
}
const ceil = median(rows[0][1]);
console.log(`\nHerald on PostgreSQL: ${EVENTS.toLocaleString()} deliveries per run, 1 endpoint, ${RUNS} runs (median), ${new Date().toISOString()}`);
for (const [label, xs] of rows) {
  const m = median(xs);
  console.log(`${label.padEnd(46)} ${Math.round(m).toLocaleString().padStart(7)} deliveries/s  ${label.startsWith('raw') ? '' : `${(100 * m / ceil).toFixed(1).padStart(5)} % of ceiling`}  [runs: ${xs.map((x) => Math.round(x).toLocaleString()).join(', ')}]`);
}
console.log(`BENCH_PG ${JSON.stringify(Object.fromEntries(rows.map(([l, xs]) => [l, { median: Math.round(median(xs)), runs: xs.map(Math.round) }])))}`);
cleanup();
process.exit(0);
