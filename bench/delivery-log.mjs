#!/usr/bin/env node
// The delivery log on a large database: seeds 1,000,000 deliveries (with their events and
// attempts) into a database made by Herald's own migrations, then times the requests a
// dashboard makes against `node dist/cli/main.js serve --api-only` on it. See bench/README.md
// ("Delivery log on a large database"). Entry point of `npm run bench:delivery-log`.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { API_KEY, BENCH_DIR, ROOT, fmt, fmtInt, installCleanup, loadMeter, median, percentile, round, startHerald } from './lib.mjs';

const HELP = `usage: node bench/delivery-log.mjs [options]      (npm run bench:delivery-log -- [options])

  --runs N            timed requests per query (default 30), after 3 untimed warm-up rounds
  --deliveries N      deliveries to seed (default 1000000)
  --reseed            rebuild the seeded database even if a cached one matches
  --postgres [URL]    PostgreSQL instead of SQLite (default URL postgres://postgres@127.0.0.1:5432/postgres);
                      the data lives in schema herald_bench_dlog_<N>, kept for re-runs (--reseed rebuilds it)
  --only LIST         comma-separated query names (see the table) to time
  --explain           also print each list query's plan (SQLite: EXPLAIN QUERY PLAN and the statement's own
                      time in this process; PostgreSQL: EXPLAIN ANALYZE, custom and generic plan)
  --index SQL         a CREATE INDEX statement applied to the seeded database before Herald starts and
                      dropped again at the end (repeatable), to measure a candidate index
  --keep-index        don't drop the --index indexes at the end
  --dist DIR          the Herald build to run (default dist/ of this repo): serve, migrations and the SQL
                      of --explain all come from it; e.g. a build of a commit made outside the repo, or a
                      patched copy of dist/, to time a candidate statement with its index

The SQLite file is cached as bench/results/delivery-log-<N>.db (gitignored).
`;

function parseArgs(argv) {
  const o = { runs: 30, deliveries: 1_000_000, reseed: false, postgres: null, only: null, explain: false, indexes: [], keepIndex: false, dist: join(ROOT, 'dist'), help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const name = a.split('=')[0];
    const val = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined) throw new Error(`${name} needs a value`);
      return v;
    };
    const int = (min) => {
      const n = Number(val());
      if (!Number.isInteger(n) || n < min) throw new Error(`${name} expects an integer ≥ ${min}`);
      return n;
    };
    if (name === '--runs') o.runs = int(1);
    else if (name === '--deliveries') o.deliveries = int(1000);
    else if (name === '--reseed') o.reseed = true;
    else if (name === '--postgres') {
      if (a.includes('=')) o.postgres = val();
      else if (argv[i + 1] && !argv[i + 1].startsWith('--')) o.postgres = argv[++i];
      else o.postgres = process.env.HERALD_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
    } else if (name === '--only') o.only = val().split(',').map((s) => s.trim());
    else if (name === '--explain') o.explain = true;
    else if (name === '--index') o.indexes.push(val());
    else if (name === '--keep-index') o.keepIndex = true;
    else if (name === '--dist') o.dist = resolve(val());
    else if (name === '--help' || name === '-h') o.help = true;
    else throw new Error(`unknown option ${a} (try --help)`);
  }
  return o;
}

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
const MAIN = join(opts.dist, 'cli/main.js');
if (!existsSync(MAIN)) {
  process.stderr.write(`bench: ${MAIN} is missing; run \`npm run build\` first (npm run bench:delivery-log does)\n`);
  process.exit(2);
}
installCleanup();

const log = (msg) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const N = opts.deliveries;
const backend = opts.postgres ? 'postgres' : 'sqlite';
// Bump when the generated data changes: a cached database of another version is rebuilt.
const SEED_VERSION = 1;
const RESULTS = join(BENCH_DIR, 'results');
const SQLITE_PATH = join(RESULTS, `delivery-log-${N}.db`);
const PG_SCHEMA = `herald_bench_dlog_${N}`;
const pgBase = opts.postgres;
const pgUrl = (schema) => `${pgBase}${pgBase.includes('?') ? '&' : '?'}schema=${schema}`;
const dbUrl = () => (backend === 'sqlite' ? `sqlite:${SQLITE_PATH}` : pgUrl(PG_SCHEMA));
const PREFLIGHT_ENV = {
  HERALD_API_RATE_LIMIT: '0', // the bench sends ~40 requests/s from one address for minutes
  NODE_OPTIONS: `--import=${pathToFileURL(join(BENCH_DIR, 'server-timing.mjs')).href}`,
  // Endpoint secrets are sealed with the key in Herald's data dir. On SQLite that is the db file's
  // directory; on PostgreSQL it would be ./data of each Herald's temp dir, so the Herald that
  // seeded and the ones that read the cached schema later need one of their own that stays.
  ...(backend === 'postgres' ? { HERALD_DATA_DIR: join(RESULTS, 'delivery-log-pg-data') } : {}),
};

// ── the data ─────────────────────────────────────────────────────────────
// Ten event types, the first much more common than the last.
const TYPES = [
  ['order.created', 30], ['order.updated', 20], ['payment.succeeded', 15], ['invoice.paid', 10], ['customer.created', 8],
  ['customer.updated', 6], ['payment.failed', 5], ['subscription.renewed', 3], ['refund.created', 2], ['dispute.opened', 1],
];
const TYPE_NAMES = TYPES.map((t) => t[0]);
// A registered type nothing is published with: the dashboard's type filter offers it, and it matches nothing.
const UNUSED_TYPE = 'order.refunded';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const SCHEDULE_S = [5, 300, 1800, 7200, 18000, 36000, 36000]; // Herald's DEFAULT_RETRY_SCHEDULE: 8 attempts over ~27.6 h
const PARKED_AT = 8_000_000_000_000_000;

