/** A stream's health (its consumers' worst) and incoming rate over the last hour, for list rows. */
import { api, call, type Health, type Stream } from '../../lib/api';
import { formatRate } from '../../lib/format';
import { useQuery } from '../../lib/use-query';
import { Badge } from '../../components/Badge';
import { concurrency } from '../../lib/concurrency';

/**
 * The list's per-row reads (status, cost) call AWS and spend the tenant's request rate:
 * a page of rows asks a few at a time rather than all at once.
 */
export const rowReads = concurrency(6);

const SEVERITY: Health[] = ['HEALTHY', 'IDLE', 'DEGRADED', 'STALLED', 'FAILED'];

/** The most severe of the consumers' Health values, or null without consumers. */
export function worstHealth(healths: Health[]): Health | null {
  return healths.reduce<Health | null>((worst, h) => (worst === null || SEVERITY.indexOf(h) > SEVERITY.indexOf(worst) ? h : worst), null);
}

export function StreamActivity({ stream, refreshMs }: { stream: Stream; refreshMs: number | null }) {
  const readable = stream.Status === 'ACTIVE' || stream.Status === 'UPDATING';
  const status = useQuery(readable ? `status:${stream.StreamId}` : null, () =>
    rowReads(() => call(
      api.GET('/streams/{StreamId}/status', {
        params: { path: { StreamId: stream.StreamId }, query: { Since: new Date(Date.now() - 3_600_000).toISOString() } },
      }),
    )),
    refreshMs,
  );
  const data = status.data;
  const health = data ? worstHealth(data.Consumers.map((c) => c.Health)) : null;
  const seconds = data ? Math.max(1, (Date.parse(data.Until) - Date.parse(data.Since)) / 1000) : 0;
  return (
    <>
      <td>
        {data ? (
          health ? (
            <Badge value={health} title={data.Consumers.map((c) => `${c.ConsumerName}: ${c.Health}`).join(', ')} />
          ) : (
            <span class="muted nowrap" title="No consumers: nothing reads this stream yet">no consumers</span>
          )
        ) : (
          <span class="muted">{status.error ? 'n/a' : '—'}</span>
        )}
      </td>
      <td class="num">{data ? formatRate(data.Metrics.IncomingRecords, seconds) : '—'}</td>
    </>
  );
}
