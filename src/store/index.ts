import { HeraldError } from '../errors.js';
import { SqliteStore } from './sqlite/store.js';
import type { Store } from './types.js';

export type { Store } from './types.js';

/** Picks the backend from the database URL (`sqlite:<path>` or `postgres://…`). */
export async function openStore(databaseUrl: string): Promise<Store> {
  if (databaseUrl.startsWith('sqlite:')) {
    const path = databaseUrl.slice('sqlite:'.length) || './data/herald.db';
    const store = new SqliteStore(path);
    await store.migrate();
    return store;
  }
  throw new HeraldError('unavailable', `the PostgreSQL backend is not available in this version (${databaseUrl.split(':')[0]})`);
}
