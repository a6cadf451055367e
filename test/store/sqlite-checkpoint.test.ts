import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BackgroundCheckpointer } from '../../src/store/sqlite/checkpointer.js';

const dirs: string[] = [];
const tempDb = () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-ckpt-'));
  dirs.push(dir);
  return join(dir, 'h.db');
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

describe('SQLite background checkpoints', () => {
  it('copies committed WAL frames into the database file while the writer does nothing', async () => {
    const path = tempDb();
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0'); // the writer never checkpoints: only the thread can
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    db.transaction(() => {
      for (let i = 0; i < 1000; i++) insert.run(Buffer.alloc(4000, i % 251));
    })();
    const before = statSync(path).size;
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(4_000_000);
    expect(before).toBeLessThan(100_000);

    const failures: unknown[] = [];
    const ckpt = new BackgroundCheckpointer(path, (err) => failures.push(err), 10);
    expect(await until(() => statSync(path).size > 4_000_000, 5000)).toBe(true);
    // …and the checkpoint that got it there has finished (the file stops growing).
    let last = -1;
    expect(await until(() => {
      const size = statSync(path).size;
      const stable = size === last;
      last = size;
      return stable;
    }, 5000)).toBe(true);
    // Everything was copied: the writer's next transaction starts the WAL over instead of growing it.
    const walSize = statSync(`${path}-wal`).size;
    db.transaction(() => {
      for (let i = 0; i < 10; i++) insert.run(Buffer.alloc(4000, 7));
    })();
    expect(statSync(`${path}-wal`).size).toBe(walSize);
    await ckpt.stop();
    expect(failures).toEqual([]);
    expect((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n).toBe(1010);
    db.close();
  });

  it('reports a thread that cannot open the database, so the writer goes back to checkpointing itself', async () => {
    const failures: unknown[] = [];
    const ckpt = new BackgroundCheckpointer(join(tmpdir(), `herald-missing-${process.pid}`, 'none.db'), (err) => failures.push(err));
    expect(await until(() => failures.length > 0, 5000)).toBe(true);
    expect(String(failures[0])).toMatch(/unable to open|SQLITE_CANTOPEN|directory does not exist/i);
    await ckpt.stop(); // already gone: resolves at once
    expect(failures).toHaveLength(1);
  });
});
