import { decide, parseRetryAfter } from '../core/retry.js';
import { newId } from '../ids.js';
import type { Metrics } from '../metrics.js';
import type { AttemptOutcome, ClaimedDelivery } from '../store/types.js';
import { deliveryHeaders } from './headers.js';
import type { Sender } from './http.js';

export interface AttemptContext {
  sender: Sender;
  metrics?: Metrics;
  defaults: { retrySchedule: number[]; retryJitter: number; maxRetryAfterSeconds: number; timeoutMs: number };
}

/** One attempt: sign, send, and decide from the response what becomes of the delivery. */
export async function attempt(d: ClaimedDelivery, probe: boolean, ctx: AttemptContext): Promise<AttemptOutcome> {
  const ep = d.endpoint;
  const number = d.attemptCount + 1;
  const startedAt = Date.now();
  const headers = deliveryHeaders(d, number, Math.floor(startedAt / 1000));
  const t0 = performance.now();
  const res = await ctx.sender.send(ep.url, headers, d.body, ep.timeoutMs ?? ctx.defaults.timeoutMs);
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
