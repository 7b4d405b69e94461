/** A consumer: its health first, then tabs for metrics, failed records, replay, configuration, activity. */
import { useLocation } from 'preact-iso';
import { api, ApiError, call, getStream } from '../../lib/api';
import { isTransitional } from '../../lib/jobs';
import { useQuery } from '../../lib/use-query';
import { useUrlQuery, withParams } from '../../lib/url-state';
import { Badge } from '../../components/Badge';
import { JobProgress } from '../../components/JobProgress';
import { MetricsPanel } from '../../components/MetricsPanel';
import { href, PageHeader } from '../../components/PageHeader';
import { Empty, ErrorState, Loading } from '../../components/States';
import { Tabs } from '../../components/Tabs';
import { Activity } from '../stream/Activity';
import { HealthHeader } from './HealthHeader';
import { FailedRecords } from './FailedRecords';
import { Replay } from './Replay';
import { Configuration } from './Configuration';

const TABS = [
  { id: 'metrics', label: 'Metrics' },
  { id: 'failed', label: 'Failed records' },
  { id: 'replay', label: 'Replay' },
  { id: 'configuration', label: 'Configuration' },
  { id: 'activity', label: 'Activity' },
];

export default function ConsumerPage({ streamId, consumerId }: { streamId: string; consumerId: string }) {
  const { path } = useLocation();
  const { query, set } = useUrlQuery();
  const tab = TABS.some((t) => t.id === query.tab) ? query.tab! : 'metrics';
  const ids = { StreamId: streamId, ConsumerId: consumerId };
  const consumer = useQuery(
    `consumer:${consumerId}`,
    () => call(api.GET('/streams/{StreamId}/consumers/{ConsumerId}', { params: { path: ids } })),
    (c) => (c && (isTransitional(c.Status) || c.RecoveryJobId) ? 2000 : 30_000),
  );
  const stream = useQuery(`stream:${streamId}`, () => getStream(streamId));
  const data = consumer.data;
  const crumbs = [
    { label: 'Streams', href: href('') },
    { label: stream.data?.StreamName ?? 'stream', href: href(`streams/${streamId}?tab=consumers`) },
    { label: data?.ConsumerName ?? consumerId },
  ];

  if (consumer.error instanceof ApiError && consumer.error.notFound) {
    return (
      <>
        <PageHeader crumbs={crumbs} title="Consumer not found" />
        <Empty title="This consumer does not exist">
          <p>It may have been deleted, or it belongs to another tenant.</p>
          <a class="button" href={href(`streams/${streamId}?tab=consumers`)}>
            Back to the stream
          </a>
        </Empty>
      </>
    );
  }
  if (consumer.error && !data) return <ErrorState error={consumer.error} onRetry={consumer.reload} title="Could not load this consumer" />;
  if (!data) return <Loading label="Loading the consumer…" />;

  const active = data.Status === 'ACTIVE' || data.Status === 'UPDATING';
  return (
    <>
      <PageHeader crumbs={crumbs} title={data.ConsumerName} badges={<Badge value={data.Status} title={data.StatusReason ?? undefined} />} />
      {query.job && <JobProgress jobId={query.job} onFinished={() => consumer.reload()} />}
      {data.RecoveryJobId && data.RecoveryJobId !== query.job && <JobProgress jobId={data.RecoveryJobId} title="Recovery running" onFinished={() => consumer.reload()} />}
      {active ? <HealthHeader streamId={streamId} consumer={data} /> : <p class="muted">Health, metrics and failed records appear once the consumer is ACTIVE.</p>}
      <Tabs label="Consumer" tabs={TABS} current={tab} hrefFor={(id) => withParams(path, {}, { tab: id }, { tab: 'metrics' })}>
        {tab === 'metrics' &&
          (active ? (
            <MetricsPanel
              id={`consumer-${consumerId}`}
              heading="Delivery"
              load={(since) => call(api.GET('/streams/{StreamId}/consumers/{ConsumerId}/metrics', { params: { path: ids, query: { Since: since } } }))}
            />
          ) : (
            <Empty title="No metrics yet" />
          ))}
        {tab === 'failed' && <FailedRecords streamId={streamId} consumer={data} onStarted={(jobId) => set({ job: jobId })} />}
        {tab === 'replay' && <Replay stream={stream.data} consumer={data} onStarted={(jobId) => set({ job: jobId })} />}
        {tab === 'configuration' && <Configuration streamId={streamId} consumer={data} onChanged={(jobId) => (jobId ? set({ job: jobId }) : consumer.reload())} />}
        {tab === 'activity' && <Activity resourceId={consumerId} />}
      </Tabs>
    </>
  );
}
