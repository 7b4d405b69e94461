/** Streams: the tenant's Kinesis streams, a page at a time, with how each is doing and costs. */
import { useLocation } from 'preact-iso';
import { api, call, type Stream } from '../../lib/api';
import { isTransitional } from '../../lib/jobs';
import { PAGE_SIZE, usePaging } from '../../lib/paging';
import { useQuery } from '../../lib/use-query';
import { useUrlQuery } from '../../lib/url-state';
import { formatMoney } from '../../lib/format';
import { Badge } from '../../components/Badge';
import { AutoRefresh } from '../../components/AutoRefresh';
import { href, PageHeader } from '../../components/PageHeader';
import { Pager } from '../../components/Pager';
import { Empty, ErrorState, Loading } from '../../components/States';
import { Time } from '../../components/Time';
import { rowReads, StreamActivity } from './StreamActivity';

const REFRESH_SECONDS = 30;

export function StreamsList() {
  const { route } = useLocation();
  const paging = usePaging();
  const { query, set } = useUrlQuery();
  const paused = query.refresh === 'off';
  const list = useQuery(
    `streams:${paging.token ?? ''}`,
    () => call(api.GET('/streams', { params: { query: { Limit: PAGE_SIZE, NextToken: paging.token } } })),
    (page) => (page?.Streams.some((s) => isTransitional(s.Status)) ? 2000 : paused ? null : REFRESH_SECONDS * 1000),
  );
  const streams = list.data?.Streams ?? [];

  return (
    <>
      <PageHeader title="Streams">
        <button type="button" class="button primary" onClick={() => route(href('streams/new'))}>
          + New stream
        </button>
      </PageHeader>
      <p class="lead">
        Import real-time data from external sources with Kinesis streams. Producers push records with the stream's access keys; consumers deliver them into
        datasets, optionally through a data transformation.
      </p>
      <AutoRefresh
        seconds={REFRESH_SECONDS}
        paused={paused}
        onPause={(p) => set({ refresh: p ? 'off' : undefined }, { replace: true })}
        onRefresh={list.reload}
        updatedAt={list.updatedAt}
        loading={list.loading}
      />
      {list.error && !list.data ? (
        <ErrorState error={list.error} onRetry={list.reload} title="Could not load your streams" />
      ) : !list.data ? (
        <Loading label="Loading streams…" />
      ) : streams.length === 0 && !paging.hasPrevious ? (
        <Empty title="No streams yet">
          <p>A stream collects records from your producers in real time. Create one with the + button, then give its access keys to a producer.</p>
          <a class="button primary" href={href('streams/new')}>
            Create your first stream
          </a>
        </Empty>
      ) : (
        <>
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Your streams</caption>
              <thead>
                <tr>
                  <th scope="col">Stream Name</th>
                  <th scope="col">Status</th>
                  <th scope="col">Mode</th>
                  <th scope="col" class="num">Shards</th>
                  <th scope="col">Health</th>
                  <th scope="col" class="num">Incoming (last hour)</th>
                  <th scope="col" class="num">Monthly cost</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {streams.map((stream) => (
                  <StreamRow key={stream.StreamId} stream={stream} refreshMs={paused ? null : REFRESH_SECONDS * 1000} />
                ))}
              </tbody>
            </table>
          </div>
          <Pager
            shown={streams.length}
            noun="streams"
            hasPrevious={paging.hasPrevious}
            nextToken={list.data.NextToken}
            onPrevious={paging.previous}
            onNext={paging.next}
          />
        </>
      )}
    </>
  );
}

function StreamRow({ stream, refreshMs }: { stream: Stream; refreshMs: number | null }) {
  return (
    <tr>
      <th scope="row">
        <a href={href(`streams/${stream.StreamId}`)}>{stream.StreamName}</a>
        {stream.Description && <div class="muted small">{stream.Description}</div>}
      </th>
      <td>
        <Badge value={stream.Status} title={stream.StatusReason ?? undefined} />
      </td>
      <td>{stream.StreamMode}</td>
      <td class="num">{stream.ShardCount ?? '—'}</td>
      <StreamActivity stream={stream} refreshMs={refreshMs} />
      <StreamCost stream={stream} />
      <td>
        <Time value={stream.CreatedAt} />
      </td>
    </tr>
  );
}

function StreamCost({ stream }: { stream: Stream }) {
  const readable = stream.Status === 'ACTIVE' || stream.Status === 'UPDATING';
  const cost = useQuery(readable ? `cost:${stream.StreamId}:${stream.Version}` : null, () =>
    rowReads(() => call(api.GET('/streams/{StreamId}/cost', { params: { path: { StreamId: stream.StreamId } } }))),
  );
  return (
    <td class="num" title={cost.data ? `${cost.data.Basis.Source === 'MEASURED' ? 'From the last 24 h of traffic' : 'Estimate'}, prices as of ${cost.data.PricesAsOf}` : undefined}>
      {cost.data ? formatMoney(cost.data.MonthlyTotal, cost.data.Currency) : cost.error ? <span class="muted">n/a</span> : '—'}
    </td>
  );
}
