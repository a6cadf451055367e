/** Provider presets built on the generic HMAC scheme. */
import type { Scheme } from './types.js';
import { hmacScheme } from './hmac.js';
import { stringField } from './shared.js';

export interface LegacySchemeOptions {
  /** Default "x-webhook-signature"; the seeds' "x-twig-signature" / "x-twenty-signature" work too. */
  header?: string;
}

/**
 * Herald's legacy header: hex HMAC-SHA256 of the raw body keyed by the secret
 * string exactly as shown (the full "whsec_…" text, UTF-8, never decoded),
 * written as "sha256=<hex>" or bare "<hex>". It has no timestamp, so it gives
 * no replay protection: pair it with a deduper.
 */
export function legacyScheme(options: LegacySchemeOptions = {}): Scheme {
  const scheme = hmacScheme({
    name: 'legacy',
    header: options.header ?? 'x-webhook-signature',
    prefix: 'sha256=',
    prefixOptional: true,
  });
  return { ...scheme, idFromEvent: (event) => stringField(event, 'id') };
}

/** GitHub: `x-hub-signature-256: sha256=<hex>` over the body; delivery id in `x-github-delivery`. */
export function githubScheme(): Scheme {
  return hmacScheme({ name: 'github', header: 'x-hub-signature-256', prefix: 'sha256=', idHeader: 'x-github-delivery' });
}

/** Shopify: `x-shopify-hmac-sha256: <base64>` over the body; delivery id in `x-shopify-webhook-id`. */
export function shopifyScheme(): Scheme {
  return hmacScheme({
    name: 'shopify',
    header: 'x-shopify-hmac-sha256',
    encoding: 'base64',
    idHeader: 'x-shopify-webhook-id',
  });
}

export interface SlackSchemeOptions {
  /** Default 300 s, what Slack recommends. */
  toleranceSeconds?: number;
}

/** Slack: `x-slack-signature: v0=<hex>` over "v0:{timestamp}:{body}" with `x-slack-request-timestamp`. */
export function slackScheme(options: SlackSchemeOptions = {}): Scheme {
  const scheme = hmacScheme({
    name: 'slack',
    header: 'x-slack-signature',
    prefix: 'v0=',
    signedContent: 'v0:{timestamp}:{body}',
    timestampHeader: 'x-slack-request-timestamp',
    toleranceSeconds: options.toleranceSeconds,
  });
  // Events API payloads carry a stable `event_id` across Slack's retries.
  return { ...scheme, idFromEvent: (event) => stringField(event, 'event_id') };
}
