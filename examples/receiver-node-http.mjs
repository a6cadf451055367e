// Receiving Herald (Standard Webhooks) deliveries with plain node:http.
//   npm run build && WEBHOOK_SECRET=whsec_... node examples/receiver-node-http.mjs
//   node examples/send-test-webhook.mjs http://127.0.0.1:3000/webhooks
import { createServer } from 'node:http';
import { createDeduper, memoryStore, nodeWebhook } from 'herald-webhooks/receiver';

const secret = process.env.WEBHOOK_SECRET ?? 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const dedupe = createDeduper({ store: memoryStore() });

const handle = nodeWebhook(
  { secret, onError: (err) => console.warn(`rejected webhook: ${err.code}: ${err.message}`) },
  async (req, res) => {
    const { event, id } = req.webhook;
    if (id && (await dedupe.seen(id))) {
      res.writeHead(200).end('duplicate');
      return;
    }
    console.log('received', id, event);
    res.writeHead(204).end();
  },
);

const server = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/webhooks') return void handle(req, res);
  res.writeHead(404).end();
});
server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}/webhooks`);
});