/**
 * Three apps. The main one has 20 endpoints: two take every type (the busiest endpoints, a
 * quarter of its deliveries each), 18 take one or two types; ep 5 is flaky (35 % of its
 * deliveries fail for good), ep 19 was disabled 6 h before the end of the data (its deliveries
 * since then are held back, `parked`). The others: 3 and 2 endpoints. Delivery shares 85/10/5 %.
 */
function layoutSpec() {
  const main = [];
  for (let j = 0; j < 20; j++) {
    let events = null;
    if (j >= 2) {
      events = [TYPE_NAMES[(j - 2) % 10]];
      if (j <= 4) events.push(TYPE_NAMES[(j + 3) % 10]);
    }
    main.push({ j, events, failRate: j === 5 ? 0.35 : j === 19 ? 0.2 : 0.042, disabled: j === 19 });
  }
  return [
    { key: 'main', name: 'Acme (main)', share: 0.85, endpoints: main },
    { key: 'second', name: 'Second app', share: 0.10, endpoints: [
      { j: 0, events: null, failRate: 0.05 }, { j: 1, events: ['order.created', 'order.updated'], failRate: 0.05 },
      { j: 2, events: ['payment.succeeded', 'payment.failed'], failRate: 0.05 }] },
    { key: 'third', name: 'Third app', share: 0.05, endpoints: [{ j: 0, events: null, failRate: 0.05 }, { j: 1, events: null, failRate: 0.05 }] },
  ];
}

// Deterministic pseudo-random numbers (mulberry32): the same data on every backend and run.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Herald's id layout (src/ids.ts): 48 bits of ms then 80 random bits, Crockford base32. The
// bench makes its own so that attempt ids (whose times run ahead) don't disturb the order of
// delivery ids; within a millisecond ids increment, as Herald's do.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
function encodeTime(ms) {
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[ms % 32] + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}
function idGen(prefix) {
  let lastMs = -1;
  let rand = randomBytes(10);
  let pool = randomBytes(10 * 4096);
  let off = 0;
  const enc = (b) => {
    let out = '';
    for (const half of [0, 5]) {
      let n = 0;
      for (let i = 0; i < 5; i++) n = n * 256 + b[half + i];
      let chunk = '';
      for (let i = 0; i < 8; i++) {
        chunk = ALPHABET[n % 32] + chunk;
        n = Math.floor(n / 32);
      }
      out += chunk;
    }
    return out;
  };
  return (ms) => {
    if (ms <= lastMs) {
      for (let i = 9; i >= 0; i--) {
        if (rand[i] !== 0xff) {
          rand[i]++;
          break;
        }
        rand[i] = 0;
      }
      ms = lastMs;
    } else {
      lastMs = ms;
      if (off + 10 > pool.length) {
        pool = randomBytes(10 * 4096);
        off = 0;
      }
      rand = pool.subarray(off, off + 10);
      rand = Buffer.from(rand);
      off += 10;
    }
    return `${prefix}_${encodeTime(ms)}${enc(rand)}`;
  };
}

/**
 * Generates the events, deliveries and attempts, oldest first, created_at spread evenly over
 * the 7 days before `end`, and hands them to `sink` in chunks. Outcomes follow Herald's
 * default retry schedule: a delivery that fails for good has 8 attempts over ~27.6 h, so
 * those of the last day are still pending (retrying); 3 % of successes needed a second
 * attempt; the deliveries of the last minute have had no attempt yet.
 */
