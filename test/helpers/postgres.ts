import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** PostgreSQL tests run only where a database is given (CI sets it): postgres://…/db */
export const pgUrl = process.env.HERALD_TEST_DATABASE_URL;

/** A fresh schema name per store, so parallel test files and runs never meet. */
export const testSchema = (): string => `herald_t_${randomBytes(6).toString('hex')}`;

/** Drops a test schema with everything in it, over a short-lived connection of its own. */
export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

export interface HeraldTarget {
  name: 'sqlite' | 'postgres';
  /** environment for a Herald on this backend: for PostgreSQL a schema of its own, dropped after the file */
  env: () => Record<string, string>;
}

/** SQLite, and PostgreSQL when a database is given: for test files that run every test on both. */
export function heraldTargets(cleanup: (fn: () => Promise<void> | void) => void): HeraldTarget[] {
  const targets: HeraldTarget[] = [{ name: 'sqlite', env: () => ({}) }];
  if (pgUrl) {
    targets.push({
      name: 'postgres',
      env: () => {
        const schema = testSchema();
        cleanup(() => dropSchema(schema)); // registered first, so it runs after that Herald closed
        return { HERALD_DATABASE_URL: `${pgUrl}?schema=${schema}` };
      },
    });
  }
  return targets;
}
