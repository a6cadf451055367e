/**
 * Standard Webhooks v1 (https://www.standardwebhooks.com), Herald's own
 * outbound scheme and the one Svix uses:
 *
 *   webhook-id:        msg_…
 *   webhook-timestamp: Unix seconds
 *   webhook-signature: v1,<base64 HMAC-SHA256("{id}.{timestamp}.{body}")> [space-separated, several allowed]
 *
 * The key is the base64 *decoding* of the secret after an optional `whsec_`
 * prefix. Svix sends the same values under `svix-*` header names, accepted
 * here too so one verifier covers both.
 */
import { WebhookVerificationError } from '../errors.js';
import { concatBytes, fromBase64, toBase64, utf8 } from '../encoding.js';
import { anyHmacMatches, hmacSign, importHmacKey } from '../hmac.js';
import type { Scheme, SchemeSignInput, SchemeVerifyInput, SchemeVerifyResult } from './types.js';
import {
  DEFAULT_TOLERANCE_SECONDS,
  checkTimestamp,
  parseUnixSeconds,
  requireHeader,
  resolveTolerance,
} from './shared.js';

const SECRET_PREFIX = 'whsec_';

export interface StandardSchemeOptions {
  /** Default 300 s. */
  toleranceSeconds?: number;
}

function keyBytes(secret: string): Uint8Array {
  const body = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const bytes = fromBase64(body);
  if (!bytes || bytes.length === 0) {
    throw new WebhookVerificationError(
      'invalid_secret',
      'a Standard Webhooks secret must be base64, optionally prefixed with "whsec_"',
    );
  }
  return bytes;
}

function signedContent(id: string, timestamp: string, body: Uint8Array): Uint8Array {
  return concatBytes([utf8(`${id}.${timestamp}.`), body]);
}

/** Prefer `webhook-*`; fall back to Svix's `svix-*` names as a complete set, never mixed. */
function pickHeaderSet(input: SchemeVerifyInput): 'webhook' | 'svix' {
  const { header } = input;
  if (header('webhook-signature') === undefined && header('svix-signature') !== undefined) return 'svix';
  return 'webhook';
}

/** `v1,<b64>` entries only; other versions (e.g. asymmetric `v1a`) are skipped, not errors. */
function v1Candidates(signatureHeader: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const entry of signatureHeader.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== 'v1') continue;
    const bytes = fromBase64(entry.slice(comma + 1));
    if (bytes && bytes.length > 0) out.push(bytes);
  }
  return out;
}

export function standardScheme(options: StandardSchemeOptions = {}): Scheme {
  return {
    name: 'standard',

    async verify(input: SchemeVerifyInput): Promise<SchemeVerifyResult> {
      const prefix = pickHeaderSet(input);
      const id = requireHeader(input.header, `${prefix}-id`);
      const timestampText = requireHeader(input.header, `${prefix}-timestamp`);
      const signatureHeader = requireHeader(input.header, `${prefix}-signature`);
      const timestamp = parseUnixSeconds(timestampText, `${prefix}-timestamp`);
      const tolerance = resolveTolerance(input.toleranceSeconds ?? options.toleranceSeconds, DEFAULT_TOLERANCE_SECONDS);
      const keys = await Promise.all(input.secrets.map((s) => importHmacKey(keyBytes(s), 'sha256')));

      const candidates = v1Candidates(signatureHeader);
      if (candidates.length === 0) {
        throw new WebhookVerificationError('invalid_signature', `no v1 signature found in "${prefix}-signature"`);
      }
      // Sign over the header text exactly as received, so "0123" can't be
      // swapped for "123" without breaking the signature.
      if (!(await anyHmacMatches(keys, candidates, signedContent(id, timestampText, input.body)))) {
        throw new WebhookVerificationError('invalid_signature', 'no signature matches the body and secret(s)');
      }
      checkTimestamp(timestamp, input.now, tolerance);
      return { id, timestamp };
    },

    async sign(input: SchemeSignInput): Promise<Record<string, string>> {
      const timestamp = String(input.timestamp);
      const data = signedContent(input.id, timestamp, input.body);
      const signatures = await Promise.all(
        input.secrets.map(async (s) => `v1,${toBase64(await hmacSign(await importHmacKey(keyBytes(s), 'sha256'), data))}`),
      );
      return {
        'webhook-id': input.id,
        'webhook-timestamp': timestamp,
        'webhook-signature': signatures.join(' '),
      };
    },
  };
}
