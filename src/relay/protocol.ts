/**
 * The relay protocol between a Herald server and `herald listen`, over one WebSocket that
 * the listener opens to `GET /v1/apps/{app}/endpoints/{ep}/relay` (Authorization: Bearer).
 * JSON text frames, one message each; liveness by WebSocket ping/pong in both directions
 * (every `pingIntervalMs` of the start message, 10 s by default; a side that saw no pong
 * since its previous ping drops the socket, so a dead peer is noticed within two intervals).
 *
 *   server → listener  start     once, after the upgrade: which endpoint this socket serves
 *   server → listener  delivery  one attempt: the exact headers and body Herald would POST
 *   listener → server  response  what the local server answered (or why it couldn't)
 *
 * A delivery unanswered when the socket closes was never attempted as far as Herald is
 * concerned: it goes back to waiting for a listener and is sent again on reconnect.
 */
export const RELAY_SUBPROTOCOL = 'herald-relay.v1';
/** until the start message says otherwise */
export const PING_INTERVAL_MS = 10_000;
/** responses are kept to this many bytes of body (as every attempt's response is) */
export const RESPONSE_BODY_LIMIT = 4096;
/**
 * The largest frame a listener takes: a delivery of the largest body a server can be set to
 * accept (HERALD_MAX_PAYLOAD_BYTES ≤ 64 MiB), base64, with its headers.
 */
export const MAX_DELIVERY_FRAME = Math.ceil((64 * 1024 * 1024 * 4) / 3) + 1024 * 1024;

export interface StartMessage {
  type: 'start';
  endpointId: string;
  appId: string;
  events: string[];
  /** both sides ping this often */
  pingIntervalMs: number;
}

export interface DeliveryMessage {
  type: 'delivery';
  /** this request's id within the socket, echoed by the response */
  id: string;
  deliveryId: string;
  eventId: string;
  eventType: string;
  attempt: number;
  headers: Record<string, string>;
  /**
   * The body's bytes, base64: always, so a frame is at most 4/3 of the body plus headers
   * whatever the bytes are (JSON-escaping control characters would take up to 6×).
   */
  body: string;
  encoding: 'base64';
  /** how long Herald waits for the response */
  timeoutMs: number;
}

export interface ResponseMessage {
  type: 'response';
  id: string;
  /** null when the local server gave no response; `error` says why */
  status: number | null;
  headers?: Record<string, string>;
  body?: string;
  error?: string;
  durationMs: number;
}

export type ServerMessage = StartMessage | DeliveryMessage;
export type ListenerMessage = ResponseMessage;

/** Parses a listener's frame; null for anything that isn't a well-formed response. */
export function parseResponse(data: string): ResponseMessage | null {
  let m: unknown;
  try {
    m = JSON.parse(data);
  } catch {
    return null;
  }
  if (!m || typeof m !== 'object') return null;
  const r = m as Partial<ResponseMessage>;
  if (r.type !== 'response' || typeof r.id !== 'string') return null;
  if (r.status !== null && !(Number.isInteger(r.status) && r.status! >= 100 && r.status! <= 599)) return null;
  const retryAfter = r.headers && typeof r.headers === 'object' ? (r.headers as Record<string, unknown>)['retry-after'] : undefined;
  return {
    type: 'response', id: r.id, status: r.status ?? null,
    // Of the local server's headers only Retry-After matters to Herald (a local 429 or 503 is retried after it).
    headers: typeof retryAfter === 'string' ? { 'retry-after': retryAfter.slice(0, 64) } : undefined,
    body: typeof r.body === 'string' ? r.body.slice(0, RESPONSE_BODY_LIMIT) : undefined,
    error: typeof r.error === 'string' ? r.error.slice(0, 64) : undefined,
    durationMs: typeof r.durationMs === 'number' && Number.isFinite(r.durationMs) ? Math.max(0, Math.round(r.durationMs)) : 0,
  };
}
