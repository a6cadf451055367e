import { afterAll } from 'vitest';
import type { HeraldOptions } from '../../src/server.js';
import { startHerald, type TestHerald } from './herald.js';
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
  return {
    cleanup: (fn: () => Promise<void> | void) => cleanups.push(fn),
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
