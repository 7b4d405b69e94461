/**
 * The seed's consumer form: Consumer Name, Buffer Size, Buffer Interval, Target Location,
 * Create Dataset (with the dataset's configuration) or an existing dataset, a transform, and
 * how the delivered objects are compressed.
 */
import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, call, getStream, idempotencyKey, type Schemas } from '../../lib/api';
import { mapFieldErrors, noErrors, type FieldErrors } from '../../lib/field-errors';
import { isTransitional } from '../../lib/jobs';
import { useQuery } from '../../lib/use-query';
import { CheckboxField, Field, NumberField, SelectField, TextField } from '../../components/Fields';
import { href, PageHeader } from '../../components/PageHeader';
import { Alert, ErrorState, Loading } from '../../components/States';
import { parseSchema } from './schema-text';

type Target = Schemas['TargetLocation'];
type Compression = Schemas['Compression'];
type ParquetCompression = Schemas['ParquetCompression'];
type FormField =
  | 'name'
  | 'bufferSize'
  | 'bufferInterval'
  | 'target'
  | 'createDataset'
  | 'datasetId'
  | 'transform'
  | 'datasetName'
  | 'domain'
  | 'fileType'
  | 'description'
  | 'schema'
  | 'jdbcUrl'
  | 'database'
  | 'secretId'
  | 'tableName'
  | 'compression'
  | 'parquetCompression'
  | 'partitionKeys'
  | 'partitionFromTransform'
  | 'partitionPrefix';

/** The API's member names, mapped to this form's fields. */
export const CONSUMER_FIELDS: Record<string, FormField> = {
  ConsumerName: 'name',
  BufferSize: 'bufferSize',
  BufferInterval: 'bufferInterval',
  TargetLocation: 'target',
  CreateDataset: 'createDataset',
  DatasetId: 'datasetId',
  TransformId: 'transform',
  'DatasetConfiguration.DatasetName': 'datasetName',
  'DatasetConfiguration.Domain': 'domain',
  'DatasetConfiguration.FileType': 'fileType',
  'DatasetConfiguration.Description': 'description',
  'DatasetConfiguration.Schema': 'schema',
  'DatasetConfiguration.Redshift': 'jdbcUrl',
  'DatasetConfiguration.Redshift.JdbcUrl': 'jdbcUrl',
  'DatasetConfiguration.Redshift.Database': 'database',
  'DatasetConfiguration.Redshift.SecretId': 'secretId',
  'DatasetConfiguration.Redshift.TableName': 'tableName',
  Compression: 'compression',
  ParquetCompression: 'parquetCompression',
  Partitioning: 'partitionKeys',
  'Partitioning.Keys': 'partitionKeys',
  'Partitioning.FromTransform': 'partitionFromTransform',
  'Partitioning.Prefix': 'partitionPrefix',
};

type Partitioning = Schemas['Partitioning'];

/** Firehose needs bigger buffers to partition: each partition buffers on its own. */
const MIN_PARTITIONED_BUFFER_MIB = 64;
const MIN_PARTITIONED_INTERVAL_SECONDS = 60;

/** “name = jq query” lines as Partitioning keys (a line without “=” is its own name's query). */
export function parsePartitionKeys(text: string): NonNullable<Partitioning['Keys']> {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const at = line.indexOf('=');
      return at < 0 ? { Name: line, Query: `.${line}` } : { Name: line.slice(0, at).trim(), Query: line.slice(at + 1).trim() };
    });
}

/** Firehose's compression formats; Redshift's COPY reads the first two only. */
export function compressionsFor(target: Target): { value: Compression; label: string }[] {
  const all: { value: Compression; label: string }[] = [
    { value: 'UNCOMPRESSED', label: 'Uncompressed' },
    { value: 'GZIP', label: 'GZIP (.gz)' },
    { value: 'ZIP', label: 'ZIP (.zip)' },
    { value: 'Snappy', label: 'Snappy (.snappy, snappy-java)' },
    { value: 'HADOOP_SNAPPY', label: 'Hadoop Snappy (.snappy)' },
  ];
  return target === 'redshift' ? all.slice(0, 2) : all;
}

