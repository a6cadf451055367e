import { sign as octokitSign } from '@octokit/webhooks-methods';
import { describe, expect, it } from 'vitest';
import { eventually } from '../helpers/herald.js';
import { fixtures } from '../helpers/fixtures.js';
import { heraldTargets } from '../helpers/postgres.js';
import { createSource, post, requestLog } from './helpers.js';

/**
 * Destination filters of the inbound gateway: one GitHub source forwards pushes to main to one
 * service, issues to another, and publishes only merged pull requests into an app. Real
 * server, real signatures, real receivers, on both backends; the request log and the routing
 * explainer say where each request went and why not elsewhere.
 */
const f = fixtures();
const SECRET = 'gh-secret';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const github = async (event: string, body: string, delivery: string) => ({
  'x-hub-signature-256': await octokitSign(SECRET, body), 'x-github-event': event, 'x-github-delivery': delivery,
});

const targets = heraldTargets(f.cleanup);

for (const target of targets) {
  const herald = (env: Record<string, string> = {}) => f.herald({ ...env, ...target.env() });

  describe(`inbound destination filters on ${target.name}`, () => {
    it('routes each request to the destinations whose filter matches: headers, body, query; app destinations too', async () => {
      const t = await herald();
      const pushes = await f.receiver();
      const issues = await f.receiver();
      const all = await f.receiver();
      const crm = await f.receiver();
      const app = (await t.api('POST', '/v1/apps', { name: 'crm', uid: 'crm' })).body;
      await t.api('POST', `/v1/apps/${app.id}/endpoints`, { url: `${crm.url}/crm` });
      const source = await createSource(t, {
        name: 'gh', verification: { scheme: 'github', secrets: [SECRET] },
        destinations: [
          { url: `${pushes.url}/push`, filter: { 'headers.x-github-event': 'push', 'body.ref': 'refs/heads/main' } },
          { url: `${issues.url}/issues`, filter: { headers: { 'x-github-event': { $in: ['issues', 'issue_comment'] } } } },
          { url: `${all.url}/all` },
          { app: 'crm', eventType: 'header:x-github-event', filter: { 'body.pull_request.merged': true, 'query.team': 'core' } },
        ],
      });
      expect(source.destinations.map((d: { filter: unknown }) => d.filter)).toEqual([
        { 'headers.x-github-event': 'push', 'body.ref': 'refs/heads/main' },
        { headers: { 'x-github-event': { $in: ['issues', 'issue_comment'] } } }, null,
        { 'body.pull_request.merged': true, 'query.team': 'core' },
      ]);
      const [pushDest, issuesDest, allDest] = source.destinations.map((d: { id: string }) => d.id);

      const sends: Array<[string, string, string]> = [
        ['push', '{"ref":"refs/heads/main","n":1}', ''],
        ['push', '{"ref":"refs/heads/feature","n":2}', ''],
        ['issues', '{"action":"opened","n":3}', ''],
        ['pull_request', '{"pull_request":{"merged":true},"n":4}', '?team=core'],
        ['pull_request', '{"pull_request":{"merged":true},"n":5}', '?team=web'],
        ['pull_request', '{"pull_request":{"merged":false},"n":6}', '?team=core'],
      ];
      const ids: string[] = [];
      for (const [i, [event, body, query]] of sends.entries()) {
        const res = await post(source.ingestUrl + query, body, await github(event, body, `d-${i}`));
        expect(res.status).toBe(202);
        ids.push(res.body.id);
      }
      await all.waitFor(6);
      await pushes.waitFor(1);
      await issues.waitFor(1);
      await crm.waitFor(1);
      await sleep(300);
      const ns = (r: { requests: Array<{ body: string }> }) => r.requests.map((q) => JSON.parse(q.body).n ?? JSON.parse(q.body).data?.n).sort();
      expect(ns(pushes)).toEqual([1]);
      expect(ns(issues)).toEqual([3]);
      expect(ns(all)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(ns(crm)).toEqual([4]);
      expect(JSON.parse(crm.requests[0].body)).toMatchObject({ id: ids[3], type: 'pull_request' });

      // The log names where each went (app destinations as app:<app>:<eventType>).
      const log = await eventually(async () => {
        const rows = await requestLog(t, source.id);
        return rows.every((r) => r.forwarding === 'delivered') ? rows : null;
      });
      const routes = new Map(log.map((r: { id: string; routes: string[] }) => [r.id, [...r.routes].sort()]));
      expect(routes.get(ids[0])).toEqual([pushDest, allDest].sort());
      expect(routes.get(ids[2])).toEqual([issuesDest, allDest].sort());
      expect(routes.get(ids[3])).toEqual([allDest, 'app:crm:header:x-github-event'].sort());
      expect(routes.get(ids[5])).toEqual([allDest]);
    });

    it('accepts a request no destination wants, forwards it nowhere, and says so', async () => {
      const t = await herald();
      const dest = await f.receiver();
      const source = await createSource(t, {
        name: 'only-main', verification: { scheme: 'none' }, destinations: [{ url: `${dest.url}/h`, filter: { 'body.ref': 'refs/heads/main' } }],
      });
      const skipped = await post(source.ingestUrl, '{"ref":"refs/heads/dev"}');
      expect(skipped).toMatchObject({ status: 202, body: { status: 'accepted', forwarding: 'none' } });
      const sent = await post(source.ingestUrl, '{"ref":"refs/heads/main"}');
      expect(sent.status).toBe(202);
      await dest.waitFor(1);
      await sleep(200);
      expect(dest.requests.map((r) => JSON.parse(r.body).ref)).toEqual(['refs/heads/main']);
      const [, first] = await requestLog(t, source.id);
      expect(first).toMatchObject({ id: skipped.body.id, status: 'accepted', forwarding: 'none', routes: [], deliveries: { pending: 0, success: 0, failed: 0 } });

      // Why not? The explainer answers for the logged request and for one not sent.
      const why = await t.api('POST', `/v1/sources/${source.id}/routing/test`, { requestId: skipped.body.id });
      expect(why.status).toBe(200);
      expect(why.body.routes).toEqual([]);
      expect(why.body.destinations[0]).toMatchObject({
        destination: source.destinations[0].id, matches: false,
        reasons: [{ path: '/filter/body.ref', field: 'body.ref', actual: ['refs/heads/dev'] }],
      });
      const would = await t.api('POST', `/v1/sources/${source.id}/routing/test`, { request: { body: { ref: 'refs/heads/main' } } });
      expect(would.body).toMatchObject({ routes: [source.destinations[0].id], destinations: [{ matches: true, reasons: [] }] });
      const neither = await t.api('POST', `/v1/sources/${source.id}/routing/test`, {});
      expect(neither).toMatchObject({ status: 400, body: { error: { code: 'validation_failed' } } });
    });

    it('releases a request held for an earlier sequence only to the destinations it matched when it came', async () => {
      const t = await herald();
      const a = await f.receiver();
      const b = await f.receiver();
      const crm = await f.receiver();
      const app = (await t.api('POST', '/v1/apps', { name: 'crm', uid: 'crm-seq' })).body;
      await t.api('POST', `/v1/apps/${app.id}/endpoints`, { url: `${crm.url}/crm` });
      const source = await createSource(t, {
        name: 'pages', verification: { scheme: 'none' },
        ordering: { key: 'body:$.page', sequence: 'body:$.seq', gapTimeoutSeconds: 30, firstSequence: 1 },
        destinations: [
          { url: `${a.url}/a`, filter: { 'body.kind': 'edit' } },
          { url: `${b.url}/b`, filter: { 'body.kind': { $neq: 'edit' } } },
          { app: 'crm-seq', eventType: 'page.changed', filter: { 'body.kind': 'delete' } },
        ],
      });
      expect(source.destinations[1].filter).toEqual({ 'body.kind': { $neq: 'edit' } });
      // 2, 3 and 4 wait for 1; 1 releases them, each to its own destinations, in order.
      for (const [seq, kind] of [[2, 'edit'], [3, 'comment'], [4, 'delete']] as const) {
        expect((await post(source.ingestUrl, JSON.stringify({ page: 'p', seq, kind }))).status).toBe(202);
      }
      await sleep(200);
      expect(a.requests.length + b.requests.length + crm.requests.length).toBe(0);
      expect((await post(source.ingestUrl, JSON.stringify({ page: 'p', seq: 1, kind: 'edit' }))).status).toBe(202);
      await a.waitFor(2);
      await b.waitFor(2);
      await crm.waitFor(1);
      await sleep(300);
      expect(a.requests.map((r) => JSON.parse(r.body).seq)).toEqual([1, 2]);
      expect(b.requests.map((r) => JSON.parse(r.body).seq)).toEqual([3, 4]);
      expect(crm.requests.map((r) => JSON.parse(r.body).data.seq)).toEqual([4]);
    });

    it('releases past a timed-out gap to the destinations the waiting request matched', async () => {
      const t = await herald();
      const a = await f.receiver();
      const b = await f.receiver();
      const source = await createSource(t, {
        name: 'gap', verification: { scheme: 'none' },
        ordering: { key: 'body:$.page', sequence: 'body:$.seq', gapTimeoutSeconds: 0.5, firstSequence: 1 },
        destinations: [{ url: `${a.url}/a`, filter: { 'body.kind': 'edit' } }, { url: `${b.url}/b`, filter: { 'body.kind': 'comment' } }],
      });
      // 1 never comes: 2 and 3 wait, then go once the gap times out, each to its own.
      expect((await post(source.ingestUrl, JSON.stringify({ page: 'q', seq: 2, kind: 'comment' }))).status).toBe(202);
      expect((await post(source.ingestUrl, JSON.stringify({ page: 'q', seq: 3, kind: 'edit' }))).status).toBe(202);
      await b.waitFor(1);
      await a.waitFor(1);
      await sleep(200);
      expect(b.requests.map((r) => JSON.parse(r.body).seq)).toEqual([2]);
      expect(a.requests.map((r) => JSON.parse(r.body).seq)).toEqual([3]);
      const log = await requestLog(t, source.id);
      expect(log.find((r) => r.sequence === 2)).toMatchObject({ gap: { from: 1, to: 1 }, routes: [source.destinations[1].id] });
    });

    it('refuses a bad filter with its place, and a PATCH that keeps a destination by id keeps its filter', async () => {
      const t = await herald();
      const dest = await f.receiver();
      const base = { name: 'x', verification: { scheme: 'none' } };
      const bad = await t.api('POST', '/v1/sources', { ...base, destinations: [{ url: `${dest.url}/h` }, { url: `${dest.url}/h2`, filter: { 'body.n': { $gte: 'x', $bogus: 1 } } }] });
      expect(bad.status).toBe(422);
      expect(bad.body.error).toMatchObject({ code: 'invalid_filter', details: { path: expect.stringMatching(/^\/destinations\/1\/filter\//) } });
      const app = (await t.api('POST', '/v1/apps', { name: 'crm', uid: 'crm-bad' })).body;
      const badApp = await t.api('POST', '/v1/sources', { ...base, destinations: [{ app: app.id, eventType: 'a.b', filter: { 'body.x': { $regex: '(' } } }] });
      expect(badApp.status).toBe(422);
      expect(badApp.body.error).toMatchObject({ code: 'invalid_filter', details: { path: '/destinations/0/filter/body.x/$regex' } });

      const source = await createSource(t, { ...base, destinations: [{ url: `${dest.url}/h`, filter: { 'body.keep': true } }] });
      const id = source.destinations[0].id;
      const kept = await t.api('PATCH', `/v1/sources/${source.id}`, { destinations: [{ id }] });
      expect(kept.body.destinations[0]).toMatchObject({ id, filter: { 'body.keep': true } });
      const removed = await t.api('PATCH', `/v1/sources/${source.id}`, { destinations: [{ id, filter: null }] });
      expect(removed.body.destinations[0]).toMatchObject({ id, filter: null });
      expect((await t.api('GET', `/v1/sources/${source.id}`)).body.destinations[0].filter).toBeNull();
      // With no filter left, every request goes (and the log says routes: null).
      expect((await post(source.ingestUrl, '{"keep":false}')).status).toBe(202);
      await dest.waitFor(1);
      const [logged] = await requestLog(t, source.id);
      expect(logged.routes).toBeNull();
    });
  });
}
