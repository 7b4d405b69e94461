/**
 * Records Firehose could not deliver (the transform said ProcessingFailed or broke the
 * contract; Parquet conversion, dynamic partitioning or an Iceberg table refused them): filtered by type and time in the URL, each
 * openable, selectable, and redriven through the consumer's current transform after a
 * review that says how many go where.
 */
import { useState } from 'preact/hooks';
import { api, call, idempotencyKey, type Consumer, type Schemas } from '../../lib/api';
import { mapFieldErrors } from '../../lib/field-errors';
import { PAGE_SIZE, usePaging } from '../../lib/paging';
import { readParam, useUrlQuery } from '../../lib/url-state';
import { fromInputValue, toInputValue } from '../../lib/time';
import { useQuery } from '../../lib/use-query';
import { closeDialog, Dialog, openDialog } from '../../components/Dialog';
import { Pager } from '../../components/Pager';
import { Alert, Empty, ErrorState, Loading } from '../../components/States';
import { Time } from '../../components/Time';
import { RecordData } from '../stream/RecordData';
import { destinationOf } from './destination';

type FailedRecord = Schemas['FailedRecord'];
type ErrorType = Schemas['FailedRecordErrorType'];
const TYPES = ['', 'processing-failed', 'format-conversion-failed', 'metadata-extraction-failed', 'iceberg-failed'] as const satisfies readonly ('' | ErrorType)[];

export interface RedriveFilter {
  ErrorType?: ErrorType;
  Since?: string;
  Until?: string;
}

