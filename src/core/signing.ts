import { createHmac, randomBytes } from 'node:crypto';

/**
 * Outbound signatures. Two families, because receivers in the wild expect both:
 * - Standard Webhooks: `v1,<base64 HMAC-SHA256("{id}.{timestamp}.{body}")>`, keyed by the
 *   base64-decoded part of `whsec_…` (what the `standardwebhooks` and `svix` packages verify).
 * - Legacy: `sha256=<hex HMAC-SHA256(body)>` keyed by the secret string itself, which is what
 *   the receivers in the product docs Herald replaces compute (`createHmac('sha256', secret)`).
 */
export const SECRET_PREFIX = 'whsec_';

export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

/** The HMAC key of a Standard Webhooks secret: base64 after the optional `whsec_` prefix. */
export function standardKey(secret: string): Buffer {
  const raw = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  return Buffer.from(raw, 'base64');
}

/** A secret must decode to 24..64 bytes so that both signature families are strong. */
export function isValidSecret(secret: string): boolean {
  if (!secret.startsWith(SECRET_PREFIX)) return false;
  const b64 = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return false;
  const len = Buffer.from(b64, 'base64').length;
  return len >= 24 && len <= 64;
}

export function signStandard(key: Buffer, id: string, timestamp: number, body: string | Buffer): string {
  const mac = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
  return `v1,${mac}`;
}

export function signLegacyHex(secret: string, body: string | Buffer): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}