const PARQUET_COMPRESSIONS: { value: ParquetCompression; label: string }[] = [
  { value: 'SNAPPY', label: 'Snappy' },
  { value: 'GZIP', label: 'GZIP' },
  { value: 'UNCOMPRESSED', label: 'Uncompressed' },
];

/** Whether a consumer converts records to Parquet: Parquet datasets with a Glue table. */
export function convertsToParquet(target: Target, fileType: string): boolean {
  return fileType.toLowerCase() === 'parquet' && (target === 's3athena' || target === 'lakeformation');
}

const TARGETS: { value: Target; label: string }[] = [
  { value: 's3', label: 'S3' },
  { value: 's3athena', label: 'S3 Athena' },
  { value: 'lakeformation', label: 'Lake Formation' },
  { value: 'redshift', label: 'Redshift' },
];

/** Whether a consumer appends to an Iceberg table: Iceberg datasets (Athena and Lake Formation only). */
export function appendsToIceberg(target: Target, fileType: string): boolean {
  return fileType.toLowerCase() === 'iceberg' && (target === 's3athena' || target === 'lakeformation');
}

/** The seed's file types per target, and Iceberg tables where the Glue catalog holds them. */
export function fileTypesFor(target: Target): { value: string; label: string }[] {
  if (target === 's3') {
    return [
      { value: 'csv', label: 'CSV' },
      { value: 'others', label: 'OTHERS' },
    ];
  }
  const files = [
    { value: 'csv', label: 'CSV' },
    { value: 'parquet', label: 'PARQUET' },
  ];
  return target === 'redshift' ? files : [...files, { value: 'iceberg', label: 'ICEBERG' }];
}

/** A line under File Type for the types that need one. */
export function fileTypeHint(fileType: string): string | undefined {
  return fileType === 'iceberg' ? 'An Apache Iceberg table: snapshots, schema evolution; records are JSON objects matched to columns by name; timestamps in microseconds.' : undefined;
}

