/** The stream's consumers: Firehose delivery streams that land its records in datasets. */
import { useLocation } from 'preact-iso';
import { api, call, type Stream } from '../../lib/api';
import { isTransitional } from '../../lib/jobs';
import { PAGE_SIZE, usePaging } from '../../lib/paging';
import { useQuery } from '../../lib/use-query';
import { Badge } from '../../components/Badge';
import { href } from '../../components/PageHeader';
import { Pager } from '../../components/Pager';
import { Empty, ErrorState, Loading } from '../../components/States';

export function ConsumersTab({ stream }: { stream: Stream }) {
  const { route } = useLocation();
  const paging = usePaging();
  const path = { StreamId: stream.StreamId };
  const list = useQuery(
    `consumers:${stream.StreamId}:${paging.token ?? ''}`,
    () => call(api.GET('/streams/{StreamId}/consumers', { params: { path, query: { Limit: PAGE_SIZE, NextToken: paging.token } } })),
    (page) => (page?.Consumers.some((c) => isTransitional(c.Status)) ? 2000 : 30_000),
  );
  const status = useQuery(`stream-status:${stream.StreamId}`, () => call(api.GET('/streams/{StreamId}/status', { params: { path } })), 30_000);
  const health = new Map(status.data?.Consumers.map((c) => [c.ConsumerId, c]) ?? []);
  const transforms = useQuery(`transform-names:${stream.StreamId}`, () => call(api.GET('/streams/{StreamId}/transforms', { params: { path, query: { Limit: 100 } } })));
  const transformName = new Map(transforms.data?.Transforms.map((t) => [t.TransformId, t.FunctionName]) ?? []);
  const consumers = list.data?.Consumers ?? [];
  const create = () => route(href(`streams/${stream.StreamId}/consumers/new`));

  return (
    <section aria-labelledby="consumers-heading">
      <div class="section-head">
        <h2 id="consumers-heading">Consumers</h2>
        <button type="button" class="button primary" onClick={create} disabled={stream.Status !== 'ACTIVE'}>
          + New consumer
        </button>
      </div>
      <p class="muted">
        Each consumer is a Kinesis Data Firehose delivery stream that continuously collects this stream's records into a dataset. A stream can feed many consumers.
      </p>
      {list.error && !list.data ? (
        <ErrorState error={list.error} onRetry={list.reload} />
      ) : !list.data ? (
        <Loading label="Loading consumers…" />
      ) : consumers.length === 0 && !paging.hasPrevious ? (
        <Empty title="No consumers yet">
          <p>Create a consumer to deliver this stream's records into a dataset (S3, Athena, Lake Formation or Redshift).</p>
        </Empty>
      ) : (
        <>
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Consumers of {stream.StreamName}</caption>
              <thead>
                <tr>
                  <th scope="col">Consumer Name</th>
                  <th scope="col">Status</th>
                  <th scope="col">Health</th>
                  <th scope="col">Target Location</th>
                  <th scope="col">Transform</th>
                  <th scope="col" class="num">Buffer</th>
                </tr>
              </thead>
              <tbody>
                {consumers.map((c) => (
                  <tr key={c.ConsumerId}>
                    <th scope="row">
                      <a href={href(`streams/${stream.StreamId}/consumers/${c.ConsumerId}`)}>{c.ConsumerName}</a>
                    </th>
                    <td>
                      <Badge value={c.Status} title={c.StatusReason ?? undefined} />
                    </td>
                    <td>
                      <Badge value={health.get(c.ConsumerId)?.Health} title={health.get(c.ConsumerId)?.HealthReason} />
                    </td>
                    <td>
                      {c.TargetLocation} · <a href={href(`datasets/${c.DatasetId}`)}>dataset</a>
                    </td>
                    <td>
                      {c.TransformId ? <a href={href(`streams/${stream.StreamId}/transforms/${c.TransformId}`)}>{transformName.get(c.TransformId) ?? 'transform'}</a> : <span class="muted">none</span>}
                    </td>
                    <td class="num">
                      {c.BufferSize} MiB / {c.BufferInterval} s
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager shown={consumers.length} noun="consumers" hasPrevious={paging.hasPrevious} nextToken={list.data.NextToken} onPrevious={paging.previous} onNext={paging.next} />
        </>
      )}
    </section>
  );
}
