/**
 * A configurable HMAC scheme for senders without a dedicated scheme. It
 * covers the ways sources differ (seed 004: header names, SHA-1/256/512,
 * hex or base64, prefixes like "sha256=", timestamps with a replay window):
 *
 *   hmacScheme({ header: 'x-acme-signature', algorithm: 'sha512', encoding: 'base64',
 *                signedContent: '{timestamp}.{body}', timestampHeader: 'x-acme-timestamp' })
 *
 * GitHub, Shopify, Slack and Herald's legacy header are presets of it.
 */
import { WebhookVerificationError } from '../errors.js';
import {
  concatBytes,
  decodeSignature,
  encodeSignature,
  fromBase64,
  fromHex,
  utf8,
  type SignatureEncoding,
} from '../encoding.js';
import { anyHmacMatches, hmacSign, importHmacKey, isHmacAlgorithm, type HmacAlgorithm, type HmacKey } from '../hmac.js';
import type { Scheme, SchemeSignInput, SchemeVerifyInput, SchemeVerifyResult } from './types.js';
import {
  DEFAULT_TOLERANCE_SECONDS,
  checkTimestamp,
  parseUnixSeconds,
  requireHeader,
  resolveTolerance,
} from './shared.js';

export interface HmacSchemeOptions {
  /** Used in errors and `VerifiedWebhook.scheme`. Default "hmac". */
  name?: string;
  /** Header carrying the signature (any letter case). */
  header: string;
  /** Default "sha256". */
  algorithm?: HmacAlgorithm;
  /** How the signature is written. Default "hex" (either letter case accepted). */
  encoding?: SignatureEncoding;
  /** Text before the signature, e.g. "sha256=" or "v0=". Default none. */
  prefix?: string;
  /** Accept the signature with or without `prefix` (Herald legacy). Default false. */
  prefixOptional?: boolean;
  /** The header may list several signatures separated by this string (e.g. " " or ","). */
  separator?: string;
  /**
   * What is signed, as a template over {id}, {timestamp} and {body}; the
   * body is inserted as raw bytes. Default "{body}".
   */
  signedContent?: string;
  /** Header with the Unix-seconds timestamp; required when the template has {timestamp}. */
  timestampHeader?: string;
  /** Header with the delivery id; required when the template has {id}. */
  idHeader?: string;
  /** Replay window when `timestampHeader` is set. Default 300 s. */
  toleranceSeconds?: number;
  /** How the secret string becomes key bytes. Default "utf8" (the string as-is). */
  secretEncoding?: 'utf8' | 'base64' | 'hex';
}

type Part = { literal: Uint8Array } | { field: 'id' | 'timestamp' | 'body' };

function invalid(message: string): WebhookVerificationError {
  return new WebhookVerificationError('invalid_options', message);
}

function parseTemplate(template: string): Part[] {
  const parts: Part[] = [];
  const re = /\{([A-Za-z_]+)\}/g;
  let last = 0;
  let bodies = 0;
  for (let m = re.exec(template); m; m = re.exec(template)) {
    const field = m[1];
    if (field !== 'id' && field !== 'timestamp' && field !== 'body') {
      throw invalid(`signedContent has unknown placeholder {${field}}; use {id}, {timestamp} or {body}`);
    }
    if (field === 'body') bodies++;
    if (m.index > last) parts.push({ literal: utf8(template.slice(last, m.index)) });
    parts.push({ field });
    last = m.index + m[0].length;
  }
  if (last < template.length) parts.push({ literal: utf8(template.slice(last)) });
  if (bodies !== 1) throw invalid('signedContent must contain {body} exactly once');
  return parts;
}

function render(parts: readonly Part[], values: { id?: string; timestamp?: string; body: Uint8Array }): Uint8Array {
  return concatBytes(
    parts.map((p) => {
      if ('literal' in p) return p.literal;
      if (p.field === 'body') return values.body;
      return utf8(values[p.field] ?? '');
    }),
  );
}

function keyBytes(secret: string, encoding: 'utf8' | 'base64' | 'hex'): Uint8Array {
  if (encoding === 'utf8') return utf8(secret);
  const bytes = encoding === 'hex' ? fromHex(secret) : fromBase64(secret);
  if (!bytes) throw new WebhookVerificationError('invalid_secret', `webhook secret is not valid ${encoding}`);
  return bytes;
}

