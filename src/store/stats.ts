import type { EndpointStats, SeriesPoint } from './types.js';

/**
 * The dashboard card's figures: the last 24 h of attempts (read as attemptSeries' counts by
 * outcome and rounded response time, one bucket), the deliveries waiting now, and the
 * endpoint's own counters. All from indexes whose cost follows the day's traffic, not the
 * size of the database (counting every delivery by status took 544 ms at 1,000,000).
 */
export function endpointStatsFrom(
  day: Array<{ ok: number | string; ms: number | string; n: number | string; total_ms: number | string }>,
  pending: number,
  ep: { consecutive_failures: number; last_attempt_at: number | null },
): EndpointStats {
  const [point] = seriesFrom(day.map((r) => ({ ...r, bucket: 0 })), 0, 1);
  const attempts = point ? point.succeeded + point.failed : 0;
  const totalMs = day.reduce((a, r) => a + Number(r.total_ms), 0);
  return {
    total: attempts,
    succeeded: point?.succeeded ?? 0,
    failed: point?.failed ?? 0,
    pending,
    successRate: attempts === 0 ? null : point!.succeeded / attempts,
    avgResponseMs: attempts === 0 ? null : Math.round(totalMs / attempts),
    p95ResponseMs: point?.p95Ms ?? null,
    failedLast24h: point?.failed ?? 0,
    consecutiveFailures: Number(ep.consecutive_failures),
    lastDeliveryAt: ep.last_attempt_at === null ? null : Number(ep.last_attempt_at),
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
