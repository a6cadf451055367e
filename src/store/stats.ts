import { percentile } from './page.js';
import type { EndpointStats, SeriesPoint } from './types.js';

/** The dashboard figures from what each backend reads: counts by status, recent attempts, counters. */
export function endpointStatsFrom(
  statuses: Array<{ status: string; n: number }>,
  recent: Array<{ duration_ms: number; status_code: number | null }>,
  ep: { consecutive_failures: number; last_attempt_at: number | null },
): EndpointStats {
  const counts: Record<string, number> = { pending: 0, success: 0, failed: 0 };
  for (const r of statuses) counts[r.status] = Number(r.n);
  const durations = recent.map((r) => r.duration_ms);
  const finished = counts.success + counts.failed;
  return {
    total: counts.pending + counts.success + counts.failed,
    succeeded: counts.success,
    failed: counts.failed,
    pending: counts.pending,
    successRate: finished === 0 ? null : counts.success / finished,
    avgResponseMs: durations.length === 0 ? null : Math.round(durations.reduce((a, b) => a + b, 0) / durations.length),
    p95ResponseMs: percentile(durations, 95),
    failedLast24h: recent.filter((r) => r.status_code === null || r.status_code < 200 || r.status_code >= 300).length,
    consecutiveFailures: ep.consecutive_failures,
    lastDeliveryAt: ep.last_attempt_at,
  };
}

/**
 * Series points from what attemptSeries reads: per bucket and outcome, counts by rounded
 * response time. Percentiles walk the counts in time order (p95: the time 95 % of attempts
 * took at most), over successes and failures together.
 */
export function seriesFrom(rows: Array<{ bucket: number | string; ok: number | string; ms: number | string; n: number | string }>, since: number, bucketMs: number): SeriesPoint[] {
  const byBucket = new Map<number, { succeeded: number; failed: number; times: Array<[number, number]> }>();
  for (const r of rows) {
    const b = Number(r.bucket);
    let point = byBucket.get(b);
    if (!point) byBucket.set(b, (point = { succeeded: 0, failed: 0, times: [] }));
    const n = Number(r.n);
    if (Number(r.ok) === 1) point.succeeded += n;
    else point.failed += n;
    point.times.push([Number(r.ms), n]);
  }
  const at = (times: Array<[number, number]>, total: number, p: number): number => {
    const rank = Math.max(1, Math.ceil((p / 100) * total));
    let seen = 0;
    for (const [ms, n] of times) if ((seen += n) >= rank) return ms;
    return times[times.length - 1][0];
  };
  return [...byBucket.entries()].sort((a, b) => a[0] - b[0]).map(([b, p]) => {
    const times = p.times.sort((x, y) => x[0] - y[0]);
    const total = p.succeeded + p.failed;
    return { start: since + b * bucketMs, succeeded: p.succeeded, failed: p.failed, p50Ms: at(times, total, 50), p95Ms: at(times, total, 95) };
  });
}