async function generate(apps, end, sink) {
  const rand = rng(20240601);
  const start = end - 7 * DAY;
  const span = end - start;
  const typeCum = [];
  let acc = 0;
  const totalW = TYPES.reduce((a, t) => a + t[1], 0);
  for (const [, w] of TYPES) typeCum.push((acc += w / totalW));
  const pickType = () => {
    const u = rand();
    let i = 0;
    while (i < typeCum.length - 1 && u > typeCum[i]) i++;
    return i;
  };
  // Per app: the endpoints of each type, and the expected fan-out, so that apps are picked in
  // proportion to share / fan-out (deliveries then come out in the wanted shares).
  for (const app of apps) {
    app.byType = TYPE_NAMES.map((t) => app.endpoints.filter((e) => e.events === null || e.events.includes(t)));
    app.fanout = TYPES.reduce((a, [, w], i) => a + (w / totalW) * app.byType[i].length, 0);
    app.seq = 0;
  }
  const weights = apps.map((a) => a.share / a.fanout);
  const wSum = weights.reduce((a, b) => a + b, 0);
  const appCum = [];
  acc = 0;
  for (const w of weights) appCum.push((acc += w / wSum));
  const evtId = idGen('evt');
  const dlvId = idGen('dlv');
  const attId = idGen('att');
  const counts = { events: 0, deliveries: 0, attempts: 0, pending: 0, parked: 0, success: 0, failed: 0 };
  const sample = { eventIds: [] };
  let t = start;
  let pk = 0;
  const CHUNK = 20_000;
  let chunk = { events: [], deliveries: [], attempts: [] };
  const jitter = (s) => Math.round(s * 1000 * (0.8 + 0.4 * rand()));
  const okDuration = () => 15 + Math.floor(-Math.log(1 - rand()) * 60);
  const failure = () => {
    const u = rand();
    if (u < 0.6) return { status_code: [500, 502, 503][Math.floor(rand() * 3)], duration_ms: okDuration(), response_body: '<html><body><h1>Bad Gateway</h1></body></html>', error: null };
    if (u < 0.85) return { status_code: null, duration_ms: 15000, response_body: null, error: 'timeout: no response within 15000 ms' };
    return { status_code: null, duration_ms: 1 + Math.floor(rand() * 3), response_body: null, error: 'connect ECONNREFUSED 10.0.0.7:443' };
  };
  while (counts.deliveries < N) {
    const u = rand();
    let ai = 0;
    while (ai < appCum.length - 1 && u > appCum[ai]) ai++;
    const app = apps[ai];
    const ti = pickType();
    let eps = app.byType[ti];
    if (eps.length === 0) continue;
    if (counts.deliveries + eps.length > N) eps = eps.slice(0, N - counts.deliveries);
    // time follows the share of deliveries made so far, so the last one is at `end`
    t = Math.max(t, Math.round(start + span * (counts.deliveries / N) + rand() * 1000));
    const sequence = ++app.seq;
    const eventId = evtId(t);
    pk++;
    const body = JSON.stringify({
      id: eventId, type: TYPE_NAMES[ti], timestamp: new Date(t).toISOString(),
      data: { object: 'order', id: `ord_${String(pk).padStart(9, '0')}`, amount: 1000 + (pk % 9000), currency: 'EUR',
        customer: { id: `cus_${pk % 4999}`, email: `customer${pk % 4999}@example.com` }, items: 1 + (pk % 5), note: 'x'.repeat(pk % 80) },
    });
    chunk.events.push({ pk, app_id: app.id, id: eventId, type: TYPE_NAMES[ti], timestamp: t, sequence, body, deliveries: eps.length, created_at: t });
    counts.events++;
    if (app.key === 'main' && eps.length >= 3 && counts.deliveries > N / 2 && sample.eventIds.length < 3) sample.eventIds.push(eventId);
    for (const ep of eps) {
      const id = dlvId(t);
      const d = {
        id, app_id: app.id, endpoint_id: ep.id, event_pk: pk, event_id: eventId, event_type: TYPE_NAMES[ti], status: 'pending',
        attempt_count: 0, last_status_code: null, last_error: null, next_attempt_at: null, event_seq: sequence, created_at: t,
        last_attempt_at: null, delivered_at: null,
      };
      // attempts stop at the end of the data, or when the endpoint was disabled
      const cutoff = ep.disabledAt && t < ep.disabledAt ? ep.disabledAt : end;
      if (ep.disabledAt && t >= ep.disabledAt) {
        d.next_attempt_at = PARKED_AT;
        counts.parked++;
      } else if (t > end - 60_000) {
        d.next_attempt_at = t; // due, not attempted yet (the bench's Herald runs --api-only: no worker)
      } else {
        const fails = rand() < ep.failRate;
        const secondOk = !fails && rand() < 0.03;
        const n = fails ? 8 : secondOk ? 2 : 1;
        let at = t + 20 + Math.floor(rand() * 200);
        let k = 0;
        for (; k < n; k++) {
          if (k > 0) at += jitter(SCHEDULE_S[k - 1]);
          if (at > cutoff) break;
          const ok = !fails && k === n - 1;
          const r = ok ? { status_code: 200, duration_ms: okDuration(), response_body: '{"received":true}', error: null } : failure();
          chunk.attempts.push({ delivery_id: id, number: k + 1, id: attId(at), endpoint_id: ep.id, started_at: at, ...r });
          counts.attempts++;
          d.attempt_count = k + 1;
          d.last_status_code = r.status_code;
          d.last_error = r.error;
          d.last_attempt_at = at;
          ep.lastAttemptAt = Math.max(ep.lastAttemptAt ?? 0, at);
          if (ok) {
            d.status = 'success';
            d.delivered_at = at + r.duration_ms;
          }
        }
        if (d.status !== 'success') {
          if (k === n) d.status = 'failed';
          else if (ep.disabledAt) {
            d.next_attempt_at = PARKED_AT;
            counts.parked++;
          } else d.next_attempt_at = at + (k > 0 ? jitter(SCHEDULE_S[k - 1]) : 0);
        }
      }
      counts[d.status]++;
      counts.deliveries++;
      ep.deliveries = (ep.deliveries ?? 0) + 1;
      chunk.deliveries.push(d);
    }
    if (chunk.deliveries.length >= CHUNK) {
      await sink(chunk, counts);
      chunk = { events: [], deliveries: [], attempts: [] };
    }
  }
  if (chunk.events.length) await sink(chunk, counts);
  return { counts, sample };
}

// ── seeding ──────────────────────────────────────────────────────────────
/** Apps, event types and endpoints through Herald's API (on a Herald that made the schema by its migrations). */
async function createLayout(herald, end) {
  for (const name of [...TYPE_NAMES, UNUSED_TYPE]) await herald.call('POST', '/v1/event-types', { name, description: `bench type ${name}` }, 201);
  const apps = layoutSpec();
  for (const app of apps) {
    app.id = (await herald.createApp(app.name)).id;
    for (const ep of app.endpoints) {
      const body = { url: `http://127.0.0.1:9/${app.key}/${ep.j}`, description: `${app.key} endpoint ${ep.j}` };
      if (ep.events) body.events = ep.events;
      if (ep.disabled) body.status = 'disabled';
      ep.id = (await herald.createEndpoint(app.id, body)).id;
      if (ep.disabled) ep.disabledAt = end - 6 * HOUR;
    }
  }
  return apps;
}

const EVENT_COLS = ['pk', 'app_id', 'id', 'type', 'timestamp', 'sequence', 'body', 'deliveries', 'created_at'];
const DELIVERY_COLS = ['id', 'app_id', 'endpoint_id', 'event_pk', 'event_id', 'event_type', 'status', 'attempt_count', 'last_status_code',
  'last_error', 'next_attempt_at', 'event_seq', 'created_at', 'last_attempt_at', 'delivered_at'];
