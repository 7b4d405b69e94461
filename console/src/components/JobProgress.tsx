/** A job followed live until it ends: status, progress, result counts, error. */
import { useEffect } from 'preact/hooks';
import { describeOperation, isFinished, useJob } from '../lib/jobs';
import type { Job } from '../lib/api';
import { Badge } from './Badge';
import { describeError } from './States';

export function JobProgress({ jobId, title, onFinished }: { jobId: string; title?: string; onFinished?: (job: Job) => void }) {
  const { data: job, error } = useJob(jobId);
  useEffect(() => {
    if (job && isFinished(job)) onFinished?.(job);
  }, [job?.Status]);
  return (
    <section class={`job-progress${job?.Status === 'FAILED' ? ' failed' : ''}`} aria-live="polite" aria-label={title ?? 'Job progress'}>
      <p>
        <strong>{title ?? (job ? describeOperation(job.Operation) : 'Job')}</strong>{' '}
        {job ? <Badge value={job.Status} /> : <span class="muted">starting…</span>}{' '}
        <a href={`${import.meta.env.BASE_URL}jobs/${jobId}`} class="muted small">
          job {jobId.slice(0, 8)}
        </a>
      </p>
      {job && !isFinished(job) && <ProgressBar job={job} />}
      {job && <JobOutcome job={job} />}
      {error ? <p class="field-error">{describeError(error)}</p> : null}
    </section>
  );
}

export function ProgressBar({ job }: { job: Job }) {
  const { Progress } = job;
  if (Progress?.Total) {
    return (
      <progress max={Progress.Total} value={Progress.Done} aria-label={`${Progress.Done} of ${Progress.Total} done`}>
        {Progress.Done} of {Progress.Total}
      </progress>
    );
  }
  return <progress aria-label={Progress ? `${Progress.Done} done` : 'In progress'} />;
}

export function JobOutcome({ job }: { job: Job }) {
  return (
    <>
      {job.Result && (
        <dl class="inline-stats">
          {Object.entries(job.Result).map(([name, value]) => (
            <div key={name}>
              <dt>{name.replace(/([a-z])([A-Z])/g, '$1 $2')}</dt>
              <dd>{value}</dd>
            </div>
          ))}
        </dl>
      )}
      {job.Error && (
        <p class="field-error">
          {job.Error.Code}: {job.Error.Message}
        </p>
      )}
    </>
  );
}
