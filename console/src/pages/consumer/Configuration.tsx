/** A consumer's configuration: buffering and transform are editable; the dataset is shown; delete. */
import { useState } from 'preact/hooks';
import { api, call, idempotencyKey, type Consumer } from '../../lib/api';
import { mapFieldErrors, noErrors, type FieldErrors } from '../../lib/field-errors';
import { useQuery } from '../../lib/use-query';
import { openDialog } from '../../components/Dialog';
import { NumberField, SelectField } from '../../components/Fields';
import { href } from '../../components/PageHeader';
import { Alert } from '../../components/States';
import { ConfirmDelete } from '../../components/ConfirmDelete';

type FormField = 'bufferSize' | 'bufferInterval' | 'transform';
const FIELDS: Record<string, FormField> = { BufferSize: 'bufferSize', BufferInterval: 'bufferInterval', TransformId: 'transform' };

export function Configuration({ streamId, consumer, onChanged }: { streamId: string; consumer: Consumer; onChanged: (jobId?: string) => void }) {
  const transforms = useQuery(`transforms-active:${streamId}`, () => call(api.GET('/streams/{StreamId}/transforms', { params: { path: { StreamId: streamId }, query: { Limit: 100 } } })));
  const [bufferSize, setBufferSize] = useState(String(consumer.BufferSize));
  const [bufferInterval, setBufferInterval] = useState(String(consumer.BufferInterval));
  const [transformId, setTransformId] = useState(consumer.TransformId ?? '');
  const [errors, setErrors] = useState<FieldErrors<FormField>>(noErrors);
  const [busy, setBusy] = useState(false);
  const changes = {
    ...(Number(bufferSize) !== consumer.BufferSize ? { BufferSize: Number(bufferSize) } : {}),
    ...(Number(bufferInterval) !== consumer.BufferInterval ? { BufferInterval: Number(bufferInterval) } : {}),
    ...(transformId !== (consumer.TransformId ?? '') ? { TransformId: transformId || null } : {}),
  };
  const save = async (event: Event) => {
    event.preventDefault();
    setErrors(noErrors);
    if (Object.keys(changes).length === 0) return setErrors({ byField: {}, general: ['Nothing changed.'] });
    setBusy(true);
    try {
      const answer = (await call(
        api.PATCH('/streams/{StreamId}/consumers/{ConsumerId}', {
          params: { path: { StreamId: streamId, ConsumerId: consumer.ConsumerId }, header: { 'Idempotency-Key': idempotencyKey(), 'If-Match': String(consumer.Version) } },
          body: changes,
        }),
      )) as { Job?: { JobId: string } };
      onChanged(answer.Job?.JobId);
    } catch (error) {
      setErrors(mapFieldErrors(error, FIELDS));
    }
    setBusy(false);
  };
  const options = [{ value: '', label: 'None' }, ...(transforms.data?.Transforms.filter((t) => t.Status === 'ACTIVE' || t.TransformId === consumer.TransformId).map((t) => ({ value: t.TransformId, label: t.FunctionName })) ?? [])];
  return (
    <>
      <section aria-labelledby="config-heading">
        <h2 id="config-heading">Configuration</h2>
        <dl class="facts">
          <div>
            <dt>Target Location</dt>
            <dd>{consumer.TargetLocation}</dd>
          </div>
          <div>
            <dt>Dataset</dt>
            <dd>
              <a href={href(`datasets/${consumer.DatasetId}`)}>{consumer.DatasetId}</a>
            </dd>
          </div>
          <div>
            <dt>Compression</dt>
            <dd>{consumer.ParquetCompression ? `Parquet files, ${consumer.ParquetCompression}` : consumer.Compression}</dd>
          </div>
          <div>
            <dt>Partitioned by</dt>
            <dd>
              {consumer.Partitioning ? (
                <>
                  <code>{consumer.Partitioning.Prefix}</code>
                  {consumer.Partitioning.Keys?.map((k) => (
                    <span key={k.Name} class="muted">
                      {' '}
                      {k.Name} = <code>{k.Query}</code>
                    </span>
                  ))}
                  {consumer.Partitioning.FromTransform ? <span class="muted"> and the transform's keys</span> : null}
                </>
              ) : (
                'Not partitioned: one folder per hour'
              )}
            </dd>
          </div>
          <div>
            <dt>Delivery stream</dt>
            <dd>
              <code>{consumer.DeliveryStreamName}</code>
            </dd>
          </div>
        </dl>
        <form class="form" onSubmit={save} noValidate>
          <Alert messages={errors.general} title="Not saved" />
          <NumberField id="cfg-buffer-size" label="Buffer Size" unit="MiB" value={bufferSize} onValue={setBufferSize} errors={errors.byField.bufferSize} help="1–128 MiB." />
          <NumberField id="cfg-buffer-interval" label="Buffer Interval" unit="seconds" value={bufferInterval} onValue={setBufferInterval} errors={errors.byField.bufferInterval} help="0–900 seconds." />
          <SelectField id="cfg-transform" label="Transform" value={transformId} options={options} onValue={setTransformId} errors={errors.byField.transform} />
          <div class="form-actions">
            <button type="submit" class="button primary" disabled={busy || consumer.Status !== 'ACTIVE'}>
              Save
            </button>
          </div>
        </form>
      </section>
      <section aria-labelledby="delete-consumer-heading" class="danger-zone">
        <h2 id="delete-consumer-heading">Delete consumer</h2>
        <p>The delivery stream and its role are deleted; the dataset and what it holds stay.</p>
        <button type="button" class="button danger" onClick={() => openDialog(<DeleteConsumer streamId={streamId} consumer={consumer} />)}>
          Delete
        </button>
      </section>
    </>
  );
}

function DeleteConsumer({ streamId, consumer }: { streamId: string; consumer: Consumer }) {
  const remove = () =>
    call(
      api.DELETE('/streams/{StreamId}/consumers/{ConsumerId}', {
        params: { path: { StreamId: streamId, ConsumerId: consumer.ConsumerId }, header: { 'Idempotency-Key': idempotencyKey(), 'If-Match': String(consumer.Version) } },
      }),
    ) as Promise<{ Job: { JobId: string } }>;
  return (
    <ConfirmDelete title={`Delete consumer ${consumer.ConsumerName}?`} remove={remove} then={(job) => `streams/${streamId}?tab=consumers&job=${job}`}>
      <p>Delivery stops and the delivery stream is deleted. The dataset keeps what was delivered.</p>
    </ConfirmDelete>
  );
}
