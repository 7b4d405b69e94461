/** One job, live until it ends. */
import { ApiError } from '../../lib/api';
import { describeOperation, isFinished, useJob } from '../../lib/jobs';
import { Badge } from '../../components/Badge';
import { JobOutcome, ProgressBar } from '../../components/JobProgress';
import { href, PageHeader } from '../../components/PageHeader';
import { ErrorState, Loading } from '../../components/States';
import { Time } from '../../components/Time';

export default function JobPage({ jobId }: { jobId: string }) {
  const { data: job, error, loading } = useJob(jobId);
  const crumbs = [{ label: 'Jobs', href: href('jobs') }, { label: jobId.slice(0, 8) }];
  if (error && !job) return <ErrorState error={error} title={error instanceof ApiError && error.notFound ? 'Job not found' : 'Could not load the job'} />;
  if (!job) return <Loading label={loading ? 'Loading the job…' : ''} />;
  return (
    <>
      <PageHeader crumbs={crumbs} title={describeOperation(job.Operation)} badges={<Badge value={job.Status} />} />
      <div aria-live="polite">
        {!isFinished(job) && <ProgressBar job={job} />}
        {!isFinished(job) && <p class="muted">Running: this page follows it every second.</p>}
        <JobOutcome job={job} />
      </div>
      <dl class="facts">
        <div>
          <dt>Job</dt>
          <dd>
            <code>{job.JobId}</code>
          </dd>
        </div>
        <div>
          <dt>Resource</dt>
          <dd>
            {job.ResourceType} <code>{job.ResourceId}</code>{' '}
            {job.ResourceType === 'Stream' && job.Operation !== 'DeleteStream' && <a href={href(`streams/${job.ResourceId}`)}>open</a>}
            {job.ResourceType === 'Dataset' && job.Operation !== 'DeleteDataset' && <a href={href(`datasets/${job.ResourceId}`)}>open</a>}
          </dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>
            <Time value={job.CreatedAt} />
          </dd>
        </div>
        <div>
          <dt>Last change</dt>
          <dd>
            <Time value={job.UpdatedAt} />
          </dd>
        </div>
      </dl>
      <p>
        <a href={href(`jobs?resource=${job.ResourceId}`)}>All jobs of this resource</a> · <a href={href('')}>Streams</a>
      </p>
    </>
  );
}
