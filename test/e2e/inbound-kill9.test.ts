import { sign as octokitSign } from '@octokit/webhooks-methods';
import { describe, expect, it } from 'vitest';
import { fixtures } from '../helpers/fixtures.js';
import { waitForHealth } from '../helpers/process.js';

const KEY = 'inbound-kill9-key-0123456789';
const SECRET = 'gh-secret';
const f = fixtures();

describe('inbound crash safety', () => {
  it('forwards every request answered 202 although Herald was killed -9 right after answering', async () => {
    const receiver = await f.receiver();
    // Down until the restart, so nothing is forwarded before the kill: all of it happens after.
    let up = false;
    receiver.respond = () => (up ? { status: 200 } : { status: 503 });
    const herald = await f.restartable({ HERALD_API_KEY: KEY });
    const { base, start } = herald;
    const first = start();
    await waitForHealth(base, 15_000, first);
    const created = await fetch(`${base}/v1/sources`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'gh', verification: { scheme: 'github', secrets: [SECRET] }, dedup: { key: 'header:x-github-delivery' },
        destinations: [{ url: `${receiver.url}/hook`, retrySchedule: [0.2, 0.3, 0.5, 1, 1, 1, 1, 1] }],
      }),
    });
    const source = (await created.json()) as { ingestUrl: string };
    expect(created.status).toBe(201);

    // Four senders post signed requests; the moment the 150th 202 arrives, kill -9.
    const acknowledged = new Set<string>();
    let killed = false;
    let sent = 0;
    const sender = async (w: number) => {
      for (let i = w; i < 2000 && !killed; i += 4) {
        const body = JSON.stringify({ i, page_id: i % 7 });
        sent++;
        try {
          const res = await fetch(source.ingestUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-hub-signature-256': await octokitSign(SECRET, body), 'x-github-delivery': `d-${i}` },
            body,
          });
          const answer = (await res.json()) as { id: string };
          if (res.status === 202) acknowledged.add(answer.id);
          if (acknowledged.size >= 150 && !killed) {
            killed = true;
            first.child.kill('SIGKILL');
          }
        } catch {
          return; // cut off by the kill: never acknowledged
        }
      }
    };
    await Promise.all([0, 1, 2, 3].map(sender));
    await first.exited;
    expect(receiver.requests.every((r) => r.headers['webhook-id'])).toBe(true);
    const forwardedBefore = receiver.requests.length;

    up = true;
    await waitForHealth(base, 15_000, start());
    const seen = () => new Set(receiver.requests.filter((_, i) => i >= forwardedBefore).map((r) => r.headers['webhook-id'] as string));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && ![...acknowledged].every((id) => seen().has(id))) await new Promise((r) => setTimeout(r, 100));
    const missing = [...acknowledged].filter((id) => !seen().has(id));
    console.log(`inbound kill -9: ${sent} sent, ${acknowledged.size} acknowledged before the kill, ` +
      `${forwardedBefore} attempts before it (all answered 503), ${seen().size} distinct forwarded after restart, ${missing.length} missing`);
    expect(missing).toEqual([]);
  }, 90_000);
});
