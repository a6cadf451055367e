// Receiving webhooks with Fastify. The plugin replaces the body parsers of
// the scope it is registered in, so keep webhook routes in their own scope.
//   npm run build && WEBHOOK_SECRET=whsec_... node examples/receiver-fastify.mjs
//   node examples/send-test-webhook.mjs http://127.0.0.1:3000/webhooks
import Fastify from 'fastify';
import { fastifyWebhook } from 'herald-webhooks/receiver';

const secret = process.env.WEBHOOK_SECRET ?? 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const app = Fastify({ logger: true });

app.register(async (webhooks) => {
  await webhooks.register(fastifyWebhook, { secret });
  webhooks.post('/webhooks', async (req, reply) => {
    req.log.info({ id: req.webhook.id, event: req.body }, 'received'); // req.body is the parsed event
    return reply.code(204).send();
  });
});

// Outside that scope, JSON parsing is untouched.
app.post('/api/echo', async (req) => req.body);

await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