const ATTEMPT_COLS = ['delivery_id', 'number', 'id', 'endpoint_id', 'started_at', 'duration_ms', 'status_code', 'response_body', 'error'];

function sqliteSink(db) {
  const ins = (table, cols) => db.prepare(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map((c) => '@' + c).join(', ')})`);
  const ie = ins('events', EVENT_COLS);
  const id = ins('deliveries', DELIVERY_COLS);
  const ia = ins('attempts', ATTEMPT_COLS);
  const write = db.transaction((c) => {
    for (const r of c.events) ie.run(r);
    for (const r of c.deliveries) id.run(r);
    for (const r of c.attempts) ia.run(r);
  });
  return async (c) => write(c);
}

const PG_TYPES = {
  pk: 'bigint', timestamp: 'bigint', sequence: 'bigint', deliveries: 'int', created_at: 'bigint', event_pk: 'bigint', attempt_count: 'int',
  last_status_code: 'int', next_attempt_at: 'bigint', event_seq: 'bigint', last_attempt_at: 'bigint', delivered_at: 'bigint', number: 'int',
  started_at: 'bigint', duration_ms: 'int', status_code: 'int',
};
function pgSink(client) {
  const ins = (table, cols, extra = '') => ({
    text: `INSERT INTO ${table} (${cols.join(', ')}) ${extra} SELECT * FROM unnest(${cols.map((c, i) => `$${i + 1}::${PG_TYPES[c] ?? 'text'}[]`).join(', ')})`,
    cols,
  });
  const ie = ins('events', EVENT_COLS, 'OVERRIDING SYSTEM VALUE');
  const id = ins('deliveries', DELIVERY_COLS);
  const ia = ins('attempts', ATTEMPT_COLS);
  const run = (s, rows) => client.query(s.text, s.cols.map((c) => rows.map((r) => r[c])));
  return async (c) => {
    await client.query('BEGIN');
    await run(ie, c.events);
    for (let i = 0; i < c.deliveries.length; i += 10_000) await run(id, c.deliveries.slice(i, i + 10_000));
    for (let i = 0; i < c.attempts.length; i += 10_000) await run(ia, c.attempts.slice(i, i + 10_000));
    await client.query('COMMIT');
  };
}

async function seed() {
  const t0 = performance.now();
  if (backend === 'sqlite') {
    mkdirSync(RESULTS, { recursive: true });
    for (const f of [SQLITE_PATH, `${SQLITE_PATH}-wal`, `${SQLITE_PATH}-shm`]) rmSync(f, { force: true });
  } else {
    await withPg(pgBase, (c) => c.query(`DROP SCHEMA IF EXISTS ${PG_SCHEMA} CASCADE`));
  }
  // 1. Herald makes the schema (its migrations) and, through its API, the apps, types and endpoints.
  const end = Date.now();
  const h = await startHerald({ label: 'seed', args: ['--api-only'], databaseUrl: dbUrl(), env: PREFLIGHT_ENV, main: MAIN });
  let apps;
  try {
    apps = await createLayout(h, end);
  } finally {
    await h.stop();
  }
  const tSchema = performance.now();
  // 2. Bulk inserts, 20,000 deliveries per transaction.
  let result;
  let lastLog = 0;
  const progress = (counts) => {
    if (counts.deliveries - lastLog >= 200_000) {
      lastLog = counts.deliveries;
      log(`seeded ${fmtInt(counts.deliveries)} deliveries (${fmt((performance.now() - tSchema) / 1000)} s)`);
    }
  };
  if (backend === 'sqlite') {
    const db = new Database(SQLITE_PATH);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = OFF');
    db.pragma('foreign_keys = OFF'); // consistent by construction; the file keeps Herald's schema
    db.pragma('cache_size = -262144');
    const sink = sqliteSink(db);
    result = await generate(apps, end, async (c, counts) => {
      await sink(c);
      progress(counts);
    });
    finishLayoutSqlite(db, apps);
    writeMeta((sql, params) => db.prepare(sql).run(params), result, apps, end);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
  } else {
    await withPg(pgBase, async (c) => {
      await c.query(`SET search_path = ${PG_SCHEMA}`);
      await c.query('SET session_replication_role = replica'); // no FK triggers while bulk loading; consistent by construction
      const sink = pgSink(c);
      result = await generate(apps, end, async (ch, counts) => {
        await sink(ch);
        progress(counts);
      });
      await c.query('SET session_replication_role = DEFAULT');
      await c.query(`SELECT setval(pg_get_serial_sequence('events', 'pk'), (SELECT max(pk) FROM events))`);
      for (const app of apps) await c.query('UPDATE apps SET last_sequence = $1 WHERE id = $2', [app.seq, app.id]);
      for (const app of apps) for (const ep of app.endpoints) {
        await c.query('UPDATE endpoints SET last_attempt_at = $1, disabled_at = $2, disabled_reason = $3 WHERE id = $4',
          [ep.lastAttemptAt ?? null, ep.disabledAt ?? null, ep.disabledAt ? 'disabled by the bench' : null, ep.id]);
      }
      await c.query('CREATE TABLE bench_seed_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
      const pending = [];
      writeMeta((sql, p) => pending.push([sql.replace('@key', '$1').replace('@value', '$2'), [p.key, p.value]]), result, apps, end);
      for (const [sql, p] of pending) await c.query(sql, p);
      // A live database has autovacuum's statistics and visibility map; a fresh bulk load has
      // neither until autovacuum gets to it, so give it both now.
      log('VACUUM ANALYZE …');
      await c.query('VACUUM (ANALYZE) events, deliveries, attempts, endpoints, apps');
    });
  }
  const t1 = performance.now();
  return { seconds: round((t1 - t0) / 1000, 1), schemaSeconds: round((tSchema - t0) / 1000, 1), counts: result.counts };
}

function finishLayoutSqlite(db, apps) {
  const seqUp = db.prepare('UPDATE apps SET last_sequence = ? WHERE id = ?');
  const epUp = db.prepare('UPDATE endpoints SET last_attempt_at = ?, disabled_at = ?, disabled_reason = ? WHERE id = ?');
  db.transaction(() => {
    for (const app of apps) {
      seqUp.run(app.seq, app.id);
      for (const ep of app.endpoints) epUp.run(ep.lastAttemptAt ?? null, ep.disabledAt ?? null, ep.disabledAt ? 'disabled by the bench' : null, ep.id);
    }
  })();
  db.exec('CREATE TABLE bench_seed_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
}

function writeMeta(run, result, apps, end) {
  const meta = {
    seedVersion: SEED_VERSION, deliveries: N, end, seededAt: Date.now(), counts: result.counts, sample: result.sample,
    apps: apps.map((a) => ({ key: a.key, id: a.id, events: a.seq, endpoints: a.endpoints.map((e) => ({ j: e.j, id: e.id, events: e.events, deliveries: e.deliveries ?? 0, disabled: !!e.disabled })) })),
  };
  run('INSERT INTO bench_seed_meta (key, value) VALUES (@key, @value)', { key: 'meta', value: JSON.stringify(meta) });
}

async function withPg(url, fn) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** The cached database's meta row, or null when there is none or it doesn't match this bench. */
async function cachedMeta() {
  let value = null;
  try {
    if (backend === 'sqlite') {
      if (!existsSync(SQLITE_PATH)) return null;
      const db = new Database(SQLITE_PATH, { readonly: true, fileMustExist: true });
      try {
        value = db.prepare("SELECT value FROM bench_seed_meta WHERE key = 'meta'").get()?.value;
      } finally {
        db.close();
      }
    } else {
      value = await withPg(pgBase, async (c) => {
        const r = await c.query(`SELECT value FROM ${PG_SCHEMA}.bench_seed_meta WHERE key = 'meta'`).catch(() => null);
        return r?.rows[0]?.value;
      });
    }
  } catch {
    return null;
  }
  if (!value) return null;
  const meta = JSON.parse(value);
  return meta.seedVersion === SEED_VERSION && meta.deliveries === N ? meta : null;
}

// ── candidate indexes ────────────────────────────────────────────────────
const indexName = (sql) => /CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?("?[A-Za-z0-9_]+"?)/i.exec(sql)?.[1];
async function applyIndexes(list, drop) {
  if (list.length === 0) return [];
  const out = [];
  if (backend === 'sqlite') {
    const db = new Database(SQLITE_PATH);
    try {
      for (const sql of list) {
        const name = indexName(sql);
        if (!name) throw new Error(`--index: can't read the index name of: ${sql}`);
        const t = performance.now();
        if (drop) db.exec(`DROP INDEX IF EXISTS ${name}`);
        else db.exec(sql);
        out.push({ name, sql, seconds: round((performance.now() - t) / 1000, 1) });
      }
    } finally {
      db.close();
    }
  } else {
    await withPg(pgBase, async (c) => {
      await c.query(`SET search_path = ${PG_SCHEMA}`);
      for (const sql of list) {
        const name = indexName(sql);
        if (!name) throw new Error(`--index: can't read the index name of: ${sql}`);
        const t = performance.now();
        if (drop) await c.query(`DROP INDEX IF EXISTS ${name}`);
        else {
          await c.query(sql);
          await c.query('ANALYZE deliveries');
        }
        out.push({ name, sql, seconds: round((performance.now() - t) / 1000, 1) });
      }
    });
  }
  return out;
}

