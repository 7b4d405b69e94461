/** How the consumer's delivery is doing: Health and why, freshness, last error, the day's counts. */
import type { ComponentChildren } from 'preact';
import { api, call, type Consumer } from '../../lib/api';
import { formatBytes, formatCount } from '../../lib/format';
import { formatDuration } from '../../lib/time';
import { useQuery } from '../../lib/use-query';
import { Badge } from '../../components/Badge';
import { ErrorState } from '../../components/States';
import { Time } from '../../components/Time';

export function HealthHeader({ streamId, consumer }: { streamId: string; consumer: Consumer }) {
  const status = useQuery(
    `consumer-status:${consumer.ConsumerId}`,
    () => call(api.GET('/streams/{StreamId}/consumers/{ConsumerId}/status', { params: { path: { StreamId: streamId, ConsumerId: consumer.ConsumerId } } })),
    15_000,
  );
  if (status.error && !status.data) return <ErrorState error={status.error} onRetry={status.reload} title="Could not load the consumer's health" />;
  // Until the status answers, the same frame with its labels and no values, so that the tabs
  // below do not move down when it does (a layout shift Lighthouse counted on this page).
  const s = status.data;
  const value = (shown: () => ComponentChildren) => (s ? shown() : '—');
  return (
    <section class={`health-header health-${s?.Health ?? 'PENDING'}`} aria-labelledby="health-heading" aria-busy={!s}>
      <div class="health-main">
        <h2 id="health-heading">
          Health {s && <Badge value={s.Health} />}
        </h2>
        {s ? <p class="health-reason">{s.HealthReason}</p> : (
          <p class="health-reason muted" role="status" aria-live="polite">
            <span class="spinner" aria-hidden="true" /> Checking health…
          </p>
        )}
        <p class="muted small">
          Over the last 24 hours{s && <>, as of <Time value={s.Until} />. Delivery stream {s.DeliveryStreamStatus ?? 'unknown'}</>}.
        </p>
      </div>
      <dl class="stats">
        <div>
          <dt>Data freshness</dt>
          <dd>{value(() => formatDuration(s!.Lag.DataFreshnessSeconds))}</dd>
        </div>
        <div>
          <dt>Last delivery</dt>
          <dd>{value(() => <Time value={s!.LastDeliveryTime} />)}</dd>
        </div>
        <div>
          <dt>Records read</dt>
          <dd>{value(() => formatCount(s!.Metrics.RecordsRead))}</dd>
        </div>
        <div>
          <dt>Delivered</dt>
          <dd>
            {value(() => (
              <>
                {formatCount(s!.Metrics.RecordsDelivered)} <span class="muted small">({formatBytes(s!.Metrics.BytesDelivered)})</span>
              </>
            ))}
          </dd>
        </div>
        <div>
          <dt>Dropped</dt>
          <dd>{value(() => formatCount(s!.Metrics.RecordsDropped))}</dd>
        </div>
        <div>
          <dt>Failed</dt>
          <dd class={s?.Metrics.RecordsFailed ? 'bad-text' : undefined}>{value(() => formatCount(s!.Metrics.RecordsFailed))}</dd>
        </div>
      </dl>
      <div class="last-error">
        <h3>Last error</h3>
        {!s ? (
          <p class="muted">—</p>
        ) : s.LastError ? (
          <p>
            <code>{s.LastError.Code}</code> {s.LastError.Message} <span class="muted small">(<Time value={s.LastError.Time} />)</span>
          </p>
        ) : (
          <p class="muted">None in this window.</p>
        )}
      </div>
    </section>
  );
}
