import type { HeraldConfig } from '../../src/config.js';
import { API_KEY, startHerald, type TestHerald } from '../helpers/herald.js';

export { API_KEY };

/** An in-process Herald on a fresh SQLite file: it serves the built UI at /ui/ and /portal/. */
export function startUiHerald(env: Record<string, string> = {}, tweak: (c: HeraldConfig) => void = () => {}): Promise<TestHerald> {
  return startHerald(env, tweak);
}

/** A one-time portal link for an app, as a product's backend asks for one. */
export async function portalLink(t: TestHerald, app: string, body: Record<string, unknown> = {}): Promise<string> {
  const r = await t.api('POST', `/v1/apps/${app}/portal-access`, body);
  if (r.status !== 201) throw new Error(`portal-access: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.url as string;
}

/** The event-type catalogue the portal tests' customer picks from. */
export async function seedCatalogue(t: TestHerald): Promise<void> {
  await t.api('POST', '/v1/event-types', {
    name: 'person.created', description: 'A person was added to the address book',
    schema: { type: 'object', properties: { name: { type: 'string' }, email: { type: 'string', format: 'email' } }, required: ['name'] },
    examples: [{ name: 'Ada Lovelace', email: 'ada@example.com' }],
  });
  await t.api('POST', '/v1/event-types', { name: 'person.deleted', description: 'A person was removed' });
  await t.api('POST', '/v1/event-types', { name: 'invoice.paid', description: 'An invoice was paid' });
}
