import type { SecretBox } from '../core/secret-box.js';
import { ConfigError, HeraldError } from '../errors.js';
import { PostgresStore } from './postgres/store.js';
import { withBusyRetry } from './sqlite/busy.js';
import { SqliteStore } from './sqlite/store.js';
import type { Store } from './types.js';

export type { Store } from './types.js';

/** A process with another key would seal secrets the others can't open, and fail to open theirs. */
async function checkKey(store: Store, box: SecretBox | undefined): Promise<void> {
  const problem = await store.checkSealingKey(box !== undefined);
  if (problem) throw new ConfigError(problem);
}

/**
 * Picks the backend from the database URL: `sqlite:<path>`, or `postgres://…` /
 * `postgresql://…` where a `?schema=name` parameter (default public) says where the tables
 * live; it is Herald's, so it is taken off before the URL reaches the driver.
 */
export async function openStore(databaseUrl: string, options: { box?: SecretBox; checkKey?: boolean } = {}): Promise<Store> {
  // `herald migrate` touches no secret: it runs without the key (a deploy job may not have it).
  const refuseWrongKey = options.checkKey === false ? async () => {} : checkKey;
  if (databaseUrl.startsWith('sqlite:')) {
    const path = databaseUrl.slice('sqlite:'.length) || './data/herald.db';
    const store = withBusyRetry(new SqliteStore(path, { box: options.box, backgroundCheckpoint: true }));
    try {
      await store.migrate();
      await refuseWrongKey(store, options.box);
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) {
    const url = new URL(databaseUrl);
    const schema = url.searchParams.get('schema') ?? undefined;
    url.searchParams.delete('schema');
    const store = new PostgresStore(url.toString(), { box: options.box, schema });
    try {
      await store.migrate();
      await refuseWrongKey(store, options.box);
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }
  throw new HeraldError('unavailable', `unsupported database URL scheme '${databaseUrl.split(':')[0]}' (use sqlite: or postgres://)`);
}
