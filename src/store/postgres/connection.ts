import pg from 'pg';
import type { SecretBox } from '../../core/secret-box.js';
import { runMigrations } from './migrations.js';
import { listen } from './notifier.js';
import { sealerFor, writesEndpoints, type Sealer } from '../rows.js';
import type { App, Endpoint, EventType } from '../types.js';
import { SQL, type StatementName } from './sql.js';

export interface PostgresOptions {
  /** encrypts endpoint secrets at rest */
  box?: SecretBox;
  /** where Herald's tables live (created if missing); default public */
  schema?: string;
  /** connections in the pool; default 10 */
  poolSize?: number;
}

type Row = Record<string, any>;
/** Runs one statement of sql.ts with named parameters, on a pool or a transaction's client. */
export type Run = <R extends Row = Row>(name: StatementName, params?: Record<string, unknown>) => Promise<pg.QueryResult<R>>;

// bigint (int8) as a JS number, on this pool only: epoch ms and the sentinels stay below 2^53
// (PARKED_AT is 8e15, ORDER_HELD_AT 9e15, Number.MAX_SAFE_INTEGER ≈ 9.007e15), and counts too.
const INT8 = 20;
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

const pgCode = (err: unknown): string | undefined => (err as { code?: string } | null)?.code;
export const isUniqueViolation = (err: unknown): boolean => pgCode(err) === '23505';
/** A row referring to one deleted meanwhile (a source deleted while its request was being recorded). */
export const isForeignKeyViolation = (err: unknown): boolean => pgCode(err) === '23503';
/**
 * Worth running the whole transaction again: a deadlock (two batches locking shared rows,
 * endpoints say, in different orders; PostgreSQL aborts one) or a serialization failure.
 */
const isTransient = (err: unknown): boolean => ['40P01', '40001'].includes(pgCode(err) ?? '');

/**
 * The pool, its type parsing, migrations, transactions and notifications, shared by the two
 * halves of the PostgreSQL backend (queue.ts: publish and the worker's statements; store.ts:
 * resources). Every connection has search_path set to the schema, so SQL names tables bare.
 */
export class PostgresConnection {
  protected readonly pool: pg.Pool;
  protected readonly schema: string;
  protected readonly sealer: Sealer;
  private readonly connectionString: string;

