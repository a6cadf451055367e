import { isIP } from 'node:net';
import { dirname } from 'node:path';
import { ConfigError } from './errors.js';

/**
 * Configuration: defaults → environment (HERALD_*) → command-line overrides, read and
 * validated once at startup. Nothing else in Herald reads process.env.
 */
export interface HeraldConfig {
  databaseUrl: string;
  dataDir: string;
  host: string;
  port: number;
  apiKey: string | undefined;
  dev: boolean;
  /** Delays in seconds before retry 1, 2, … when an endpoint has no schedule of its own. */
  retrySchedule: number[];
  /** Fraction of each delay added or removed at random (0.2 = ±20%). */
  retryJitter: number;
  /** Upper bound for a receiver's Retry-After, in seconds. */
  maxRetryAfterSeconds: number;
  requestTimeoutMs: number;
  maxPayloadBytes: number;
  maxBatchBytes: number;
  workerConcurrency: number;
  /** default cap on concurrent requests to one endpoint (besides the fair share the worker enforces) */
  endpointMaxInFlight: number;
  /** auto-disable after this many consecutive failed attempts … */
  disableAfterFailures: number;
  /** … spanning at least this long, so a short outage never disables anyone */
  disableAfterSeconds: number;
  /** consecutive failures that raise an endpoint.failing operational webhook */
  failingThreshold: number;
  /** consecutive failures that open an endpoint's circuit */
  circuitThreshold: number;
  circuitBaseMs: number;
  circuitMaxMs: number;
  /** deliveries per second released to a recovering endpoint at first; doubles every second */
  recoveryStartRate: number;
  /** CIDRs outbound requests may reach although private (e.g. an internal receiver) */
  allowedNetworks: string[];
  /** base64 or hex, 32 bytes; generated into the data dir when absent */
  encryptionKey: string | undefined;
  /** app (id or uid) that receives Herald's own operational webhooks */
  operatorApp: string | undefined;
  /** management API requests per second per client (burst: twice that); 0 = unlimited */
  apiRateLimit: number;
  /** events older than this many days, with all deliveries finished, are deleted; 0 = keep */
  retentionDays: number;
  /** base URL providers reach Herald at, for sources' ingestUrl; default: the API request's own host */
  publicUrl: string | undefined;
  /**
   * Slow clients: a request's headers must arrive within headersTimeoutMs and the whole request
   * within requestTimeoutMs; an idle keep-alive connection closes after keepAliveTimeoutMs.
   */
  http: { headersTimeoutMs: number; requestTimeoutMs: number; keepAliveTimeoutMs: number };
  /** open connections one client address may hold; 0 = no cap */
  maxConnectionsPerClient: number;
  /** failed authentications per minute per client address before it gets 429 (burst: a third of it) */
  authFailuresPerMinute: number;
  /**
   * Behind a reverse proxy: which peers' X-Forwarded-For to believe for the client address
   * (rate limits, the auth-failure throttle). false = none (the socket's address); true = any.
   */
  trustProxy: boolean | string[];
  /** origins allowed to show the customer portal in an <iframe> (CSP frame-ancestors); empty = none */
  portalFrameAncestors: string[];
  /** how often relay sockets are pinged; a listener that missed one ping is dropped (so within 2×) */
  relayPingMs: number;
  /** alerts: how often the worker evaluates alert rules */
  alertIntervalMs: number;
  /** alerts' email channel: smtp://user:pass@host:587 (STARTTLS when offered) or smtps://…:465; unset = no email channels */
  smtpUrl: string | undefined;
  /** From: of alert emails */
  alertFrom: string;
  logLevel: string;
  /** single publishes `serve` and `worker` run through a throwaway in-memory Herald before starting (warmup.ts); 0 = none */
  warmupEvents: number;
  roles: { api: boolean; worker: boolean };
}

export const DEFAULT_RETRY_SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000];

