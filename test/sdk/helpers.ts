/** Shared fixtures for the receiver SDK middleware tests (loopback servers, signed requests). */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sign } from '../../src/sdk/receiver/index.js';

export const SECRET = 'whsec_' + Buffer.from('middleware test secret 32 bytes!').toString('base64');

/**
 * A body JSON.parse→JSON.stringify would change in every way it can:
 * spacing and a newline, `1.0` → `1`, a `\u00e9` escape → `é`, non-ASCII and
 * an emoji, and key order (integer-like keys "2", "1" move to the front,
 * ascending). Only a middleware that keeps the raw bytes passes.
 */
export const TRICKY_BODY = '{"type":"order.paid",  "b":1.0, "2":"two", "1":"one",\n "a":"caf\u00e9 \\u00e9 😀", "id":"evt_tricky"}';
export const TRICKY_EVENT = { type: 'order.paid', b: 1, '2': 'two', '1': 'one', a: 'café é 😀', id: 'evt_tricky' };

export async function listen(server: Server): Promise<{ url: string; close: () => Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections?.();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

export async function post(
  url: string,
  body: string | Uint8Array<ArrayBuffer>,
  headers: Record<string, string>,
): Promise<{ status: number; json: any }> {
  const res = await fetch(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

export function signed(body: string, id = 'msg_mw_1'): Promise<Record<string, string>> {
  return sign(body, SECRET, { id });
}
