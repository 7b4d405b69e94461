/** Datasets: where consumers land records, a page at a time. */
import { api, call } from '../../lib/api';
import { isTransitional } from '../../lib/jobs';
import { PAGE_SIZE, usePaging } from '../../lib/paging';
import { useQuery } from '../../lib/use-query';
import { Badge } from '../../components/Badge';
import { href, PageHeader } from '../../components/PageHeader';
import { Pager } from '../../components/Pager';
import { Empty, ErrorState, Loading } from '../../components/States';

export default function DatasetsList() {
  const paging = usePaging();
  const list = useQuery(
    `datasets:${paging.token ?? ''}`,
    () => call(api.GET('/datasets', { params: { query: { Limit: PAGE_SIZE, NextToken: paging.token } } })),
    (page) => (page?.Datasets.some((d) => isTransitional(d.Status)) ? 2000 : 60_000),
  );
  const datasets = list.data?.Datasets ?? [];
  return (
    <>
      <PageHeader title="Datasets" />
      <p class="lead">Each consumer delivers into a dataset: files under an S3 location, a Glue table for Athena or Lake Formation, or a Redshift table.</p>
      {list.error && !list.data ? (
        <ErrorState error={list.error} onRetry={list.reload} />
      ) : !list.data ? (
        <Loading label="Loading datasets…" />
      ) : datasets.length === 0 && !paging.hasPrevious ? (
        <Empty title="No datasets yet">
          <p>
            Datasets are made when you create a consumer with “Create Dataset”. Open a <a href={href('')}>stream</a> and add a consumer.
          </p>
        </Empty>
      ) : (
        <>
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Datasets</caption>
              <thead>
                <tr>
                  <th scope="col">Dataset Name</th>
                  <th scope="col">Domain</th>
                  <th scope="col">Status</th>
                  <th scope="col">Target Location</th>
                  <th scope="col">File Type</th>
                  <th scope="col">Schema drift</th>
                  <th scope="col" class="num">Consumers</th>
                </tr>
              </thead>
              <tbody>
                {datasets.map((d) => (
                  <tr key={d.DatasetId}>
                    <th scope="row">
                      <a href={href(`datasets/${d.DatasetId}`)}>{d.DatasetName}</a>
                    </th>
                    <td>{d.Domain}</td>
                    <td>
                      <Badge value={d.Status} />
                    </td>
                    <td>{d.TargetLocation}</td>
                    <td>{d.FileType.toUpperCase()}</td>
                    <td>{d.SchemaDrift ? <span class="badge tone-warn">{d.SchemaDrift.Fields.length} new fields</span> : <span class="muted">none</span>}</td>
                    <td class="num">{d.ConsumerIds.length}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager shown={datasets.length} noun="datasets" hasPrevious={paging.hasPrevious} nextToken={list.data.NextToken} onPrevious={paging.previous} onNext={paging.next} />
        </>
      )}
    </>
  );
}
