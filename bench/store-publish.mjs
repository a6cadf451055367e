#!/usr/bin/env node
// The store's share of a single-event publish: `store.publish` of one event to one endpoint,
// one call at a time on a fresh SQLite file, in this process (no HTTP, no worker). It isolates
// what a schema change (an index more on deliveries, say) costs the path users feel, which
// end-to-end figures on a 2-core machine are too noisy to show. Give it several builds to
// compare them in one run, alternating:
//
//   node bench/store-publish.mjs [--events 20000] [--rounds 3] [DIR …]   (default DIR: this repo)
//
// where each DIR holds a built Herald (its dist/), e.g. a `git worktree` of an older commit.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, median, percentile } from './lib.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(args.splice(i, 2)[1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} takes a positive integer`);
  return v;
};
const events = opt('--events', 20_000);
const rounds = opt('--rounds', 3);
const dirs = (args.length > 0 ? args : [ROOT]).map((d) => resolve(d));

async function once(dir) {
  const { openStore } = await import(pathToFileURL(join(dir, 'dist/store/index.js')).href);
  const { newId } = await import(pathToFileURL(join(dir, 'dist/ids.js')).href);
  const tmp = mkdtempSync(join(tmpdir(), 'herald-store-publish-'));
  const store = await openStore(`sqlite:${join(tmp, 'h.db')}`);
  try {
    const app = await store.createApp({ name: 'bench', uid: null, metadata: {}, signatureProfile: null });
    const ep = await store.createEndpoint({
      appId: app.id, url: 'https://example.com/hook', description: null, events: null, status: 'active',
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', headers: {}, retrySchedule: null, timeoutMs: null, rateLimit: null,
      maxInFlight: null, disableAfterFailures: null, disableAfterSeconds: null, metadata: {},
    });
    const ms = [];
    for (let i = 0; i < events; i++) {
      const id = newId('evt');
      const t0 = performance.now();
      await store.publish(app.id, [{
        id, type: `order.e${i % 10}`, timestamp: Date.now(), idempotencyKey: null, idGenerated: true,
        endpointIds: [ep.id], orderingKey: null, render: () => '{"id":1}',
      }], Date.now());
      ms.push(performance.now() - t0);
    }
    return { p50: median(ms), p99: percentile(ms, 99), mean: ms.reduce((a, b) => a + b, 0) / ms.length };
  } finally {
    await store.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

const results = new Map(dirs.map((d) => [d, []]));
for (let r = 0; r < rounds; r++) for (const d of dirs) results.get(d).push(await once(d));
console.log(`store.publish of one event, ${events} calls per round, ${rounds} rounds (alternating); ms, median of the rounds`);
const base = median(results.get(dirs[0]).map((x) => x.p50));
for (const [d, rs] of results) {
  const p50 = median(rs.map((x) => x.p50));
  console.log(`${d}\n  p50 ${p50.toFixed(3)}  p99 ${median(rs.map((x) => x.p99)).toFixed(3)}  mean ${median(rs.map((x) => x.mean)).toFixed(3)}  (p50 ×${(p50 / base).toFixed(2)} of the first)`);
}
