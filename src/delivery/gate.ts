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
  /** circuit open or endpoint disabled, as last read from the database or learned from outcomes */
  held = false;
  /**
   * Consecutive failures seen here, ahead of the batched write that opens the circuit in the
   * database: at the threshold this worker stops sending at once instead of a flush later.
   */
  failures = 0;
  /** until when; bounded, in case the database sees it otherwise (another worker's successes) */
  private trippedUntil = 0;
  /** last time an attempt finished, or the first one started after a quiet spell */
  private progressAt = 0;
  /** last time a delivery for this endpoint was sent or queued: endpoints with recent traffic share the slots */
  lastActiveAt = 0;
  private maxInFlight: number;
  private rate: number | null;
  private tokens: number;
  private refilledAt: number;
  private deferredUntil = 0;
  /**
   * Moving average of attempt durations: how fast this endpoint gets through its queue.
   * Starts at 20 ms (an unknown endpoint is assumed fast, so nothing is deferred on a guess);
   * a request outstanding for longer than the average counts as that slow.
   */
  private avgMs = 20;

  constructor(endpoint: Endpoint, defaultMaxInFlight: number, workers: number, now: number) {
    this.maxInFlight = 0;
    this.rate = null;
    this.configure(endpoint, defaultMaxInFlight, workers);
    this.tokens = this.burst();
    this.refilledAt = now;
  }

  /**
   * Endpoint settings can change between claims; pick up the latest. With several worker
   * processes each enforces its part of the endpoint's limits (`workers` alive, from the
   * heartbeat), so together they keep to them without a round trip per delivery.
   */
  configure(endpoint: Endpoint, defaultMaxInFlight: number, workers: number): void {
    const n = Math.max(1, workers);
    this.maxInFlight = Math.max(1, Math.floor((endpoint.maxInFlight ?? defaultMaxInFlight) / n));
    const rate = endpoint.rateLimit === null ? null : endpoint.rateLimit / n;
    if (this.rate !== rate) {
      this.rate = rate;
      this.tokens = Math.min(this.tokens ?? 0, this.burst());
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

  get blocked(): boolean {
    return this.held || (this.trippedUntil !== 0 && Date.now() < this.trippedUntil);
  }

  started(now: number): void {
    if (this.inFlight === 0) this.progressAt = now;
    this.inFlight++;
    if (this.rate !== null) this.tokens -= 1;
  }

  finished(durationMs: number, ok: boolean, circuit: { threshold: number; cooldownMs: number }, now: number): void {
    this.inFlight--;
    this.progressAt = now;
    this.avgMs += (durationMs - this.avgMs) * 0.1;
    this.failures = ok ? 0 : this.failures + 1;
    if (this.failures >= circuit.threshold) this.trippedUntil = now + circuit.cooldownMs;
  }

  /** An attempt that never went out (a relay listener went away): neither a success nor a failure. */
  abandoned(now: number): void {
    this.inFlight--;
    this.progressAt = now;
  }

  /** Recovered (probe succeeded, re-enabled): start counting afresh. */
  reset(): void {
    this.held = false;
    this.trippedUntil = 0;
    this.failures = 0;
  }

  /** ms until the bucket has a token again (0 when only maxInFlight is in the way). */
  waitMs(now: number): number {
    if (this.rate === null || this.inFlight >= this.maxInFlight) return 0;
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.rate) * 1000);
  }

  /**
   * Deliveries per second this endpoint can take: its rate limit, or what its latency allows.
   * A request outstanding for longer than the average counts as that slow: an endpoint that
   * hangs is seen as slow before its first timeout comes back.
   */
  serviceRate(now: number, share: number): number {
    const stalledMs = this.inFlight > 0 ? now - this.progressAt : 0;
    const latencyMs = Math.max(this.avgMs, stalledMs, 1);
    const byLatency = (Math.min(this.maxInFlight, share) * 1000) / latencyMs;
    return this.rate === null ? byLatency : Math.min(this.rate, byLatency);
  }

  /**
   * Room in the in-memory queue. A rate-limited endpoint holds a quarter second of work (the
   * rest waits in the database, where other worker processes can take their part of the rate);
   * one that looks hung (a second and more per request) holds its share of slots; any other is
   * bounded only by the worker's memory budget. Deferring a fast endpoint's deliveries on a
   * guess of its speed only delays them.
   */
  hasRoom(now: number, share: number): boolean {
    return this.queue.length < this.queueCap(now, share);
  }

  queueCap(now: number, share: number): number {
    if (this.rate !== null) return Math.max(1, Math.ceil(this.serviceRate(now, share) / 4));
    return this.looksHung(now) ? share : Infinity;
  }

  private looksHung(now: number): boolean {
    const stalledMs = this.inFlight > 0 ? now - this.progressAt : 0;
    return Math.max(this.avgMs, stalledMs) >= 1000;
  }

  /** When a delivery that doesn't fit should be due again: after the queue, one slot after the previous one. */
  deferAt(now: number, share: number): number {
    const rate = this.serviceRate(now, share);
    this.deferredUntil = Math.max(this.deferredUntil, now + (this.queue.length / rate) * 1000) + 1000 / rate;
    return Math.round(this.deferredUntil);
  }

  get idle(): boolean {
    return this.inFlight === 0 && this.queue.length === 0;
  }
}