export interface ConfigOverrides {
  port?: string | number;
  host?: string;
  db?: string;
  dev?: boolean;
  apiOnly?: boolean;
  workerOnly?: boolean;
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name}=${JSON.stringify(raw)} is invalid: expected an integer between ${min} and ${max}`);
  }
  return n;
}

function num(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new ConfigError(`${name}=${JSON.stringify(raw)} is invalid: expected a number between ${min} and ${max}`);
  }
  return n;
}

function bool(env: Env, name: string): boolean {
  const raw = (env[name] ?? '').toLowerCase();
  if (raw === '' || raw === '0' || raw === 'false' || raw === 'no') return false;
  if (raw === '1' || raw === 'true' || raw === 'yes') return true;
  throw new ConfigError(`${name}=${JSON.stringify(env[name])} is invalid: expected 1/0, true/false or yes/no`);
}

export function parseRetrySchedule(raw: string, name = 'HERALD_RETRY_SCHEDULE'): number[] {
  const parts = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const values = parts.map(Number);
  if (values.length > 50 || values.some((v) => !Number.isFinite(v) || v < 0 || v > 7 * 86400)) {
    throw new ConfigError(
      `${name}=${JSON.stringify(raw)} is invalid: expected up to 50 comma-separated delays in seconds, each 0..604800`,
    );
  }
  return values;
}

/** `10.0.0.0/8, fd00::/8` → validated CIDR strings. */
export function parseNetworks(raw: string): string[] {
  const out: string[] = [];
  for (const part of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([0-9a-fA-F:.]+)\/(\d{1,3})$/.exec(part);
    const family = m ? isIP(m[1]) : 0;
    if (!m || family === 0 || Number(m[2]) > (family === 4 ? 32 : 128)) {
      throw new ConfigError(`HERALD_ALLOWED_NETWORKS: ${JSON.stringify(part)} is not a CIDR like 10.0.0.0/8 or fd00::/8`);
    }
    out.push(part);
  }
  return out;
}

export function loadConfig(env: Env = process.env, overrides: ConfigOverrides = {}): HeraldConfig {
  const port = overrides.port !== undefined ? String(overrides.port) : env.HERALD_PORT;
  const databaseUrl = overrides.db ?? env.HERALD_DATABASE_URL ?? 'sqlite:./data/herald.db';
  if (!/^(sqlite:|postgres:\/\/|postgresql:\/\/)/.test(databaseUrl)) {
    throw new ConfigError(
      `HERALD_DATABASE_URL=${JSON.stringify(databaseUrl)} is invalid: expected sqlite:<path> or postgres://…`,
    );
  }
  if (overrides.apiOnly && overrides.workerOnly) throw new ConfigError('--api-only and worker mode exclude each other');
  const requestTimeoutMs = int(env, 'HERALD_REQUEST_TIMEOUT_MS', 15_000, 100, 300_000);
  const apiKey = env.HERALD_API_KEY;
  if (apiKey !== undefined && apiKey !== '' && apiKey.length < 16) {
    throw new ConfigError('HERALD_API_KEY is too short: use at least 16 characters');
  }
  return {
    databaseUrl,
    // The API key and other generated files live next to the SQLite file unless told otherwise.
    dataDir: env.HERALD_DATA_DIR || (databaseUrl.startsWith('sqlite:') ? dirname(databaseUrl.slice(7) || './data/herald.db') : './data'),
    host: overrides.host ?? env.HERALD_HOST ?? '127.0.0.1',
    port: int({ HERALD_PORT: port }, 'HERALD_PORT', 8400, 0, 65535),
    apiKey: apiKey || undefined,
    dev: overrides.dev === true || bool(env, 'HERALD_DEV'),
    retrySchedule: env.HERALD_RETRY_SCHEDULE ? parseRetrySchedule(env.HERALD_RETRY_SCHEDULE) : DEFAULT_RETRY_SCHEDULE,
    retryJitter: num(env, 'HERALD_RETRY_JITTER', 0.2, 0, 0.9),
    maxRetryAfterSeconds: int(env, 'HERALD_MAX_RETRY_AFTER_SECONDS', 86_400, 1, 7 * 86_400),
    requestTimeoutMs,
    maxPayloadBytes: int(env, 'HERALD_MAX_PAYLOAD_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
    maxBatchBytes: int(env, 'HERALD_MAX_BATCH_BYTES', 32 * 1024 * 1024, 1024, 512 * 1024 * 1024),
    workerConcurrency: int(env, 'HERALD_WORKER_CONCURRENCY', 256, 1, 10_000),
    endpointMaxInFlight: int(env, 'HERALD_ENDPOINT_MAX_IN_FLIGHT', 256, 1, 10_000),
    disableAfterFailures: int(env, 'HERALD_DISABLE_AFTER_FAILURES', 10, 1, 1_000_000),
    disableAfterSeconds: int(env, 'HERALD_DISABLE_AFTER_SECONDS', 86_400, 0, 365 * 86_400),
    failingThreshold: int(env, 'HERALD_FAILING_THRESHOLD', 5, 1, 1_000_000),
    circuitThreshold: int(env, 'HERALD_CIRCUIT_THRESHOLD', 5, 1, 1_000_000),
    circuitBaseMs: int(env, 'HERALD_CIRCUIT_BASE_MS', 5_000, 10, 3_600_000),
    circuitMaxMs: int(env, 'HERALD_CIRCUIT_MAX_MS', 300_000, 10, 86_400_000),
    recoveryStartRate: num(env, 'HERALD_RECOVERY_START_RATE', 10, 0.1, 1_000_000),
    allowedNetworks: parseNetworks(env.HERALD_ALLOWED_NETWORKS ?? ''),
    encryptionKey: env.HERALD_ENCRYPTION_KEY || undefined,
    operatorApp: env.HERALD_OPERATOR_APP || undefined,
    apiRateLimit: num(env, 'HERALD_API_RATE_LIMIT', 200, 0, 1_000_000),
    retentionDays: num(env, 'HERALD_RETENTION_DAYS', 0, 0, 36_500),
    publicUrl: publicUrl(env.HERALD_PUBLIC_URL),
    http: httpTimeouts(env),
    maxConnectionsPerClient: int(env, 'HERALD_MAX_CONNECTIONS_PER_CLIENT', 512, 0, 1_000_000),
    authFailuresPerMinute: int(env, 'HERALD_AUTH_FAILURES_PER_MINUTE', 30, 1, 1_000_000),
    relayPingMs: int(env, 'HERALD_RELAY_PING_MS', 10_000, 100, 300_000),
    portalFrameAncestors: frameAncestors(env.HERALD_PORTAL_FRAME_ANCESTORS ?? ''),
    trustProxy: trustProxy(env.HERALD_TRUST_PROXY),
    alertIntervalMs: int(env, 'HERALD_ALERT_INTERVAL_MS', 15_000, 50, 3_600_000),
    smtpUrl: smtpUrl(env.HERALD_SMTP_URL),
    alertFrom: alertFrom(env.HERALD_ALERT_FROM),
    logLevel: env.HERALD_LOG_LEVEL || 'info',
    warmupEvents: int(env, 'HERALD_WARMUP_EVENTS', 4000, 0, 100_000),
    roles: { api: !overrides.workerOnly, worker: !overrides.apiOnly },
  };
}

