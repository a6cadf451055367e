import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Logger } from 'pino';
import { decide, parseRetryAfter } from '../core/retry.js';
import { newId } from '../ids.js';
import type { Metrics } from '../metrics.js';
import { PARKED_AT, type AttemptOutcome, type ClaimedDelivery, type Store } from '../store/types.js';
import { deliveryHeaders } from './headers.js';
import type { Sender } from './http.js';

export interface WorkerOptions {
  store: Store;
  sender: Sender;
  logger: Logger;
  metrics?: Metrics;
  /** requests in flight at most */
  concurrency: number;
  defaults: { retrySchedule: number[]; retryJitter: number; maxRetryAfterSeconds: number; timeoutMs: number };
  /** rows claimed per statement */
  batchSize?: number;
  /** longest idle sleep; bounds how late work written by another process is noticed */
  idleMaxMs?: number;
  /** outcomes are written in one transaction at most this often */
  flushIntervalMs?: number;
}

/**
 * The delivery loop: claim a batch of due deliveries in one statement, send each, and write
 * the results back in batches. Idle, it sleeps until the earliest scheduled retry or until
 * `notify()` (called after a publish commits), so it neither polls in a tight loop nor adds
 * latency to fresh events.
 */
export class DeliveryWorker {
  readonly id = newId('dlv').replace('dlv_', 'wrk_');
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private readonly inflight = new Set<string>();
  /** deliveries handed over by a publish in this process, waiting for a free slot */
  private readonly queue: ClaimedDelivery[] = [];
  private reserved = 0;
  private wakeUp: (() => void) | null = null;
  private notified = false;
  private outcomes: AttemptOutcome[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private readonly batchSize: number;
  private readonly lowWater: number;
  private readonly leaseMs: number;

  constructor(private readonly o: WorkerOptions) {
    this.batchSize = o.batchSize ?? 500;
    // Refill only when a quarter of the slots are free, so claims stay batched under load.
    this.lowWater = Math.max(1, Math.min(this.batchSize, Math.floor(o.concurrency / 4)));
    // Long enough for the slowest allowed request plus the result flush.
    this.leaseMs = Math.max(o.defaults.timeoutMs, 300_000) + 60_000;
  }

  get inFlight(): number {
    return this.inflight.size;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop().catch((err) => this.o.logger.error({ err }, 'delivery loop crashed'));
  }

  /**
   * Hand-off from a publish in this process: how many fresh deliveries the worker takes
   * directly (sent now or queued in memory, at most 2 × concurrency held). The caller writes
   * that many already leased to `id` and passes them to `accept`, or calls `accept(n, [])`.
   */
  reserve(max: number): { owner: string; until: number; limit: number } | null {
    if (!this.running) return null;
    const room = 2 * this.o.concurrency - this.inflight.size - this.queue.length - this.reserved;
    const limit = Math.max(0, Math.min(max, room));
    if (limit === 0) return null;
    this.reserved += limit;
    return { owner: this.id, until: Date.now() + this.leaseMs, limit };
  }

  accept(reserved: number, deliveries: ClaimedDelivery[]): void {
    this.reserved -= reserved;
    if (deliveries.length === 0) return;
    if (!this.running) {
      // Stopped in between: hand them back so the next start (or another worker) sends them.
      this.o.store.releaseClaims(deliveries.map((d) => d.id), Date.now())
        .catch((err) => this.o.logger.error({ err }, 'releasing handed-over deliveries failed'));
      return;
    }
    this.dispatch(deliveries);
  }

  /** New work may be due now (a publish committed, a retry was requested). */
  notify(): void {
    this.notified = true;
    this.wakeUp?.();
  }

  /** Stop claiming, give in-flight attempts `graceMs` to finish, write their results, hand back the rest. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wakeUp?.();
    await this.loopDone;
    const queued = this.queue.splice(0).map((d) => d.id);
    if (queued.length > 0) await this.o.store.releaseClaims(queued, Date.now());
    const deadline = Date.now() + graceMs;
    while (this.inflight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await this.flush();
    if (this.inflight.size > 0) {
      const ids = [...this.inflight];
      this.inflight.clear();
      await this.o.store.releaseClaims(ids, Date.now());
      this.o.logger.warn({ count: ids.length }, 'released unfinished deliveries at shutdown');
    }
  }

  private async loop(): Promise<void> {
    const idleMaxMs = this.o.idleMaxMs ?? 1000;
    while (this.running) {
      this.pump();
      const free = this.o.concurrency - this.inflight.size;
      if (this.queue.length > 0 || free <= 0 || (this.inflight.size > 0 && free < this.lowWater)) {
        await this.sleep(idleMaxMs);
        continue;
      }
      const want = Math.min(free, this.batchSize);
      this.notified = false;
      let claimed: ClaimedDelivery[];
      try {
        const now = Date.now();
        claimed = await this.o.store.claimDue(this.id, now, now + this.leaseMs, want);
      } catch (err) {
        this.o.logger.error({ err }, 'claiming deliveries failed; retrying in 1s');
        await this.sleep(1000);
        continue;
      }
      this.dispatch(claimed);
      if (claimed.length === want) {
        await yieldToLoop();
        continue;
      }
      if (this.notified) continue;
      const next = await this.o.store.nextDueAt().catch(() => null);
      const wait = next === null ? idleMaxMs : Math.min(idleMaxMs, next - Date.now());
      if (wait > 0) await this.sleep(wait);
    }
  }

  /** Starts queued hand-overs while there are free slots. */
  private pump(): void {
    while (this.queue.length > 0 && this.inflight.size < this.o.concurrency) this.send(this.queue.shift()!);
  }

  private send(d: ClaimedDelivery): void {
    this.inflight.add(d.id);
    this.attempt(d)
      .then((outcome) => this.record(outcome))
      .catch((err) => this.o.logger.error({ err, deliveryId: d.id }, 'delivery attempt crashed'))
      .finally(() => {
        this.inflight.delete(d.id);
        if (this.queue.length > 0) this.pump();
        else if (this.o.concurrency - this.inflight.size >= this.lowWater) this.wakeUp?.();
      });
  }

  private dispatch(claimed: ClaimedDelivery[]): void {
    const parked: string[] = [];
    for (const d of claimed) {
      // A disabled endpoint keeps its pending deliveries; they wait, parked, until it is re-enabled.
      if (d.endpoint.status !== 'active') parked.push(d.id);
      else if (this.inflight.size < this.o.concurrency) this.send(d);
      else this.queue.push(d);
    }
    if (parked.length > 0) {
      this.o.store.releaseClaims(parked, PARKED_AT).catch((err) => this.o.logger.error({ err }, 'parking deliveries failed'));
    }
  }

  private async attempt(d: ClaimedDelivery): Promise<AttemptOutcome> {
    const ep = d.endpoint;
    const number = d.attemptCount + 1;
    const startedAt = Date.now();
    const headers = deliveryHeaders(d, number, Math.floor(startedAt / 1000));
    const t0 = performance.now();
    const res = await this.o.sender.send(ep.url, headers, d.body, ep.timeoutMs ?? this.o.defaults.timeoutMs);
    const durationMs = Math.round(performance.now() - t0);
    const decision = decide(
      { statusCode: res.statusCode, retryAfterSeconds: parseRetryAfter(res.retryAfter) },
      number,
      d.oneShot,
      {
        schedule: ep.retrySchedule ?? this.o.defaults.retrySchedule,
        jitter: this.o.defaults.retryJitter,
        maxRetryAfterSeconds: this.o.defaults.maxRetryAfterSeconds,
      },
    );
    const m = this.o.metrics;
    if (m) {
      m.attemptDuration.observe(durationMs / 1000);
      m.deliveries.inc({ outcome: decision.status === 'pending' ? 'retry' : decision.status });
    }
    return {
      deliveryId: d.id,
      endpointId: ep.id,
      status: decision.status,
      nextAttemptAt: decision.status === 'pending' ? Date.now() + decision.delayMs : null,
      disableEndpoint: decision.status === 'failed' ? decision.disableEndpoint : undefined,
      attempt: {
        id: newId('att', startedAt),
        deliveryId: d.id,
        endpointId: ep.id,
        number,
        startedAt,
        durationMs,
        statusCode: res.statusCode,
        responseBody: res.responseBody,
        error: res.error,
      },
    };
  }

  private record(outcome: AttemptOutcome): void {
    this.outcomes.push(outcome);
    if (this.outcomes.length >= this.batchSize) void this.flush();
    else if (!this.flushTimer) this.flushTimer = setTimeout(() => void this.flush(), this.o.flushIntervalMs ?? 5);
  }

  /** Writes buffered outcomes; flushes are chained so they never overlap. */
  flush(): Promise<void> {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    const batch = this.outcomes;
    if (batch.length === 0) return this.flushing;
    this.outcomes = [];
    this.flushing = this.flushing
      .then(() => this.o.store.recordOutcomes(batch, Date.now()))
      .then(() => {
        // A retry due sooner than the worker's current sleep must wake it.
        if (batch.some((o) => o.status === 'pending')) this.notify();
      })
      .catch((err) => this.o.logger.error({ err, count: batch.length }, 'writing attempt results failed; their leases will expire and they will be retried'));
    return this.flushing;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = null;
        done();
      };
    });
  }
}
