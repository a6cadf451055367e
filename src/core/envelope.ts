/**
 * The bytes a receiver gets. Computed once at publish and stored, so every attempt sends
 * identical bytes and signatures over them verify however often they are retried. Compact
 * JSON.stringify output, so receivers that re-serialize the parsed body (as several of the
 * product docs do) still compute the same HMAC for ASCII payloads.
 */
export interface Envelope {
  id: string;
  type: string;
  timestamp: string;
  data: unknown;
}

export function envelopeBody(e: Envelope): string {
  return JSON.stringify({ id: e.id, type: e.type, timestamp: e.timestamp, data: e.data });
}
