/** A dataset: where its data and failed records are, its file type, Iceberg table and schema, schema drift, delete. */
import { api, ApiError, call, idempotencyKey, type Dataset } from '../../lib/api';
import { isTransitional } from '../../lib/jobs';
import { useQuery } from '../../lib/use-query';
import { Badge } from '../../components/Badge';
import { CopyButton } from '../../components/CopyButton';
import { openDialog } from '../../components/Dialog';
import { href, PageHeader } from '../../components/PageHeader';
import { Alert, Empty, ErrorState, Loading } from '../../components/States';
import { Time } from '../../components/Time';
import { Activity } from '../stream/Activity';
import { ConfirmDelete } from '../../components/ConfirmDelete';

export default function DatasetPage({ datasetId }: { datasetId: string }) {
  const dataset = useQuery(
    `dataset:${datasetId}`,
    () => call(api.GET('/datasets/{DatasetId}', { params: { path: { DatasetId: datasetId } } })),
    (d) => (d && isTransitional(d.Status) ? 2000 : 60_000),
  );
  const d = dataset.data;
  const crumbs = [{ label: 'Datasets', href: href('datasets') }, { label: d?.DatasetName ?? datasetId }];
  if (dataset.error instanceof ApiError && dataset.error.notFound) {
    return (
      <>
        <PageHeader crumbs={crumbs} title="Dataset not found" />
        <Empty title="This dataset does not exist">
          <p>It may have been deleted, or it belongs to another tenant.</p>
        </Empty>
      </>
    );
  }
  if (dataset.error && !d) return <ErrorState error={dataset.error} onRetry={dataset.reload} />;
  if (!d) return <Loading label="Loading the dataset…" />;
  return (
    <>
      <PageHeader crumbs={crumbs} title={d.DatasetName} badges={<Badge value={d.Status} title={d.StatusReason ?? undefined} />} />
      {d.Description && <p class="lead">{d.Description}</p>}
      <dl class="facts">
        <div>
          <dt>Domain</dt>
          <dd>{d.Domain}</dd>
        </div>
        <div>
          <dt>Target Location</dt>
          <dd>{d.TargetLocation}</dd>
        </div>
        <div>
          <dt>File Type</dt>
          <dd>{d.FileType.toUpperCase()}</dd>
        </div>
        {d.GlueTable && (
          <div>
            <dt>Glue table</dt>
            <dd>
              <code>
                {d.GlueDatabase}.{d.GlueTable}
              </code>
            </dd>
          </div>
        )}
        {d.RowCount !== undefined && (
          <div>
            <dt>Rows</dt>
            <dd>{d.RowCount}</dd>
          </div>
        )}
      </dl>
      <section aria-labelledby="where-heading">
        <h2 id="where-heading">Where the data is</h2>
        <dl class="secrets">
          <div>
            <dt>Location</dt>
            <dd>
              <code>{d.Location}</code> <CopyButton text={d.Location} label="Copy location" />
            </dd>
          </div>
          <div>
            <dt>Failed records</dt>
            <dd>
              <code>{d.ErrorLocation}</code> <CopyButton text={d.ErrorLocation} label="Copy error location" />
            </dd>
          </div>
          {d.Redshift && (
            <div>
              <dt>Redshift table</dt>
              <dd>
                <code>
                  {d.Redshift.JdbcUrl} · {d.Redshift.TableName}
                </code>
              </dd>
            </div>
          )}
        </dl>
        <p class="muted small">
          {d.FileType === 'iceberg'
            ? 'The Iceberg table’s data and metadata files are under the location; each delivered buffer is one snapshot.'
            : 'Objects are keyed YYYY/MM/DD/HH/ under the location, as Firehose writes them.'}
        </p>
      </section>
      {d.FileType === 'iceberg' && <IcebergTable dataset={d} />}
      <Schema dataset={d} />
      <section aria-labelledby="consumers-of-heading">
        <h2 id="consumers-of-heading">Consumers delivering here</h2>
        {d.ConsumerIds.length === 0 ? <p class="muted">None.</p> : <p>{d.ConsumerIds.length} consumer(s): {d.ConsumerIds.map((id) => <code key={id}>{id.slice(0, 8)} </code>)}</p>}
      </section>
      <Activity resourceId={d.DatasetId} />
      <section class="danger-zone" aria-labelledby="delete-dataset-heading">
        <h2 id="delete-dataset-heading">Delete dataset</h2>
        <p>Its table, registration and every delivered object are deleted. Consumers delivering here must be deleted first.</p>
        <button type="button" class="button danger" onClick={() => openDialog(<DeleteDataset dataset={d} />)} disabled={d.ConsumerIds.length > 0}>
          Delete
        </button>
      </section>
    </>
  );
}

