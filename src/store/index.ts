import type { SecretBox } from '../core/secret-box.js';
import { HeraldError } from '../errors.js';
import { SqliteStore } from './sqlite/store.js';
import type { Store } from './types.js';

export type { Store } from './types.js';

/** Picks the backend from the database URL (`sqlite:<path>` or `postgres://…`). */
export async function openStore(databaseUrl: string, options: { box?: SecretBox } = {}): Promise<Store> {
  if (databaseUrl.startsWith('sqlite:')) {
    const path = databaseUrl.slice('sqlite:'.length) || './data/herald.db';
    const store = new SqliteStore(path, { box: options.box });
    await store.migrate();
    return store;
  }
  throw new HeraldError('unavailable', `the PostgreSQL backend is not available in this version (${databaseUrl.split(':')[0]})`);
}
