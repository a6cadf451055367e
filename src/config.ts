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
  logLevel: string;
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
    logLevel: env.HERALD_LOG_LEVEL || 'info',
    roles: { api: !overrides.workerOnly, worker: !overrides.apiOnly },
  };
}
