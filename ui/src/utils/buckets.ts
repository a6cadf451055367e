/** The shape of GET …/stats/timeseries (herald-webhooks/client's Timeseries). */
export interface Timeseries {
  bucketSeconds: number;
  since: string;
  until: string;
  points: Array<{ t: string; succeeded: number; failed: number; p50Ms: number | null; p95Ms: number | null }>;
}

export interface Series {
  /** bucket starts, epoch seconds, every bucket from since to until */
  t: number[];
  succeeded: number[];
  failed: number[];
  p50: Array<number | null>;
  p95: Array<number | null>;
}

/** The server sends non-empty buckets only: the chart gets every bucket, empty ones as 0 (counts) and gaps (latency). */
export function fillBuckets(ts: Timeseries): Series {
  const step = ts.bucketSeconds;
  const start = Math.floor(Date.parse(ts.since) / 1000 / step) * step;
  const end = Math.floor(Date.parse(ts.until) / 1000 / step) * step;
  const byT = new Map(ts.points.map((p) => [Math.floor(Date.parse(p.t) / 1000 / step) * step, p]));
  const out: Series = { t: [], succeeded: [], failed: [], p50: [], p95: [] };
  const count = Math.min(10_000, Math.max(0, Math.floor((end - start) / step) + 1));
  for (let i = 0; i < count; i++) {
    const t = start + i * step;
    const p = byT.get(t);
    out.t.push(t);
    out.succeeded.push(p?.succeeded ?? 0);
    out.failed.push(p?.failed ?? 0);
    out.p50.push(p?.p50Ms ?? null);
    out.p95.push(p?.p95Ms ?? null);
  }
  return out;
}
