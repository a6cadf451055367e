/**
 * Stripe: `stripe-signature: t=<unix>,v1=<hex>[,v1=<hex>…][,v0=…]`, HMAC-SHA256
 * over "{t}.{body}". Unlike Standard Webhooks, the key is the UTF-8 of the
 * whole `whsec_…` string; it is never base64-decoded. Stripe lists one `v1`
 * per active secret while you roll a secret, so any match is accepted.
 */
import { WebhookVerificationError } from '../errors.js';
import { concatBytes, fromHex, toHex, utf8 } from '../encoding.js';
import { anyHmacMatches, hmacSign } from '../hmac.js';
import type { Scheme, SchemeSignInput, SchemeVerifyInput, SchemeVerifyResult } from './types.js';
import {
  DEFAULT_TOLERANCE_SECONDS,
  checkTimestamp,
  importUtf8Keys,
  parseUnixSeconds,
  requireHeader,
  resolveTolerance,
  stringField,
} from './shared.js';

const HEADER = 'stripe-signature';

export interface StripeSchemeOptions {
  /** Default 300 s, Stripe's own default. */
  toleranceSeconds?: number;
}

function parseHeader(value: string): { timestampText?: string; signatures: Uint8Array[] } {
  let timestampText: string | undefined;
  const signatures: Uint8Array[] = [];
  for (const item of value.split(',')) {
    const eq = item.indexOf('=');
    if (eq < 0) continue;
    const key = item.slice(0, eq).trim();
    const val = item.slice(eq + 1).trim();
    if (key === 't') timestampText = val;
    else if (key === 'v1') {
      const bytes = fromHex(val);
      if (bytes && bytes.length > 0) signatures.push(bytes);
    }
  }
  return { timestampText, signatures };
}

const signedContent = (timestamp: string, body: Uint8Array): Uint8Array => concatBytes([utf8(`${timestamp}.`), body]);

export function stripeScheme(options: StripeSchemeOptions = {}): Scheme {
  return {
    name: 'stripe',

    async verify(input: SchemeVerifyInput): Promise<SchemeVerifyResult> {
      const { timestampText, signatures } = parseHeader(requireHeader(input.header, HEADER));
      if (timestampText === undefined) {
        throw new WebhookVerificationError('invalid_header', `"${HEADER}" has no "t=" timestamp`);
      }
      const timestamp = parseUnixSeconds(timestampText, `${HEADER} t=`);
      const tolerance = resolveTolerance(input.toleranceSeconds ?? options.toleranceSeconds, DEFAULT_TOLERANCE_SECONDS);
      const keys = await importUtf8Keys(input.secrets, 'sha256');
      if (signatures.length === 0) {
        throw new WebhookVerificationError('invalid_signature', `no v1 signature found in "${HEADER}"`);
      }
      if (!(await anyHmacMatches(keys, signatures, signedContent(timestampText, input.body)))) {
        throw new WebhookVerificationError('invalid_signature', 'no signature matches the body and secret(s)');
      }
      checkTimestamp(timestamp, input.now, tolerance);
      return { timestamp };
    },

    async sign(input: SchemeSignInput): Promise<Record<string, string>> {
      const timestamp = String(input.timestamp);
      const data = signedContent(timestamp, input.body);
      const keys = await importUtf8Keys(input.secrets, 'sha256');
      const parts = [`t=${timestamp}`];
      for (const key of keys) parts.push(`v1=${toHex(await hmacSign(key, data))}`);
      return { [HEADER]: parts.join(',') };
    },

    // Stripe's delivery id is the event id (evt_…), retried deliveries keep it.
    idFromEvent: (event) => stringField(event, 'id'),
  };
}

