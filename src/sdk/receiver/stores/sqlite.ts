/**
 * SQLite store over a better-sqlite3 `Database` the caller opens (any
 * object with the same `prepare().run()` / `exec()` shape works), so the
 * SDK has no dependency on the native module.
 */
import type { DedupeStore } from '../dedupe.js';
import { PRUNE_EVERY_CLAIMS, quoteIdent } from './sql.js';

export interface SqliteDatabaseLike {
  exec(sql: string): unknown;
  prepare(sql: string): { run(...params: unknown[]): { changes: number } };
}

export interface SqliteStoreOptions {
  /** Default "herald_webhook_dedupe"; created if missing. */
  table?: string;
  /** Clock in ms since epoch, for tests. Default Date.now. */
  now?: () => number;
}

export function sqliteStore(db: SqliteDatabaseLike, options: SqliteStoreOptions = {}): DedupeStore & { prune(): number } {
  const table = quoteIdent(options.table ?? 'herald_webhook_dedupe', 'table');
  const now = options.now ?? Date.now;
  db.exec(`CREATE TABLE IF NOT EXISTS ${table} (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID`);

  // One statement, so it is atomic even across processes sharing the file:
  // insert, or take over a row whose time is up; an unexpired row is left
  // alone and `changes` is 0. better-sqlite3 is synchronous, so there is no
  // interleaving within a process either.
  const claimStmt = db.prepare(
    `INSERT INTO ${table} (key, expires_at) VALUES (?, ?)
     ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
     WHERE ${table}.expires_at <= ?`,
  );
  const releaseStmt = db.prepare(`DELETE FROM ${table} WHERE key = ?`);
  const pruneStmt = db.prepare(`DELETE FROM ${table} WHERE expires_at <= ?`);
  let claims = 0;

  const prune = (): number => pruneStmt.run(now()).changes;

  return {
    async claim(key, ttlSeconds) {
      const t = now();
      const claimed = claimStmt.run(key, t + Math.ceil(ttlSeconds * 1000), t).changes === 1;
      if (++claims % PRUNE_EVERY_CLAIMS === 0) prune();
      return claimed;
    },
    async release(key) {
      releaseStmt.run(key);
    },
    prune,
  };
}
