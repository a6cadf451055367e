import type { Sealer } from './rows.js';
import type { TransformedRequest } from './types.js';

/**
 * A transform's output as stored: JSON, header values sealed like the endpoint's own custom
 * headers (a transform may copy a credential into one).
 */
export const sealTransformed = (sealer: Sealer, t: TransformedRequest): string =>
  JSON.stringify({ url: t.url, headers: Object.fromEntries(Object.entries(t.headers).map(([k, v]) => [k, sealer.seal(v)])), body: t.body });

export function openTransformed(sealer: Sealer, stored: string | null | undefined): TransformedRequest | null {
  if (stored == null) return null;
  const t = JSON.parse(stored) as TransformedRequest;
  return { url: t.url, headers: Object.fromEntries(Object.entries(t.headers).map(([k, v]) => [k, sealer.open(v)])), body: t.body };
}
