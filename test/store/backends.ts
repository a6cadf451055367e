import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PostgresStore } from '../../src/store/postgres/store.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import type { Store } from '../../src/store/types.js';

/**
 * Every Store backend the conformance suite runs against. Each `open()` gives a fresh, empty,
 * migrated store and a `drop()` that removes it (a temp file; a schema for PostgreSQL).
 */
export interface Backend {
  name: string;
  open: () => Promise<{ store: Store; drop: () => Promise<void> }>;
}

/** PostgreSQL runs only where a database is given (CI sets it): postgres://…/db */
const pgUrl = process.env.HERALD_TEST_DATABASE_URL;

/** A fresh schema name per store, so parallel test files and runs never meet. */
const testSchema = (): string => `herald_t_${randomBytes(6).toString('hex')}`;

/** Drops a test schema with everything in it, over a short-lived connection of its own. */
async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
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
  backends.push({
    name: 'postgres',
    open: async () => {
      const schema = testSchema();
      const store = new PostgresStore(pgUrl, { schema, poolSize: 4 });
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
