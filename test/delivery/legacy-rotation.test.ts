import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/core/signing.js';
import { fixtures } from '../helpers/fixtures.js';
import { eventually, type TestHerald } from '../helpers/herald.js';
import { heraldTargets } from '../helpers/postgres.js';
import { closedPort, type Receiver } from '../helpers/receiver.js';

/**
 * Rotating a secret under receivers that check the legacy header (a profile's x-twig-signature,
 * bare hex, as Twig's samples do): one still holding the old secret and one that switched to
 * the new one as docs/receiving.md says, in Node and Python, before, across and after the grace
 * period. On SQLite and PostgreSQL.
 */
const f = fixtures();
const targets = heraldTargets(f.cleanup);
const OLD = generateSecret();
const NEW = generateSecret();
const GRACE_SECONDS = 6;

let python: ChildProcess;
let py = '';
beforeAll(async () => {
  const port = await closedPort();
  python = spawn('python3', [fileURLToPath(new URL('../fixtures/seed_envelope_receivers.py', import.meta.url)), String(port), NEW, OLD], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => python.stdout!.once('data', () => resolve()));
  py = `http://127.0.0.1:${port}`;
});
afterAll(() => python?.kill());

/** Twig's Node sample (timingSafeEqual over bare hex of the raw body); /new switches as documented. */
function nodeTwig(r: Receiver): void {
  const ok = (signature: unknown, body: string, secret: string) => {
    const expected = createHmac('sha256', secret).update(body).digest('hex');
    const sig = String(signature ?? '');
    return sig.length === expected.length && timingSafeEqual(Buffer.from(sig), Buffer.from(expected));
  };
  r.respond = (q) => {
    const verified = q.path === '/old/twig' ? ok(q.headers['x-twig-signature'], q.body, OLD)
      : q.path === '/new/twig' ? ok(q.headers['x-twig-signature-next'] ?? q.headers['x-twig-signature'], q.body, NEW)
      : q.path === '/new/twig-unchanged' ? ok(q.headers['x-twig-signature'], q.body, NEW)
      : false;
    return { status: verified ? 200 : 401 };
  };
}

for (const target of targets) {
  describe(`legacy signatures across a rotation on ${target.name}`, () => {
    let t: TestHerald;
    let node: Receiver;
    let appId: string;
    const paths = ['/old/twig', '/new/twig', '/new/twig-unchanged'];
    const endpointIds: string[] = [];
    /** Publishes one event and returns path → status code, for the Python and Node receivers. */
    const round = async () => {
      const e = (await t.api('POST', `/v1/apps/${appId}/events`, { type: 'interaction.completed', data: { prompt: 'Où ?' } })).body;
      const ds = await eventually(async () => {
        const list = (await t.api('GET', `/v1/apps/${appId}/deliveries?eventId=${e.id}`)).body.data;
        return list.length === 6 && list.every((d: any) => d.status !== 'pending') ? list : null;
      });
      const eps = (await t.api('GET', `/v1/apps/${appId}/endpoints`)).body.data;
      const where = new Map(eps.map((ep: any) => [ep.id, ep.url.replace(py, 'py').replace(node.url, 'node')]));
      return Object.fromEntries(ds.map((d: any) => [where.get(d.endpointId), d.lastStatusCode]).sort());
    };
    const expected = (old: number, switched: number, unchanged: number) =>
      Object.fromEntries(['node', 'py'].flatMap((side) => [[`${side}/new/twig`, switched], [`${side}/new/twig-unchanged`, unchanged], [`${side}/old/twig`, old]]).sort());

    beforeAll(async () => {
      t = await f.herald(target.env());
      node = await f.receiver();
      nodeTwig(node);
      appId = (await t.api('POST', '/v1/apps', { name: 'twig', signatureProfile: { header: 'x-twig-signature', format: 'hex' } })).body.id;
      for (const base of [py, node.url]) {
        for (const path of paths) {
          const ep = await t.api('POST', `/v1/apps/${appId}/endpoints`, { url: `${base}${path}`, secret: OLD, retrySchedule: [] });
          endpointIds.push(ep.body.id);
        }
      }
    });

    it('keeps the old-secret receiver and the switching new-secret receiver verifying through the grace period; after it only the new secret verifies', async () => {
      // Before: everyone holds or expects the old secret; the switched ones don't exist yet.
      expect(await round()).toEqual(expected(200, 401, 401));

      const rotatedAt = Date.now();
      for (const id of endpointIds) {
        expect((await t.api('POST', `/v1/apps/${appId}/endpoints/${id}/secret/rotate`, { secret: NEW, graceSeconds: GRACE_SECONDS })).status).toBe(200);
      }
      // During the grace period: the legacy header is still the old secret's, -next the new one's.
      expect(await round()).toEqual(expected(200, 200, 401));
      const during = node.requests.at(-1)!;
      expect(during.headers['x-twig-signature']).toBe(createHmac('sha256', OLD).update(during.body).digest('hex'));
      expect(during.headers['x-twig-signature-next']).toBe(createHmac('sha256', NEW).update(during.body).digest('hex'));
      // Standard Webhooks carries both, as before.
      expect(new Webhook(OLD).verify(during.body, during.headers as Record<string, string>)).toBeTruthy();
      expect(new Webhook(NEW).verify(during.body, during.headers as Record<string, string>)).toBeTruthy();
      expect(Date.now() - rotatedAt).toBeLessThan(GRACE_SECONDS * 1000); // the round above was inside the period

      // After it: the legacy header moves to the new secret, -next goes away.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, rotatedAt + GRACE_SECONDS * 1000 + 1100 - Date.now())));
      expect(await round()).toEqual(expected(401, 200, 200));
      const after = node.requests.at(-1)!;
      expect(after.headers['x-twig-signature-next']).toBeUndefined();
      expect(() => new Webhook(OLD).verify(after.body, after.headers as Record<string, string>)).toThrow();

      // The delivery log never shows either signature.
      const d = (await t.api('GET', `/v1/apps/${appId}/deliveries?limit=1`)).body.data[0];
      const detail = (await t.api('GET', `/v1/apps/${appId}/deliveries/${d.id}`)).body;
      expect(detail.request.headers['x-twig-signature']).toBe('(signature, not kept)');
    });

    it('revokes at once with graceSeconds 0: no -next header, the legacy header is the new secret', async () => {
      const fresh = generateSecret();
      const id = endpointIds[3]; // node /old/twig
      await t.api('POST', `/v1/apps/${appId}/endpoints/${id}/secret/rotate`, { secret: fresh, graceSeconds: 0 });
      const before = node.requests.length;
      expect((await t.api('POST', `/v1/apps/${appId}/endpoints/${id}/test`, {})).status).toBe(202);
      const got = (await node.waitFor(before + 1))[before];
      expect(got.headers['x-twig-signature']).toBe(createHmac('sha256', fresh).update(got.body).digest('hex'));
      expect(got.headers['x-twig-signature-next']).toBeUndefined();
    });
  });
}
