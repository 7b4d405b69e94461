/** Replay: the stream's records from a time delivered again through this consumer only, after a review. */
import { useState } from 'preact/hooks';
import { api, call, idempotencyKey, type Consumer, type Stream } from '../../lib/api';
import { mapFieldErrors, noErrors, type FieldErrors } from '../../lib/field-errors';
import { fromInputValue, toInputValue } from '../../lib/time';
import { useQuery } from '../../lib/use-query';
import { useUrlQuery } from '../../lib/url-state';
import { closeDialog, Dialog, openDialog } from '../../components/Dialog';
import { Field } from '../../components/Fields';
import { Alert, Loading } from '../../components/States';
import { Time } from '../../components/Time';
import { destinationOf } from './destination';

type FormField = 'from' | 'to';

export function Replay({ stream, consumer, onStarted }: { stream: Stream | undefined; consumer: Consumer; onStarted: (jobId: string) => void }) {
  const { query, set } = useUrlQuery();
  const retentionHours = stream?.DataRetentionPeriod ?? 24;
  const [from, setFrom] = useState(toInputValue(query.from ?? new Date(Date.now() - 3_600_000).toISOString()));
  const [to, setTo] = useState(toInputValue(query.to));
  const [errors, setErrors] = useState<FieldErrors<FormField>>(noErrors);

  const review = (event: Event) => {
    event.preventDefault();
    setErrors(noErrors);
    const From = fromInputValue(from);
    const To = to ? fromInputValue(to) : undefined;
    if (!From) return setErrors({ byField: { from: ['Choose when the replay starts.'] }, general: [] });
    set({ from: From, to: To }, { replace: true });
    openDialog(<ReplayReview streamId={consumer.StreamId} consumer={consumer} from={From} to={To} onStarted={onStarted} onRefused={setErrors} />);
  };

  return (
    <section aria-labelledby="replay-heading">
      <h2 id="replay-heading">Replay from a time</h2>
      <p class="muted">
        Delivers the stream's records that arrived in a window again, through this consumer's current transform, into this consumer's dataset only (other consumers
        are not touched). The stream keeps records for {retentionHours} hours. Delivery is at least once: a record may land twice.
      </p>
      <form class="form inline-form" onSubmit={review} noValidate>
        <Alert messages={errors.general} />
        <Field id="replay-from" label="From" errors={errors.byField.from} help="Records that arrived at or after this time.">
          {(a11y) => <input type="datetime-local" step={1} {...a11y} value={from} onInput={(e) => setFrom(e.currentTarget.value)} />}
        </Field>
        <Field id="replay-to" label="To" errors={errors.byField.to} help="Optional; default now.">
          {(a11y) => <input type="datetime-local" step={1} {...a11y} value={to} onInput={(e) => setTo(e.currentTarget.value)} />}
        </Field>
        <button type="submit" class="button primary" disabled={consumer.Status !== 'ACTIVE' || Boolean(consumer.RecoveryJobId)}>
          Replay
        </button>
      </form>
    </section>
  );
}

function ReplayReview({ streamId, consumer, from, to, onStarted, onRefused }: {
  streamId: string;
  consumer: Consumer;
  from: string;
  to?: string;
  onStarted: (jobId: string) => void;
  onRefused: (errors: FieldErrors<FormField>) => void;
}) {
  const where = useQuery(`destination:${consumer.ConsumerId}`, () => destinationOf(streamId, consumer));
  const [problem, setProblem] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const replay = async () => {
    setBusy(true);
    try {
      const answer = (await call(
        api.POST('/streams/{StreamId}/consumers/{ConsumerId}/replay', {
          params: { path: { StreamId: streamId, ConsumerId: consumer.ConsumerId }, header: { 'Idempotency-Key': idempotencyKey(), 'If-Match': String(consumer.Version) } },
          body: { From: from, ...(to ? { To: to } : {}) },
        }),
      )) as { Job: { JobId: string } };
      closeDialog();
      onStarted(answer.Job.JobId);
    } catch (error) {
      const mapped = mapFieldErrors(error, { From: 'from', To: 'to' } as Record<string, FormField>);
      if (Object.keys(mapped.byField).length) {
        closeDialog();
        onRefused(mapped);
      } else {
        setProblem(mapped.general);
        setBusy(false);
      }
    }
  };
  return (
    <Dialog title="Review the replay">
      {!where.data ? (
        <Loading />
      ) : (
        <p class="review">
          Every record that arrived from <strong><Time value={from} /></strong> to <strong>{to ? <Time value={to} /> : 'now'}</strong> is read again from the stream and
          goes through {where.data.transform ? <>the transform <strong>{where.data.transform}</strong> as it is now</> : 'no transform'} into the dataset{' '}
          <strong>{where.data.dataset}</strong>
          {where.data.location && (
            <>
              {' '}
              at <code>{where.data.location}</code>
            </>
          )}
          . The job counts the records it reads as it goes.
        </p>
      )}
      <Alert messages={problem} title="The replay did not start" />
      <div class="form-actions">
        <button type="button" class="button primary" onClick={replay} disabled={busy || !where.data}>
          Replay
        </button>
        <button type="button" class="button" onClick={closeDialog}>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}
