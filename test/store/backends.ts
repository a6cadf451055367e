import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
