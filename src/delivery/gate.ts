import type { ClaimedDelivery, Endpoint } from '../store/types.js';

/**
 * Per-endpoint throttle in the worker: concurrent requests (maxInFlight), deliveries per
 * second (token bucket) and a small in-memory queue in front of them. Deliveries beyond what
 * the endpoint can take within about a second go back to the database, spread over the time
 * the endpoint needs to get through them, so a slow or throttled endpoint never holds the
 * worker's capacity that healthy endpoints need.
 */
export class EndpointGate {
  inFlight = 0;
  readonly queue: ClaimedDelivery[] = [];
  /** circuit open or endpoint disabled, learned from recorded outcomes */
  blocked = false;
  private maxInFlight: number;
  private rate: number | null;
  private tokens: number;
  private refilledAt: number;
  private deferredUntil = 0;
  /**
   * Moving average of attempt durations: how fast this endpoint gets through its queue.
   * Starts optimistic, so a new endpoint gets room at once; a slow one shows itself quickly.
   */
  private avgMs = 20;

  constructor(endpoint: Endpoint, defaultMaxInFlight: number, now: number) {
    this.maxInFlight = endpoint.maxInFlight ?? defaultMaxInFlight;
    this.rate = endpoint.rateLimit;
    this.tokens = this.burst();
    this.refilledAt = now;
  }

  /** Endpoint settings can change between claims; pick up the latest. */
  configure(endpoint: Endpoint, defaultMaxInFlight: number): void {
    this.maxInFlight = endpoint.maxInFlight ?? defaultMaxInFlight;
    if (this.rate !== endpoint.rateLimit) {
      this.rate = endpoint.rateLimit;
      this.tokens = Math.min(this.tokens, this.burst());
    }
  }

  /** A tenth of a second's worth, at least one: arrivals per second stay close to the rate. */
  private burst(): number {
    return this.rate === null ? Infinity : Math.max(1, this.rate / 10);
  }

  private refill(now: number): void {
    if (this.rate === null) return;
    this.tokens = Math.min(this.burst(), this.tokens + ((now - this.refilledAt) / 1000) * this.rate);
    this.refilledAt = now;
  }

  /** @param share the most this endpoint may have in flight while others want slots too */
  canStart(now: number, share: number): boolean {
    if (this.inFlight >= Math.min(this.maxInFlight, share)) return false;
    this.refill(now);
    return this.tokens >= 1;
  }

  started(): void {
    this.inFlight++;
    if (this.rate !== null) this.tokens -= 1;
  }

  finished(durationMs: number): void {
    this.inFlight--;
    this.avgMs += (durationMs - this.avgMs) * 0.1;
  }

  /** ms until the bucket has a token again (0 when only maxInFlight is in the way). */
  waitMs(now: number): number {
    if (this.rate === null || this.inFlight >= this.maxInFlight) return 0;
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.rate) * 1000);
  }

  /** Deliveries per second this endpoint can take: its rate limit, or what its latency allows. */
  serviceRate(): number {
    const byLatency = this.maxInFlight / Math.max(this.avgMs / 1000, 0.001);
    return this.rate === null ? byLatency : Math.min(this.rate, byLatency);
  }

  /** Room in the in-memory queue: about one second of work. */
  hasRoom(): boolean {
    return this.queue.length < Math.max(1, Math.ceil(this.serviceRate()));
  }

  /** When a delivery that doesn't fit should be due again: after the queue, one slot after the previous one. */
  deferAt(now: number): number {
    const rate = this.serviceRate();
    this.deferredUntil = Math.max(this.deferredUntil, now + (this.queue.length / rate) * 1000) + 1000 / rate;
    return Math.round(this.deferredUntil);
  }

  get idle(): boolean {
    return this.inFlight === 0 && this.queue.length === 0;
  }
}
