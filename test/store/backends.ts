import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresStore } from '../../src/store/postgres/store.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import type { Store } from '../../src/store/types.js';
import { dropSchema, pgUrl, testSchema } from '../helpers/postgres.js';

/**
 * Every Store backend the conformance suite runs against. Each `open()` gives a fresh, empty,
 * migrated store and a `drop()` that removes it (a temp file; a schema for PostgreSQL).
 */
export interface Backend {
  name: string;
  open: () => Promise<{ store: Store; drop: () => Promise<void> }>;
}

export const backends: Backend[] = [
  {
    name: 'sqlite',
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'herald-store-'));
      const store = new SqliteStore(join(dir, 'h.db'));
      await store.migrate();
      return { store, drop: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
];

if (pgUrl) {
  const url = pgUrl;
  backends.push({
    name: 'postgres',
    open: async () => {
      const schema = testSchema();
      const store = new PostgresStore(url, { schema, poolSize: 4 });
      await store.migrate();
      return {
        store,
        drop: async () => {
          await store.close();
          await dropSchema(schema);
        },
      };
    },
  });
} else {
  console.log('Store backends: PostgreSQL skipped (set HERALD_TEST_DATABASE_URL=postgres://… to run it)');
}
