/** Scheme lookup by name, so `options.scheme: 'stripe'` works without importing a factory. */
import { WebhookVerificationError } from '../errors.js';
import type { Scheme } from './types.js';
import { standardScheme } from './standard.js';
import { stripeScheme } from './stripe.js';
import { githubScheme, legacyScheme, shopifyScheme, slackScheme } from './providers.js';

export type SchemeName = 'standard' | 'legacy' | 'github' | 'stripe' | 'slack' | 'shopify';

const FACTORIES: Record<SchemeName, () => Scheme> = {
  standard: standardScheme,
  legacy: legacyScheme,
  github: githubScheme,
  stripe: stripeScheme,
  slack: slackScheme,
  shopify: shopifyScheme,
};

export const SCHEME_NAMES = Object.keys(FACTORIES) as SchemeName[];

const cache = new Map<SchemeName, Scheme>();

export function resolveScheme(scheme: SchemeName | Scheme | undefined): Scheme {
  if (scheme === undefined) return resolveScheme('standard');
  if (typeof scheme === 'object' && scheme !== null && typeof scheme.verify === 'function') return scheme;
  if (typeof scheme === 'string' && Object.hasOwn(FACTORIES, scheme)) {
    let resolved = cache.get(scheme);
    if (!resolved) {
      resolved = FACTORIES[scheme]();
      cache.set(scheme, resolved);
    }
    return resolved;
  }
  throw new WebhookVerificationError(
    'invalid_options',
    `unknown scheme ${JSON.stringify(scheme)}; use one of ${SCHEME_NAMES.join(', ')} or a scheme object such as hmacScheme({...})`,
  );
}

export type { Scheme, SchemeSignInput, SchemeVerifyInput, SchemeVerifyResult } from './types.js';
export { standardScheme, type StandardSchemeOptions } from './standard.js';
export { stripeScheme, type StripeSchemeOptions } from './stripe.js';
export { hmacScheme, type HmacSchemeOptions } from './hmac.js';
export {
  githubScheme,
  legacyScheme,
  shopifyScheme,
  slackScheme,
  type LegacySchemeOptions,
  type SlackSchemeOptions,
} from './providers.js';