// ── the queries ──────────────────────────────────────────────────────────
/** The dashboard's delivery-log requests on the main app. `filter` is what the store sees, for --explain. */
function queries(meta, iterators) {
  const main = meta.apps.find((a) => a.key === 'main');
  const eps = [...main.endpoints].sort((a, b) => b.deliveries - a.deliveries);
  const busiest = eps[0];
  const flaky = main.endpoints.find((e) => e.j === 5);
  const small = main.endpoints.find((e) => e.j === 11); // one rare type
  const base = `/v1/apps/${main.id}`;
  const eventId = meta.sample.eventIds[0];
  const q = (name, what, path, filter) => ({ name, what, path, filter });
  const qs = (o) => new URLSearchParams(o).toString();
  const list = (o) => `${base}/deliveries?${qs({ limit: 50, ...o })}`;
  return [
    q('baseline', 'GET /v1/apps/:app (one primary-key read: the cost of any request)', base, null),
    q('health', 'GET /health (not the delivery log: counts pending deliveries)', '/health', null),
    q('first', 'first page, unfiltered', list({}), {}),
    q('failed', 'status=failed', list({ status: 'failed' }), { status: 'failed' }),
    q('pending', 'status=pending', list({ status: 'pending' }), { status: 'pending' }),
    q('type', `eventType=${TYPE_NAMES[0]} (30 % of events)`, list({ eventType: TYPE_NAMES[0] }), { eventType: TYPE_NAMES[0] }),
    q('type-rare', `eventType=${TYPE_NAMES[9]} (1 % of events)`, list({ eventType: TYPE_NAMES[9] }), { eventType: TYPE_NAMES[9] }),
    q('type-none', `eventType=${UNUSED_TYPE} (registered, never published: no match)`, list({ eventType: UNUSED_TYPE }), { eventType: UNUSED_TYPE }),
    q('endpoint', `endpointId=busiest (${fmtInt(busiest.deliveries)} deliveries)`, list({ endpointId: busiest.id }), { endpointId: busiest.id }),
    q('event', 'eventId=one event (its deliveries)', list({ eventId }), { eventId }),
    q('type+failed', `eventType=${TYPE_NAMES[0]} & status=failed`, list({ eventType: TYPE_NAMES[0], status: 'failed' }), { eventType: TYPE_NAMES[0], status: 'failed' }),
    q('rare+failed', `eventType=${TYPE_NAMES[9]} & status=failed`, list({ eventType: TYPE_NAMES[9], status: 'failed' }), { eventType: TYPE_NAMES[9], status: 'failed' }),
    q('ep+type+failed', `endpointId=busiest & eventType=${TYPE_NAMES[1]} & status=failed`,
      list({ endpointId: busiest.id, eventType: TYPE_NAMES[1], status: 'failed' }), { endpointId: busiest.id, eventType: TYPE_NAMES[1], status: 'failed' }),
    q('event+ep+failed', 'eventId & endpointId & status=failed (no match)', list({ eventId, endpointId: busiest.id, status: 'failed' }), { eventId, endpointId: busiest.id, status: 'failed' }),
    q('page2', 'page 2, unfiltered (iterator)', list({ iterator: iterators.page2 }), { iterator: iterators.page2 }),
    q('page20', 'page 20, unfiltered (iterator)', list({ iterator: iterators.page20 }), { iterator: iterators.page20 }),
    q('failed-p20', 'page 20 of status=failed', list({ status: 'failed', iterator: iterators.failed20 }), { status: 'failed', iterator: iterators.failed20 }),
    q('ep-list', 'GET …/endpoints/:busiest/deliveries', `${base}/endpoints/${busiest.id}/deliveries?limit=50`, { endpointId: busiest.id }),
    q('ep-list-failed', 'GET …/endpoints/:flaky/deliveries?status=failed', `${base}/endpoints/${flaky.id}/deliveries?limit=50&status=failed`, { endpointId: flaky.id, status: 'failed' }),
    q('ep-stats', `GET …/endpoints/:busiest/stats (${fmtInt(busiest.deliveries)} deliveries)`, `${base}/endpoints/${busiest.id}/stats`, null),
    q('ep-stats-small', `GET …/endpoints/:small/stats (${fmtInt(small.deliveries)} deliveries)`, `${base}/endpoints/${small.id}/stats`, null),
  ];
}

