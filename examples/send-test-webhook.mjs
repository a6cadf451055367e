// Sends one signed test delivery, the way Herald would, to a receiver.
//   node examples/send-test-webhook.mjs http://127.0.0.1:3000/webhooks [scheme]
// scheme: standard (default), legacy, github, stripe, slack, shopify.
import { sign } from 'herald-webhooks/receiver';

const url = process.argv[2] ?? 'http://127.0.0.1:3000/webhooks';
const scheme = process.argv[3] ?? 'standard';
const secret = process.env.WEBHOOK_SECRET ?? 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

// Deliberately not JSON.stringify output: spacing and escapes must survive to the receiver.
const body = `{"id": "evt_${Date.now()}", "type": "invoice.paid",  "data": {"amount": 4200, "note": "caf\\u00e9"}}`;
const headers = await sign(body, secret, { scheme });

const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
console.log(res.status, await res.text());
process.exitCode = res.ok ? 0 : 1;
