/**
 * HMAC through Web Crypto only. `crypto.subtle.verify` compares in constant
 * time inside the runtime, so no hand-written timing-safe compare is needed and
 * the same code runs in Node >= 20, Deno, Bun, browsers and edge workers.
 */
import { WebhookVerificationError } from './errors.js';

export type HmacAlgorithm = 'sha1' | 'sha256' | 'sha512';

const HASH_NAME: Record<HmacAlgorithm, string> = {
  sha1: 'SHA-1',
  sha256: 'SHA-256',
  sha512: 'SHA-512',
};

export function isHmacAlgorithm(value: unknown): value is HmacAlgorithm {
  return value === 'sha1' || value === 'sha256' || value === 'sha512';
}

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (!s) {
    throw new WebhookVerificationError(
      'invalid_options',
      'Web Crypto (globalThis.crypto.subtle) is not available in this runtime; Node >= 20 or any modern runtime provides it',
    );
  }
  return s;
}

/**
 * TS 5.7+ types BufferSource as ArrayBuffer-backed views only; our bytes may
 * sit on a SharedArrayBuffer-typed backing in the type system (never at run
 * time for HTTP bodies), so narrow once here.
 */
function source(bytes: Uint8Array): BufferSource {
  return bytes as Uint8Array<ArrayBuffer>;
}

export async function importHmacKey(key: Uint8Array, algorithm: HmacAlgorithm): Promise<CryptoKey> {
  if (key.length === 0) {
    throw new WebhookVerificationError('invalid_secret', 'webhook secret is empty');
  }
  return subtle().importKey('raw', source(key), { name: 'HMAC', hash: HASH_NAME[algorithm] }, false, [
    'sign',
    'verify',
  ]);
}

export async function hmacSign(key: CryptoKey, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await subtle().sign('HMAC', key, source(data)));
}

/**
 * True when any candidate signature matches under any key. Each comparison is
 * constant-time; short-circuiting across candidates only reveals *that* some
 * signature matched, which the response reveals anyway.
 */
export async function anyHmacMatches(
  keys: readonly CryptoKey[],
  candidates: readonly Uint8Array[],
  data: Uint8Array,
): Promise<boolean> {
  const s = subtle();
  for (const key of keys) {
    for (const candidate of candidates) {
      if (await s.verify('HMAC', key, source(candidate), source(data))) return true;
    }
  }
  return false;
}
