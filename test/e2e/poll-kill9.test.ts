import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtures } from '../helpers/fixtures.js';
import { pgUrl, dropSchema, testSchema } from '../helpers/postgres.js';
import { runCli, waitForHealth, type Proc } from '../helpers/process.js';
import { freePort } from '../helpers/receiver.js';
import { Provider } from '../inbound/provider.js';

const KEY = 'poll-kill9-key-0123456789';
const f = fixtures();

/** `herald serve --dev` on a fixed port and database, to kill -9 and start again. */
async function serve(db: string) {
  const port = await freePort();
  const procs: Proc[] = [];
  f.cleanup(() => procs.forEach((p) => p.child.kill('SIGKILL')));
  return {
    base: `http://127.0.0.1:${port}`,
    start: () => {
      const p = runCli(['serve', '--dev', '--port', String(port), '--db', db], { HERALD_API_KEY: KEY });
      procs.push(p);
      return p;
    },
  };
}

const databases: Array<{ name: string; url: () => string }> = [{ name: 'sqlite', url: () => `sqlite:${join(f.tempDir('herald-poll-'), 'h.db')}` }];
if (pgUrl) {
  databases.push({
    name: 'postgres',
    url: () => {
      const schema = testSchema();
      f.cleanup(() => dropSchema(schema));
      return `${pgUrl}?schema=${schema}`;
    },
  });
}

for (const db of databases) {
  describe(`polling survives kill -9 (${db.name})`, () => {
    it('loses no change and forwards none twice when Herald is killed in the middle of a run', async () => {
      const provider = await new Provider().start();
      f.cleanup(() => provider.stop());
      const receiver = await f.receiver();
      let up = false;
      receiver.respond = () => (up ? { status: 200 } : { status: 503 });
      const pages = ['a', 'b', 'c'];
      for (let i = 0; i < 12; i++) provider.change(pages[i % 3]);

      const herald = await serve(db.url());
      const first = herald.start();
      await waitForHealth(herald.base, 15_000, first);
      // The first run (at creation) is answered 503, so the webhooks come first; the run that
      // follows is killed while it waits for the fourth page (three are committed by then).
      let killAt: string | null = null;
      let killed = false;
      provider.fail = (r) => {
        if (killAt === null) return { status: 503 };
        if (!killed && r.url.searchParams.get('after') === killAt) {
          killed = true;
          first.child.kill('SIGKILL');
          return 'hang';
        }
        return null;
      };
      const api = (method: string, path: string, body?: unknown) => fetch(`${herald.base}${path}`, {
        method, headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
      });
      const created = await api('POST', '/v1/sources', {
        name: 'pages', verification: { scheme: 'none' }, dedup: { key: 'body:$.id' },
        ordering: { key: 'body:$.page.id', sequence: 'body:$.page.version', firstSequence: 1, gapTimeoutSeconds: 600 },
        destinations: [{ url: `${receiver.url}/hook`, retrySchedule: [0.5, 2, 2, 2, 2, 2, 2, 2, 2, 2] }],
        poll: { url: `${provider.url}/changes`, intervalSeconds: 3600, items: '$.results', key: '$.id', cursor: { param: 'after', from: '$.next' }, timeoutMs: 2000 },
      });
      expect(created.status).toBe(201);
      const source = (await created.json()) as { id: string; ingestUrl: string };
      while (!((await (await api('GET', `/v1/sources/${source.id}`)).json()) as { lastPollResult: unknown }).lastPollResult) {
        await new Promise((r) => setTimeout(r, 50));
      }
      // Webhooks for a few of the changes, one of them twice.
      for (const i of [0, 4, 4, 7]) {
        const res = await fetch(source.ingestUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(provider.changes[i]) });
        expect(res.status).toBeLessThan(300);
      }
      killAt = '6';
      await api('POST', `/v1/sources/${source.id}/poll`).catch(() => undefined); // cut off by the kill
      await first.exited;
      const forwardedBefore = receiver.requests.length;

      up = true;
      const second = herald.start();
      await waitForHealth(herald.base, 15_000, second);
      // The restarted worker resumes the run that was cut short, from the last committed page.
      const deadline = Date.now() + 60_000;
      const changeOf = (body: string) => (JSON.parse(body) as { id: string }).id;
      const received = () => new Set(receiver.requests.slice(forwardedBefore).map((r) => changeOf(r.body)));
      while (Date.now() < deadline && received().size < provider.changes.length) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 500)); // a second copy would arrive meanwhile
      const after = receiver.requests.slice(forwardedBefore);

      expect([...received()].sort()).toEqual(provider.changes.map((c) => c.id).sort());
      // One inbound request per change (forwarding is at-least-once per request: a retry
      // carries the same webhook-id), and per page in version order.
      const requestOf = new Map<string, Set<string>>();
      for (const r of after) requestOf.set(changeOf(r.body), (requestOf.get(changeOf(r.body)) ?? new Set()).add(r.headers['webhook-id'] as string));
      expect([...requestOf.values()].every((ids) => ids.size === 1)).toBe(true);
      for (const page of pages) {
        const order = [...new Set(after.map((r) => changeOf(r.body)).filter((id) => id.startsWith(`${page}@`)))];
        expect(order).toEqual(provider.changes.filter((c) => c.page.id === page).map((c) => c.id));
      }
      const log = (await (await api('GET', `/v1/sources/${source.id}/requests?status=accepted&limit=250`)).json()) as { data: Array<{ dedupKey: string; via: string }> };
      expect(log.data).toHaveLength(12);
      expect(log.data.filter((r) => r.via === 'webhook').map((r) => r.dedupKey).sort()).toEqual([0, 4, 7].map((i) => provider.changes[i].id).sort());
      // Resumed where the killed run left off: after the three committed pages, not from the start.
      const resumedFrom = provider.requests.filter((r) => r.url.searchParams.get('after') !== null).map((r) => r.url.searchParams.get('after'));
      expect(resumedFrom.filter((a) => a === '6').length).toBeGreaterThanOrEqual(2);
      expect(resumedFrom.filter((a) => a === '2')).toHaveLength(1);
      second.child.kill('SIGTERM');
      await second.exited;
    }, 120_000);
  });
}
