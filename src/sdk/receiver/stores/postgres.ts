/**
 * PostgreSQL store over the caller's `pg` Pool or Client (anything with
 * `query(text, values)` resolving `{ rowCount }`), so the SDK has no
 * dependency on `pg`.
 */
import type { DedupeStore } from '../dedupe.js';
import { PRUNE_EVERY_CLAIMS, quoteIdent } from './sql.js';

export interface PgQueryable {
  query(text: string, values?: unknown[]): Promise<{ rowCount: number | null }>;
}

export interface PostgresStoreOptions {
  /** Default "herald_webhook_dedupe". */
  table?: string;
  /** Schema holding the table; default the connection's search_path. */
  schema?: string;
  /** Create the table on first use. Default true; turn off if migrations own it. */
  createTable?: boolean;
  /** Clock in ms since epoch, for tests. Default Date.now. Clocks of app servers only need to agree to within the TTL. */
  now?: () => number;
}

/**
 * Two processes racing CREATE TABLE IF NOT EXISTS can still collide on the catalog:
 * unique_violation on pg_type, duplicate_table, or duplicate_object for the table's row type.
 * Measured with 10 concurrent creates × 30 rounds: 187, 3 and 1 times respectively.
 */
const BENIGN_CREATE_ERRORS = new Set(['23505', '42P07', '42710']);

export function postgresStore(
  client: PgQueryable,
  options: PostgresStoreOptions = {},
): DedupeStore & { prune(): Promise<number>; ready(): Promise<void> } {
  const name = quoteIdent(options.table ?? 'herald_webhook_dedupe', 'table');
  const table = options.schema ? `${quoteIdent(options.schema, 'schema')}.${name}` : name;
  const now = options.now ?? Date.now;
  let ready: Promise<void> | undefined;
  let claims = 0;

  const ensureTable = (): Promise<void> => {
    if (options.createTable === false) return Promise.resolve();
    ready ??= client
      .query(`CREATE TABLE IF NOT EXISTS ${table} (key text PRIMARY KEY, expires_at bigint NOT NULL)`)
      .then(
        () => undefined,
        (err: { code?: string }) => {
          if (BENIGN_CREATE_ERRORS.has(err?.code ?? '')) return;
          ready = undefined; // let the next call try again
          throw err;
        },
      );
    return ready;
  };

  const prune = async (): Promise<number> => {
    await ensureTable();
    return (await client.query(`DELETE FROM ${table} WHERE expires_at <= $1`, [now()])).rowCount ?? 0;
  };

  return {
    ready: ensureTable,
    prune,
    async claim(key, ttlSeconds) {
      await ensureTable();
      const t = now();
      // A plain ON CONFLICT DO NOTHING would let an expired row block its id
      // until a sweep ran; DO UPDATE … WHERE expired takes it over in the same
      // atomic statement. Under READ COMMITTED a concurrent claimer waits on
      // the row lock, then re-checks the WHERE against the committed row
      // (unexpired) and updates nothing: exactly one caller sees rowCount 1.
      const result = await client.query(
        `INSERT INTO ${table} (key, expires_at) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at
         WHERE ${table}.expires_at <= $3`,
        [key, t + Math.ceil(ttlSeconds * 1000), t],
      );
      if (++claims % PRUNE_EVERY_CLAIMS === 0) await prune();
      return result.rowCount === 1;
    },
    async release(key) {
      await ensureTable();
      await client.query(`DELETE FROM ${table} WHERE key = $1`, [key]);
    },
  };
}
