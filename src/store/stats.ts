import { percentile } from './page.js';
import type { EndpointStats } from './types.js';

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
