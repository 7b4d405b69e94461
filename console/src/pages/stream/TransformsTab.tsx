/** The stream's data transformations: Lambda functions any of its consumers can apply. */
import { useLocation } from 'preact-iso';
import { api, call, type Stream } from '../../lib/api';
import { isTransitional } from '../../lib/jobs';
import { PAGE_SIZE, usePaging } from '../../lib/paging';
import { useQuery } from '../../lib/use-query';
import { Badge } from '../../components/Badge';
import { href } from '../../components/PageHeader';
import { Pager } from '../../components/Pager';
import { Empty, ErrorState, Loading } from '../../components/States';

export function TransformsTab({ stream }: { stream: Stream }) {
  const { route } = useLocation();
  const paging = usePaging();
  const list = useQuery(
    `transforms:${stream.StreamId}:${paging.token ?? ''}`,
    () => call(api.GET('/streams/{StreamId}/transforms', { params: { path: { StreamId: stream.StreamId }, query: { Limit: PAGE_SIZE, NextToken: paging.token } } })),
    (page) => (page?.Transforms.some((t) => isTransitional(t.Status)) ? 2000 : 30_000),
  );
  const transforms = list.data?.Transforms ?? [];
  return (
    <section aria-labelledby="transforms-heading">
      <div class="section-head">
        <h2 id="transforms-heading">Data transformations</h2>
        <button type="button" class="button primary" onClick={() => route(href(`streams/${stream.StreamId}/transforms/new`))} disabled={stream.Status !== 'ACTIVE'}>
          + New transform
        </button>
      </div>
      <p class="muted">
        A transformation is a Lambda function that processes buffered records before a consumer delivers them: each record comes back Ok, Dropped or
        ProcessingFailed. At most 20 transformations in all, and 5 consumers per transformation.
      </p>
      {list.error && !list.data ? (
        <ErrorState error={list.error} onRetry={list.reload} />
      ) : !list.data ? (
        <Loading label="Loading transforms…" />
      ) : transforms.length === 0 && !paging.hasPrevious ? (
        <Empty title="No transformations yet">
          <p>Write one to filter or reshape records, such as the seed's filter-by-technology-sector, then attach it to a consumer.</p>
        </Empty>
      ) : (
        <>
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Transforms of {stream.StreamName}</caption>
              <thead>
                <tr>
                  <th scope="col">Function Name</th>
                  <th scope="col">Status</th>
                  <th scope="col">Lambda Handler</th>
                  <th scope="col" class="num">Memory Size</th>
                  <th scope="col" class="num">Timeout</th>
                  <th scope="col" class="num">Consumers</th>
                </tr>
              </thead>
              <tbody>
                {transforms.map((t) => (
                  <tr key={t.TransformId}>
                    <th scope="row">
                      <a href={href(`streams/${stream.StreamId}/transforms/${t.TransformId}`)}>{t.FunctionName}</a>
                    </th>
                    <td>
                      <Badge value={t.Status} title={t.StatusReason ?? undefined} />
                    </td>
                    <td>
                      <code>{t.LambdaHandler}</code>
                    </td>
                    <td class="num">{t.MemorySize} MB</td>
                    <td class="num">{t.Timeout} s</td>
                    <td class="num">{t.ConsumerIds.length} of 5</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager shown={transforms.length} noun="transforms" hasPrevious={paging.hasPrevious} nextToken={list.data.NextToken} onPrevious={paging.previous} onNext={paging.next} />
        </>
      )}
    </section>
  );
}
