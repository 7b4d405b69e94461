/**
 * Producer keys: the access key producers push records with (revealed on request, with copy
 * buttons and the seed's boto3 script filled in), every key with its state, rotation with
 * an overlap, and revocation.
 */
import { useState } from 'preact/hooks';
import { api, call, idempotencyKey, type Schemas, type Stream } from '../../lib/api';
import { mapFieldErrors, noErrors, type FieldErrors } from '../../lib/field-errors';
import { useQuery } from '../../lib/use-query';
import { Badge } from '../../components/Badge';
import { CopyButton } from '../../components/CopyButton';
import { closeDialog, Dialog, openDialog } from '../../components/Dialog';
import { NumberField } from '../../components/Fields';
import { JobProgress } from '../../components/JobProgress';
import { Alert, Empty, ErrorState, Loading } from '../../components/States';
import { Time } from '../../components/Time';
import { boto3Snippet } from './boto3-snippet';

export function ProducerKeys({ stream }: { stream: Stream }) {
  const path = { StreamId: stream.StreamId };
  const [jobId, setJobId] = useState<string | null>(null);
  const keys = useQuery(`keys:${stream.StreamId}`, () => call(api.GET('/streams/{StreamId}/credentials/keys', { params: { path } })), 30_000);
  if (stream.Status !== 'ACTIVE' && stream.Status !== 'UPDATING') {
    return <Empty title="No keys yet">{<p>The stream's producer key is made when the stream becomes ACTIVE.</p>}</Empty>;
  }
  return (
    <>
      <Reveal stream={stream} />
      <section aria-labelledby="keys-heading">
        <h2 id="keys-heading">Keys</h2>
        <p class="muted">
          Each stream has its own IAM user whose keys may only write to this stream (PutRecord, PutRecords) and describe it. Rotating makes a new key; the old one
          keeps working during the overlap so producers can switch without losing records.
        </p>
        {jobId && <JobProgress jobId={jobId} onFinished={() => keys.reload()} />}
        {keys.error && !keys.data ? (
          <ErrorState error={keys.error} onRetry={keys.reload} />
        ) : !keys.data ? (
          <Loading label="Loading keys…" />
        ) : (
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Producer keys</caption>
              <thead>
                <tr>
                  <th scope="col">Access key ID</th>
                  <th scope="col">Status</th>
                  <th scope="col">Created</th>
                  <th scope="col">Stops working</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {keys.data.Keys.map((key) => (
                  <tr key={key.AccessKeyId}>
                    <th scope="row">
                      <code>{key.AccessKeyId}</code>
                    </th>
                    <td>
                      <Badge value={key.Status} />
                    </td>
                    <td>
                      <Time value={key.CreatedAt} />
                    </td>
                    <td>{key.ExpiresAt ? <Time value={key.ExpiresAt} /> : <span class="muted">when revoked or rotated out</span>}</td>
                    <td>
                      <button
                        type="button"
                        class="button small danger"
                        aria-label={`Revoke ${key.AccessKeyId}`}
                        onClick={() => openDialog(<RevokeDialog stream={stream} accessKeyId={key.AccessKeyId} onStarted={setJobId} />)}
                      >
                        Revoke
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <Rotate stream={stream} onStarted={setJobId} />
      </section>
    </>
  );
}

function Reveal({ stream }: { stream: Stream }) {
  const [credentials, setCredentials] = useState<Schemas['StreamCredentials'] | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const reveal = async () => {
    setProblem(null);
    try {
      setCredentials(await call(api.GET('/streams/{StreamId}/credentials', { params: { path: { StreamId: stream.StreamId } } })));
    } catch (error) {
      setProblem(error);
    }
  };
  return (
    <section aria-labelledby="connect-heading">
      <h2 id="connect-heading">Connection details</h2>
      {!credentials ? (
        <>
          <p>Producers push records with the stream's access key and secret. The secret is shown here only when you ask, and hidden again when you leave.</p>
          <button type="button" class="button primary" onClick={reveal}>
            Show access key
          </button>
          {problem ? <ErrorState error={problem} title="Could not read the key" /> : null}
        </>
      ) : (
        <>
          <dl class="secrets">
            {(
              [
                ['Access key ID', credentials.AccessKeyId],
                ['Secret access key', credentials.SecretAccessKey],
                ['Region', credentials.Region],
                ['Stream name', credentials.StreamName],
                ['Endpoint', credentials.Endpoint],
              ] as const
            ).map(([label, value]) => (
              <div key={label}>
                <dt>{label}</dt>
                <dd>
                  <code>{value}</code> <CopyButton text={value} label={`Copy ${label.toLowerCase()}`} />
                </dd>
              </div>
            ))}
          </dl>
          <h3 id="snippet-heading">Send records with Python (boto3)</h3>
          <p class="muted">The seed's script: it sends each line of ./data.csv as a record.</p>
          <pre class="code" aria-labelledby="snippet-heading" data-testid="boto3-snippet" tabIndex={0}>
            <code>{boto3Snippet(credentials)}</code>
          </pre>
          <CopyButton text={boto3Snippet(credentials)} label="Copy script" />{' '}
          <button type="button" class="button small" onClick={() => setCredentials(null)}>
            Hide
          </button>
        </>
      )}
    </section>
  );
}

function Rotate({ stream, onStarted }: { stream: Stream; onStarted: (jobId: string) => void }) {
  const [overlap, setOverlap] = useState('3600');
  const [errors, setErrors] = useState<FieldErrors<'overlap'>>(noErrors);
  const [busy, setBusy] = useState(false);
  const rotate = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setErrors(noErrors);
    try {
      const answer = await call(
        api.POST('/streams/{StreamId}/credentials/rotate', {
          params: { path: { StreamId: stream.StreamId }, header: { 'Idempotency-Key': idempotencyKey(), 'If-Match': String(stream.Version) } },
          body: { OverlapSeconds: Number(overlap) },
        }),
      );
      onStarted((answer as { Job: { JobId: string } }).Job.JobId);
    } catch (error) {
      setErrors(mapFieldErrors(error, { OverlapSeconds: 'overlap' }));
    }
    setBusy(false);
  };
  return (
    <form class="form inline-form" onSubmit={rotate} aria-labelledby="rotate-heading">
      <h3 id="rotate-heading">Rotate the key</h3>
      <Alert messages={errors.general} />
      <NumberField id="overlap" label="Overlap" unit="seconds" value={overlap} onValue={setOverlap} errors={errors.byField.overlap} help="How long the old key keeps working: 0 to 604800 seconds (7 days)." />
      <button type="submit" class="button" disabled={busy}>
        Rotate key
      </button>
    </form>
  );
}

function RevokeDialog({ stream, accessKeyId, onStarted }: { stream: Stream; accessKeyId: string; onStarted: (jobId: string) => void }) {
  const [problem, setProblem] = useState<string[]>([]);
  const revoke = async () => {
    try {
      const answer = await call(
        api.DELETE('/streams/{StreamId}/credentials/keys/{AccessKeyId}', {
          params: { path: { StreamId: stream.StreamId, AccessKeyId: accessKeyId }, header: { 'Idempotency-Key': idempotencyKey(), 'If-Match': String(stream.Version) } },
        }),
      );
      onStarted((answer as { Job: { JobId: string } }).Job.JobId);
      closeDialog();
    } catch (error) {
      setProblem(mapFieldErrors(error, {}).general);
    }
  };
  return (
    <Dialog title={`Revoke ${accessKeyId}?`}>
      <p>Producers using this key are refused from now on. This cannot be undone.</p>
      <Alert messages={problem} />
      <div class="form-actions">
        <button type="button" class="button danger" onClick={revoke}>
          Revoke key
        </button>
        <button type="button" class="button" onClick={closeDialog}>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}
