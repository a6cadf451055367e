import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/core/secret-box.js';
import { ConfigError } from '../../src/errors.js';
import { openStore } from '../../src/store/index.js';
import { fixtures } from '../helpers/fixtures.js';
import { dropSchema, pgUrl, testSchema } from '../helpers/postgres.js';

/**
 * Two processes on one database with different encryption keys (two hosts, each with its
 * own data dir and generated key): the second must refuse to start, not seal secrets the
 * first can't open.
 */
const f = fixtures();
const box = () => new SecretBox(Buffer.from(SecretBox.generateKey(), 'base64'));

const backends: Array<{ name: string; url: () => string }> = [{ name: 'sqlite', url: () => `sqlite:${join(f.tempDir(), 'h.db')}` }];
if (pgUrl) {
  backends.push({
    name: 'postgres',
    url: () => {
      const schema = testSchema();
      f.cleanup(() => dropSchema(schema));
      return `${pgUrl}?schema=${schema}`;
    },
  });
}

for (const b of backends) {
  describe(`the encryption key on ${b.name}`, () => {
    it('opens with the key it was first opened with, and refuses another key or none', async () => {
      const url = b.url();
      const key = box();
      const first = await openStore(url, { box: key });
      const app = await first.createApp({ name: 'A', uid: null, metadata: {}, signatureProfile: null });
      await first.createEndpoint({
        appId: app.id, url: 'https://example.com/', description: null, events: null, status: 'active', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        headers: {}, retrySchedule: null, timeoutMs: null, rateLimit: null, maxInFlight: null, disableAfterFailures: null, disableAfterSeconds: null, metadata: {},
      } as any);
      await first.close();

      const again = await openStore(url, { box: key });
      await again.close();
      const wrong = await openStore(url, { box: box() }).catch((e) => e);
      expect(wrong).toBeInstanceOf(ConfigError);
      expect(wrong.message).toMatch(/not the key this database's secrets were sealed with/);
      const none = await openStore(url).catch((e) => e);
      expect(none).toBeInstanceOf(ConfigError);
      expect(none.message).toMatch(/no encryption key was given/);
    });

    it('a database from before the check is verified against a sealed secret before the check is recorded', async () => {
      const url = b.url();
      const key = box();
      const store = await openStore(url, { box: key });
      const app = await store.createApp({ name: 'A', uid: null, metadata: {}, signatureProfile: null });
      await store.createEndpoint({
        appId: app.id, url: 'https://example.com/', description: null, events: null, status: 'active', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        headers: {}, retrySchedule: null, timeoutMs: null, rateLimit: null, maxInFlight: null, disableAfterFailures: null, disableAfterSeconds: null, metadata: {},
      } as any);
      // As written by a Herald before the check existed.
      if (b.name === 'sqlite') (store as any).db.exec('DELETE FROM herald_settings');
      else await (store as any).pool.query(`DELETE FROM ${(store as any).schema === 'public' ? '' : `"${(store as any).schema}".`}herald_settings`);
      await store.close();
      await expect(openStore(url, { box: box() })).rejects.toThrow(/not the key/);
      const right = await openStore(url, { box: key });
      await right.close();
    });
  });
}
