/**
 * The bytes a receiver gets. Rendered once at publish and stored, so every attempt sends
 * identical bytes and signatures over them verify however often they are retried. Compact
 * JSON.stringify output. Receivers must verify the raw body: one that re-serializes the parsed
 * body (as several of the product docs do) computes another HMAC as soon as its serializer
 * writes anything differently, and they do: Python's `json.dumps` writes `1e-07` for `1e-7`
 * and `\u00eb` for `ë`, PHP's `json_encode` escapes `/` and non-ASCII, JavaScript loses
 * integers past 2^53. Such a receiver fails on the first event that holds one.
 * An app's envelope profile (envelope-profile.ts) renames the fields; raw payloads bypass both.
 *
 * `sequence` is the app's publish counter (the store assigns it inside the publish
 * transaction, hence a function of it): a receiver that sees a jump knows it missed events
 * and can fetch them from GET /v1/apps/{app}/events.
 */
export interface Envelope {
  id: string;
  type: string;
  timestamp: string;
  data: unknown;
}

export interface Renderer {
  (sequence: number): string;
  /** an upper bound of the rendered size in bytes, without rendering */
  maxBytes: number;
}

/** Same bytes as JSON.stringify({id, type, timestamp, sequence, data}), with `data` serialized once. */
export function envelopeRenderer(e: Envelope): Renderer {
  const head = JSON.stringify({ id: e.id, type: e.type, timestamp: e.timestamp }).slice(0, -1);
  const data = JSON.stringify(e.data);
  const render = ((sequence: number) => `${head},"sequence":${sequence},"data":${data}}`) as Renderer;
  render.maxBytes = Buffer.byteLength(head) + Buffer.byteLength(data) + 40;
  return render;
}
