/**
 * Retry policy as data: what happens after an attempt is a pure function of the attempt's
 * result and the schedule, so it is tested without a clock, a network or a database.
 */
export interface AttemptResult {
  /** HTTP status, or null when no response arrived (timeout, refused, DNS, TLS …). */
  statusCode: number | null;
  /** Seconds from a Retry-After header on 429/503, already parsed. */
  retryAfterSeconds?: number | null;
}

export interface RetryPolicy {
  /** Delays in seconds before retry 1, 2, …; its length is the number of retries. */
  schedule: number[];
  jitter: number;
  maxRetryAfterSeconds: number;
}

export type Decision =
  | { status: 'success' }
  | { status: 'failed'; disableEndpoint?: 'gone' }
  | { status: 'pending'; delayMs: number };

export const isSuccess = (code: number | null): boolean => code !== null && code >= 200 && code < 300;

/**
 * @param attemptsDone attempts made so far, including the one just finished
 * @param oneShot a manual retry or recover: one attempt, no schedule after it
 * @param random injectable for tests; uniform in [0, 1)
 */
export function decide(
  result: AttemptResult,
  attemptsDone: number,
  oneShot: boolean,
  policy: RetryPolicy,
  random: () => number = Math.random,
): Decision {
  if (isSuccess(result.statusCode)) return { status: 'success' };
  // 410 Gone is the receiver saying "this URL will never work again": stop, and stop the endpoint.
  if (result.statusCode === 410) return { status: 'failed', disableEndpoint: 'gone' };
  if (oneShot || attemptsDone > policy.schedule.length) return { status: 'failed' };

  const base = policy.schedule[attemptsDone - 1];
  // ±jitter so that a receiver coming back from an outage isn't hit by every retry at once.
  let delayMs = base * 1000 * (1 + policy.jitter * (2 * random() - 1));
  if (result.retryAfterSeconds != null && (result.statusCode === 429 || result.statusCode === 503)) {
    // Honour the receiver's wish to wait longer, never beyond the operator's bound.
    const asked = Math.min(result.retryAfterSeconds, policy.maxRetryAfterSeconds) * 1000;
    delayMs = Math.max(delayMs, asked);
  }
  return { status: 'pending', delayMs: Math.max(0, Math.round(delayMs)) };
}

/** Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | null {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return null;
  const trimmed = raw.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - now) / 1000));
}
