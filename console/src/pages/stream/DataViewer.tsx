/**
 * The data viewer: the stream's records from a starting position (Kinesis's words), a page
 * at a time, or followed live (`tail -f`, one read a second at most), raw or as JSON.
 * Every choice is in the URL.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, call, type Schemas, type Stream } from '../../lib/api';
import { readParam, useUrlQuery } from '../../lib/url-state';
import { fromInputValue, toInputValue } from '../../lib/time';
import { NumberField, SelectField, TextField } from '../../components/Fields';
import { Empty, ErrorState, Loading } from '../../components/States';
import { Time } from '../../components/Time';
import { RecordData } from './RecordData';

type StreamRecord = Schemas['StreamRecordsPage']['Records'][number];
const POSITIONS = ['NEWEST', 'TRIM_HORIZON', 'AT_TIMESTAMP', 'AT_SEQUENCE_NUMBER'] as const;
type Position = (typeof POSITIONS)[number];
const FOLLOWED_AT_MOST = 500;

export function DataViewer({ stream }: { stream: Stream }) {
  const { query, set } = useUrlQuery();
  const position = readParam<Position>(query, 'position', 'NEWEST', POSITIONS);
  const view = readParam(query, 'view', 'raw', ['raw', 'json'] as const);
  const follow = query.follow === 'on';
  const [timestamp, setTimestamp] = useState(toInputValue(query.timestamp));
  const [shard, setShard] = useState(query.shard ?? '');
  const [sequence, setSequence] = useState(query.sequence ?? '');
  const [limit, setLimit] = useState(query.limit ?? '50');
  const [records, setRecords] = useState<StreamRecord[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [state, setState] = useState<{ loading: boolean; error: unknown }>({ loading: false, error: null });
  const asked = useRef(0);

  const read = async (token?: string, append = false) => {
    const mine = ++asked.current;
    setState({ loading: true, error: null });
    try {
      const page = await call(
        api.GET('/streams/{StreamId}/records', {
          params: {
            path: { StreamId: stream.StreamId },
            query: token
              ? { NextToken: token, Limit: Number(query.limit ?? 50) }
              : {
                  Position: position,
                  Limit: Number(query.limit ?? 50),
                  ...(position === 'AT_TIMESTAMP' && query.timestamp ? { Timestamp: query.timestamp } : {}),
                  ...(query.shard ? { ShardId: query.shard } : {}),
                  ...(position === 'AT_SEQUENCE_NUMBER' && query.sequence ? { SequenceNumber: query.sequence } : {}),
                },
          },
        }),
      );
      if (mine !== asked.current) return;
      setRecords((before) => (append ? [...before, ...page.Records].slice(-FOLLOWED_AT_MOST) : page.Records));
      setNext(page.NextToken);
      setState({ loading: false, error: null });
    } catch (error) {
      if (mine === asked.current) setState({ loading: false, error });
    }
  };

  // A new position (from the form or a link) reads its first page.
  const search = [position, query.timestamp, query.shard, query.sequence, query.limit].join('|');
  useEffect(() => {
    if (stream.Status === 'ACTIVE' || stream.Status === 'UPDATING') void read();
  }, [search]);

  // Following: ask again from where the last page ended, at most once a second
  // (Kinesis allows five reads a second per shard; a 429 says when to try again).
  useEffect(() => {
    if (!follow) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout>;
    let token = next;
    const tick = async () => {
      let wait = 1000;
      if (token) {
        try {
          const page = await call(api.GET('/streams/{StreamId}/records', { params: { path: { StreamId: stream.StreamId }, query: { NextToken: token } } }));
          if (stopped) return;
          if (page.Records.length) setRecords((before) => [...before, ...page.Records].slice(-FOLLOWED_AT_MOST));
          token = page.NextToken;
          setNext(page.NextToken);
        } catch (error) {
          if (error instanceof ApiError && error.status === 429) wait = 2000;
          else if (!stopped) setState({ loading: false, error });
        }
      }
      if (!stopped) timer = setTimeout(tick, wait);
    };
    timer = setTimeout(tick, 1000);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [follow, next === null]);

  if (stream.Status !== 'ACTIVE' && stream.Status !== 'UPDATING') {
    return <Empty title="Nothing to read yet">{<p>Records can be read once the stream is ACTIVE.</p>}</Empty>;
  }

  const apply = (event: Event) => {
    event.preventDefault();
    set(
      {
        position: position === 'NEWEST' ? undefined : position,
        timestamp: position === 'AT_TIMESTAMP' ? fromInputValue(timestamp) : undefined,
        shard: shard.trim() || undefined,
        sequence: position === 'AT_SEQUENCE_NUMBER' ? sequence.trim() || undefined : undefined,
        limit: limit === '50' ? undefined : limit,
      },
      { replace: false },
    );
    if (search === [position, query.timestamp, query.shard, query.sequence, query.limit].join('|')) void read();
  };

  return (
    <section aria-labelledby="viewer-heading">
      <h2 id="viewer-heading">Data viewer</h2>
      <p class="muted">The stream's records as producers sent them, read with Tributary's own role (producer keys can only write).</p>
      <form class="form viewer-form" onSubmit={apply}>
        <SelectField
          id="position"
          label="Starting position"
          value={position}
          onValue={(p) => set({ position: p === 'NEWEST' ? undefined : p, follow: undefined })}
          options={[
            { value: 'NEWEST', label: 'Newest records' },
            { value: 'TRIM_HORIZON', label: 'Trim horizon (oldest kept)' },
            { value: 'AT_TIMESTAMP', label: 'At timestamp' },
            { value: 'AT_SEQUENCE_NUMBER', label: 'At sequence number' },
          ]}
        />
        {position === 'AT_TIMESTAMP' && (
          <div class="field">
            <label for="at-timestamp">Timestamp</label>
            <input id="at-timestamp" type="datetime-local" step={1} value={timestamp} onInput={(e) => setTimestamp(e.currentTarget.value)} />
          </div>
        )}
        <TextField id="shard" label="Shard" value={shard} onValue={setShard} placeholder="all shards" help={position === 'AT_SEQUENCE_NUMBER' ? 'Required with a sequence number.' : undefined} />
        {position === 'AT_SEQUENCE_NUMBER' && <TextField id="sequence" label="Sequence number" value={sequence} onValue={setSequence} />}
        <NumberField id="limit" label="Records per page" value={limit} onValue={setLimit} min={1} max={100} />
        <div class="form-actions">
          <button type="submit" class="button primary">
            Get records
          </button>
        </div>
      </form>
      <div class="viewer-bar">
        <div role="group" aria-label="Show data as" class="range">
          {(['raw', 'json'] as const).map((v) => (
            <button key={v} type="button" class={`button small${view === v ? ' selected' : ''}`} aria-pressed={view === v} onClick={() => set({ view: v === 'raw' ? undefined : v }, { replace: true })}>
              {v === 'raw' ? 'Raw' : 'JSON'}
            </button>
          ))}
        </div>
        <label class="switch">
          <input type="checkbox" role="switch" checked={follow} onChange={(e) => set({ follow: e.currentTarget.checked ? 'on' : undefined }, { replace: true })} />
          <span>Follow new records (reads once a second)</span>
        </label>
        <button type="button" class="button small" disabled={!next || follow || state.loading} onClick={() => next && read(next)}>
          Next page
        </button>
      </div>
      {state.error ? <ErrorState error={state.error} onRetry={() => read()} title="Could not read records" /> : null}
      {state.loading && records.length === 0 ? (
        <Loading label="Reading records…" />
      ) : records.length === 0 ? (
        <Empty title={follow ? 'Waiting for new records…' : 'No records here'}>
          <p>{position === 'NEWEST' ? 'Nothing arrived in the last hour. Send records with the producer key, or read from the trim horizon.' : 'Try another position.'}</p>
        </Empty>
      ) : (
        <div class="table-wrap">
          <table class="records">
            <caption class="visually-hidden">Records</caption>
            <thead>
              <tr>
                <th scope="col">Arrived</th>
                <th scope="col">Shard</th>
                <th scope="col">Sequence number</th>
                <th scope="col">Partition key</th>
                <th scope="col">Data</th>
              </tr>
            </thead>
            <tbody>
              {records.map((r) => (
                <tr key={`${r.ShardId}:${r.SequenceNumber}:${r.SubSequenceNumber}`}>
                  <td>
                    <Time value={r.ArrivalTime} />
                  </td>
                  <td>
                    <code>{r.ShardId.replace('shardId-', '')}</code>
                  </td>
                  <td>
                    <code class="ellipsis" title={r.SequenceNumber}>
                      {r.SequenceNumber}
                    </code>
                  </td>
                  <td>
                    <code class="ellipsis">{r.PartitionKey}</code>
                  </td>
                  <td>
                    <RecordData text={r.Data} base64={r.DataBase64} view={view} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
