// Publishes events the way a product's backend would, with the typed client.
//   HERALD_URL=http://127.0.0.1:8400 HERALD_API_KEY=$(cat data/api-key) node examples/publisher.mjs acme
// Creates the app if it doesn't exist, publishes one event per "user action", and shows the
// failed deliveries of the last hour. Safe to re-run: each publish carries an Idempotency-Key.
import { HeraldApiError, HeraldClient } from 'herald-webhooks/client';

const app = process.argv[2] ?? 'acme';
const herald = new HeraldClient({ url: process.env.HERALD_URL ?? 'http://127.0.0.1:8400', apiKey: process.env.HERALD_API_KEY ?? '' });

try {
  await herald.apps.get(app).catch(async (err) => {
    if (err instanceof HeraldApiError && err.code === 'not_found') return herald.apps.create({ name: app, uid: app });
    throw err;
  });

  // In a real app: right after the database commit of the change the event describes. The key
  // ties the event to that change, so a retried request handler never publishes it twice.
  for (const person of [{ id: 1, name: 'Ada Lovelace' }, { id: 2, name: 'Alan Turing' }]) {
    const event = await herald.events.publish(app, { type: 'person.created', data: person }, { idempotencyKey: `person-${person.id}-created` });
    console.log(`published ${event.id} (${event.type}) to ${event.deliveries} endpoint(s)`);
  }

  let failed = 0;
  for await (const d of herald.deliveries.list(app, { status: 'failed' })) {
    failed++;
    console.log(`failed: ${d.id} ${d.eventType} → ${d.lastStatusCode ?? d.lastError}`);
  }
  console.log(`${failed} failed deliveries`);
} catch (err) {
  if (!(err instanceof HeraldApiError)) throw err;
  console.error(`herald: ${err.code}: ${err.message}`);
  process.exitCode = 1;
}
