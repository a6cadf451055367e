import WebSocket from 'ws';
import {
  MAX_DELIVERY_FRAME, PING_INTERVAL_MS, RELAY_SUBPROTOCOL, RESPONSE_BODY_LIMIT,
  type DeliveryMessage, type ResponseMessage, type ServerMessage, type StartMessage,
} from './protocol.js';

/** Headers that describe one hop, not the webhook: the local request gets its own. */
const HOP_BY_HOP = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive', 'upgrade', 'te', 'trailer']);

export interface Forwarded {
  message: DeliveryMessage;
  response: ResponseMessage;
}

export interface ListenerOptions {
  /** ws(s)://…/v1/apps/{app}/endpoints/{ep}/relay */
  wsUrl: string;
  apiKey: string;
  /** where each delivery is POSTed */
  target: string;
  onStart?: (m: StartMessage) => void;
  onForwarded?: (f: Forwarded) => void;
  /** lost the connection; reconnecting in `retryInMs` */
  onDisconnect?: (reason: string, retryInMs: number) => void;
  /** the server refused the connection for good (bad key, unknown endpoint): stop */
  onRefused?: (status: number, message: string) => void;
}

/** Replays one delivery against the local server, exactly as Herald would have sent it. */
export async function forward(target: string, m: DeliveryMessage): Promise<ResponseMessage> {
  const headers = Object.fromEntries(Object.entries(m.headers).filter(([k]) => !HOP_BY_HOP.has(k.toLowerCase())));
  const body = Buffer.from(m.body, 'base64');
  const t0 = performance.now();
  try {
    const res = await fetch(target, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(m.timeoutMs) });
    const text = await res.text();
    const resHeaders: Record<string, string> = {};
    res.headers.forEach((v, k) => (resHeaders[k] = v));
    return {
      type: 'response', id: m.id, status: res.status, headers: resHeaders,
      body: text.slice(0, RESPONSE_BODY_LIMIT), durationMs: Math.round(performance.now() - t0),
    };
  } catch (err) {
    return { type: 'response', id: m.id, status: null, error: classify(err), durationMs: Math.round(performance.now() - t0) };
  }
}

function classify(err: unknown): string {
  const e = err as { name?: string; cause?: { code?: string } };
  if (e?.name === 'TimeoutError') return 'timeout';
  const code = e?.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection_refused';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection_reset';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'dns';
  return 'network_error';
}

/**
 * The `herald listen` end of the relay: keeps one WebSocket open to the server, reconnecting
 * with backoff (0.5 s doubling to 30 s, ±20 %; back to 0.5 s once a connection starts), and
 * forwards every delivery to the local target. Pings at the server's interval (10 s unless
 * configured) and drops a connection whose previous ping went unanswered, so a dead server or
 * NAT path is noticed within two intervals instead of at the next TCP timeout.
 */
export class RelayListener {
  private socket: WebSocket | null = null;
  private stopped = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(private readonly o: ListenerOptions) {}

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.socket?.close(1000, 'listener stopped');
  }

  private connect(): void {
    const socket = new WebSocket(this.o.wsUrl, RELAY_SUBPROTOCOL, {
      headers: { authorization: `Bearer ${this.o.apiKey}` },
      handshakeTimeout: 10_000,
      maxPayload: MAX_DELIVERY_FRAME,
    });
    this.socket = socket;
    let alive = true;
    let pinger: NodeJS.Timeout | null = null;
    let reason = 'closed';
    /** the upgrade was answered with an HTTP error: that answer, not the close, decides what's next */
    let refusedWith = false;

    socket.on('unexpected-response', (_req, res) => {
      refusedWith = true;
      let text = '';
      res.on('data', (c: Buffer) => (text += c));
      res.on('end', () => {
        let message = text;
        try {
          message = (JSON.parse(text) as { error: { code: string; message: string } }).error.message;
        } catch {
          /* not Herald's JSON */
        }
        const status = res.statusCode ?? 0;
        // A refusal that retrying can't fix ends the listener; anything else (a 502 from a proxy
        // while Herald restarts, a 503) is retried like a dropped connection.
        if ([400, 401, 403, 404, 409].includes(status)) {
          this.stopped = true;
          this.o.onRefused?.(status, message);
        } else this.retry(`HTTP ${status}${message ? `: ${message.slice(0, 200)}` : ''}`);
      });
      socket.terminate();
    });
    const keepAlive = (ms: number) => {
      if (pinger) clearInterval(pinger);
      pinger = setInterval(() => {
        if (!alive) {
          reason = 'no pong from the server';
          socket.terminate();
          return;
        }
        alive = false;
        socket.ping();
      }, ms);
    };
    socket.on('open', () => keepAlive(PING_INTERVAL_MS));
    socket.on('pong', () => (alive = true));
    socket.on('message', (data) => {
      let m: ServerMessage;
      try {
        m = JSON.parse(data.toString()) as ServerMessage;
      } catch {
        return;
      }
      if (m.type === 'start') {
        this.failures = 0;
        if (Number.isFinite(m.pingIntervalMs) && m.pingIntervalMs >= 100) keepAlive(m.pingIntervalMs);
        this.o.onStart?.(m);
      } else if (m.type === 'delivery') {
        void forward(this.o.target, m).then((response) => {
          if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(response));
          this.o.onForwarded?.({ message: m, response });
        });
      }
    });
    socket.on('error', (err) => (reason = err.message));
    socket.on('close', (code, why) => {
      if (pinger) clearInterval(pinger);
      if (this.socket === socket) this.socket = null;
      if (refusedWith) return;
      if (code === 1001) reason = 'the server is shutting down';
      else if (why.length > 0) reason = why.toString();
      this.retry(reason);
    });
  }

  private retry(reason: string): void {
    if (this.stopped || this.retryTimer) return;
    const delay = Math.round(Math.min(30_000, 500 * 2 ** this.failures++) * (0.8 + Math.random() * 0.4));
    this.o.onDisconnect?.(reason, delay);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped) this.connect();
    }, delay);
  }
}
