/** Jobs: every change the tenant made, or one resource's (`?resource=`), live. */
import { useState } from 'preact/hooks';
import { api, call } from '../../lib/api';
import { isFinished } from '../../lib/jobs';
import { PAGE_SIZE, usePaging } from '../../lib/paging';
import { useUrlQuery } from '../../lib/url-state';
import { useQuery } from '../../lib/use-query';
import { AutoRefresh } from '../../components/AutoRefresh';
import { PageHeader } from '../../components/PageHeader';
import { Pager } from '../../components/Pager';
import { Empty, ErrorState, Loading } from '../../components/States';
import { JobsTable } from './JobsTable';

export default function JobsList() {
  const { query, set } = useUrlQuery();
  const paging = usePaging();
  const resource = query.resource;
  const paused = query.refresh === 'off';
  const [filter, setFilter] = useState(resource ?? '');
  const jobs = useQuery(
    `jobs:${resource ?? ''}:${paging.token ?? ''}`,
    () => call(api.GET('/jobs', { params: { query: { ResourceId: resource, Limit: PAGE_SIZE, NextToken: paging.token } } })),
    (page) => (page?.Jobs.some((j) => !isFinished(j)) ? 1500 : paused ? null : 15_000),
  );
  return (
    <>
      <PageHeader title="Jobs" />
      <p class="lead">Every change runs as a job in the background. Running jobs update here live.</p>
      <form
        class="form inline-form"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          set({ resource: filter.trim() || undefined, page: undefined });
        }}
      >
        <div class="field">
          <label for="resource-filter">Resource ID</label>
          <input id="resource-filter" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} placeholder="a StreamId, ConsumerId, TransformId or DatasetId" />
        </div>
        <button type="submit" class="button">
          Filter
        </button>
        {resource && (
          <button type="button" class="button" onClick={() => (setFilter(''), set({ resource: undefined, page: undefined }))}>
            Show all
          </button>
        )}
      </form>
      <AutoRefresh seconds={15} paused={paused} onPause={(p) => set({ refresh: p ? 'off' : undefined }, { replace: true })} onRefresh={jobs.reload} updatedAt={jobs.updatedAt} loading={jobs.loading} />
      {jobs.error && !jobs.data ? (
        <ErrorState error={jobs.error} onRetry={jobs.reload} />
      ) : !jobs.data ? (
        <Loading label="Loading jobs…" />
      ) : jobs.data.Jobs.length === 0 && !paging.hasPrevious ? (
        <Empty title={resource ? 'No jobs for this resource' : 'No jobs yet'}>
          <p>Creating, changing or deleting a stream, transform, consumer or dataset starts a job.</p>
        </Empty>
      ) : (
        <>
          <JobsTable jobs={jobs.data.Jobs} showResource />
          <Pager shown={jobs.data.Jobs.length} noun="jobs" hasPrevious={paging.hasPrevious} nextToken={jobs.data.NextToken} onPrevious={paging.previous} onNext={paging.next} />
        </>
      )}
    </>
  );
}
