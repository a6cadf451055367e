// Shared helpers of the benchmark: options, statistics, child-process bookkeeping (every
// child is killed when the bench exits, however it exits), a Herald process controller,
// a small JSON API client, the receiver controller, /proc readers and the signing code.
import { fork, spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(BENCH_DIR, '..');
// Milliseconds on the machine's monotonic clock (CLOCK_MONOTONIC, shared by every process), so
// a time taken in the bench and one taken in the receiver compare. timeOrigin + performance.now()
// doesn't: each process fixes its timeOrigin from the wall clock when it starts, and while NTP
// slews the wall clock (a machine just booted) two processes disagree by milliseconds, which
// showed as negative publish→delivery latencies.
export const now = () => Number(process.hrtime.bigint()) / 1e6;
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** A sleep that doesn't keep the process alive: for the losing side of Promise.race. */
export const sleepUnref = (ms) => new Promise((r) => setTimeout(r, ms).unref());

// ── options ──────────────────────────────────────────────────────────────
export function parseArgs(argv) {
  const o = { quick: false, runs: null, only: null, help: false, heraldEnv: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const int = (min) => {
      const n = Number(val());
      if (!Number.isInteger(n) || n < min) throw new Error(`${a.split('=')[0]} expects an integer ≥ ${min}`);
      return n;
    };
    const name = a.split('=')[0];
    if (name === '--quick') o.quick = true;
    else if (name === '--runs') o.runs = int(1);
    else if (name === '--only') o.only = val().split(',').map((s) => s.trim());
    else if (name === '--events') o.events = int(50);
    else if (name === '--mem-events') o.memEvents = int(1000);
    else if (name === '--latency-seconds') o.latencySeconds = int(2);
    else if (name === '--fairness-seconds') o.fairnessSeconds = int(5);
    else if (name === '--rate') o.rate = int(1);
    else if (name === '--capacity-seconds') o.capacitySeconds = int(3);
    else if (name === '--capacity-start') o.capacityStart = int(1);
    else if (name === '--capacity-budget') o.capacityBudget = int(10);
    else if (name === '--coldstart-rate') o.coldstartRate = int(1);
    else if (name === '--backend') {
      o.backends = val().split(',').map((s) => s.trim());
      for (const b of o.backends) if (!['sqlite', 'postgres'].includes(b)) throw new Error(`--backend expects sqlite, postgres or sqlite,postgres (got '${b}')`);
    } else if (name === '--database-url') o.databaseUrl = val();
    else if (name === '--herald-env') {
      const kv = val();
      const eq = kv.indexOf('=');
      if (eq <= 0 || !kv.startsWith('HERALD_')) throw new Error('--herald-env expects HERALD_NAME=value');
      o.heraldEnv[kv.slice(0, eq)] = kv.slice(eq + 1);
    } else if (name === '--help' || name === '-h') o.help = true;
    else throw new Error(`unknown option ${a} (try --help)`);
  }
  return o;
}

// ── open-loop load ───────────────────────────────────────────────────────
/**
 * Calls `send(n)` for n = 0 … total-1 at `rate`/s from `t0` on, open loop: every tick (a 2 ms
 * timer) starts whatever is due by the clock, however many earlier calls are still unanswered,
 * so a slow server is not given time to catch up. Resolves when every call has settled, with
 * the most in flight at once, the failures (a rejected `send`), when issuing and answering
 * ended, and how many were issued: all of them, unless `stop()` (asked every tick) returned
 * true, which ends issuing early.
 */
export async function openLoop({ total, rate, t0, send, stop = null }) {
  let issued = 0;
  let done = 0;
  let inflight = 0;
  let maxInflight = 0;
  let errors = 0;
  let firstError = null;
  let lastDone = 0;
  const start = (n) => {
    inflight++;
    maxInflight = Math.max(maxInflight, inflight);
    send(n)
      .catch((err) => {
        errors++;
        firstError ??= err.message;
      })
      .finally(() => {
        inflight--;
        done++;
        lastDone = now();
      });
  };
  await new Promise((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((now() - t0) / 1000) * rate));
      while (issued < due) start(issued++);
      if (issued >= total || stop?.()) resolve();
      else setTimeout(tick, 2);
    };
    tick();
  });
  const tIssued = now();
  while (done < issued) await sleep(5);
  return { maxInflight, errors, firstError, lastDone, tIssued, issued };
}

