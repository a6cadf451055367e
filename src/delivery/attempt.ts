import { isRelay } from '../core/relay.js';
import { decide, parseRetryAfter } from '../core/retry.js';
import { newId } from '../ids.js';
import type { Metrics } from '../metrics.js';
import type { AttemptOutcome, ClaimedDelivery } from '../store/types.js';
import { deliveryHeaders } from './headers.js';
import { NOT_SENT, type Sender, type SendResult } from './http.js';

/** Sends a relay endpoint's attempt down its listener's socket (see relay/hub.ts). */
export interface RelaySender {
  send(d: ClaimedDelivery, attempt: number, headers: Record<string, string>, timeoutMs: number): Promise<SendResult>;
}

export interface AttemptContext {
  sender: Sender;
  relay?: RelaySender;
  metrics?: Metrics;
  defaults: { retrySchedule: number[]; retryJitter: number; maxRetryAfterSeconds: number; timeoutMs: number };
}

/**
 * One attempt: sign, send, and decide from the response what becomes of the delivery.
 * Null when nothing was sent (a relay endpoint whose listener is gone): no attempt to record.
 */
export async function attempt(d: ClaimedDelivery, probe: boolean, ctx: AttemptContext): Promise<AttemptOutcome | null> {
  const ep = d.endpoint;
  const number = d.attemptCount + 1;
  const startedAt = Date.now();
  const headers = deliveryHeaders(d, number, Math.floor(startedAt / 1000));
  const t0 = performance.now();
  const timeoutMs = ep.timeoutMs ?? ctx.defaults.timeoutMs;
  const res = isRelay(ep)
    ? await (ctx.relay?.send(d, number, headers, timeoutMs) ?? NOT_SENT)
    : await ctx.sender.send(ep.url, headers, d.body, timeoutMs);
  if (res.notSent) return null;
  const durationMs = Math.round(performance.now() - t0);
  const decision = decide(
    { statusCode: res.statusCode, retryAfterSeconds: parseRetryAfter(res.retryAfter) },
    number,
    d.oneShot,
    {
      schedule: ep.retrySchedule ?? ctx.defaults.retrySchedule,
      jitter: ctx.defaults.retryJitter,
      maxRetryAfterSeconds: ctx.defaults.maxRetryAfterSeconds,
    },
  );
  const m = ctx.metrics;
  if (m) {
    m.attemptDuration.observe(durationMs / 1000);
    m.outcome(decision.status === 'pending' ? 'retry' : decision.status).inc();
  }
  return {
    deliveryId: d.id,
    endpointId: ep.id,
    status: decision.status,
    nextAttemptAt: decision.status === 'pending' ? Date.now() + decision.delayMs : null,
    disableEndpoint: decision.status === 'failed' ? decision.disableEndpoint : undefined,
    probe: probe || undefined,
    orderingKey: d.orderingKey,
    attempt: {
      id: newId('att', startedAt), deliveryId: d.id, endpointId: ep.id, number, startedAt, durationMs,
      statusCode: res.statusCode, responseBody: res.responseBody, error: res.error,
    },
  };
}
