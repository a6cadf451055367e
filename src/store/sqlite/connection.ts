import Database from 'better-sqlite3';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SecretBox } from '../../core/secret-box.js';
import { BUSY_TIMEOUT_MS, isBusy } from './busy.js';
import { BACKSTOP_PAGES, BackgroundCheckpointer } from './checkpointer.js';
import { migrations } from './migrations.js';
import { sealerFor, writesEndpoints, type Sealer } from '../rows.js';
import type { App, Endpoint, EventType } from '../types.js';
import { SQL } from './sql.js';

/** WAL pages past which a commit checkpoints by itself */
const OWN_CHECKPOINT_PAGES = 250;

export type Statements = { -readonly [K in keyof typeof SQL]: Database.Statement };

export interface SqliteOptions {
  synchronous?: 'NORMAL' | 'FULL';
  /** encrypts endpoint secrets at rest */
  box?: SecretBox;
  /** checkpoint the WAL from a thread of its own (see checkpointer.ts); file databases only */
  backgroundCheckpoint?: boolean;
}

/** A row referring to one deleted meanwhile (a source deleted while its request was being recorded). */
export const isForeignKeyViolation = (err: unknown): boolean =>
  typeof err === 'object' && err !== null && (err as { code?: string }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY';

export const isUniqueViolation = (err: unknown): boolean =>
  typeof err === 'object' && err !== null &&
  ['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY'].includes((err as { code?: string }).code ?? '');

/**
 * The connection, its pragmas, migrations and prepared statements, shared by the two halves
 * of the SQLite backend (queue.ts: publish and the worker's statements; store.ts: resources).
 * WAL with synchronous=NORMAL: a committed transaction survives the process being killed
 * (kill -9); only an OS crash or power loss may lose the last commits (use FULL for that).
 */
/** How stale, at most, the cached apps and event types may be for changes made through another connection. */
export const DATA_VERSION_MS = 10;

export class SqliteConnection {
  protected readonly db: Database.Database;
  protected s!: Statements;
  protected readonly sealer: Sealer;

  constructor(path: string, options: SqliteOptions = {}) {
    if (path !== ':memory:') {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      // Events, request bodies and sealed secrets: readable by Herald's user only, like the key
      // files. SQLite gives the -wal and -shm files the main file's permissions.
      closeSync(openSync(path, 'a', 0o600));
    }
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
    this.db.pragma('foreign_keys = ON');
    // Waiting for another process's lock happens on timers in busy.ts, not in here.
    this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    this.db.pragma('cache_size = -65536');
    // A checkpoint runs inside the commit that crosses the threshold, on the event loop, and
    // ends with fsyncs: 250 pages (~1 MB) keeps each stall short. Measured with the bench at
    // 1,000 events/s: publish→delivery p99 12.9 ms at SQLite's default 1000 pages, 5.0 ms here.
    // With a checkpointing thread, the threshold is only its backstop.
    this.db.pragma(`wal_autocheckpoint = ${OWN_CHECKPOINT_PAGES}`);
    this.sealer = sealerFor(options.box);
    if (options.backgroundCheckpoint && path !== ':memory:') {
      this.checkpointer = new BackgroundCheckpointer(path, () => {
        // Back to checkpointing in the commits: the WAL must not grow for want of a thread.
        this.checkpointer = null;
        if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${OWN_CHECKPOINT_PAGES}`);
      });
      this.db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    }
  }

  private checkpointer: BackgroundCheckpointer | null = null;

  /**
   * Apps and event types as every publish reads them (getApp, getEventType; a type not in the
   * catalogue is cached as null), so the publish path reads neither from the file: 6 % of
   * Herald's CPU at 1,000 single publishes/s. Cleared by every write to them through this
   * connection (forgetConfig), and when another connection has committed to the file since:
   * PRAGMA data_version moves then (a CLI or a second process on the same file). That is
   * looked at once per DATA_VERSION_MS at most (reading it per call was 1.5 % of the CPU), so
   * another connection's change is seen within that.
   */
  protected readonly appCache = new Map<string, App>();
  protected readonly typeCache = new Map<string, EventType | null>();
  /**
   * An app's active endpoints as a publish reads them (activeEndpoints), state included: the
   * query per publish was 10 % of Herald's CPU at 5,000 single publishes/s. Cleared with the
   * rest of the cache, and by every statement that changed a row of endpoints through this
   * connection (see trackEndpointWrites): a health update, a circuit move, an edit.
   */
  protected readonly activeEndpointCache = new Map<string, readonly Endpoint[]>();
  /**
   * Endpoints whose row this connection last saw healthy (no failures, circuit closed), with
   * the attempt time it then wrote: their next healthy batches within a second change nothing
   * (see endpointHealth), so the statement is skipped. Forgotten by any write to the endpoint
   * and with the rest of the cache.
   */
  protected readonly healthyAt = new Map<string, number>();
  private dataVersion: Database.Statement | null = null;
  private seenVersion = -1;
  private versionReadAt = 0;

  protected cachedConfig(): void {
    const now = Date.now();
    if (now - this.versionReadAt < DATA_VERSION_MS && now >= this.versionReadAt) return;
    this.versionReadAt = now;
    this.dataVersion ??= this.db.prepare('PRAGMA data_version').pluck();
    const v = this.dataVersion.get() as number;
    if (v !== this.seenVersion) {
      this.seenVersion = v;
      this.forgetConfig();
    }
  }

  protected forgetConfig(): void {
    this.appCache.clear();
    this.typeCache.clear();
    this.activeEndpointCache.clear();
    this.healthyAt.clear();
  }

  /**
   * The statements that write endpoints, wrapped to clear activeEndpointCache when they changed
   * a row. Found by their text, so a new one can't be forgotten; a cascade from a deleted app
   * goes through deleteApp, which forgets everything.
   */
  private trackEndpointWrites(text: string, stmt: Database.Statement): Database.Statement {
    if (!writesEndpoints(text)) return stmt;
    const forget = (args: unknown[]) => {
      this.activeEndpointCache.clear();
      // The endpoint statements name one endpoint by @id, or else touch several.
      const id = (args[0] as { id?: unknown } | undefined)?.id;
      if (typeof id === 'string') this.healthyAt.delete(id);
      else this.healthyAt.clear();
    };
    // What each way of running a statement returns when it changed rows.
    const changed = { run: (r: Database.RunResult) => r.changes > 0, get: (r: unknown) => r !== undefined, all: (r: unknown[]) => r.length > 0 };
    const wrapped = Object.create(stmt) as Record<keyof typeof changed, (...args: unknown[]) => unknown>;
    for (const [method, did] of Object.entries(changed) as Array<[keyof typeof changed, (r: any) => boolean]>) {
      const call = (stmt[method] as (...args: unknown[]) => unknown).bind(stmt);
      wrapped[method] = (...args) => {
        const r = call(...args);
        if (did(r)) forget(args);
        return r;
      };
    }
    return wrapped as unknown as Database.Statement;
  }

  async migrate(): Promise<void> {
    this.db.exec(`CREATE TABLE IF NOT EXISTS herald_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
    const applied = new Set(
      (this.db.prepare('SELECT version FROM herald_migrations').all() as { version: number }[]).map((r) => r.version),
    );
    for (const m of migrations) {
      if (applied.has(m.version)) continue;
      this.db.transaction(() => {
        this.db.exec(m.sql);
        this.db.prepare('INSERT INTO herald_migrations (version, name, applied_at) VALUES (?, ?, ?)')
          .run(m.version, m.name, Date.now());
      }).immediate();
    }
    const s: Partial<Statements> = {};
    for (const [name, text] of Object.entries(SQL)) s[name as keyof typeof SQL] = this.trackEndpointWrites(text, this.db.prepare(text));
    this.s = s as Statements;
  }

  /** Whether writes can commit now: the write lock is taken and let go at once (at most BUSY_TIMEOUT_MS). */
  async health(): Promise<{ status: 'ok' | 'degraded'; detail?: string }> {
    try {
      this.db.exec('BEGIN IMMEDIATE');
      this.db.exec('ROLLBACK');
      return { status: 'ok' };
    } catch (err) {
      if (!isBusy(err)) throw err;
      return { status: 'degraded', detail: 'the database is locked by another process: writes wait, then fail with 503 storage_unavailable' };
    }
  }

  async close(): Promise<void> {
    const checkpointer = this.checkpointer;
    this.checkpointer = null;
    await checkpointer?.stop();
    if (this.db.open) this.db.close();
  }
}