function httpTimeouts(env: Env): HeraldConfig['http'] {
  const headersTimeoutMs = int(env, 'HERALD_HTTP_HEADERS_TIMEOUT_MS', 10_000, 100, 600_000);
  const requestTimeoutMs = int(env, 'HERALD_HTTP_REQUEST_TIMEOUT_MS', 120_000, 100, 3_600_000);
  // Node refuses a headers timeout longer than the whole request's.
  if (headersTimeoutMs > requestTimeoutMs) throw new ConfigError('HERALD_HTTP_HEADERS_TIMEOUT_MS must not exceed HERALD_HTTP_REQUEST_TIMEOUT_MS');
  return { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs: int(env, 'HERALD_HTTP_KEEPALIVE_TIMEOUT_MS', 10_000, 100, 600_000) };
}

/** `true`/`1` (every peer), or addresses and CIDRs of the proxies, comma-separated. */
function trustProxy(value: string | undefined): boolean | string[] {
  const v = (value ?? '').trim();
  if (v === '' || v === '0' || v === 'false') return false;
  if (v === '1' || v === 'true') return true;
  const list = v.split(/[\s,]+/).filter(Boolean);
  for (const a of list) {
    if (!/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(a)) throw new ConfigError(`HERALD_TRUST_PROXY has ${JSON.stringify(a)}: expected true, or proxy addresses/CIDRs like 10.0.0.0/8, comma-separated`);
  }
  return list;
}

/** Origins only (scheme://host[:port], `*` allowed as the leftmost label): they go verbatim into a CSP header. */
function frameAncestors(value: string): string[] {
  const origins = value.split(/[\s,]+/).filter(Boolean);
  for (const o of origins) {
    if (!/^https?:\/\/(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$/.test(o)) {
      throw new ConfigError(`HERALD_PORTAL_FRAME_ANCESTORS has ${JSON.stringify(o)}: expected origins like https://app.example.com, separated by commas`);
    }
  }
  return origins;
}

function smtpUrl(value: string | undefined): string | undefined {
  if (!value) return undefined;
  let url: URL | null = null;
  try {
    url = new URL(value);
  } catch {
    /* reported below */
  }
  // The value itself may hold a password: never echoed back.
  if (!url || (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') || !url.hostname) {
    throw new ConfigError('HERALD_SMTP_URL is invalid: expected smtp://user:pass@host:587 (STARTTLS) or smtps://user:pass@host:465');
  }
  return value;
}

function alertFrom(value: string | undefined): string {
  if (!value) return 'Herald <herald@localhost>';
  if (!/^[^\r\n<>]*<[^\s@<>]+@[^\s@<>]+>$|^[^\s@<>]+@[^\s@<>]+$/.test(value)) {
    throw new ConfigError(`HERALD_ALERT_FROM=${JSON.stringify(value)} is invalid: expected alerts@example.com or "Herald <alerts@example.com>"`);
  }
  return value;
}

function publicUrl(value: string | undefined): string | undefined {
  if (!value) return undefined;
  if (!/^https?:\/\/[^\s/]+(\/[^\s]*)?$/.test(value)) {
    throw new ConfigError(`HERALD_PUBLIC_URL=${JSON.stringify(value)} is invalid: expected http(s)://host[:port][/path]`);
  }
  return value.replace(/\/+$/, '');
}