async function get(herald, path) {
  const t0 = performance.now();
  const res = await herald.api.request({ method: 'GET', path, headers: { authorization: `Bearer ${API_KEY}` }, headersTimeout: 120_000, bodyTimeout: 120_000 });
  const text = await res.body.text();
  const rtt = performance.now() - t0;
  if (res.statusCode !== 200) throw new Error(`GET ${path} → ${res.statusCode}: ${text.slice(0, 300)}`);
  const server = Number(res.headers['x-bench-server-ms']);
  return { rtt, server: Number.isFinite(server) ? server : null, json: JSON.parse(text), bytes: text.length };
}

/** Iterators of page 2 and page 20 (unfiltered) and page 20 of status=failed, by paging through. */
async function findIterators(herald, appId) {
  const walk = async (extra, pages) => {
    let it = null;
    const out = {};
    for (let p = 1; p < pages; p++) {
      const r = await get(herald, `/v1/apps/${appId}/deliveries?limit=50${extra}${it ? `&iterator=${it}` : ''}`);
      it = r.json.iterator;
      out[p + 1] = it;
    }
    return out;
  };
  const u = await walk('', 20);
  const f = await walk('&status=failed', 20);
  return { page2: u[2], page20: u[20], failed20: f[20] };
}

/** Checks that a list answer matches its filter (the bench must time correct answers). */
function check(qr, json) {
  if (!qr.filter || !Array.isArray(json.data)) return;
  for (const d of json.data) {
    if (qr.filter.status && d.status !== qr.filter.status) throw new Error(`${qr.name}: a delivery with status ${d.status}`);
    if (qr.filter.eventType && d.eventType !== qr.filter.eventType) throw new Error(`${qr.name}: a delivery of type ${d.eventType}`);
    if (qr.filter.endpointId && d.endpointId !== qr.filter.endpointId) throw new Error(`${qr.name}: a delivery of another endpoint`);
    if (qr.filter.eventId && d.eventId !== qr.filter.eventId) throw new Error(`${qr.name}: a delivery of another event`);
    if (qr.filter.iterator && !(d.id < qr.filter.iterator)) throw new Error(`${qr.name}: a delivery not before the iterator`);
  }
}

