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
  const store = connect(databaseUrl, options.box);
  try {
    await store.migrate();
    // `herald migrate` touches no secret: it runs without the key (a deploy job may not have it).
    if (options.checkKey !== false) await checkKey(store, options.box);
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

function connect(databaseUrl: string, box: SecretBox | undefined): Store {
  if (databaseUrl.startsWith('sqlite:')) {
    const path = databaseUrl.slice('sqlite:'.length) || './data/herald.db';
    return withBusyRetry(new SqliteStore(path, { box, backgroundCheckpoint: true }));
  }
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) {
    const url = new URL(databaseUrl);
    const schema = url.searchParams.get('schema') ?? undefined;
    url.searchParams.delete('schema');
    return new PostgresStore(url.toString(), { box, schema });
  }
  throw new HeraldError('unavailable', `unsupported database URL scheme '${databaseUrl.split(':')[0]}' (use sqlite: or postgres://)`);
}