  constructor(connectionString: string, options: PostgresOptions = {}) {
    const schema = options.schema ?? 'public';
    // The name goes into DDL and a connection option: plain identifiers only, no quoting games.
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid schema name '${schema}'`);
    this.schema = schema;
    this.connectionString = connectionString;
    this.sealer = sealerFor(options.box);
    this.pool = new pg.Pool({
      connectionString,
      max: options.poolSize ?? 10,
      types,
      options: `-c search_path="${schema}"`,
      application_name: `herald:${schema}`,
    });
    // An idle client whose connection drops emits here; without a listener it would crash the
    // process. The pool discards it and the next checkout connects afresh.
    this.pool.on('error', () => undefined);
  }

  /** Statements outside a transaction: each is atomic by itself. */
  protected readonly run: Run = (name, params) => this.exec(this.pool, name, params);

  /**
   * Runs a statement; one that changed rows of endpoints forgets the cached configuration in this
   * process at once (other processes hear of it from the table's triggers, migration 13).
   */
  private async exec<R extends Row>(on: pg.Pool | pg.PoolClient, name: StatementName, params?: Record<string, unknown>): Promise<pg.QueryResult<R>> {
    const result = await exec<R>(on, name, params);
    if (ENDPOINT_WRITES.has(name) && (result.rowCount ?? 0) > 0) this.forgetConfig();
    return result;
  }

  async migrate(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await runMigrations(client, this.schema);
    } finally {
      client.release();
    }
  }

  /**
   * Runs `fn` in a READ COMMITTED transaction on one connection. A deadlock or serialization
   * failure runs it again (up to 3 times): `fn` must only depend on its arguments.
   */
  protected async tx<T>(fn: (run: Run) => Promise<T>, options: { retryForeignKey?: boolean } = {}): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const out = await fn((name, params) => this.exec(client, name, params));
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch((e: Error) => (broken = e));
        if (attempt < 3 && (isTransient(err) || (options.retryForeignKey && isForeignKeyViolation(err)))) continue;
        throw err;
      } finally {
        client.release(broken);
      }
    }
  }

  /**
   * Apps and event types as publishes read them (getApp, getEventType; a type not in the
   * catalogue cached as null), so a publish reads neither from the database. Other processes
   * change them too: every change NOTIFYs herald_config in its transaction, and this process
   * LISTENs on a connection of its own and starts over on each notification. The cache is used
   * only while that connection is up (the first reads, before it is, and those while it is
   * lost go to the database), and a read that began before a notification doesn't store what
   * it read (configGen).
   */
  protected readonly appCache = new Map<string, App | null>();
  protected readonly typeCache = new Map<string, EventType | null>();
  /** an app's active endpoints, state included (activeEndpoints; a query of 50 full rows per publish with 50) */
  protected readonly activeEndpointCache = new Map<string, readonly Endpoint[]>();
  private configGen = 0;
  private configListen: 'off' | 'starting' | 'on' | 'lost' = 'off';
  private closed = false;

  /** The store's one listening connection (see notifier.ts), started by the first that needs it. */
  private listener: Promise<() => Promise<void>> | null = null;
  private readonly wakers = new Set<() => void>();

  private ensureListener(): Promise<() => Promise<void>> {
    this.listener ??= listen(this.connectionString, this.schema, ['herald_wake', 'herald_config'], {
      notify: (channel) => (channel === 'herald_config' ? this.forgetConfig() : this.wakers.forEach((w) => w())),
      lost: () => {
        if (this.configListen === 'on') this.configListen = 'lost';
      },
      back: () => {
        this.forgetConfig();
        this.configListen = 'on';
        this.wakers.forEach((w) => w());
      },
    }).then(
      (stop) => {
        this.forgetConfig();
        this.configListen = 'on';
        if (this.closed) void stop();
        return stop;
      },
      (err: unknown) => {
        // No listening connection: no cache, and the next that needs one tries again.
        this.listener = null;
        this.configListen = 'off';
        throw err;
      },
    );
    return this.listener;
  }

  /** Whether the cache may be used now; starts listening at the first call. */
  protected configCached(): boolean {
    if (this.configListen === 'off' && !this.closed) {
      this.configListen = 'starting';
      this.ensureListener().catch(() => undefined);
    }
    return this.configListen === 'on';
  }

  /** Reads through the cache: `read` when not cached, stored (if `keep` says so) only if nothing changed meanwhile. */
  protected async cachedRead<T>(cache: Map<string, T>, key: string, read: () => Promise<T>, keep: (v: T) => boolean = () => true): Promise<T> {
    const usable = this.configCached();
    if (usable && cache.has(key)) return cache.get(key)!;
    const gen = this.configGen;
    const value = await read();
    if (usable && keep(value) && gen === this.configGen && this.configListen === 'on') {
      if (cache.size >= 10_000) cache.clear();
      cache.set(key, value);
    }
    return value;
  }

  protected forgetConfig(): void {
    this.configGen++;
    this.appCache.clear();
    this.typeCache.clear();
    this.activeEndpointCache.clear();
  }

  /** A write of apps or event types, with the NOTIFY that tells every process (at commit), and this one at once. */
  protected async configWrite<T>(fn: (run: Run) => Promise<T>): Promise<T> {
    try {
      return await this.tx(async (run) => {
        const out = await fn(run);
        await run('configChanged', { schema: this.schema });
        return out;
      });
    } finally {
      this.forgetConfig();
    }
  }

  /** Inside a transaction: wakes idle workers in every process once it commits. */
  protected wake(run: Run): Promise<unknown> {
    return run('wake', { schema: this.schema });
  }

  /** Calls onWake on every herald_wake of this schema (and when the listening connection is back). */
  async listen(onWake: () => void): Promise<() => Promise<void>> {
    this.wakers.add(onWake);
    try {
      await this.ensureListener();
    } catch (err) {
      this.wakers.delete(onWake);
      throw err;
    }
    return async () => void this.wakers.delete(onWake);
  }

  async close(): Promise<void> {
    this.closed = true;
    const stop = await this.listener?.catch(() => null);
    this.listener = null;
    if (stop) await stop();
    if (!this.pool.ended) await this.pool.end();
  }
}

/** The statements that write endpoints, found by their text (see PostgresConnection.exec). */
const ENDPOINT_WRITES = new Set(
  (Object.keys(SQL) as StatementName[]).filter((n) => writesEndpoints(SQL[n].text)),
);

function exec<R extends Row>(on: pg.Pool | pg.PoolClient, name: StatementName, params: Record<string, unknown> = {}): Promise<pg.QueryResult<R>> {
  const s = SQL[name];
  const values = s.params.map((p) => {
    const v = params[p];
    if (v === undefined) throw new Error(`statement ${name}: missing parameter :${p}`);
    return v;
  });
  return on.query<R>({ name: s.name, text: s.text, values });
}