export function FailedRecords({ streamId, consumer, onStarted }: { streamId: string; consumer: Consumer; onStarted: (jobId: string) => void }) {
  const { query, set } = useUrlQuery();
  const paging = usePaging();
  const errorType = readParam(query, 'type', '', TYPES);
  const filter: RedriveFilter = {
    ...(errorType ? { ErrorType: errorType } : {}),
    ...(query.since ? { Since: query.since } : {}),
    ...(query.until ? { Until: query.until } : {}),
  };
  const [since, setSince] = useState(toInputValue(query.since));
  const [until, setUntil] = useState(toInputValue(query.until));
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const ids = { StreamId: streamId, ConsumerId: consumer.ConsumerId };
  const list = useQuery(`failed:${consumer.ConsumerId}:${JSON.stringify(filter)}:${paging.token ?? ''}`, () =>
    call(api.GET('/streams/{StreamId}/consumers/{ConsumerId}/failed-records', { params: { path: ids, query: { ...filter, Limit: PAGE_SIZE, NextToken: paging.token } } })),
  );
  const records = list.data?.FailedRecords ?? [];
  const selectable = records.filter((r) => !r.Redriven);

  const toggle = (id: string, on: boolean) => {
    const next = new Set(selected);
    if (on) next.add(id);
    else next.delete(id);
    setSelected(next);
  };
  const applyFilters = (event: Event) => {
    event.preventDefault();
    setSelected(new Set());
    set({ since: fromInputValue(since), until: fromInputValue(until), page: undefined });
  };
  const review = () =>
    openDialog(
      <RedriveReview
        streamId={streamId}
        consumer={consumer}
        selected={[...selected]}
        filter={filter}
        onStarted={(jobId) => {
          setSelected(new Set());
          onStarted(jobId);
          list.reload();
        }}
      />,
    );

  return (
    <section aria-labelledby="failed-heading">
      <h2 id="failed-heading">Failed records</h2>
      <p class="muted">
        Records the transform marked ProcessingFailed (or whose answer broke the contract) and records Parquet conversion, partitioning or an Iceberg table refused, as Firehose wrote them under the
        dataset's error location. Fix the cause, then redrive them: they go through the consumer's current transform again.
      </p>
      <form class="form filters" onSubmit={applyFilters} role="search" aria-label="Filter failed records">
        <div class="field">
          <label for="error-type">Error type</label>
          <select id="error-type" value={errorType} onChange={(e) => (setSelected(new Set()), set({ type: e.currentTarget.value || undefined, page: undefined }))}>
            <option value="">Any</option>
            {TYPES.filter(Boolean).map((type) => (
              <option key={type} value={type}>
                {type}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="failed-since">Failed since</label>
          <input id="failed-since" type="datetime-local" step={1} value={since} onInput={(e) => setSince(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="failed-until">Failed until</label>
          <input id="failed-until" type="datetime-local" step={1} value={until} onInput={(e) => setUntil(e.currentTarget.value)} />
        </div>
        <button type="submit" class="button">
          Apply filters
        </button>
      </form>
      <div class="viewer-bar">
        <span>{selected.size ? `${selected.size} selected` : 'None selected: Redrive takes every record not yet redriven that matches the filters.'}</span>
        <button type="button" class="button primary" onClick={review} disabled={consumer.Status !== 'ACTIVE' || Boolean(consumer.RecoveryJobId) || (records.length === 0 && !paging.hasPrevious)}>
          Redrive
        </button>
        <button type="button" class="button small" onClick={list.reload}>
          Refresh
        </button>
      </div>
      {list.error && !list.data ? (
        <ErrorState error={list.error} onRetry={list.reload} />
      ) : !list.data ? (
        <Loading label="Loading failed records…" />
      ) : records.length === 0 && !paging.hasPrevious ? (
        <Empty title="No failed records">
          <p>Every record read in this window was delivered or dropped by the transform.</p>
        </Empty>
      ) : (
        <>
          <div class="table-wrap">
            <table class="records">
              <caption class="visually-hidden">Failed records</caption>
              <thead>
                <tr>
                  <th scope="col">
                    <input
                      type="checkbox"
                      aria-label="Select every record on this page"
                      checked={selectable.length > 0 && selectable.every((r) => selected.has(r.FailedRecordId))}
                      onChange={(e) => {
                        const on = e.currentTarget.checked;
                        const next = new Set(selected);
                        for (const r of selectable) on ? next.add(r.FailedRecordId) : next.delete(r.FailedRecordId);
                        setSelected(next);
                      }}
                    />
                  </th>
                  <th scope="col">Arrived</th>
                  <th scope="col">Error</th>
                  <th scope="col">Record</th>
                  <th scope="col">Redriven</th>
                </tr>
              </thead>
              <tbody>
                {records.map((r) => (
                  <FailedRow key={r.FailedRecordId} record={r} selected={selected.has(r.FailedRecordId)} onSelect={(on) => toggle(r.FailedRecordId, on)} />
                ))}
              </tbody>
            </table>
          </div>
          <Pager shown={records.length} noun="failed records" hasPrevious={paging.hasPrevious} nextToken={list.data.NextToken} onPrevious={paging.previous} onNext={paging.next} />
        </>
      )}
    </section>
  );
}

function FailedRow({ record, selected, onSelect }: { record: FailedRecord; selected: boolean; onSelect: (on: boolean) => void }) {
  return (
    <tr class={record.Redriven ? 'muted-row' : undefined}>
      <td>
        <input type="checkbox" aria-label={`Select record ${record.FailedRecordId}`} checked={selected} disabled={record.Redriven} onChange={(e) => onSelect(e.currentTarget.checked)} />
      </td>
      <td>
        <Time value={record.ArrivalTime} />
      </td>
      <td>
        <code>{record.ErrorCode ?? record.ErrorType}</code>
        {record.ErrorMessage && <div class="small">{record.ErrorMessage}</div>}
      </td>
      <td>
        <details class="data-details">
          <summary>
            Open record <code class="data">{(record.Data ?? record.DataBase64 ?? '').replace(/\s+/g, ' ').slice(0, 80)}</code>
          </summary>
          <dl class="record-facts">
            <div>
              <dt>Failed record</dt>
              <dd>
                <code>{record.FailedRecordId}</code>
              </dd>
            </div>
            <div>
              <dt>Error type</dt>
              <dd>{record.ErrorType}</dd>
            </div>
            <div>
              <dt>Attempts</dt>
              <dd>{record.AttemptsMade ?? '—'}</dd>
            </div>
            <div>
              <dt>Data</dt>
              <dd>
                <RecordData text={record.Data} base64={record.DataBase64} view="raw" />
              </dd>
            </div>
          </dl>
        </details>
      </td>
      <td>{record.Redriven ? 'yes' : 'no'}</td>
    </tr>
  );
}

/** Counts what a filter-based redrive would take: records not yet redriven, a page at a time. */
async function countMatching(streamId: string, consumerId: string, filter: RedriveFilter): Promise<{ count: number; more: boolean }> {
  let count = 0;
  let token: string | undefined;
  for (let page = 0; page < 20; page += 1) {
    const answer = await call(
      api.GET('/streams/{StreamId}/consumers/{ConsumerId}/failed-records', { params: { path: { StreamId: streamId, ConsumerId: consumerId }, query: { ...filter, Limit: 100, NextToken: token } } }),
    );
    count += answer.FailedRecords.filter((r) => !r.Redriven).length;
    if (!answer.NextToken) return { count, more: false };
    token = answer.NextToken;
  }
  return { count, more: true };
}

function RedriveReview({ streamId, consumer, selected, filter, onStarted }: { streamId: string; consumer: Consumer; selected: string[]; filter: RedriveFilter; onStarted: (jobId: string) => void }) {
  const ids = { StreamId: streamId, ConsumerId: consumer.ConsumerId };
  const where = useQuery(`destination:${consumer.ConsumerId}`, () => destinationOf(streamId, consumer));
  const matching = useQuery(selected.length ? null : `matching:${JSON.stringify(filter)}`, () => countMatching(streamId, consumer.ConsumerId, filter));
  const [problem, setProblem] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const count = selected.length ? selected.length : matching.data?.count;
  const redrive = async () => {
    setBusy(true);
    try {
      const answer = (await call(
        api.POST('/streams/{StreamId}/consumers/{ConsumerId}/redrive', {
          params: { path: ids, header: { 'Idempotency-Key': idempotencyKey(), 'If-Match': String(consumer.Version) } },
          body: selected.length ? { FailedRecordIds: selected } : filter,
        }),
      )) as { Job: { JobId: string } };
      closeDialog();
      onStarted(answer.Job.JobId);
    } catch (error) {
      setProblem(mapFieldErrors(error, {}).general);
      setBusy(false);
    }
  };
  return (
    <Dialog title="Review the redrive">
      {count === undefined || !where.data ? (
        <Loading label="Counting the records…" />
      ) : (
        <p class="review">
          <strong>
            {count}
            {matching.data?.more ? '+' : ''} record{count === 1 ? '' : 's'}
          </strong>{' '}
          {selected.length ? '(the ones you selected)' : '(every record not yet redriven that matches the filters)'} go{count === 1 ? 'es' : ''} through{' '}
          {where.data.transform ? (
            <>
              the transform <strong>{where.data.transform}</strong> as it is now
            </>
          ) : (
            'no transform'
          )}{' '}
          into the dataset <strong>{where.data.dataset}</strong>
          {where.data.location && (
            <>
              {' '}
              at <code>{where.data.location}</code>
            </>
          )}
          . Those that fail again become new failed records; redriven records are never sent twice.
        </p>
      )}
      <Alert messages={problem} title="The redrive did not start" />
      <div class="form-actions">
        <button type="button" class="button primary" onClick={redrive} disabled={busy || count === undefined || count === 0}>
          Redrive
        </button>
        <button type="button" class="button" onClick={closeDialog}>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}
