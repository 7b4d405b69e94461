/**
 * One metric over time, drawn by uPlot on a canvas, with a caption that says in words what
 * it shows (total or latest, peak, how many points) for those who cannot see the chart.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { alignSeries, isCount, summarize, type Series } from '../lib/chart-data';
import { formatValue } from '../lib/format';
import { showUtc } from '../lib/time';

const TITLES: Record<string, string> = {
  IncomingRecords: 'Incoming records',
  IncomingBytes: 'Incoming bytes',
  WriteThrottled: 'Throttled writes',
  Utilization: 'Shard utilization',
  RecordsRead: 'Records read',
  RecordsDelivered: 'Records delivered',
  RecordsDropped: 'Records dropped',
  RecordsFailed: 'Records failed',
  BytesDelivered: 'Bytes delivered',
  DataFreshnessSeconds: 'Data freshness (age of the oldest record)',
  MillisBehindLatest: 'Behind the stream’s latest record',
};

export function metricTitle(name: string): string {
  return TITLES[name] ?? name;
}

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

export function MetricChart({ series, tone = 'accent' }: { series: Series; tone?: 'accent' | 'bad' | 'warn' }) {
  const box = useRef<HTMLDivElement>(null);
  const summary = summarize(series);
  const utc = showUtc.value;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const stroke = cssVar(`--chart-${tone}`, '#0b6bcb');
    const axis = { stroke: cssVar('--muted', '#666'), grid: { stroke: cssVar('--grid', '#8883'), width: 1 }, ticks: { stroke: cssVar('--grid', '#8883') } };
    const plot = new uPlot(
      {
        width: Math.max(240, el.clientWidth),
        height: 160,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        tzDate: utc ? (ts: number) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC') : undefined,
        scales: { y: { range: (_u, min, max) => [Math.min(0, min ?? 0), Math.max(1, (max ?? 1) * 1.1)] } },
        axes: [axis, { ...axis, size: 76, values: (_u, values) => values.map((v) => formatValue(v, series.Unit)) }],
        series: [{}, { label: series.Name, stroke, width: 2, fill: `${stroke}22`, points: { show: series.Values.length < 60 || summary.points <= 3, size: 6 }, spanGaps: false }],
      },
      alignSeries([series]) as uPlot.AlignedData,
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(240, el.clientWidth), height: 160 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [series, utc, tone, summary.points]);

  const words = isCount(series)
    ? `total ${formatValue(summary.total, series.Unit)}, peak ${formatValue(summary.peak, series.Unit)} per period`
    : `latest ${formatValue(summary.latest, series.Unit)}, peak ${formatValue(summary.peak, series.Unit)}`;
  return (
    <figure class="chart" data-series={series.Name} data-points={summary.points}>
      <figcaption>
        <span class="chart-title">{metricTitle(series.Name)}</span>
        <span class="chart-summary">{summary.points === 0 ? 'no data in this range' : words}</span>
      </figcaption>
      <div ref={box} class="chart-canvas" role="img" aria-label={`${metricTitle(series.Name)}: ${summary.points === 0 ? 'no data' : words}, ${summary.points} points`} />
    </figure>
  );
}
