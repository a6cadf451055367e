import { Agent, request, type Dispatcher } from 'undici';

/**
 * The outbound HTTP client. One keep-alive pool per origin; redirects are never followed
 * (a 3xx is a failed attempt, so a webhook can't be bounced to another host).
 */
export interface SendResult {
  statusCode: number | null;
  /** first 4 KiB of the response, as text */
  responseBody: string | null;
  /** machine-readable reason when no response arrived */
  error: string | null;
  retryAfter: string | undefined;
}

export interface Sender {
  send(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<SendResult>;
  close(): Promise<void>;
}

const RESPONSE_KEEP = 4096;
// Past this much response body the socket is dropped rather than drained.
const RESPONSE_DRAIN_LIMIT = 64 * 1024;

const ERROR_CODES: Record<string, string> = {
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  ETIMEDOUT: 'timeout',
  ECONNREFUSED: 'connection_refused',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EAI_NODATA: 'dns',
  EAI_FAIL: 'dns',
  ECONNRESET: 'connection_reset',
  EPIPE: 'connection_reset',
  UND_ERR_SOCKET: 'connection_reset',
  UND_ERR_CLOSED: 'connection_reset',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'invalid_response',
  HPE_INVALID_CONSTANT: 'invalid_response',
};

/** Normalises what undici and the socket layer throw into a short stable code. */
export function classifyError(err: unknown): string {
  const seen = new Set<unknown>();
  let e: any = err;
  while (e && typeof e === 'object' && !seen.has(e)) {
    seen.add(e);
    if (e.name === 'AbortError' || e.name === 'TimeoutError') return 'timeout';
    if (e.code === 'blocked_address') return 'blocked_address';
    const code: string | undefined = e.code;
    if (code) {
      if (ERROR_CODES[code]) return ERROR_CODES[code];
      if (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) return 'tls';
      if (code.startsWith('HPE_')) return 'invalid_response';
    }
    e = e.cause;
  }
  return 'network_error';
}

async function readLimited(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let kept = 0;
  let total = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    total += buf.length;
    if (kept < RESPONSE_KEEP) {
      const part = buf.subarray(0, RESPONSE_KEEP - kept);
      chunks.push(part);
      kept += part.length;
    }
    if (total > RESPONSE_DRAIN_LIMIT) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function createSender(options: { connectionsPerOrigin?: number; connect?: Agent.Options['connect'] } = {}): Sender {
  const agent = new Agent({
    connections: options.connectionsPerOrigin ?? 64,
    pipelining: 1,
    keepAliveTimeout: 10_000,
    connect: { timeout: 10_000, ...(typeof options.connect === 'object' ? options.connect : {}) },
  });
  return {
    async send(url, headers, body, timeoutMs) {
      try {
        const res = await request(url, {
          method: 'POST',
          headers,
          body,
          dispatcher: agent,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        });
        const responseBody = await readLimited(res.body).catch(() => null);
        const retryAfter = res.headers['retry-after'];
        return {
          statusCode: res.statusCode,
          responseBody,
          error: null,
          retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
        };
      } catch (err) {
        return { statusCode: null, responseBody: null, error: classifyError(err), retryAfter: undefined };
      }
    },
    close: () => agent.close(),
  };
}
