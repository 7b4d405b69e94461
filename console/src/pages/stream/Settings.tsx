/** A stream's settings: edit what can change (metadata and configuration), or delete it. */
import { useState } from 'preact/hooks';
import { api, call, idempotencyKey, type Stream } from '../../lib/api';
import { mapFieldErrors, noErrors, type FieldErrors } from '../../lib/field-errors';
import { openDialog } from '../../components/Dialog';
import { NumberField, SelectField, TextField } from '../../components/Fields';
import { Alert } from '../../components/States';
import { ConfirmDelete } from '../../components/ConfirmDelete';

type FormField = 'description' | 'mode' | 'retention' | 'shards';
const FIELDS: Record<string, FormField> = { Description: 'description', StreamMode: 'mode', DataRetentionPeriod: 'retention', ShardCount: 'shards' };

export function Settings({ stream, onChanged }: { stream: Stream; onChanged: (jobId?: string) => void }) {
  const [description, setDescription] = useState(stream.Description ?? '');
  const [mode, setMode] = useState(stream.StreamMode);
  const [retention, setRetention] = useState(String(stream.DataRetentionPeriod));
  const [shards, setShards] = useState(String(stream.ShardCount ?? 1));
  const [errors, setErrors] = useState<FieldErrors<FormField>>(noErrors);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const locked = stream.Status !== 'ACTIVE' && stream.Status !== 'UPDATE_FAILED';

  const changes = {
    ...(description !== (stream.Description ?? '') ? { Description: description } : {}),
    ...(mode !== stream.StreamMode ? { StreamMode: mode } : {}),
    ...(Number(retention) !== stream.DataRetentionPeriod ? { DataRetentionPeriod: Number(retention) } : {}),
    ...(mode === 'PROVISIONED' && Number(shards) !== (stream.ShardCount ?? 1) ? { ShardCount: Number(shards) } : {}),
  };

  const save = async (event: Event) => {
    event.preventDefault();
    setErrors(noErrors);
    setSaved(false);
    if (Object.keys(changes).length === 0) return setErrors({ byField: {}, general: ['Nothing changed.'] });
    setBusy(true);
    try {
      const answer = (await call(
        api.PATCH('/streams/{StreamId}', {
          params: { path: { StreamId: stream.StreamId }, header: { 'Idempotency-Key': idempotencyKey(), 'If-Match': String(stream.Version) } },
          body: changes,
        }),
      )) as Stream & { Job?: { JobId: string } };
      setSaved(true);
      onChanged(answer.Job?.JobId);
    } catch (error) {
      setErrors(mapFieldErrors(error, FIELDS));
    }
    setBusy(false);
  };

  return (
    <>
      <section aria-labelledby="edit-heading">
        <h2 id="edit-heading">Edit stream</h2>
        <p class="muted">Only metadata and configuration can change; the name and type stay. Changing mode, retention or shards runs a job.</p>
        <form class="form" onSubmit={save} noValidate>
          <Alert messages={errors.general} title="Not saved" />
          {saved && <Alert tone="good" messages={['Saved.']} />}
          <TextField id="settings-description" label="Description" value={description} onValue={setDescription} errors={errors.byField.description} />
          <SelectField
            id="settings-mode"
            label="Stream Mode"
            value={mode}
            onValue={setMode}
            options={[
              { value: 'PROVISIONED', label: 'PROVISIONED' },
              { value: 'ON_DEMAND', label: 'ON_DEMAND' },
            ]}
            errors={errors.byField.mode}
          />
          <NumberField id="settings-retention" label="Data Retention Period (Hrs)" unit="hours" value={retention} onValue={setRetention} errors={errors.byField.retention} help="24 to 8760 hours." />
          {mode === 'PROVISIONED' && (
            <NumberField id="settings-shards" label="Shard Count" unit="shards" value={shards} onValue={setShards} errors={errors.byField.shards} help="Half to double the current count per change." />
          )}
          <div class="form-actions">
            <button type="submit" class="button primary" disabled={busy || locked}>
              Save
            </button>
            {locked && <span class="muted">The stream is {stream.Status}: wait until it is ACTIVE.</span>}
          </div>
        </form>
      </section>
      <section aria-labelledby="delete-heading" class="danger-zone">
        <h2 id="delete-heading">Delete stream</h2>
        <p>Deleting removes the Kinesis stream, its records and its producer keys. Delete its consumers and transforms first.</p>
        <button type="button" class="button danger" onClick={() => openDialog(<DeleteStream stream={stream} />)}>
          Delete
        </button>
      </section>
    </>
  );
}

function DeleteStream({ stream }: { stream: Stream }) {
  const remove = () =>
    call(
      api.DELETE('/streams/{StreamId}', {
        params: { path: { StreamId: stream.StreamId }, header: { 'Idempotency-Key': idempotencyKey(), 'If-Match': String(stream.Version) } },
      }),
    ) as Promise<{ Job: { JobId: string } }>;
  return (
    <ConfirmDelete title={`Delete stream ${stream.StreamName}?`} remove={remove} then={(job) => `jobs/${job}`}>
      <p>
        The stream <strong>{stream.StreamName}</strong>, every record it holds and its producer keys are deleted. Producers using its keys are refused. This cannot be
        undone.
      </p>
    </ConfirmDelete>
  );
}
