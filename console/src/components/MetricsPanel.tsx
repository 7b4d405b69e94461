/**
 * Metrics over a time range kept in the URL (`?range=`), with the time they are "as of"
 * (CloudWatch data arrives late) and an auto-refresh that can be paused.
 */
import type { MetricsOverTime } from '../lib/api';
import { RANGES, rangeSince, type Range } from '../lib/chart-data';
import { readParam, useUrlQuery } from '../lib/url-state';
import { useQuery } from '../lib/use-query';
import { AutoRefresh } from './AutoRefresh';
import { MetricChart } from './MetricChart';
import { ErrorState, Loading } from './States';
import { Time } from './Time';

const REFRESH_SECONDS = 60;
const BAD = new Set(['RecordsFailed', 'WriteThrottled']);

export function MetricsPanel({ id, load, heading = 'Metrics' }: { id: string; load: (since: string) => Promise<MetricsOverTime>; heading?: string }) {
  const { query, set } = useUrlQuery();
  const range = readParam<Range>(query, 'range', '3h', RANGES);
  const paused = query.refresh === 'off';
  const metrics = useQuery(`metrics:${id}:${range}`, () => load(rangeSince(range)), paused ? null : REFRESH_SECONDS * 1000);

  return (
    <section class="metrics" aria-labelledby={`${id}-metrics`}>
      <div class="section-head">
        <h2 id={`${id}-metrics`}>{heading}</h2>
        <div class="range" role="group" aria-label="Time range">
          {RANGES.map((r) => (
            <button key={r} type="button" class={`button small${r === range ? ' selected' : ''}`} aria-pressed={r === range} onClick={() => set({ range: r === '3h' ? undefined : r }, { replace: true })}>
              {r}
            </button>
          ))}
        </div>
      </div>
      <div class="metrics-meta">
        {metrics.data && (
          <span>
            As of <Time value={metrics.data.Until} /> · one point per {Math.round(metrics.data.Period / 60)} min
          </span>
        )}
        <AutoRefresh
          seconds={REFRESH_SECONDS}
          paused={paused}
          onPause={(p) => set({ refresh: p ? 'off' : undefined }, { replace: true })}
          onRefresh={metrics.reload}
          updatedAt={metrics.updatedAt}
          loading={metrics.loading}
        />
      </div>
      {metrics.error && !metrics.data ? (
        <ErrorState error={metrics.error} onRetry={metrics.reload} title="Metrics are not available right now" />
      ) : !metrics.data ? (
        <Loading label="Loading metrics…" />
      ) : (
        <div class="chart-grid">
          {metrics.data.Series.map((series) => (
            <MetricChart key={series.Name} series={series} tone={BAD.has(series.Name) ? 'bad' : 'accent'} />
          ))}
        </div>
      )}
    </section>
  );
}