export function hmacScheme(options: HmacSchemeOptions): Scheme {
  const {
    name = 'hmac',
    header,
    algorithm = 'sha256',
    encoding = 'hex',
    prefix = '',
    prefixOptional = false,
    separator,
    signedContent = '{body}',
    timestampHeader,
    idHeader,
    toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
    secretEncoding = 'utf8',
  } = options;

  // Misconfiguration fails at construction, not on the first request in production.
  if (typeof header !== 'string' || header === '') throw invalid('hmacScheme needs a `header` name');
  if (!isHmacAlgorithm(algorithm)) throw invalid('algorithm must be "sha1", "sha256" or "sha512"');
  if (encoding !== 'hex' && encoding !== 'base64') throw invalid('encoding must be "hex" or "base64"');
  if (secretEncoding !== 'utf8' && secretEncoding !== 'hex' && secretEncoding !== 'base64') {
    throw invalid('secretEncoding must be "utf8", "hex" or "base64"');
  }
  const template = parseTemplate(signedContent);
  const usesTimestamp = template.some((p) => 'field' in p && p.field === 'timestamp');
  const usesId = template.some((p) => 'field' in p && p.field === 'id');
  if (usesTimestamp && !timestampHeader) throw invalid('signedContent uses {timestamp} but no timestampHeader is set');
  if (usesId && !idHeader) throw invalid('signedContent uses {id} but no idHeader is set');
  if (timestampHeader && !usesTimestamp) {
    // An unsigned timestamp can be rewritten by anyone replaying the request,
    // so checking it would give a false sense of replay protection.
    throw invalid('timestampHeader is set but signedContent does not include {timestamp}');
  }

  function candidates(value: string): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const raw of separator ? value.split(separator) : [value]) {
      let sig = raw.trim();
      if (prefix) {
        if (sig.startsWith(prefix)) sig = sig.slice(prefix.length);
        else if (!prefixOptional) continue;
      }
      const bytes = decodeSignature(sig, encoding);
      if (bytes && bytes.length > 0) out.push(bytes);
    }
    return out;
  }

  const importKeys = (secrets: readonly string[]): Promise<HmacKey[]> =>
    Promise.all(secrets.map((s) => importHmacKey(keyBytes(s, secretEncoding), algorithm)));

  return {
    name,

    async verify(input: SchemeVerifyInput): Promise<SchemeVerifyResult> {
      const signatureHeader = requireHeader(input.header, header);
      const id = idHeader ? (usesId ? requireHeader(input.header, idHeader) : input.header(idHeader)) : undefined;
      const timestampText = timestampHeader ? requireHeader(input.header, timestampHeader) : undefined;
      const timestamp = timestampText === undefined ? undefined : parseUnixSeconds(timestampText, timestampHeader!);
      const tolerance = resolveTolerance(input.toleranceSeconds, toleranceSeconds);
      const keys = await importKeys(input.secrets);

      const sigs = candidates(signatureHeader);
      if (sigs.length === 0) {
        const expected = `${prefix}<${encoding}>`;
        throw new WebhookVerificationError('invalid_signature', `"${header}" is not in the expected form ${expected}`);
      }
      const data = render(template, { id, timestamp: timestampText, body: input.body });
      if (!(await anyHmacMatches(keys, sigs, data))) {
        throw new WebhookVerificationError('invalid_signature', 'no signature matches the body and secret(s)');
      }
      if (timestamp !== undefined) checkTimestamp(timestamp, input.now, tolerance);
      return { id, timestamp };
    },

    async sign(input: SchemeSignInput): Promise<Record<string, string>> {
      const timestamp = String(input.timestamp);
      const data = render(template, { id: input.id, timestamp, body: input.body });
      const keys = await importKeys(separator ? input.secrets : input.secrets.slice(0, 1));
      const sigs: string[] = [];
      for (const key of keys) sigs.push(prefix + encodeSignature(await hmacSign(key, data), encoding));
      const headers: Record<string, string> = { [header.toLowerCase()]: sigs.join(separator ?? '') };
      if (timestampHeader) headers[timestampHeader.toLowerCase()] = timestamp;
      if (idHeader) headers[idHeader.toLowerCase()] = input.id;
      return headers;
    },
  };
}
