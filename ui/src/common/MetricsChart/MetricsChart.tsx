import { useEffect, useRef, useState } from 'preact/hooks';
import type { Timeseries } from '../../api/resources';
import { ErrorMessage, Loading } from '../Notice/Notice';
import { fillBuckets } from '../../utils/buckets';

type Kind = 'deliveries' | 'latency';

/**
 * Deliveries per minute by outcome, or p50/p95 latency, over the window of `data`. uPlot is
 * loaded with the first chart (its own chunk), so the pages without charts don't carry it.
 */
export function MetricsChart({ data, kind, title }: { data: Timeseries; kind: Kind; title: string }) {
  const box = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<unknown>();
  const [ready, setReady] = useState(false);

  useEffect(() => {
    let plot: { destroy(): void; setSize(s: { width: number; height: number }): void } | undefined;
    let observer: ResizeObserver | undefined;
    let cancelled = false;
    import('./uplot').then(({ makeChart }) => {
      if (cancelled || !box.current) return;
      const s = fillBuckets(data);
      plot = makeChart(box.current, kind, s);
      setReady(true);
      observer = new ResizeObserver(() => {
        if (box.current && plot) plot.setSize({ width: box.current.clientWidth, height: 180 });
      });
      observer.observe(box.current);
    }, setError);
    return () => {
      cancelled = true;
      observer?.disconnect();
      plot?.destroy();
    };
  }, [data, kind]);

  const total = (k: 'succeeded' | 'failed') => data.points.reduce((n, p) => n + p[k], 0);
  const summary = kind === 'deliveries'
    ? `${total('succeeded')} succeeded and ${total('failed')} failed in the last 24 hours`
    : `Response time of deliveries in the last 24 hours`;
  return (
    <figure class="chart" aria-label={title}>
      <figcaption>
        <span class="chart-title">{title}</span>
        <span class="muted">{summary}</span>
      </figcaption>
      {error !== undefined && <ErrorMessage error={error} />}
      {!ready && error === undefined && <Loading label="Drawing chart…" />}
      <div class="chart-canvas" ref={box} role="img" aria-label={`${title}: ${summary}`} />
    </figure>
  );
}
