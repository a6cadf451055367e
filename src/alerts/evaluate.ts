import type { AlertEndpointState, AlertKind, AlertOp, AlertRule, AttemptFigure, PollFigure } from '../store/alerts.js';

/**
 * Alert evaluation as pure functions: which figures a round needs for a set of rules, each
 * rule's value from those figures, and the transition that follows. No I/O: the engine
 * (engine.ts) reads the figures in a constant number of statements and applies the result.
 */

/** Windowed metrics look at [now - windowSeconds, now); the default window is 5 minutes. */
export const DEFAULT_WINDOW_SECONDS = 300;
/** success_rate needs this many attempts in the window by default: one failure at night isn't 0 %. */
export const DEFAULT_MIN_ATTEMPTS = { success_rate: 10, response_time_p95: 1 } as const;

const WINDOWED = new Set(['failed_deliveries', 'success_rate', 'response_time_p95', 'source_rejections']);
export const isWindowed = (metric: string): boolean => WINDOWED.has(metric);
/** Metrics of inbound sources: scoped by sourceId (or every source), never by app or endpoint. */
const SOURCE_METRICS = new Set(['source_rejections', 'poll_failures']);
export const isSourceMetric = (metric: string): boolean => SOURCE_METRICS.has(metric);

export const windowSince = (rule: AlertRule, now: number): number =>
  now - (rule.condition.windowSeconds ?? DEFAULT_WINDOW_SECONDS) * 1000;

export function compare(op: AlertOp, value: number, threshold: number): boolean {
  switch (op) {
    case '>': return value > threshold;
    case '>=': return value >= threshold;
    case '<': return value < threshold;
    case '<=': return value <= threshold;
  }
}

/** What to read of endpoints: every app's (a rule without scope), some apps', some endpoints'. */
export function endpointScope(rules: AlertRule[]): { all: boolean; appIds: string[]; endpointIds: string[] } {
  const endpointRules = rules.filter((r) => !isSourceMetric(r.condition.metric));
  return {
    all: endpointRules.some((r) => !r.appId && !r.endpointId),
    appIds: [...new Set(endpointRules.filter((r) => r.appId && !r.endpointId).map((r) => r.appId!))],
    endpointIds: [...new Set(endpointRules.filter((r) => r.endpointId).map((r) => r.endpointId!))],
  };
}

/** The endpoints a rule watches, of those read this round. */
export function endpointsOf(rule: AlertRule, endpoints: AlertEndpointState[]): AlertEndpointState[] {
  if (rule.endpointId) return endpoints.filter((e) => e.id === rule.endpointId);
  if (rule.appId) return endpoints.filter((e) => e.appId === rule.appId);
  return endpoints;
}

/** (endpoint, since) pairs of the round's attempt figures, each once. */
export function attemptWatch(rules: AlertRule[], endpoints: AlertEndpointState[], now: number): Array<{ endpointId: string; since: number }> {
  const seen = new Map<string, { endpointId: string; since: number }>();
  for (const rule of rules) {
    if (!['failed_deliveries', 'success_rate', 'response_time_p95'].includes(rule.condition.metric)) continue;
    const since = windowSince(rule, now);
    for (const e of endpointsOf(rule, endpoints)) seen.set(`${e.id}|${since}`, { endpointId: e.id, since });
  }
  return [...seen.values()];
}

/** Endpoints whose waiting deliveries the round counts (those of queue_depth rules). */
export function queueWatch(rules: AlertRule[], endpoints: AlertEndpointState[]): string[] {
  const ids = new Set<string>();
  for (const rule of rules) if (rule.condition.metric === 'queue_depth') for (const e of endpointsOf(rule, endpoints)) ids.add(e.id);
  return [...ids];
}

/** (source, since) pairs of the round's rejection counts; `sources` = every source, read only if a rule has no source. */
export function rejectionWatch(rules: AlertRule[], sources: Array<{ id: string }>, now: number): Array<{ sourceId: string; since: number }> {
  const seen = new Map<string, { sourceId: string; since: number }>();
  for (const rule of rules) {
    if (rule.condition.metric !== 'source_rejections') continue;
    const since = windowSince(rule, now);
    const ids = rule.sourceId ? [rule.sourceId] : sources.map((s) => s.id);
    for (const id of ids) seen.set(`${id}|${since}`, { sourceId: id, since });
  }
  return [...seen.values()];
}

/** What poll_failures reads: every polling source if a rule has no sourceId, and the sources rules name. */
export function pollWatch(rules: AlertRule[]): { all: boolean; sourceIds: string[] } {
  const pollRules = rules.filter((r) => r.condition.metric === 'poll_failures');
  return {
    all: pollRules.some((r) => !r.sourceId),
    sourceIds: [...new Set(pollRules.flatMap((r) => (r.sourceId ? [r.sourceId] : [])))],
  };
}

