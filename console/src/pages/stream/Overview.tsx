/** A stream's overview: traffic charts, its consumers' health and the monthly cost estimate. */
import { api, call, type Stream } from '../../lib/api';
import { formatBytes, formatCount, formatMoney, formatUnitPrice } from '../../lib/format';
import { useQuery } from '../../lib/use-query';
import { Badge } from '../../components/Badge';
import { MetricsPanel } from '../../components/MetricsPanel';
import { href } from '../../components/PageHeader';
import { Empty, ErrorState, Loading } from '../../components/States';

export function Overview({ stream }: { stream: Stream }) {
  const readable = stream.Status === 'ACTIVE' || stream.Status === 'UPDATING';
  if (!readable) {
    return (
      <Empty title={stream.Status === 'CREATING' ? 'The stream is being created' : `The stream is ${stream.Status}`}>
        <p>Metrics and cost appear once the stream is ACTIVE.</p>
      </Empty>
    );
  }
  const path = { StreamId: stream.StreamId };
  return (
    <>
      <Health stream={stream} />
      <MetricsPanel
        id={`stream-${stream.StreamId}`}
        heading="Traffic"
        load={(since) => call(api.GET('/streams/{StreamId}/metrics', { params: { path, query: { Since: since } } }))}
      />
      <Cost stream={stream} />
    </>
  );
}

function Health({ stream }: { stream: Stream }) {
  const status = useQuery(`stream-status:${stream.StreamId}`, () => call(api.GET('/streams/{StreamId}/status', { params: { path: { StreamId: stream.StreamId } } })), 30_000);
  if (status.error && !status.data) return <ErrorState error={status.error} onRetry={status.reload} title="Could not load the stream's status" />;
  if (!status.data) return <Loading label="Loading status…" />;
  const { Metrics, Utilization, Consumers, OpenShards } = status.data;
  return (
    <section aria-labelledby="last-24h">
      <h2 id="last-24h">Last 24 hours</h2>
      <dl class="stats">
        <div>
          <dt>Incoming records</dt>
          <dd>{formatCount(Metrics.IncomingRecords)}</dd>
        </div>
        <div>
          <dt>Incoming bytes</dt>
          <dd>{formatBytes(Metrics.IncomingBytes)}</dd>
        </div>
        <div>
          <dt>Throttled writes</dt>
          <dd>{formatCount(Metrics.WriteThrottled)}</dd>
        </div>
        <div>
          <dt>Busiest minute</dt>
          <dd>{Utilization === null ? '—' : `${Utilization.toFixed(1)} % of ${OpenShards ?? '?'} shard${OpenShards === 1 ? '' : 's'}`}</dd>
        </div>
      </dl>
      {Consumers.length > 0 ? (
        <ul class="health-list" aria-label="Consumers' health">
          {Consumers.map((c) => (
            <li key={c.ConsumerId}>
              <a href={href(`streams/${stream.StreamId}/consumers/${c.ConsumerId}`)}>{c.ConsumerName}</a> <Badge value={c.Health} />{' '}
              <span class="muted">{c.HealthReason}</span>
            </li>
          ))}
        </ul>
      ) : (
        <p class="muted">
          No consumer reads this stream yet. <a href={href(`streams/${stream.StreamId}/consumers/new`)}>Create a consumer</a> to deliver its records into a dataset.
        </p>
      )}
    </section>
  );
}

function Cost({ stream }: { stream: Stream }) {
  const cost = useQuery(`stream-cost:${stream.StreamId}`, () => call(api.GET('/streams/{StreamId}/cost', { params: { path: { StreamId: stream.StreamId } } })));
  return (
    <section aria-labelledby="cost">
      <h2 id="cost">Estimated monthly cost</h2>
      {cost.error && !cost.data ? (
        <ErrorState error={cost.error} onRetry={cost.reload} title="No estimate right now" />
      ) : !cost.data ? (
        <Loading label="Estimating…" />
      ) : (
        <>
          <p class="big-number">
            {formatMoney(cost.data.MonthlyTotal, cost.data.Currency)} <span class="muted small">a month in {cost.data.Region}</span>
          </p>
          <p class="muted small">
            {cost.data.Basis.Source === 'MEASURED' ? 'From the last 24 hours of traffic' : 'For the traffic given'}: {formatCount(cost.data.Basis.RecordsPerSecond)} records/s of{' '}
            {formatBytes(cost.data.Basis.AverageRecordBytes)}; list prices as of {cost.data.PricesAsOf}.
          </p>
          <div class="table-wrap">
            <table class="compact">
              <caption class="visually-hidden">Cost items</caption>
              <thead>
                <tr>
                  <th scope="col">Item</th>
                  <th scope="col" class="num">Quantity</th>
                  <th scope="col" class="num">Unit price</th>
                  <th scope="col" class="num">Monthly</th>
                </tr>
              </thead>
              <tbody>
                {[...cost.data.Stream.Items, ...cost.data.Consumers.flatMap((c) => c.Items)].map((item, i) => (
                  <tr key={i}>
                    <td>{item.Item}</td>
                    <td class="num">
                      {formatCount(item.Quantity)} {item.Unit}
                    </td>
                    <td class="num">{formatUnitPrice(item.UnitPrice, cost.data!.Currency)}</td>
                    <td class="num">{formatMoney(item.Monthly)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {cost.data.Assumptions.length > 0 && (
            <details>
              <summary>Assumptions</summary>
              <ul>
                {cost.data.Assumptions.map((a) => (
                  <li key={a}>{a}</li>
                ))}
              </ul>
            </details>
          )}
        </>
      )}
    </section>
  );
}
