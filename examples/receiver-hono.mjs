// Receiving webhooks with Hono (served by @hono/node-server here; the same
// middleware runs on Bun, Deno and Cloudflare Workers).
//   npm run build && WEBHOOK_SECRET=whsec_... node examples/receiver-hono.mjs
//   node examples/send-test-webhook.mjs http://127.0.0.1:3000/webhooks
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import { honoWebhook } from 'herald-webhooks/receiver';

const secret = process.env.WEBHOOK_SECRET ?? 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const app = new Hono();

app.post('/webhooks', honoWebhook({ secret }), (c) => {
  const { event, id } = c.get('webhook');
  console.log('received', id, event);
  return c.body(null, 204);
});

serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000), hostname: '127.0.0.1' }, (info) => {
  console.log(`listening on http://127.0.0.1:${info.port}/webhooks`);
});