/** An Iceberg dataset's table as its current metadata file says. */
export function IcebergTable({ dataset }: { dataset: Dataset }) {
  const table = dataset.Table;
  return (
    <section aria-labelledby="table-heading">
      <h2 id="table-heading">Table</h2>
      {dataset.TableError && <Alert tone="info" title="The table could not be read" messages={[dataset.TableError]} />}
      {!table && !dataset.TableError && <p class="muted">No table metadata: the table is not created yet, or is gone from the Glue catalog.</p>}
      {table && (
        <dl class="facts">
          <div>
            <dt>Format</dt>
            <dd>
              {table.Format} v{table.FormatVersion}
            </dd>
          </div>
          <div>
            <dt>Snapshots</dt>
            <dd>{table.SnapshotCount}</dd>
          </div>
          <div>
            <dt>Data files</dt>
            <dd>{table.DataFiles}</dd>
          </div>
          <div>
            <dt>Records</dt>
            <dd>{table.Records}</dd>
          </div>
          <div>
            <dt>Schema id</dt>
            <dd>{table.SchemaId}</dd>
          </div>
        </dl>
      )}
      {table?.SnapshotCount === 0 && <p class="muted">Empty: the first buffer a consumer delivers is the table's first snapshot.</p>}
      {table && (
        <dl class="secrets">
          <div>
            <dt>Metadata location</dt>
            <dd>
              <code>{table.MetadataLocation}</code> <CopyButton text={table.MetadataLocation} label="Copy metadata location" />
            </dd>
          </div>
        </dl>
      )}
    </section>
  );
}

function Schema({ dataset }: { dataset: Dataset }) {
  return (
    <section aria-labelledby="schema-heading">
      <h2 id="schema-heading">Schema</h2>
      {dataset.Schema.length === 0 ? (
        <p class="muted">No schema: records are delivered as they are{dataset.GlueTable ? ' (the table reads each line as one “line” column)' : ''}.</p>
      ) : (
        <table class="compact">
          <caption class="visually-hidden">Columns</caption>
          <thead>
            <tr>
              <th scope="col">Column</th>
              <th scope="col">Type</th>
            </tr>
          </thead>
          <tbody>
            {dataset.Schema.map((c) => (
              <tr key={c.Name}>
                <td>
                  <code>{c.Name}</code>
                </td>
                <td>{c.Type}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p class="muted small">Schema evolution: {dataset.SchemaEvolution === 'ADD_COLUMNS' ? 'new fields become nullable columns' : 'report new fields only'}.</p>
      <h3>Schema drift</h3>
      {dataset.SchemaDrift ? (
        <>
          <p>
            Records carry fields the schema lacks (detected <Time value={dataset.SchemaDrift.DetectedAt} />
            ):
          </p>
          <table class="compact">
            <caption class="visually-hidden">Fields seen outside the schema</caption>
            <thead>
              <tr>
                <th scope="col">Field</th>
                <th scope="col">Inferred type</th>
                <th scope="col" class="num">Seen</th>
                <th scope="col">Action</th>
              </tr>
            </thead>
            <tbody>
              {dataset.SchemaDrift.Fields.map((f) => (
                <tr key={f.Name}>
                  <td>
                    <code>{f.Name}</code>
                  </td>
                  <td>{f.Type}</td>
                  <td class="num">{f.Seen}</td>
                  <td>{f.Action}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : (
        <p class="muted">None: recent records match the schema{dataset.Schema.length === 0 ? ' (only datasets with a schema are checked)' : ''}.</p>
      )}
    </section>
  );
}

function DeleteDataset({ dataset }: { dataset: Dataset }) {
  const remove = () =>
    call(
      api.DELETE('/datasets/{DatasetId}', {
        params: { path: { DatasetId: dataset.DatasetId }, header: { 'Idempotency-Key': idempotencyKey(), 'If-Match': String(dataset.Version) } },
      }),
    ) as Promise<{ Job: { JobId: string } }>;
  return (
    <ConfirmDelete title={`Delete dataset ${dataset.DatasetName}?`} remove={remove} then={(job) => `jobs/${job}`}>
      <p>Every object delivered into it is deleted with its table. This cannot be undone.</p>
    </ConfirmDelete>
  );
}
