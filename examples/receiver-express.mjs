// Receiving webhooks with Express, deduplicating through SQLite.
//   npm run build && WEBHOOK_SECRET=whsec_... node examples/receiver-express.mjs
//   node examples/send-test-webhook.mjs http://127.0.0.1:3000/webhooks
import express from 'express';
import Database from 'better-sqlite3';
import { createDeduper, expressWebhook, sqliteStore, webhookOf } from 'herald-webhooks/receiver';

const secret = process.env.WEBHOOK_SECRET ?? 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const dedupe = createDeduper({ store: sqliteStore(new Database(process.env.DEDUPE_DB ?? ':memory:')) });

const app = express();
// The webhook route gets expressWebhook *instead of* express.json(): it needs the raw bytes.
app.post('/webhooks', expressWebhook({ secret }), async (req, res, next) => {
  const { id } = webhookOf(req);
  try {
    if (id && (await dedupe.seen(id))) return res.status(200).json({ duplicate: true });
    console.log('received', id, req.body); // req.body is the verified, parsed event
    res.status(204).end();
  } catch (err) {
    if (id) await dedupe.forget(id); // let the sender's retry through
    next(err);
  }
});
// Other routes may parse JSON as usual.
app.use(express.json());

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}/webhooks`);
});
