/** A stream's details: its header, and tabs kept in the URL. */
import { useLocation } from 'preact-iso';
import { ApiError, getStream } from '../../lib/api';
import { isTransitional } from '../../lib/jobs';
import { useQuery } from '../../lib/use-query';
import { useUrlQuery, withParams } from '../../lib/url-state';
import { Badge } from '../../components/Badge';
import { JobProgress } from '../../components/JobProgress';
import { href, PageHeader } from '../../components/PageHeader';
import { Empty, ErrorState, Loading } from '../../components/States';
import { Tabs } from '../../components/Tabs';
import { Overview } from './Overview';
import { ConsumersTab } from './ConsumersTab';
import { TransformsTab } from './TransformsTab';
import { ProducerKeys } from './ProducerKeys';
import { DataViewer } from './DataViewer';
import { Settings } from './Settings';
import { Activity } from './Activity';

const TABS = [
  { id: 'overview', label: 'Overview' },
  { id: 'consumers', label: 'Consumers' },
  { id: 'transforms', label: 'Transforms' },
  { id: 'keys', label: 'Producer keys' },
  { id: 'data', label: 'Data viewer' },
  { id: 'settings', label: 'Settings' },
  { id: 'activity', label: 'Activity' },
];

export default function StreamPage({ streamId }: { streamId: string }) {
  const { path } = useLocation();
  const { query, set } = useUrlQuery();
  const tab = TABS.some((t) => t.id === query.tab) ? query.tab! : 'overview';
  const stream = useQuery(
    `stream:${streamId}`,
    () => getStream(streamId),
    (s) => (s && isTransitional(s.Status) ? 1500 : 30_000),
  );
  const data = stream.data;
  const crumbs = [{ label: 'Streams', href: href('') }, { label: data?.StreamName ?? streamId }];

  if (stream.error instanceof ApiError && stream.error.notFound) {
    return (
      <>
        <PageHeader crumbs={crumbs} title="Stream not found" />
        <Empty title="This stream does not exist">
          <p>It may have been deleted, or it belongs to another tenant.</p>
          <a class="button" href={href('')}>
            Back to streams
          </a>
        </Empty>
      </>
    );
  }
  if (stream.error && !data) return <ErrorState error={stream.error} onRetry={stream.reload} title="Could not load this stream" />;
  if (!data) return <Loading label="Loading the stream…" />;

  return (
    <>
      <PageHeader crumbs={crumbs} title={data.StreamName} badges={<Badge value={data.Status} title={data.StatusReason ?? undefined} />} />
      <dl class="facts">
        <div>
          <dt>Stream Type</dt>
          <dd>{data.StreamType}</dd>
        </div>
        <div>
          <dt>Stream Mode</dt>
          <dd>{data.StreamMode}</dd>
        </div>
        <div>
          <dt>Shard Count</dt>
          <dd>{data.ShardCount ?? '—'}</dd>
        </div>
        <div>
          <dt>Data Retention Period (Hrs)</dt>
          <dd>{data.DataRetentionPeriod}</dd>
        </div>
        {data.Scaling && (
          <div>
            <dt>Autoscaling</dt>
            <dd>
              {data.Scaling.MinShardCount}–{data.Scaling.MaxShardCount} shards at {data.Scaling.TargetUtilization} %
            </dd>
          </div>
        )}
      </dl>
      {data.StatusReason && <p class="muted">{data.StatusReason}</p>}
      {data.Drift && (
        <p class="alert alert-info" role="status">
          Drift detected: AWS differs from the record in {data.Drift.Differences.map((d) => d.Field).join(', ')}.
        </p>
      )}
      {query.job && (
        <JobProgress jobId={query.job} onFinished={() => stream.reload()} />
      )}
      <Tabs label="Stream" tabs={TABS} current={tab} hrefFor={(id) => withParams(path, {}, { tab: id }, { tab: 'overview' })}>
        {tab === 'overview' && <Overview stream={data} />}
        {tab === 'consumers' && <ConsumersTab stream={data} />}
        {tab === 'transforms' && <TransformsTab stream={data} />}
        {tab === 'keys' && <ProducerKeys stream={data} />}
        {tab === 'data' && <DataViewer stream={data} />}
        {tab === 'settings' && <Settings stream={data} onChanged={(jobId) => (jobId ? set({ job: jobId }) : stream.reload())} />}
        {tab === 'activity' && <Activity resourceId={data.StreamId} />}
      </Tabs>
    </>
  );
}