// ── --explain ────────────────────────────────────────────────────────────
async function explain(meta, list) {
  const main = meta.apps.find((a) => a.key === 'main');
  const out = {};
  const paramsOf = (f) => ({
    app_id: main.id, before: f.iterator ?? '~', limit: 51, endpoint_id: f.endpointId ?? null,
    event_id: f.eventId ?? null, event_type: f.eventType ?? null, status: f.status ?? null,
  });
  const stmtOf = (f) => (f.eventId ? 'listDeliveriesByEvent' : f.endpointId ? 'listDeliveriesByEndpoint' : 'listDeliveries');
  const statsEp = (q) => q.path.split('/endpoints/')[1].split('/')[0];
  if (backend === 'sqlite') {
    const { SQL } = await import(pathToFileURL(join(opts.dist, 'store/sqlite/sql.js')).href);
    const db = new Database(SQLITE_PATH, { readonly: true });
    db.pragma('cache_size = -65536');
    try {
      const timed = (stmt, params) => {
        for (let i = 0; i < 2; i++) stmt.all(params);
        const ts = [];
        for (let i = 0; i < 10; i++) {
          const t = performance.now();
          stmt.all(params);
          ts.push(performance.now() - t);
        }
        return round(median(ts), 2);
      };
      const plan = (sql, params) => db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params).map((r) => r.detail);
      for (const q of list) {
        if (q.filter) {
          const name = stmtOf(q.filter);
          const params = paramsOf(q.filter);
          out[q.name] = { statement: name, plan: plan(SQL[name], params), sqlMs: timed(db.prepare(SQL[name]), params) };
        } else if (q.name.startsWith('ep-stats')) {
          const p = { endpoint_id: statsEp(q), since: meta.end - DAY };
          out[q.name] = {
            statusCounts: { plan: plan(SQL.statusCounts, { endpoint_id: p.endpoint_id }), sqlMs: timed(db.prepare(SQL.statusCounts), { endpoint_id: p.endpoint_id }) },
            recentAttempts: { plan: plan(SQL.recentAttempts, p), sqlMs: timed(db.prepare(SQL.recentAttempts), p) },
          };
        } else if (q.name === 'health') {
          out[q.name] = { queueDepth: { plan: plan(SQL.queueDepth, {}), sqlMs: timed(db.prepare(SQL.queueDepth), {}) } };
        }
      }
    } finally {
      db.close();
    }
  } else {
    const { SQL } = await import(pathToFileURL(join(opts.dist, 'store/postgres/sql.js')).href);
    await withPg(pgBase, async (c) => {
      await c.query(`SET search_path = ${PG_SCHEMA}`);
      const analyze = async (name, params) => {
        const s = SQL[name];
        const values = s.params.map((p) => params[p]);
        const custom = (await c.query(`EXPLAIN (ANALYZE, BUFFERS) ${s.text}`, values)).rows.map((r) => r['QUERY PLAN']);
        // What a named statement runs after its first five executions, if the planner prefers it.
        await c.query('SET plan_cache_mode = force_generic_plan');
        await c.query(`PREPARE bench_generic AS ${s.text}`);
        const lit = (v) => (v === null ? 'NULL' : typeof v === 'number' ? String(v) : c.escapeLiteral(String(v)));
        const generic = (await c.query(`EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_generic${values.length ? `(${values.map(lit).join(', ')})` : ''}`)).rows.map((r) => r['QUERY PLAN']);
        await c.query('DEALLOCATE bench_generic');
        await c.query('RESET plan_cache_mode');
        return { custom, generic };
      };
      for (const q of list) {
        if (q.filter) out[q.name] = { statement: stmtOf(q.filter), ...(await analyze(stmtOf(q.filter), paramsOf(q.filter))) };
        else if (q.name.startsWith('ep-stats')) {
          const p = { endpoint_id: statsEp(q), since: meta.end - DAY };
          out[q.name] = { statusCounts: await analyze('statusCounts', p), recentAttempts: await analyze('recentAttempts', p) };
        } else if (q.name === 'health') out[q.name] = { queueDepth: await analyze('queueDepth', {}) };
      }
    });
  }
  return out;
}

// ── main ─────────────────────────────────────────────────────────────────
function gitInfo() {
  try {
    // with --dist the build is someone else's: the repo's commit says nothing about it
    if (opts.dist !== join(ROOT, 'dist')) return { commit: null, srcDirty: null };
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return { commit, srcDirty: dirty };
  } catch {
    return { commit: null, srcDirty: null };
  }
}