export interface RoundFigures {
  now: number;
  endpoints: AlertEndpointState[];
  attempts: AttemptFigure[];
  queue: Array<{ endpointId: string; waiting: number; oldestAt: number }>;
  rejections: Array<{ sourceId: string; since: number; n: number; name: string }>;
  /** poll_failures' figures (absent: no such rule this round) */
  polls?: PollFigure[];
}

/** One source's share of a rule's value, for the message (worst first). */
export interface SourceShare {
  id: string;
  name: string;
  /** source_rejections */
  rejections?: number;
  /** poll_failures: whether it polls, its consecutive failed runs, the last run's error, when the next run is due (null: now, or under way) */
  polling?: boolean;
  failures?: number;
  lastError?: PollFigure['lastError'];
  retryAfterSeconds?: number | null;
  lastPollAt?: number | null;
  nextPollAt?: number | null;
}

/** One endpoint's share of a rule's value, for the message (worst first). */
export interface EndpointShare {
  endpoint: AlertEndpointState;
  attempts: number;
  failed: number;
}

export interface Measurement {
  /** null: nothing to judge by (too few attempts, or no attempts for a percentile) */
  value: number | null;
  /** whether the condition holds; null when value is null: the state stays as it is */
  met: boolean | null;
  /** what the value was computed from, stored with the transition */
  figures: Record<string, unknown>;
  /** the endpoints involved, the one that matters most first */
  endpoints: EndpointShare[];
  /** source metrics: the sources involved, the one that matters most first */
  sources: SourceShare[];
}

const isOk = (code: number | null) => code !== null && code >= 200 && code < 300;

/** p-th percentile of counted, rounded durations (as the endpoint time series computes it). */
export function percentileOf(times: Map<number, number>, p: number): number | null {
  const total = [...times.values()].reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  const sorted = [...times.entries()].sort((a, b) => a[0] - b[0]);
  for (const [ms, n] of sorted) if ((seen += n) >= rank) return ms;
  return sorted[sorted.length - 1][0];
}

const round1 = (v: number) => Math.round(v * 10) / 10;

