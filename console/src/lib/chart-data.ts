/**
 * Shapes the API's metric series ({Name, Unit, Timestamps, Values} with nulls) into what
 * uPlot draws: one x array of epoch seconds (the union of every series' timestamps,
 * ascending) and a y array per series aligned to it, null where a series has no value
 * (uPlot leaves a gap there rather than drawing a false zero).
 */

export interface Series {
  Name: string;
  Unit: string;
  Timestamps: string[];
  Values: (number | null)[];
}

export type AlignedData = [number[], ...(number | null)[][]];

export function alignSeries(series: Series[]): AlignedData {
  const xs = new Set<number>();
  for (const one of series) for (const time of one.Timestamps) xs.add(epochSeconds(time));
  const x = [...xs].sort((a, b) => a - b);
  const index = new Map(x.map((t, i) => [t, i]));
  const ys = series.map((one) => {
    const y: (number | null)[] = new Array(x.length).fill(null);
    one.Timestamps.forEach((time, i) => {
      const value = one.Values[i];
      y[index.get(epochSeconds(time))!] = typeof value === 'number' && Number.isFinite(value) ? value : null;
    });
    return y;
  });
  return [x, ...ys];
}

function epochSeconds(iso: string): number {
  return Math.round(Date.parse(iso) / 1000);
}

export interface SeriesSummary {
  points: number;
  total: number;
  latest: number | null;
  peak: number | null;
}

/** What a chart says in words (for its caption and screen readers). */
export function summarize(series: Series): SeriesSummary {
  const values = series.Values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  return {
    points: values.length,
    total: values.reduce((sum, v) => sum + v, 0),
    latest: values.length ? values[values.length - 1] : null,
    peak: values.length ? Math.max(...values) : null,
  };
}

/** Counts add up over a window; gauges (freshness, lag, utilization) do not. */
export function isCount(series: Pick<Series, 'Unit'>): boolean {
  return series.Unit === 'Count' || series.Unit === 'Bytes';
}

/** The time ranges offered for metrics, and how far back each reaches. */
export const RANGES = ['1h', '3h', '12h', '24h', '3d', '7d'] as const;
export type Range = (typeof RANGES)[number];

export function rangeSince(range: Range, now = Date.now()): string {
  const hours = { '1h': 1, '3h': 3, '12h': 12, '24h': 24, '3d': 72, '7d': 168 }[range];
  return new Date(now - hours * 3_600_000).toISOString();
}
