/**
 * A token bucket: `perSecond` sustained, `capacity` as a burst. `take` answers 0 when a
 * token was taken, else the seconds until one will be there (for Retry-After).
 */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    readonly perSecond: number,
    readonly capacity: number,
    now = Date.now(),
    /** tokens at the start; default a full bucket */
    tokens = capacity,
  ) {
    this.tokens = Math.min(capacity, tokens);
    this.at = now;
  }

  take(now = Date.now()): number {
    this.refill(now);
    if (this.tokens < 1) return (1 - this.tokens) / this.perSecond;
    this.tokens -= 1;
    return 0;
  }

  /** Whether a token is there, without taking it. */
  has(now = Date.now()): boolean {
    this.refill(now);
    return this.tokens >= 1;
  }

  /** Seconds until a token will be there (0 when one is). */
  waitSeconds(now = Date.now()): number {
    this.refill(now);
    return this.tokens >= 1 ? 0 : (1 - this.tokens) / this.perSecond;
  }

  /** The same bucket at another rate and burst: what is left of the current burst carries over. */
  resized(perSecond: number, capacity: number, now = Date.now()): TokenBucket {
    this.refill(now);
    return new TokenBucket(perSecond, capacity, now, this.tokens);
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.at) / 1000) * this.perSecond);
    this.at = now;
  }
}
