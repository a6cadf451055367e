import type { HealthPolicy } from '../store/types.js';

/**
 * What a batch of attempt results means for an endpoint's health: pure policy, applied by
 * each storage backend inside the transaction that records the results.
 */
export interface HealthState {
  /** after this batch */
  consecutiveFailures: number;
  failingSince: number | null;
  status: 'active' | 'disabled';
  circuitState: 'closed' | 'open' | 'half_open' | 'recovering';
  /** when the current outage began (circuit_since, kept across open ⇄ half_open) */
  circuitSince: number | null;
  disableAfterFailures: number | null;
  disableAfterSeconds: number | null;
}

export interface BatchHealth {
  /** failures in this batch after its last success */
  fails: number;
  /** a success in this batch reset the run of failures */
  reset: boolean;
  /** this batch carried the circuit's probe: true = it succeeded */
  probe?: boolean;
  /** the receiver asked to be disabled (410 Gone) */
  gone?: string;
}

export interface HealthDecision {
  /** the run of failures just crossed the endpoint.failing threshold */
  failing: boolean;
  /** disable the endpoint, with this reason */
  disable: string | null;
  /** move the circuit: open until `openUntil`, or start recovering */
  circuit: { state: 'open'; until: number } | { state: 'recovering' } | null;
}

export function decideHealth(s: HealthState, b: BatchHealth, now: number, policy: HealthPolicy): HealthDecision {
  const before = b.reset ? 0 : s.consecutiveFailures - b.fails;
  const failing = b.fails > 0 && before < policy.failingThreshold && s.consecutiveFailures >= policy.failingThreshold;
  if (b.gone) return { failing, disable: b.gone, circuit: null };
  const maxFailures = s.disableAfterFailures ?? policy.disableAfterFailures;
  const minSpanMs = (s.disableAfterSeconds ?? policy.disableAfterSeconds) * 1000;
  if (s.status === 'active' && s.consecutiveFailures >= maxFailures && s.failingSince !== null && now - s.failingSince >= minSpanMs) {
    return { failing, disable: 'consecutive_failures', circuit: null };
  }
  if (b.probe === true) return { failing, disable: null, circuit: { state: 'recovering' } };
  if (b.probe === false) {
    // Each failed probe waits about as long as the outage has lasted so far: 5 s, 10 s, 20 s…
    // up to the maximum. (Counting failures instead would jump straight to the maximum when
    // many requests in flight fail together.)
    const openFor = s.circuitSince === null ? 0 : now - s.circuitSince;
    return { failing, disable: null, circuit: { state: 'open', until: now + Math.min(policy.circuitMaxMs, Math.max(policy.circuitBaseMs, openFor)) } };
  }
  if (s.consecutiveFailures >= policy.circuitThreshold && (s.circuitState === 'closed' || s.circuitState === 'recovering')) {
    return { failing, disable: null, circuit: { state: 'open', until: now + policy.circuitBaseMs } };
  }
  return { failing, disable: null, circuit: null };
}

/** HealthState from an endpoints row (the same column names in every backend). */
export function healthStateOf(row: Record<string, any>): HealthState {
  return {
    consecutiveFailures: row.consecutive_failures, failingSince: row.failing_since, status: row.status,
    circuitState: row.circuit_state, circuitSince: row.circuit_since, disableAfterFailures: row.disable_after_failures,
    disableAfterSeconds: row.disable_after_seconds,
  };
}
