/** A resource's jobs, newest first as the API lists them, refreshed while any runs. */
import { api, call } from '../../lib/api';
import { isFinished } from '../../lib/jobs';
import { PAGE_SIZE, usePaging } from '../../lib/paging';
import { useQuery } from '../../lib/use-query';
import { JobsTable } from '../jobs/JobsTable';
import { Pager } from '../../components/Pager';
import { Empty, ErrorState, Loading } from '../../components/States';

export function Activity({ resourceId, heading = 'Activity' }: { resourceId: string; heading?: string }) {
  const paging = usePaging();
  const jobs = useQuery(
    `jobs:${resourceId}:${paging.token ?? ''}`,
    () => call(api.GET('/jobs', { params: { query: { ResourceId: resourceId, Limit: PAGE_SIZE, NextToken: paging.token } } })),
    (page) => (page?.Jobs.some((j) => !isFinished(j)) ? 1500 : 30_000),
  );
  return (
    <section aria-labelledby="activity-heading">
      <h2 id="activity-heading">{heading}</h2>
      <p class="muted">Every change runs as a job: created, updated, keys rotated, redrives and replays.</p>
      {jobs.error && !jobs.data ? (
        <ErrorState error={jobs.error} onRetry={jobs.reload} />
      ) : !jobs.data ? (
        <Loading label="Loading jobs…" />
      ) : jobs.data.Jobs.length === 0 && !paging.hasPrevious ? (
        <Empty title="No jobs yet" />
      ) : (
        <>
          <JobsTable jobs={jobs.data.Jobs} />
          <Pager shown={jobs.data.Jobs.length} noun="jobs" hasPrevious={paging.hasPrevious} nextToken={jobs.data.NextToken} onPrevious={paging.previous} onNext={paging.next} />
        </>
      )}
    </section>
  );
}