/** A rule's value from the round's figures. */
export function measure(rule: AlertRule, f: RoundFigures): Measurement {
  const c = rule.condition;
  const endpoints = endpointsOf(rule, f.endpoints);
  const none = { endpoints: [] as EndpointShare[], sources: [] as Measurement['sources'] };
  const judged = (value: number | null, figures: Record<string, unknown>, shares: EndpointShare[], extra = true): Measurement => ({
    value, met: value === null ? null : extra && compare(c.op, value, c.threshold), figures, endpoints: shares, sources: [],
  });

  switch (c.metric) {
    case 'failed_deliveries':
    case 'success_rate':
    case 'response_time_p95': {
      const since = windowSince(rule, f.now);
      const ids = new Set(endpoints.map((e) => e.id));
      const per = new Map<string, { attempts: number; failed: number }>();
      const times = new Map<number, number>();
      const byStatus: Record<string, number> = {};
      for (const a of f.attempts) {
        if (a.since !== since || !ids.has(a.endpointId)) continue;
        const p = per.get(a.endpointId) ?? { attempts: 0, failed: 0 };
        p.attempts += a.n;
        if (!isOk(a.statusCode)) p.failed += a.n;
        per.set(a.endpointId, p);
        times.set(a.ms, (times.get(a.ms) ?? 0) + a.n);
        const key = a.statusCode === null ? 'none' : String(a.statusCode);
        byStatus[key] = (byStatus[key] ?? 0) + a.n;
      }
      const attempts = [...per.values()].reduce((n, p) => n + p.attempts, 0);
      const failed = [...per.values()].reduce((n, p) => n + p.failed, 0);
      const p95Ms = percentileOf(times, 95);
      const shares = endpoints
        .map((e) => ({ endpoint: e, ...(per.get(e.id) ?? { attempts: 0, failed: 0 }) }))
        .filter((s) => s.attempts > 0)
        .sort((a, b) => b.failed - a.failed || b.attempts - a.attempts);
      const figures = { windowSeconds: c.windowSeconds ?? DEFAULT_WINDOW_SECONDS, attempts, failed, succeeded: attempts - failed, p95Ms, byStatus };
      if (c.metric === 'failed_deliveries') return judged(failed, figures, shares);
      const minAttempts = c.minAttempts ?? DEFAULT_MIN_ATTEMPTS[c.metric];
      if (attempts < minAttempts) return { ...judged(null, { ...figures, minAttempts }, shares) };
      if (c.metric === 'success_rate') return judged(round1(((attempts - failed) / attempts) * 100), figures, shares);
      return judged(p95Ms, figures, shares);
    }
    case 'consecutive_failures': {
      const shares = endpoints
        .map((e) => ({ endpoint: e, attempts: 0, failed: e.consecutiveFailures }))
        .sort((a, b) => b.failed - a.failed);
      const worst = shares[0]?.failed ?? 0;
      return judged(worst, { consecutiveFailures: worst, endpoints: endpoints.length }, shares.filter((s) => s.failed > 0));
    }
    case 'endpoint_disabled': {
      const disabled = endpoints.filter((e) => e.status === 'disabled');
      return judged(
        disabled.length,
        { disabled: disabled.length, endpoints: endpoints.length, reasons: Object.fromEntries(disabled.map((e) => [e.id, e.disabledReason])) },
        disabled.map((e) => ({ endpoint: e, attempts: 0, failed: e.consecutiveFailures })),
      );
    }
    case 'queue_depth': {
      const ids = new Set(endpoints.map((e) => e.id));
      const rows = f.queue.filter((q) => ids.has(q.endpointId));
      const waiting = rows.reduce((n, q) => n + q.waiting, 0);
      const oldestAt = rows.length === 0 ? null : Math.min(...rows.map((q) => q.oldestAt));
      const oldestSeconds = oldestAt === null ? null : Math.max(0, Math.floor((f.now - oldestAt) / 1000));
      const oldEnough = c.olderThanSeconds == null || (oldestSeconds !== null && oldestSeconds >= c.olderThanSeconds);
      const byEp = new Map(rows.map((q) => [q.endpointId, q.waiting]));
      const shares = endpoints
        .filter((e) => byEp.has(e.id))
        .map((e) => ({ endpoint: e, attempts: byEp.get(e.id)!, failed: 0 }))
        .sort((a, b) => b.attempts - a.attempts);
      return judged(waiting, { waiting, oldestSeconds }, shares, oldEnough);
    }
    case 'source_rejections': {
      const since = windowSince(rule, f.now);
      const rows = f.rejections.filter((r) => r.since === since && (!rule.sourceId || r.sourceId === rule.sourceId));
      const n = rows.reduce((a, r) => a + r.n, 0);
      const m = judged(n, { windowSeconds: c.windowSeconds ?? DEFAULT_WINDOW_SECONDS, rejections: n }, none.endpoints);
      return { ...m, sources: rows.filter((r) => r.n > 0).sort((a, b) => b.n - a.n).map((r) => ({ id: r.sourceId, name: r.name, rejections: r.n })) };
    }
    case 'poll_failures': {
      // A source whose polling was turned off fails no more: its last run of failures is history.
      const rows = (f.polls ?? [])
        .filter((p) => (rule.sourceId ? p.sourceId === rule.sourceId : p.polling))
        .map((p) => (p.polling ? p : { ...p, failures: 0, lastError: null }));
      const worst = rows.reduce((n, p) => Math.max(n, p.failures), 0);
      const failing = rows.filter((p) => p.failures > 0).sort((a, b) => b.failures - a.failures || a.sourceId.localeCompare(b.sourceId));
      const share = (p: PollFigure): SourceShare => ({
        id: p.sourceId, name: p.name, polling: p.polling, failures: p.failures, lastError: p.lastError, retryAfterSeconds: p.retryAfterSeconds,
        lastPollAt: p.lastPollAt, nextPollAt: p.nextPollAt,
      });
      const m = judged(worst, {
        pollFailures: worst, sources: rows.length, failing: failing.length,
        worst: failing.slice(0, 5).map((p) => ({
          id: p.sourceId, failures: p.failures, error: p.lastError, nextPollAt: p.nextPollAt === null ? null : new Date(p.nextPollAt).toISOString(),
        })),
      }, none.endpoints);
      // The rule's own source is named even when it polls fine (a resolution says which source recovered).
      return { ...m, sources: (failing.length > 0 || !rule.sourceId ? failing : rows).map(share) };
    }
  }
}

/**
 * ok → firing once; firing → resolved once; while firing, a reminder every repeatSeconds if
 * set. A measurement without a value (too few attempts) changes nothing: an endpoint whose
 * circuit is open gets hardly any attempts, and that is not a recovery.
 */
export function decide(rule: AlertRule, m: Measurement, now: number): AlertKind | null {
  if (m.met === null) return null;
  if (rule.state === 'ok') return m.met ? 'firing' : null;
  if (!m.met) return 'resolved';
  if (rule.repeatSeconds && now - (rule.lastNotifiedAt ?? rule.lastTransitionAt ?? 0) >= rule.repeatSeconds * 1000) return 'reminder';
  return null;
}
