import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { HeraldOptions } from '../../src/server.js';
import { startHerald, type TestHerald } from './herald.js';
import { restartableServe, type Restartable } from './process.js';
import { Receiver } from './receiver.js';

/**
 * Receivers and Herald instances for one test file, all stopped after its last test.
 * Call at the top level of the file (it registers the afterAll hook).
 */
export function fixtures() {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });
  const tempDir = (prefix = 'herald-test-'): string => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  };
  return {
    cleanup: (fn: () => Promise<void> | void) => cleanups.push(fn),
    /** a scratch directory, removed after the file's tests */
    tempDir,
    /** `herald serve` on a SQLite file of its own, to kill -9 and start again; every process it started is killed afterwards */
    async restartable(env: Record<string, string>): Promise<Restartable> {
      const r = await restartableServe(join(tempDir('herald-crash-'), 'h.db'), env);
      cleanups.push(() => {
        for (const p of r.procs) p.child.kill('SIGKILL');
      });
      return r;
    },
    async receiver(): Promise<Receiver> {
      const r = await new Receiver().start();
      cleanups.push(() => r.stop());
      return r;
    },
    async herald(env: Record<string, string> = {}, options: Partial<HeraldOptions> = {}): Promise<TestHerald> {
      const t = await startHerald(env, () => {}, options);
      cleanups.push(() => t.close());
      return t;
    },
  };
}
