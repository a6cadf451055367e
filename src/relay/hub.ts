import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { NOT_SENT, type SendResult } from '../delivery/http.js';
import type { ClaimedDelivery, RelayPresence } from '../store/types.js';
import { RELAY_SUBPROTOCOL, parseResponse, type DeliveryMessage, type StartMessage } from './protocol.js';

interface Pending {
  resolve: (r: SendResult) => void;
  timer: NodeJS.Timeout;
}

class Listener {
  readonly pending = new Map<string, Pending>();
  alive = true;
  constructor(readonly socket: WebSocket, readonly connectedAt: number) {}
}

export interface RelayStatus {
  connected: boolean;
  listeners: number;
  /** when the newest listener connected */
  since: number | null;
}

/**
 * The relay sockets this process holds, by endpoint. Deliveries for an endpoint go to its
 * newest listener (an older one may be a laptop that went to sleep); a socket that closes
 * hands its unanswered deliveries back as never sent.
 */
export class RelayHub {
  private readonly byEndpoint = new Map<string, Listener[]>();
  private seq = 0;
  private readonly pinger: NodeJS.Timeout;
  private readonly reporter: NodeJS.Timeout | null = null;

  constructor(
    private readonly logger: Logger,
    /** a listener connected: its endpoint's waiting deliveries can go now */
    private readonly onConnect: (endpointId: string, appId: string) => void,
    readonly pingIntervalMs: number,
    /** tells other processes which endpoints this one holds listeners for (PostgreSQL); refreshed every REPORT_MS */
    private readonly report?: (presence: RelayPresence[]) => Promise<void>,
  ) {
    this.pinger = setInterval(() => this.ping(), pingIntervalMs).unref();
    if (report) this.reporter = setInterval(() => this.byEndpoint.size > 0 && this.publishPresence(), RelayHub.REPORT_MS).unref();
  }

  /** how often presence is refreshed; a report older than three of these counts as gone */
  static readonly REPORT_MS = 2000;

  private publishPresence(): void {
    const presence = [...this.byEndpoint.keys()].map((endpointId) => {
      const s = this.status(endpointId);
      return { endpointId, listeners: s.listeners, since: s.since ?? Date.now() };
    });
    this.report?.(presence).catch((err) => {
      this.logger.warn({ err }, 'recording relay listeners failed');
    });
  }

  has(endpointId: string): boolean {
    return (this.byEndpoint.get(endpointId)?.length ?? 0) > 0;
  }

  /** endpoints with a listener here */
  endpoints(): string[] {
    return [...this.byEndpoint.keys()];
  }

  status(endpointId: string): RelayStatus {
    const list = this.byEndpoint.get(endpointId) ?? [];
    return { connected: list.length > 0, listeners: list.length, since: list.length ? list[list.length - 1].connectedAt : null };
  }

  attach(socket: WebSocket, start: Omit<StartMessage, 'pingIntervalMs'>): void {
    if (socket.protocol && socket.protocol !== RELAY_SUBPROTOCOL) {
      socket.close(1002, `unsupported protocol ${socket.protocol}`);
      return;
    }
    const listener = new Listener(socket, Date.now());
    const list = this.byEndpoint.get(start.endpointId) ?? [];
    list.push(listener);
    this.byEndpoint.set(start.endpointId, list);
    socket.on('pong', () => (listener.alive = true));
    socket.on('message', (data, isBinary) => {
      const res = isBinary ? null : parseResponse(data.toString());
      const p = res && listener.pending.get(res.id);
      if (!res || !p) return;
      listener.pending.delete(res.id);
      clearTimeout(p.timer);
      p.resolve({ statusCode: res.status, responseBody: res.body ?? (res.status === null ? null : ''), error: res.status === null ? res.error ?? 'relay_error' : null, retryAfter: res.headers?.['retry-after'] });
    });
    socket.on('close', () => this.detach(start.endpointId, listener));
    socket.on('error', (err) => this.logger.debug({ err, endpointId: start.endpointId }, 'relay socket error'));
    socket.send(JSON.stringify({ ...start, pingIntervalMs: this.pingIntervalMs } satisfies StartMessage));
    this.logger.info({ endpointId: start.endpointId, listeners: list.length }, 'relay listener connected');
    this.publishPresence();
    this.onConnect(start.endpointId, start.appId);
  }

  /** One attempt through the endpoint's newest listener; NOT_SENT when there is none or it goes away first. */
  send(d: ClaimedDelivery, attempt: number, headers: Record<string, string>, timeoutMs: number): Promise<SendResult> {
    const list = this.byEndpoint.get(d.endpoint.id);
    const listener = list?.[list.length - 1];
    if (!listener) return Promise.resolve(NOT_SENT);
    const id = `r${++this.seq}`;
    const body = Buffer.isBuffer(d.body) ? d.body : Buffer.from(d.body, 'utf8');
    const message: DeliveryMessage = {
      type: 'delivery', id, deliveryId: d.id, eventId: d.eventId, eventType: d.eventType, attempt, headers,
      body: body.toString('base64'), encoding: 'base64', timeoutMs,
    };
    return new Promise<SendResult>((resolve) => {
      // The listener answers every delivery within timeoutMs (its local request is aborted
      // then, and that is reported as a `timeout` attempt). No answer at all means the
      // listener is gone (frozen, or its network is): drop it, and this delivery and the
      // others it holds go back to waiting instead of counting as failures.
      const timer = setTimeout(() => {
        this.logger.info({ endpointId: d.endpoint.id }, 'relay listener did not answer a delivery in time; dropping it');
        listener.socket.terminate();
      }, timeoutMs + 2000);
      listener.pending.set(id, { resolve, timer });
      listener.socket.send(JSON.stringify(message), (err) => {
        if (!err || !listener.pending.has(id)) return;
        listener.pending.delete(id);
        clearTimeout(timer);
        resolve(NOT_SENT);
      });
    });
  }

  private detach(endpointId: string, listener: Listener): void {
    const list = this.byEndpoint.get(endpointId) ?? [];
    const i = list.indexOf(listener);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.byEndpoint.delete(endpointId);
    for (const p of listener.pending.values()) {
      clearTimeout(p.timer);
      p.resolve(NOT_SENT);
    }
    listener.pending.clear();
    this.logger.info({ endpointId, listeners: list.length }, 'relay listener disconnected');
    this.publishPresence();
  }

  /** A listener that didn't answer the previous ping is gone (a laptop lid closed, a NAT forgot it). */
  private ping(): void {
    for (const list of this.byEndpoint.values()) {
      for (const l of list) {
        if (!l.alive) {
          l.socket.terminate();
          continue;
        }
        l.alive = false;
        l.socket.ping();
      }
    }
  }

  close(): void {
    clearInterval(this.pinger);
    if (this.reporter) clearInterval(this.reporter);
    for (const list of this.byEndpoint.values()) for (const l of [...list]) l.socket.close(1001, 'server shutting down');
  }
}