export default function CreateConsumer({ streamId }: { streamId: string }) {
  const { route } = useLocation();
  const stream = useQuery(`stream:${streamId}`, () => getStream(streamId));
  // Refreshed while a transform is being created or updated, so it can be chosen once ACTIVE.
  const transforms = useQuery(
    `transforms-active:${streamId}`,
    () => call(api.GET('/streams/{StreamId}/transforms', { params: { path: { StreamId: streamId }, query: { Limit: 100 } } })),
    (page) => (page?.Transforms.some((t) => isTransitional(t.Status)) ? 2000 : null),
  );
  const datasets = useQuery('datasets-all', () => call(api.GET('/datasets', { params: { query: { Limit: 100 } } })));
  const [name, setName] = useState('');
  const [bufferSize, setBufferSize] = useState('5');
  const [bufferInterval, setBufferInterval] = useState('300');
  const [target, setTarget] = useState<Target>('s3athena');
  const [createDataset, setCreateDataset] = useState(true);
  const [datasetId, setDatasetId] = useState('');
  const [transformId, setTransformId] = useState('');
  const [datasetName, setDatasetName] = useState('');
  const [domain, setDomain] = useState('');
  const [fileType, setFileType] = useState('csv');
  const [description, setDescription] = useState('');
  const [schema, setSchema] = useState('');
  const [redshift, setRedshift] = useState({ JdbcUrl: '', Database: '', SecretId: '', TableName: '' });
  const [compression, setCompression] = useState<Compression>('UNCOMPRESSED');
  const [parquetCompression, setParquetCompression] = useState<ParquetCompression>('SNAPPY');
  const [partitionKeys, setPartitionKeys] = useState('');
  const [partitionFromTransform, setPartitionFromTransform] = useState(false);
  const [partitionPrefix, setPartitionPrefix] = useState('');
  const [errors, setErrors] = useState<FieldErrors<FormField>>(noErrors);
  const [busy, setBusy] = useState(false);

  const usableDatasets = datasets.data?.Datasets.filter((d) => d.Status === 'ACTIVE' && d.TargetLocation === target) ?? [];
  const chosenDataset = usableDatasets.find((d) => d.DatasetId === datasetId);
  const destinationFileType = createDataset ? fileType : (chosenDataset?.FileType ?? '');
  const converted = convertsToParquet(target, destinationFileType);
  // An Iceberg table takes records as they are: no consumer compression, no partitioning.
  const iceberg = appendsToIceberg(target, destinationFileType);
  const needsSchema = fileType === 'parquet' || fileType === 'iceberg' || target === 'redshift';
  const chooseTarget = (next: Target) => {
    setTarget(next);
    if (!fileTypesFor(next).some((f) => f.value === fileType)) setFileType('csv');
    if (!compressionsFor(next).some((c) => c.value === compression)) setCompression('UNCOMPRESSED');
  };

  // Typing the first key raises the buffers to what partitioning needs.
  const choosePartitionKeys = (text: string) => {
    if (text.trim() && !partitionKeys.trim()) {
      if (Number(bufferSize) < MIN_PARTITIONED_BUFFER_MIB) setBufferSize('128');
      if (Number(bufferInterval) < MIN_PARTITIONED_INTERVAL_SECONDS) setBufferInterval(String(MIN_PARTITIONED_INTERVAL_SECONDS));
    }
    setPartitionKeys(text);
  };
  const partitioned = target !== 'redshift' && !iceberg && (partitionKeys.trim() !== '' || partitionFromTransform);
  const partitioning: Partitioning | undefined = partitioned
    ? {
        Keys: parsePartitionKeys(partitionKeys),
        FromTransform: partitionFromTransform,
        ...(partitionPrefix.trim() ? { Prefix: partitionPrefix.trim() } : {}),
      }
    : undefined;

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setErrors(noErrors);
    const dataset = createDataset
      ? {
          CreateDataset: true,
          DatasetConfiguration: {
            DatasetName: datasetName.trim(),
            Domain: domain.trim(),
            FileType: fileType,
            ...(description.trim() ? { Description: description.trim() } : {}),
            ...(needsSchema && schema.trim() ? { Schema: parseSchema(schema) } : {}),
            ...(target === 'redshift'
              ? { Redshift: { JdbcUrl: redshift.JdbcUrl.trim(), Database: redshift.Database.trim(), SecretId: redshift.SecretId.trim(), ...(redshift.TableName.trim() ? { TableName: redshift.TableName.trim() } : {}) } }
              : {}),
          },
        }
      : { CreateDataset: false, DatasetId: datasetId };
    try {
      const accepted = await call(
        api.POST('/streams/{StreamId}/consumers', {
          params: { path: { StreamId: streamId }, header: { 'Idempotency-Key': idempotencyKey() } },
          // The generated type makes defaulted members required and cannot express CreateDataset's two shapes.
          body: {
            ConsumerName: name.trim(),
            BufferSize: Number(bufferSize),
            BufferInterval: Number(bufferInterval),
            TargetLocation: target,
            ...(transformId ? { TransformId: transformId } : {}),
            ...(iceberg ? {} : converted ? (parquetCompression !== 'SNAPPY' ? { ParquetCompression: parquetCompression } : {}) : compression !== 'UNCOMPRESSED' ? { Compression: compression } : {}),
            ...(partitioning ? { Partitioning: partitioning } : {}),
            ...dataset,
          } as never,
        }),
      );
      route(href(`streams/${streamId}/consumers/${accepted.ConsumerId}?job=${accepted.Job.JobId}`));
    } catch (error) {
      setErrors(mapFieldErrors(error, CONSUMER_FIELDS));
      setBusy(false);
    }
  };

  if (stream.error) return <ErrorState error={stream.error} onRetry={stream.reload} />;
  const streamName = stream.data?.StreamName ?? streamId;
  const activeTransforms = transforms.data?.Transforms.filter((t) => t.Status === 'ACTIVE') ?? [];
  const settling = transforms.data?.Transforms.filter((t) => isTransitional(t.Status)) ?? [];

  return (
    <>
      <PageHeader
        crumbs={[{ label: 'Streams', href: href('') }, { label: streamName, href: href(`streams/${streamId}?tab=consumers`) }, { label: 'New consumer' }]}
        title="New consumer"
      />
      <p class="lead">A consumer is a Kinesis Data Firehose delivery stream that continuously collects this stream's records and loads them into a dataset.</p>
      {!stream.data ? (
        <Loading />
      ) : (
        <form class="form" onSubmit={submit} noValidate>
          <Alert messages={errors.general} title="The consumer was not created" />
          <TextField id="consumer-name" label="Consumer Name" value={name} onValue={setName} errors={errors.byField.name} help="Name to be used for the consumer: letters, digits, '_', '.' and '-'." autoComplete="off" />
          <div class="field-row">
            <NumberField id="buffer-size" label="Buffer Size" unit="MiB" value={bufferSize} onValue={setBufferSize} errors={errors.byField.bufferSize} help="Buffer incoming data to this size before delivering it: 1–128 MiB." />
            <NumberField
              id="buffer-interval"
              label="Buffer Interval"
              unit="seconds"
              value={bufferInterval}
              onValue={setBufferInterval}
              errors={errors.byField.bufferInterval}
              help="Or deliver after this many seconds, whichever comes first: 0–900 (0: as soon as records arrive)."
            />
          </div>
          <SelectField
            id="transform"
            label="Transform"
            value={transformId}
            onValue={setTransformId}
            options={[{ value: '', label: 'None: deliver records as they are' }, ...activeTransforms.map((t) => ({ value: t.TransformId, label: `${t.FunctionName} (${t.LambdaHandler})` }))]}
            errors={errors.byField.transform}
            help={
              settling.length
                ? `Waiting for ${settling.map((t) => `${t.FunctionName} (${t.Status})`).join(', ')} to be ACTIVE.`
                : activeTransforms.length === 0
                  ? 'This stream has no ACTIVE transform yet.'
                  : 'A data transformation of this stream, applied before delivery.'
            }
          />
          <SelectField id="target" label="Target Location" value={target} options={TARGETS} onValue={chooseTarget} errors={errors.byField.target} help="Final destination where the streaming data is stored." />
          <CheckboxField id="create-dataset" label="Create Dataset" checked={createDataset} onValue={setCreateDataset} errors={errors.byField.createDataset} help="Create a new dataset for this consumer, or deliver into an existing one." />
          {createDataset ? (
            <fieldset>
              <legend>Dataset configuration</legend>
              <TextField id="dataset-name" label="Dataset Name" value={datasetName} onValue={setDatasetName} errors={errors.byField.datasetName} help="3–120 letters, digits and '_', unique within its domain." autoComplete="off" />
              <TextField id="domain" label="Domain" value={domain} onValue={setDomain} errors={errors.byField.domain} help="The group the dataset belongs to, such as finance." autoComplete="off" />
              <SelectField id="file-type" label="File Type" value={fileType} options={fileTypesFor(target)} onValue={setFileType} errors={errors.byField.fileType} help={fileTypeHint(fileType)} />
              <TextField id="dataset-description" label="Dataset description" value={description} onValue={setDescription} errors={errors.byField.description} />
              {needsSchema && (
                <Field
                  id="schema"
                  label="Schema"
                  errors={errors.byField.schema}
                  help={
                    fileType === 'iceberg'
                      ? 'One column a line: name and type, e.g. “company string”, “price decimal(10,2)”: string, int, bigint, double, float, boolean, date, timestamp, decimal(p,s).'
                      : 'One column a line: name and Glue type, e.g. “company string”, “price double”. Records are JSON objects matched by name.'
                  }
                >
                  {(a11y) => <textarea {...a11y} rows={4} value={schema} onInput={(e) => setSchema(e.currentTarget.value)} spellcheck={false} />}
                </Field>
              )}
              {target === 'redshift' && (
                <>
                  <TextField id="jdbc-url" label="JDBC URL" value={redshift.JdbcUrl} onValue={(v) => setRedshift({ ...redshift, JdbcUrl: v })} errors={errors.byField.jdbcUrl} placeholder="jdbc:redshift://host:5439/dev" />
                  <TextField id="database" label="Database" value={redshift.Database} onValue={(v) => setRedshift({ ...redshift, Database: v })} errors={errors.byField.database} />
                  <TextField id="secret-id" label="Secret" value={redshift.SecretId} onValue={(v) => setRedshift({ ...redshift, SecretId: v })} errors={errors.byField.secretId} help="Secrets Manager secret with username and password, tagged tributary:tenant." />
                  <TextField id="table-name" label="Table Name" value={redshift.TableName} onValue={(v) => setRedshift({ ...redshift, TableName: v })} errors={errors.byField.tableName} help="Optional; default the dataset's name." />
                </>
              )}
            </fieldset>
          ) : (
            <SelectField
              id="dataset-id"
              label="Dataset"
              value={datasetId}
              onValue={setDatasetId}
              options={[{ value: '', label: usableDatasets.length ? 'Choose a dataset' : `No ACTIVE ${target} dataset yet` }, ...usableDatasets.map((d) => ({ value: d.DatasetId, label: `${d.Domain}.${d.DatasetName} (${d.FileType})` }))]}
              errors={errors.byField.datasetId}
            />
          )}
          {iceberg ? null : converted ? (
            <SelectField
              id="parquet-compression"
              label="Parquet compression"
              value={parquetCompression}
              options={PARQUET_COMPRESSIONS}
              onValue={setParquetCompression}
              errors={errors.byField.parquetCompression}
              help="Records are converted to Parquet; the codec inside the files (Athena reads each)."
            />
          ) : (
            <SelectField
              id="compression"
              label="Compression"
              value={compression}
              options={compressionsFor(target)}
              onValue={setCompression}
              errors={errors.byField.compression}
              help={target === 'redshift' ? 'Of the objects COPY loads: Redshift reads uncompressed or GZIP.' : 'Of the delivered objects, and of failed records: smaller objects, less for Athena to scan.'}
            />
          )}
          {target !== 'redshift' && !iceberg && (
            <fieldset>
              <legend>Partitioning (optional)</legend>
              <Field
                id="partition-keys"
                label="Partition keys"
                errors={errors.byField.partitionKeys}
                help={'One key a line, “name = jq query” on each JSON record, e.g. “sector = .sector” or “day = .ts | strftime("%Y-%m-%d")”. Each value gets its own folder, so queries that filter on it read less. Needs buffers of at least 64 MiB and 60 s; at most 500 partitions at once.'}
              >
                {(a11y) => <textarea {...a11y} rows={2} value={partitionKeys} onInput={(e) => choosePartitionKeys(e.currentTarget.value)} spellcheck={false} placeholder="sector = .sector" />}
              </Field>
              {transformId && (
                <CheckboxField
                  id="partition-from-transform"
                  label="Keys from the transform"
                  checked={partitionFromTransform}
                  onValue={setPartitionFromTransform}
                  errors={errors.byField.partitionFromTransform}
                  help="The transform returns metadata.partitionKeys with each record; name them in the prefix as !{partitionKeyFromLambda:name}."
                />
              )}
              {partitioned && (
                <TextField
                  id="partition-prefix"
                  label="Prefix"
                  value={partitionPrefix}
                  onValue={setPartitionPrefix}
                  errors={errors.byField.partitionPrefix}
                  placeholder={parsePartitionKeys(partitionKeys).map((k) => `${k.Name}=!{partitionKeyFromQuery:${k.Name}}/`).join('') || 'region=!{partitionKeyFromLambda:region}/'}
                  help="Optional: where each partition goes under the dataset. Default: name=value/ per key."
                  autoComplete="off"
                />
              )}
            </fieldset>
          )}
          <div class="form-actions">
            <button type="submit" class="button primary" disabled={busy}>
              Create consumer
            </button>
            <a class="button" href={href(`streams/${streamId}?tab=consumers`)}>
              Cancel
            </a>
          </div>
        </form>
      )}
    </>
  );
}
