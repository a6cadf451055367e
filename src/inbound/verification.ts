import { WebhookVerificationError } from '../sdk/receiver/errors.js';
import { hmacScheme, resolveScheme, type Scheme } from '../sdk/receiver/schemes/index.js';
import type { SourceVerification } from '../store/inbound.js';

/**
 * A source's signature check, built once per source configuration from the receiver SDK's
 * schemes, so the gateway verifies exactly as the SDK does (and is tested against the
 * providers' own packages there).
 */
export interface Verifier {
  /** Resolves with the scheme's delivery id and signed timestamp (if it has them); rejects with a WebhookVerificationError. */
  verify(body: Buffer, header: (name: string) => string | undefined, nowSeconds: number): Promise<{ id?: string; timestamp?: number }>;
  /** for schemes whose delivery id is in the payload (Stripe `id`, Slack `event_id`) */
  idFromEvent(event: unknown): string | undefined;
  readonly scheme: string;
}

export function buildScheme(v: SourceVerification): Scheme | null {
  if (v.scheme === 'none') return null;
  if (v.scheme === 'hmac') {
    return hmacScheme({
      name: 'hmac', header: v.header!, algorithm: v.algorithm, encoding: v.encoding, prefix: v.prefix,
      signedContent: v.signedContent, timestampHeader: v.timestampHeader, idHeader: v.idHeader,
      secretEncoding: v.secretEncoding, toleranceSeconds: v.toleranceSeconds,
    });
  }
  return resolveScheme(v.scheme);
}

export function createVerifier(v: SourceVerification): Verifier {
  const scheme = buildScheme(v);
  if (!scheme) return { scheme: 'none', verify: async () => ({}), idFromEvent: () => undefined };
  return {
    scheme: scheme.name,
    verify: (body, header, now) => scheme.verify({ body, header, secrets: v.secrets, now, toleranceSeconds: v.toleranceSeconds }),
    idFromEvent: (event) => scheme.idFromEvent?.(event),
  };
}

/**
 * Checks a configuration by building its scheme and signing an empty body with each secret,
 * which is where a scheme rejects a secret it can't use (a Standard Webhooks secret that
 * isn't base64, say); a message for the 422 when it can't be used.
 */
export async function verificationProblem(v: SourceVerification): Promise<string | null> {
  if (v.scheme !== 'none' && v.secrets.length === 0) return `scheme '${v.scheme}' needs at least one secret`;
  if (v.scheme === 'hmac' && !v.header) return "scheme 'hmac' needs `header`, the header carrying the signature";
  try {
    const scheme = buildScheme(v);
    for (const [i, secret] of v.secrets.entries()) {
      try {
        await scheme?.sign({ body: new Uint8Array(0), secrets: [secret], id: 'check', timestamp: 0 });
      } catch (err) {
        if (err instanceof WebhookVerificationError) return `secrets[${i}]: ${err.message}`;
        throw err;
      }
    }
    return null;
  } catch (err) {
    return err instanceof WebhookVerificationError ? err.message : String(err);
  }
}
