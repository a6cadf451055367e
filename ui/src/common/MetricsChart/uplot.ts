import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Series } from '../../utils/buckets';

const css = (name: string, fallback: string) =>
  getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;

/** One uPlot chart; colours from the page's CSS custom properties (so dark mode and the theme apply). */
export function makeChart(el: HTMLElement, kind: 'deliveries' | 'latency', s: Series): uPlot {
  const ok = css('--ok', '#16a34a');
  const bad = css('--bad', '#dc2626');
  const primary = css('--primary', '#4f46e5');
  const warn = css('--wait', '#d97706');
  const text = css('--muted', '#6b7280');
  const grid = css('--border', '#e5e7eb');
  const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
  const bars = uPlot.paths.bars!({ size: [0.9, 6] });
  // A line needs two neighbouring minutes: with few attempts, draw their points instead.
  const sparse = s.p50.filter((v) => v !== null).length < 60;
  const opts: uPlot.Options = {
    width: el.clientWidth || 600,
    height: 180,
    legend: { show: true },
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: true } },
    axes: [axis, {
      ...axis,
      // Wide enough for the longest label ("1.5 s", "250 ms"): a fixed width cut them off.
      size: (_u, values) => (values?.length ? Math.max(...values.map((v) => String(v).length)) * 7 + 20 : 48),
      values: kind === 'latency' ? (_u, v) => v.map((x) => (x >= 1000 ? `${x / 1000} s` : `${x} ms`)) : undefined,
    }],
    series: kind === 'deliveries'
      ? [
          {},
          { label: 'Succeeded', stroke: ok, fill: `${ok}55`, paths: bars, points: { show: false } },
          { label: 'Failed', stroke: bad, fill: `${bad}88`, paths: bars, points: { show: false } },
        ]
      : [
          {},
          { label: 'p50', stroke: primary, width: 2, spanGaps: false, points: { show: sparse, size: 5 }, value: (_u, v) => (v === null ? '—' : `${Math.round(v)} ms`) },
          { label: 'p95', stroke: warn, width: 2, spanGaps: false, points: { show: sparse, size: 5 }, value: (_u, v) => (v === null ? '—' : `${Math.round(v)} ms`) },
        ],
  };
  const data: uPlot.AlignedData = kind === 'deliveries' ? [s.t, s.succeeded, s.failed] : [s.t, s.p50, s.p95];
  return new uPlot(opts, data, el);
}
