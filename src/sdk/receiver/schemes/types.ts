/**
 * The contract every signature scheme implements. A scheme owns everything
 * that differs between providers: which headers carry what, what bytes are
 * signed, how a secret string becomes key bytes (Standard Webhooks
 * base64-decodes `whsec_…`, Stripe keys with the literal `whsec_…` string), and
 * the default replay tolerance.
 */
import type { HeaderLookup } from '../headers.js';

export interface SchemeVerifyInput {
  /** Exact bytes of the request body. */
  body: Uint8Array;
  header: HeaderLookup;
  /** At least one; several during secret rotation. */
  secrets: readonly string[];
  /** Current time, Unix seconds. */
  now: number;
  /** Caller's override of the scheme's default tolerance, in seconds. */
  toleranceSeconds?: number;
}

export interface SchemeVerifyResult {
  /** Delivery id when the scheme carries one in a header (webhook-id, x-github-delivery, …). */
  id?: string;
  /** Signed timestamp, Unix seconds, when the scheme has one. */
  timestamp?: number;
}

export interface SchemeSignInput {
  body: Uint8Array;
  /** Schemes that allow several signatures emit one per secret; others use the first. */
  secrets: readonly string[];
  id: string;
  /** Unix seconds. */
  timestamp: number;
}

export interface Scheme {
  readonly name: string;
  /** Throws WebhookVerificationError; resolves only for an authentic, fresh request. */
  verify(input: SchemeVerifyInput): Promise<SchemeVerifyResult>;
  /** Headers (lower-case names) a sender would attach for this body. */
  sign(input: SchemeSignInput): Promise<Record<string, string>>;
  /** For schemes that carry the delivery id in the payload instead (Stripe `id`, Slack `event_id`). */
  idFromEvent?(event: unknown): string | undefined;
}