async function main() {
  const started = Date.now();
  log(`delivery-log bench: ${backend}, ${fmtInt(N)} deliveries, ${opts.runs} timed requests per query`);
  let meta = opts.reseed ? null : await cachedMeta();
  let seeding = null;
  if (meta) {
    log(`using the cached database (${backend === 'sqlite' ? SQLITE_PATH : `schema ${PG_SCHEMA}`}), seeded ${new Date(meta.seededAt).toISOString()}`);
  } else {
    log(`seeding ${fmtInt(N)} deliveries into ${backend === 'sqlite' ? SQLITE_PATH : `schema ${PG_SCHEMA}`} …`);
    seeding = await seed();
    meta = await cachedMeta();
    if (!meta) throw new Error('seeding finished but the meta row is missing');
    log(`seeded in ${seeding.seconds} s (schema and API part ${seeding.schemaSeconds} s): ${JSON.stringify(seeding.counts)}`);
  }
  const ageH = (Date.now() - meta.end) / HOUR;
  if (ageH > 24) log(`WARNING: the data ends ${fmt(ageH)} h ago: the endpoint stats' 24-h window holds fewer attempts than on a live database; --reseed to refresh`);
  const dbBytes = backend === 'sqlite' ? statSync(SQLITE_PATH).size : await withPg(pgBase, async (c) =>
    Number((await c.query(`SELECT sum(pg_total_relation_size(c.oid)) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'`, [PG_SCHEMA])).rows[0].n));

  const added = await applyIndexes(opts.indexes, false);
  for (const a of added) log(`index ${a.name} created in ${a.seconds} s`);
  const results = {
    meta: {
      date: new Date().toISOString(), ...gitInfo(), node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null,
      backend, deliveries: N, runs: opts.runs, dbMB: round(dbBytes / 1e6, 0), seededAt: new Date(meta.seededAt).toISOString(),
      dataEndsHoursAgo: round(ageH, 1), counts: meta.counts, extraIndexes: added.map((a) => a.sql), dist: opts.dist,
    },
    seeding, queries: [], explain: null,
  };
  let herald = null;
  try {
    herald = await startHerald({ label: 'delivery-log', args: ['--api-only'], databaseUrl: dbUrl(), env: PREFLIGHT_ENV, main: MAIN });
    const main = meta.apps.find((a) => a.key === 'main');
    const iterators = await findIterators(herald, main.id);
    let list = queries(meta, iterators);
    if (opts.only) list = list.filter((q) => q.name === 'baseline' || opts.only.includes(q.name));
    const samples = new Map(list.map((q) => [q.name, { rtt: [], server: [], rows: null, bytes: null }]));
    // Interleaved rounds (every query once per round) so that all see the same machine; the
    // first three rounds warm the page cache, the prepared statements and V8, and are not kept.
    let meter = null;
    for (let round_ = -3; round_ < opts.runs; round_++) {
      if (round_ === 0) meter = loadMeter([herald.pid]);
      for (const q of list) {
        const r = await get(herald, q.path);
        check(q, r.json);
        if (round_ < 0) continue;
        const s = samples.get(q.name);
        s.rtt.push(r.rtt);
        if (r.server !== null) s.server.push(r.server);
        s.rows = Array.isArray(r.json.data) ? r.json.data.length : null;
        s.bytes = r.bytes;
      }
      if (round_ === -1) log('warm-up done');
    }
    // CPU of other processes (PostgreSQL's server counts as other) and steal, % of one CPU
    results.meta.noise = meter();
    const problems = herald.problems();
    if (problems.count > 0) log(`Herald logged ${problems.count} warn/error line(s), e.g.:\n  ${problems.examples.slice(0, 3).join('\n  ')}`);
    for (const q of list) {
      const s = samples.get(q.name);
      results.queries.push({
        name: q.name, what: q.what, path: q.path.replace(main.id, ':app'), rows: s.rows, bytes: s.bytes,
        serverMedian: round(median(s.server), 2), serverP95: round(percentile(s.server, 95), 2), serverMax: round(Math.max(...s.server), 2),
        rttMedian: round(median(s.rtt), 2), rttP95: round(percentile(s.rtt, 95), 2),
      });
    }
    const base = results.queries.find((x) => x.name === 'baseline');
    for (const x of results.queries) x.overBaselineMedian = round(x.rttMedian - base.rttMedian, 2);
  } finally {
    if (herald) await herald.stop();
  }
  if (opts.explain) {
    // the timings stand whatever happens here
    results.explain = await explain(meta, queries(meta, await (async () => {
      // the explain needs the iterators again (Herald is stopped): take them from the timed paths
      const it = (name) => new URL(`http://x${results.queries.find((q) => q.name === name)?.path ?? '/'}`).searchParams.get('iterator');
      return { page2: it('page2'), page20: it('page20'), failed20: it('failed-p20') };
    })()).filter((q) => !opts.only || q.name === 'baseline' || opts.only.includes(q.name))).catch((err) => ({ error: err.message }));
  }
  if (added.length && !opts.keepIndex) {
    await applyIndexes(opts.indexes, true);
    log(`dropped ${added.map((a) => a.name).join(', ')}`);
  }
  results.meta.durationSeconds = Math.round((Date.now() - started) / 1000);
  printTable(results);
  mkdirSync(RESULTS, { recursive: true });
  const file = join(RESULTS, `delivery-log-${backend}.json`);
  writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  process.stdout.write(`BENCH_RESULT ${JSON.stringify({ ...results, explain: undefined })}\n`);
  log(`wrote ${file} (${results.meta.durationSeconds} s in all)`);
}

function printTable(r) {
  const m = r.meta;
  const out = [];
  out.push('', `Herald delivery log — ${m.date.slice(0, 19)}Z, ${m.commit ? `commit ${m.commit}${m.srcDirty ? '+dirty src' : ''}` : 'build of --dist'}, node ${m.node}, ${m.cpus} CPUs, ` +
    `${m.backend}, ${fmtInt(m.deliveries)} deliveries (${fmtInt(m.counts.events)} events, ${fmtInt(m.counts.attempts)} attempts; ` +
    `${fmtInt(m.counts.success)} success, ${fmtInt(m.counts.failed)} failed, ${fmtInt(m.counts.pending)} pending of which ${fmtInt(m.counts.parked)} parked), db ${fmtInt(m.dbMB)} MB`);
  if (r.seeding) out.push(`seeded in ${r.seeding.seconds} s (Herald's migrations + API part ${r.seeding.schemaSeconds} s)`);
  if (m.extraIndexes.length) out.push(`with extra index(es): ${m.extraIndexes.join('; ')}`);
  out.push(`${m.runs} timed requests per query, one at a time on one keep-alive connection; ms; server = request parsed → response head written`);
  if (m.noise) out.push(`other processes' CPU during the timed rounds: ${m.noise.otherCpuPct} % of one CPU (steal ${m.noise.stealPct} %)${m.backend === 'postgres' ? ', PostgreSQL included' : ''}`);
  out.push(`Herald: ${m.dist}`);
  const rows = [['query', 'what', 'rows', 'server p50', 'server p95', 'RTT p50', 'RTT p95', 'RTT−baseline']];
  for (const q of r.queries) rows.push([q.name, q.what, q.rows === null ? '' : String(q.rows), fmt(q.serverMedian, 2), fmt(q.serverP95, 2), fmt(q.rttMedian, 2), fmt(q.rttP95, 2), fmt(q.overBaselineMedian, 2)]);
  const w = rows[0].map((_, i) => Math.max(...rows.map((x) => x[i].length)));
  for (const x of rows) out.push(x.map((c, i) => (i >= 2 ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  '));
  if (r.explain) {
    out.push('', 'plans (--explain):');
    for (const [name, e] of Object.entries(r.explain)) out.push(`  ${name}: ${JSON.stringify(e, null, 2).split('\n').join('\n  ')}`);
  }
  out.push('');
  process.stdout.write(out.join('\n') + '\n');
}

main().catch((err) => {
  process.stderr.write(`bench: ${err?.stack ?? err}\n`);
  process.exit(1);
});
