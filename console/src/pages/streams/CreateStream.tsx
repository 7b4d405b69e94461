/** The seed's stream form: Stream Name, Stream Type, Stream Mode, Data Retention Period (Hrs), Shard Count. */
import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, call, idempotencyKey } from '../../lib/api';
import { mapFieldErrors, noErrors, type FieldErrors } from '../../lib/field-errors';
import { NumberField, SelectField, TextField } from '../../components/Fields';
import { href, PageHeader } from '../../components/PageHeader';
import { Alert } from '../../components/States';

type FormField = 'name' | 'type' | 'mode' | 'retention' | 'shards' | 'description';

/** The API's member names, mapped to this form's fields. */
const FIELDS: Record<string, FormField> = {
  StreamName: 'name',
  StreamType: 'type',
  StreamMode: 'mode',
  DataRetentionPeriod: 'retention',
  ShardCount: 'shards',
  Description: 'description',
};

export function CreateStream() {
  const { route } = useLocation();
  const [name, setName] = useState('');
  const [mode, setMode] = useState<'PROVISIONED' | 'ON_DEMAND'>('PROVISIONED');
  const [retention, setRetention] = useState('24');
  const [shards, setShards] = useState('1');
  const [description, setDescription] = useState('');
  const [errors, setErrors] = useState<FieldErrors<FormField>>(noErrors);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setErrors(noErrors);
    try {
      const accepted = await call(
        api.POST('/streams', {
          params: { header: { 'Idempotency-Key': idempotencyKey() } },
          // The generated type makes defaulted members required; ShardCount must be left out for ON_DEMAND.
          body: {
            StreamName: name.trim(),
            StreamType: 'Kinesis',
            StreamMode: mode,
            DataRetentionPeriod: Number(retention),
            ...(mode === 'PROVISIONED' ? { ShardCount: Number(shards) } : {}),
            ...(description.trim() ? { Description: description.trim() } : {}),
          } as never,
        }),
      );
      route(href(`streams/${accepted.StreamId}?job=${accepted.Job.JobId}`));
    } catch (error) {
      setErrors(mapFieldErrors(error, FIELDS));
      setBusy(false);
    }
  };

  return (
    <>
      <PageHeader crumbs={[{ label: 'Streams', href: href('') }, { label: 'New stream' }]} title="New stream" />
      <form class="form" onSubmit={submit} noValidate>
        <Alert messages={errors.general} title="The stream was not created" />
        <TextField
          id="stream-name"
          label="Stream Name"
          value={name}
          onValue={setName}
          errors={errors.byField.name}
          help="Name for the stream: letters, digits, '_', '.' and '-', up to 128 characters, unique among your streams."
          autoComplete="off"
          required
        />
        <SelectField id="stream-type" label="Stream Type" value="Kinesis" options={[{ value: 'Kinesis', label: 'Kinesis' }]} onValue={() => undefined} errors={errors.byField.type} help="Only Kinesis is supported." />
        <SelectField
          id="stream-mode"
          label="Stream Mode"
          value={mode}
          onValue={setMode}
          options={[
            { value: 'PROVISIONED', label: 'PROVISIONED — a fixed number of shards' },
            { value: 'ON_DEMAND', label: 'ON_DEMAND — capacity follows the traffic' },
          ]}
          errors={errors.byField.mode}
          help="Optional. Default is Provisioned."
        />
        <NumberField
          id="retention"
          label="Data Retention Period (Hrs)"
          value={retention}
          onValue={setRetention}
          unit="hours"
          errors={errors.byField.retention}
          help="How long the stream keeps its records: 24 to 8760 hours."
        />
        {mode === 'PROVISIONED' && (
          <NumberField
            id="shards"
            label="Shard Count"
            value={shards}
            onValue={setShards}
            unit="shards"
            errors={errors.byField.shards}
            help="Each shard ingests up to 1 MiB/second and 1000 records/second."
          />
        )}
        <TextField id="description" label="Description" value={description} onValue={setDescription} errors={errors.byField.description} help="Optional: what flows through this stream." />
        <div class="form-actions">
          <button type="submit" class="button primary" disabled={busy}>
            Create stream
          </button>
          <a class="button" href={href('')}>
            Cancel
          </a>
        </div>
      </form>
    </>
  );
}