// ── statistics ───────────────────────────────────────────────────────────
export function median(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** Nearest-rank percentile of an unsorted array (p in 0..100). */
export function percentile(xs, p) {
  if (xs.length === 0) return null;
  const v = Float64Array.from(xs).sort();
  const rank = Math.min(v.length, Math.max(1, Math.ceil((p / 100) * v.length)));
  return v[rank - 1];
}

/** Least-squares slope of y over x. */
export function slope(points) {
  const n = points.length;
  if (n < 2) return null;
  let sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const [x, y] of points) {
    sx += x; sy += y; sxx += x * x; sxy += x * y;
  }
  const d = n * sxx - sx * sx;
  return d === 0 ? null : (n * sxy - sx * sy) / d;
}

export const round = (x, d = 1) => (x === null || x === undefined || !Number.isFinite(x) ? null : Math.round(x * 10 ** d) / 10 ** d);

// ── child processes and temp dirs: always cleaned up ─────────────────────
const children = new Set();
const tempDirs = new Set();

export function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export function makeTempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-'));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir) {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {}
  tempDirs.delete(dir);
}

function killAllSync() {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {}
  }
  for (const d of tempDirs) removeTempDir(d);
}

let hooked = false;
export function installCleanup() {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig} received, killing child processes\n`);
      killAllSync();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (err) => {
    process.stderr.write(`bench: uncaught exception: ${err?.stack ?? err}\n`);
    killAllSync();
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    process.stderr.write(`bench: unhandled rejection: ${err?.stack ?? err}\n`);
    killAllSync();
    process.exit(1);
  });
}

/** A TCP port on 127.0.0.1 with nothing listening (bound once, then closed). */
export function closedPort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// ── /proc ────────────────────────────────────────────────────────────────
export function rssMB(pid) {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) used so far by a process. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime is field 14, stime field 15
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

/** Busy and steal CPU seconds of the whole machine (all CPUs), from /proc/stat. */
function systemCpu() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = f;
    return { busy: (user + nice + system + irq + softirq) / 100, steal: (steal || 0) / 100 };
  } catch {
    return null;
  }
}

/**
 * Measures how busy the machine was with other work while a scenario ran: CPU time of all
 * processes minus the bench's own processes (this one and `pids`), and hypervisor steal,
 * both as % of one CPU over the wall time. The machine is shared, so this says how much a
 * figure may have been disturbed.
 */
export function loadMeter(pids) {
  const mine = () => pids.reduce((a, p) => a + (cpuSeconds(p) ?? 0), 0) + (((u) => (u.user + u.system) / 1e6)(process.cpuUsage()));
  const s0 = systemCpu();
  const m0 = mine();
  const t0 = now();
  return () => {
    const s1 = systemCpu();
    const m1 = mine();
    const wall = (now() - t0) / 1000;
    if (!s0 || !s1 || wall <= 0) return { otherCpuPct: null, stealPct: null };
    return {
      otherCpuPct: round(Math.max(0, (s1.busy - s0.busy - (m1 - m0)) / wall) * 100, 0),
      stealPct: round(((s1.steal - s0.steal) / wall) * 100, 0),
    };
  };
}

// ── signing, the same two families Herald sends ──────────────────────────
export function newSecret() {
  return 'whsec_' + randomBytes(32).toString('base64');
}
export function standardKey(secret) {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
}
export function signStandard(key, id, ts, body) {
  return 'v1,' + createHmac('sha256', key).update(`${id}.${ts}.`).update(body).digest('base64');
}
export function signLegacy(secret, body) {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}

// ── receiver process ─────────────────────────────────────────────────────
export async function startReceiver() {
  const child = track(fork(join(BENCH_DIR, 'receiver.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const pending = new Map();
  let reqSeq = 0;
  let onReached = null;
  child.on('message', (m) => {
    if (m.type === 'reply') {
      pending.get(m.reqId)?.(m);
      pending.delete(m.reqId);
    } else if (m.type === 'reached') onReached?.(m);
  });
  const port = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('receiver did not start within 10 s')), 10_000);
    child.once('exit', (code) => reject(new Error(`receiver exited during start (code ${code})`)));
    child.on('message', (m) => {
      if (m.type === 'ready') {
        clearTimeout(t);
        resolve(m.port);
      }
    });
  });
  const ask = (msg) =>
    new Promise((resolve, reject) => {
      if (!child.connected) return reject(new Error('receiver process is gone'));
      const reqId = ++reqSeq;
      const t = setTimeout(() => {
        pending.delete(reqId);
        reject(new Error(`receiver did not answer '${msg.cmd}' within 30 s`));
      }, 30_000);
      pending.set(reqId, (m) => {
        clearTimeout(t);
        resolve(m);
      });
      child.send({ ...msg, reqId });
    });
  return {
    pid: child.pid,
    port,
    origin: `http://127.0.0.1:${port}`,
    reset: () => child.send({ cmd: 'reset' }),
    setSecrets: (secrets) => child.send({ cmd: 'secrets', secrets }),
    /** Resolves with {at, total, distinct} when `target` distinct deliveries have arrived. */
    arm(target) {
      const p = new Promise((resolve) => (onReached = resolve));
      child.send({ cmd: 'arm', target });
      return p;
    },
    stats: () => ask({ cmd: 'stats' }),
    /**
     * Latency samples of deliveries whose data.sentAt ≥ since, leaving out those to the paths
     * in `exclude`: {sent: [...], lat: [...]} (ms).
     */
    samples: (since, exclude = []) => ask({ cmd: 'samples', since, exclude }).then((m) => ({ sent: m.sent, lat: m.lat })),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      try {
        child.send({ cmd: 'stop' });
      } catch {}
      await Promise.race([exited, sleepUnref(3000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

// ── Herald process ───────────────────────────────────────────────────────
export const API_KEY = 'bench-' + randomBytes(16).toString('hex');

/**
 * Starts `node dist/cli/main.js serve --dev` on a fresh SQLite file in a temp dir, port 0
 * (the real port is read from the "listening on" banner). Keeps the last lines of its
 * output and counts warn/error log lines, which the bench reports.
 */
// Extra node flags for the Herald processes, e.g. BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"
// (NODE_OPTIONS refuses --cpu-prof).
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);

export async function startHerald({ env = {}, label = 'herald', args = [], databaseUrl = null, main = join(ROOT, 'dist/cli/main.js') } = {}) {
  const dir = makeTempDir();
  const db = databaseUrl ?? `sqlite:${join(dir, 'herald.db')}`;
  const child = track(
    spawn(process.execPath, [...NODE_ARGS, main, 'serve', ...args, '--dev', '--port', '0', '--host', '127.0.0.1', '--db', db], {
      cwd: dir,
      env: { ...process.env, HERALD_API_KEY: API_KEY, HERALD_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const tail = [];
  const problems = []; // warn/error log lines (pino level ≥ 40) and anything on stderr
  let problemCount = 0;
  const onLine = (line, stream) => {
    if (!line.trim()) return;
    tail.push(`[${stream}] ${line}`);
    if (tail.length > 60) tail.shift();
    let level = null;
    try {
      level = JSON.parse(line).level;
    } catch {}
    if ((typeof level === 'number' && level >= 40) || (stream === 'stderr' && level === null)) {
      problemCount++;
      if (problems.length < 10) problems.push(line.length > 400 ? line.slice(0, 400) + '…' : line);
    }
  };
  const lineReader = (stream, name) => {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, i), name);
        buf = buf.slice(i + 1);
      }
    });
  };
  lineReader(child.stdout, 'stdout');
  lineReader(child.stderr, 'stderr');
  let exitInfo = null;
  child.once('exit', (code, signal) => (exitInfo = { code, signal }));

  const url = await new Promise((resolve, reject) => {
    const deadline = setTimeout(() => {
      reject(new Error(`${label}: Herald did not print "listening on" within 20 s. Last output:\n${tail.join('\n')}`));
    }, 20_000);
    const check = () => {
      for (const l of tail) {
        const m = /listening on (http:\/\/[^\s]+)/.exec(l);
        if (m) {
          clearTimeout(deadline);
          child.stdout.off('data', check);
          return resolve(m[1]);
        }
      }
    };
    child.stdout.on('data', check);
    child.once('exit', (code, signal) => {
      clearTimeout(deadline);
      reject(new Error(`${label}: Herald exited during start (code ${code}, signal ${signal}). Last output:\n${tail.join('\n')}`));
    });
  });

  const api = new Pool(url, { connections: 64, pipelining: 1, keepAliveTimeout: 30_000 });
  const call = async (method, path, body, expect, timeoutMs = 60_000) => {
    const res = await api.request({
      method,
      path,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      headers: { authorization: `Bearer ${API_KEY}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.body.text();
    if (expect !== undefined && res.statusCode !== expect) {
      throw new Error(`${label}: ${method} ${path} → ${res.statusCode} (expected ${expect}): ${text.slice(0, 300)}`);
    }
    return { status: res.statusCode, text, json: () => JSON.parse(text) };
  };

  return {
    pid: child.pid,
    url,
    dir,
    api,
    call,
    tail,
    get exited() {
      return exitInfo;
    },
    problems: () => ({ count: problemCount, examples: problems.slice() }),
    async createApp(name) {
      return (await call('POST', '/v1/apps', { name }, 201)).json();
    },
    async createEndpoint(appId, body) {
      return (await call('POST', `/v1/apps/${appId}/endpoints`, body, 201)).json();
    },
    /** Parsed /metrics: queue depth and delivery outcome counters. */
    async metrics(timeoutMs = 60_000) {
      const { text } = await call('GET', '/metrics', undefined, 200, timeoutMs);
      const value = (re) => {
        const m = re.exec(text);
        return m ? Number(m[1]) : null;
      };
      return {
        queueDepth: value(/^herald_queue_depth\s+(\S+)/m),
        success: value(/^herald_deliveries_total\{outcome="success"\}\s+(\S+)/m) ?? 0,
        retry: value(/^herald_deliveries_total\{outcome="retry"\}\s+(\S+)/m) ?? 0,
        failed: value(/^herald_deliveries_total\{outcome="failed"\}\s+(\S+)/m) ?? 0,
        published: value(/^herald_events_published_total\s+(\S+)/m),
      };
    },
    /**
     * SIGTERM, wait up to 20 s for a graceful exit, then SIGKILL; removes the temp dir. With
     * `kill`, SIGKILL at once (a run already judged, whose backlog needn't be drained).
     */
    async stop({ kill = false } = {}) {
      await (kill ? api.destroy() : api.close()).catch(() => {});
      let graceful = !kill;
      if (exitInfo === null && kill) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await Promise.race([exited, sleepUnref(5000)]);
      }
      if (exitInfo === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, sleepUnref(20_000)]);
        if (exitInfo === null) {
          graceful = false;
          child.kill('SIGKILL');
          await Promise.race([exited, sleepUnref(5000)]);
        }
      }
      removeTempDir(dir);
      return { graceful, killed: kill, exit: exitInfo };
    },
  };
}

export const fmtInt = (x) => (x === null || x === undefined ? '—' : Math.round(x).toLocaleString('en-US'));
export const fmt = (x, d = 1) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d));

// ── the BullMQ peer (issue 11) ───────────────────────────────────────────
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * Whether the peer can run: bullmq installed and Redis answering PING at `url` within 1.5 s.
 * Resolves with {ok: true, pid} (the Redis server's pid when it runs on this machine, to
 * count its CPU with the peer's) or {ok: false, reason}.
 */
export async function redisReachable(url = REDIS_URL) {
  try {
    await import('bullmq');
  } catch {
    return { ok: false, reason: 'bullmq not installed' };
  }
  let Redis;
  try {
    Redis = (await import('ioredis')).default;
  } catch {
    return { ok: false, reason: 'ioredis not installed' };
  }
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1500, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  client.on('error', () => {});
  try {
    await Promise.race([client.connect(), sleepUnref(2000).then(() => { throw new Error('timeout'); })]);
    if ((await client.ping()) !== 'PONG') return { ok: false, reason: 'no Redis' };
    const info = await client.info('server');
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
    const local = /^redis:\/\/(127\.0\.0\.1|localhost)(:|\/|$)/.test(url);
    return { ok: true, pid: local && cpuSeconds(pid) !== null ? pid : null, version: /redis_version:(\S+)/.exec(info)?.[1] ?? null };
  } catch {
    return { ok: false, reason: 'no Redis' };
  } finally {
    client.disconnect();
  }
}

/**
 * Forks bench/peer-bullmq.mjs delivering to `target` signed with `secret`, and returns an
 * object shaped like startHerald's where the bench needs it (call, pid, exited, tail,
 * problems, stop).
 */
export async function startPeer({ target, secret, redisUrl = REDIS_URL, label = 'peer', concurrency = 256 }) {
  const queueName = `q-${randomBytes(6).toString('hex')}`;
  const tail = [];
  const child = track(
    fork(join(BENCH_DIR, 'peer-bullmq.mjs'), [], {
      env: { ...process.env, PEER_REDIS_URL: redisUrl, PEER_QUEUE: queueName, PEER_TARGET: target, PEER_SECRET: secret, PEER_CONCURRENCY: String(concurrency) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    }),
  );
  let problemCount = 0;
  const problems = [];
  for (const [stream, name] of [[child.stdout, 'stdout'], [child.stderr, 'stderr']]) {
    stream.setEncoding('utf8');
    stream.on('data', (d) => {
      for (const line of d.split('\n').filter((l) => l.trim())) {
        tail.push(`[${name}] ${line}`);
        if (tail.length > 60) tail.shift();
        if (name === 'stderr') {
          problemCount++;
          if (problems.length < 10) problems.push(line.slice(0, 400));
        }
      }
    });
  }
  let exitInfo = null;
  child.once('exit', (code, signal) => (exitInfo = { code, signal }));
  const pending = new Map();
  let reqSeq = 0;
  const port = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${label}: the BullMQ peer did not start within 20 s. Output:\n${tail.join('\n')}`)), 20_000);
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`${label}: the BullMQ peer exited during start (code ${code}). Output:\n${tail.join('\n')}`));
    });
    child.on('message', (m) => {
      if (m?.type === 'ready') {
        clearTimeout(t);
        resolve(m.port);
      } else if (m?.type === 'reply') {
        pending.get(m.reqId)?.(m);
        pending.delete(m.reqId);
      }
    });
  });
  const url = `http://127.0.0.1:${port}`;
  const api = new Pool(url, { connections: 64, pipelining: 1, keepAliveTimeout: 30_000 });
  const call = async (method, path, body, expect, timeoutMs = 60_000) => {
    const res = await api.request({
      method, path, headersTimeout: timeoutMs, bodyTimeout: timeoutMs,
      headers: body !== undefined ? { 'content-type': 'application/json' } : {},
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.body.text();
    if (expect !== undefined && res.statusCode !== expect) throw new Error(`${label}: ${method} ${path} → ${res.statusCode}: ${text.slice(0, 300)}`);
    return { status: res.statusCode, text, json: () => JSON.parse(text) };
  };
  return {
    pid: child.pid,
    url,
    call,
    tail,
    queueName,
    get exited() {
      return exitInfo;
    },
    problems: () => ({ count: problemCount, examples: problems.slice() }),
    stats: () =>
      new Promise((resolve) => {
        const reqId = ++reqSeq;
        const t = setTimeout(() => {
          pending.delete(reqId);
          resolve(null);
        }, 5000);
        pending.set(reqId, (m) => {
          clearTimeout(t);
          resolve(m);
        });
        try {
          child.send({ cmd: 'stats', reqId });
        } catch {
          resolve(null);
        }
      }),
    /** The peer has no /metrics: awaitDeliveries' stall report gets its counters instead. */
    async metrics() {
      return this.stats();
    },
    /** Closes the worker and removes the queue's keys (up to 10 s), or SIGKILL with `kill`. */
    async stop({ kill = false } = {}) {
      await (kill ? api.destroy() : api.close()).catch(() => {});
      if (exitInfo === null) {
        const exited = new Promise((r) => child.once('exit', r));
        if (kill) child.kill('SIGKILL');
        else {
          try {
            child.send({ cmd: 'stop' });
          } catch {
            child.kill('SIGTERM');
          }
        }
        await Promise.race([exited, sleepUnref(12_000)]);
        if (exitInfo === null) child.kill('SIGKILL');
      }
      return { graceful: !kill, killed: kill, exit: exitInfo };
    },
  };
}

/**
 * Removes the keys a killed peer left in Redis (its queue, under the `herald-bench` prefix).
 */
export async function dropPeerQueue(queueName, redisUrl = REDIS_URL) {
  try {
    const { Queue } = await import('bullmq');
    const Redis = (await import('ioredis')).default;
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const q = new Queue(queueName, { prefix: 'herald-bench', connection: redis });
    try {
      await q.obliterate({ force: true });
      await q.close();
    } finally {
      redis.disconnect();
    }
  } catch {}
}
