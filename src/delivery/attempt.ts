import { isRelay } from '../core/relay.js';
import { decide, parseRetryAfter } from '../core/retry.js';
import { newId } from '../ids.js';
import type { Metrics } from '../metrics.js';
import type { AttemptOutcome, ClaimedDelivery } from '../store/types.js';
import { deliveryHeaders } from './headers.js';
import { NOT_SENT, type Sender, type SendResult } from './http.js';
import type { TransformStore } from '../store/transforms.js';
import { sharedSandbox, type Sandbox } from '../transform/sandbox.js';
import { prepareDelivery, type Prepared } from './transform.js';

/** Sends a relay endpoint's attempt down its listener's socket (see relay/hub.ts). */
export interface RelaySender {
  send(d: ClaimedDelivery, attempt: number, headers: Record<string, string>, timeoutMs: number): Promise<SendResult>;
}

export interface AttemptContext {
  sender: Sender;
  relay?: RelaySender;
  metrics?: Metrics;
  defaults: { retrySchedule: number[]; retryJitter: number; maxRetryAfterSeconds: number; timeoutMs: number };
  /** where endpoint transforms' outputs are kept; without it, transforms run but retries can't resend their output */
  store?: TransformStore;
  /** runs endpoint transforms; default the process's shared sandbox */
  sandbox?: Sandbox;
}

const NO_STORE: TransformStore = { saveTransformed: async () => undefined, getTransformed: async () => null };

/**
 * Transforms started when deliveries reach the worker (see prefetch), so that their run in the
 * sandbox thread overlaps the wait for a slot instead of holding one: run in the slot, the
 * round trip kept each transformed delivery's request slot ~2 ms longer, and at the 50-endpoint
 * fan-out that cost a third of the deliveries/s.
 */
const prefetched = new WeakMap<ClaimedDelivery, Promise<Prepared>>();

/** Starts preparing a delivery of an endpoint with a transform; its attempt picks the result up. */
export function prefetch(d: ClaimedDelivery, ctx: Pick<AttemptContext, 'store' | 'sandbox'>): void {
  if (!d.endpoint.transform || d.headers !== null || prefetched.has(d)) return;
  const p = prepareDelivery(d, ctx.store ?? NO_STORE, () => ctx.sandbox ?? sharedSandbox());
  p.catch(() => undefined); // awaited by the attempt; a delivery handed back unsent never is
  prefetched.set(d, p);
}

function prepared(d: ClaimedDelivery, ctx: AttemptContext): Promise<Prepared> {
  const p = prefetched.get(d);
  if (p) {
    prefetched.delete(d);
    return p;
  }
  return prepareDelivery(d, ctx.store ?? NO_STORE, () => ctx.sandbox ?? sharedSandbox());
}

/**
 * One attempt: sign, send, and decide from the response what becomes of the delivery.
 * Null when nothing was sent (a relay endpoint whose listener is gone): no attempt to record.
 */
export async function attempt(d: ClaimedDelivery, probe: boolean, ctx: AttemptContext): Promise<AttemptOutcome | null> {
  const ep = d.endpoint;
  const number = d.attemptCount + 1;
  const startedAt = Date.now();
  const t0 = performance.now();
  // The endpoint's transform runs before signing: the signatures cover what is sent.
  const ready = await prepared(d, ctx);
  let res: SendResult;
  if (ready.kind === 'send') {
    const sent = ready.delivery;
    const headers = deliveryHeaders(sent, number, Math.floor(startedAt / 1000));
    const timeoutMs = ep.timeoutMs ?? ctx.defaults.timeoutMs;
    res = isRelay(ep)
      ? await (ctx.relay?.send(sent, number, headers, timeoutMs) ?? NOT_SENT)
      : await ctx.sender.send(sent.endpoint.url, headers, sent.body, timeoutMs);
    if (res.notSent) return null;
  } else if (ready.kind === 'skip') {
    // Nothing sent, nothing to retry: the delivery is done, its attempt says why.
    res = { statusCode: null, responseBody: null, error: 'skipped_by_transform', retryAfter: undefined };
  } else {
    res = { statusCode: null, responseBody: null, error: `transform_failed: ${ready.error}`.slice(0, 1000), retryAfter: undefined };
  }
  const durationMs = Math.round(performance.now() - t0);
  const decision = ready.kind === 'skip' ? ({ status: 'success' } as const) : decide(
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
    transformed: ready.kind === 'send' ? ready.transformed : undefined,
    attempt: {
      id: newId('att', startedAt), deliveryId: d.id, endpointId: ep.id, number, startedAt, durationMs,
      statusCode: res.statusCode, responseBody: res.responseBody, error: res.error,
    },
  };
}
